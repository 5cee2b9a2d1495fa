/** The state-backend step against the stand-ins: what it logs at info level and what at debug. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { S3Client } from '@aws-sdk/client-s3'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { STSClient } from '@aws-sdk/client-sts'
import {
  ensureBackend,
  type BackendClients,
  type BackendConfig
} from '../../../src/backend/backend'
import { startCloudStandIn, type CloudStandIn } from '../../../standins/cloud'
import { startDynamoDbStandIn, type DynamoDbStandIn } from '../../../standins/dynamodb'
import { startS3StandIn, type S3StandIn } from '../../../standins/s3'
import { collectingLog, type CollectingLog } from '../../helpers/frontend-site'

const ACCOUNT = '123456789012'
const region = 'eu-west-1'
const credentials = { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin-secret' }
let s3: S3StandIn
let ddb: DynamoDbStandIn
let cloud: CloudStandIn

beforeAll(async () => {
  s3 = await startS3StandIn({ accountId: ACCOUNT })
  ddb = await startDynamoDbStandIn({ accountId: ACCOUNT, createTableMs: 150 })
  cloud = await startCloudStandIn({ accountId: ACCOUNT })
})

afterAll(async () => {
  await Promise.all([s3.stop(), ddb.stop(), cloud.stop()])
})

function clients(): BackendClients {
  return {
    s3: new S3Client({ region, endpoint: s3.url, credentials, forcePathStyle: true }),
    dynamodb: new DynamoDBClient({ region, endpoint: ddb.url, credentials }),
    sts: new STSClient({ region, endpoint: cloud.url, credentials })
  }
}

function config(project: string, extra: Partial<BackendConfig> = {}): BackendConfig {
  return {
    region,
    project,
    stateBucket: undefined,
    stateKey: 'app/terraform.tfstate',
    lockTable: `${project}-locks`,
    createBackend: true,
    stateKmsKeyId: undefined,
    dryRun: false,
    lock: 'dynamodb',
    ...extra
  } as BackendConfig
}

/** The collecting log, keeping the debug lines too. */
function debugLog(): CollectingLog & { debugs: string[] } {
  const log = Object.assign(collectingLog(), { debugs: [] as string[] })
  log.debug = message => void log.debugs.push(message)
  return log
}

describe('ensureBackend logging', () => {
  it('creates, then finds the backend: info lines for the user, debug lines for the calls', async () => {
    const first = debugLog()
    const made = await ensureBackend(config('logs'), clients(), first)
    const bucket = `logs-terraform-state-${ACCOUNT}`
    expect(made.bucketCreated && made.tableCreated).toBe(true)
    expect(first.lines).toEqual([
      `Created S3 bucket ${bucket} in ${region}`,
      `Hardened S3 bucket ${bucket}: tags, public access blocked, object ownership enforced, versioning enabled, encryption (SSE-S3), TLS-only bucket policy`,
      'Creating DynamoDB table logs-locks (LockID string key, on-demand)'
    ])
    expect(first.debugs[0]).toBe(
      `State backend: account ${ACCOUNT}, bucket ${bucket} (default name): missing (HeadBucket); lock table logs-locks: missing (DescribeTable)`
    )
    expect(first.debugs).toContain(`S3 bucket ${bucket}: applied versioning enabled`)
    expect(first.debugs).toContain(
      'Lock table logs-locks: point-in-time recovery on (UpdateContinuousBackups)'
    )
    expect(first.warnings).toEqual([])

    const again = debugLog()
    await ensureBackend(config('logs'), clients(), again)
    expect(again.lines).toEqual([`State backend present: s3://${bucket} and table logs-locks`])
    expect(again.debugs).toEqual([
      `State backend: account ${ACCOUNT}, bucket ${bucket} (default name): present (HeadBucket); lock table logs-locks: ACTIVE (DescribeTable)`,
      `S3 bucket ${bucket} protection read back: public access blocked present, versioning enabled present, encryption (SSE-S3) present, TLS-only bucket policy present`,
      'Lock table logs-locks: deletion protection on (from DescribeTable; no further call)'
    ])
  })

  it('a dry run says what it would create; lock s3 reads no table', async () => {
    const log = debugLog()
    const report = await ensureBackend(config('dry', { dryRun: true, lock: 's3' }), clients(), log)
    expect(report.missing).toBe(true)
    expect(log.lines).toEqual([`Dry run: would create S3 bucket dry-terraform-state-${ACCOUNT}`])
    expect(log.debugs[0]).toMatch(/: missing \(HeadBucket\); lock s3: no lock table read$/)
    expect(ddb.requests.some(r => JSON.stringify(r).includes('dry-locks'))).toBe(false)
  })
})
