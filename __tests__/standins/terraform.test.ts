import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutBucketVersioningCommand,
  S3Client
} from '@aws-sdk/client-s3'
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { STANDIN_CREDENTIALS, startStandIns, type StandIns } from '../../standins/index'

const run = promisify(execFile)
const FIXTURE = path.join(process.cwd(), '__tests__', 'fixtures', 'terraform', 'lock-stack')
const REGION = 'eu-west-1'
const BUCKET = 'demo-terraform-state-123456789012'
const TABLE = 'demo-terraform-locks'
const KEY = 'production/terraform.tfstate'

let si: StandIns
let work: string
const applyLog = (): string => path.join(work, 'apply.log')

function tfEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ...si.env, TF_IN_AUTOMATION: '1', APPLY_LOG: applyLog() }
}

/** Copy the fixture stack into a fresh directory and `terraform init` it against the stand-ins. */
async function initStack(name: string): Promise<string> {
  const dir = path.join(work, name)
  fs.mkdirSync(dir)
  fs.copyFileSync(path.join(FIXTURE, 'main.tf'), path.join(dir, 'main.tf'))
  const backend = [
    `bucket=${BUCKET}`,
    `key=${KEY}`,
    `dynamodb_table=${TABLE}`,
    'encrypt=true',
    ...si.backendConfig(REGION)
  ]
  await run(
    'terraform',
    ['init', '-input=false', '-no-color', ...backend.map(b => `-backend-config=${b}`)],
    { cwd: dir, env: tfEnv() }
  )
  return dir
}

async function apply(dir: string): Promise<string> {
  const { stdout } = await run(
    'terraform',
    ['apply', '-input=false', '-no-color', '-auto-approve', '-lock-timeout=60s'],
    { cwd: dir, env: tfEnv() }
  )
  return stdout
}

async function state(): Promise<{ serial: number; resources: Array<{ type: string }> }> {
  const s3 = new S3Client({ region: REGION, endpoint: si.s3.url, credentials: STANDIN_CREDENTIALS })
  const obj = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: KEY }))
  return JSON.parse((await obj.Body?.transformToString()) ?? '{}') as {
    serial: number
    resources: Array<{ type: string }>
  }
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'standins-tf-'))
  si = await startStandIns()
  const s3 = new S3Client({ region: REGION, endpoint: si.s3.url, credentials: STANDIN_CREDENTIALS })
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }))
  await s3.send(
    new PutBucketVersioningCommand({
      Bucket: BUCKET,
      VersioningConfiguration: { Status: 'Enabled' }
    })
  )
  const ddb = new DynamoDBClient({
    region: REGION,
    endpoint: si.dynamodb.url,
    credentials: STANDIN_CREDENTIALS
  })
  await ddb.send(
    new CreateTableCommand({
      TableName: TABLE,
      AttributeDefinitions: [{ AttributeName: 'LockID', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'LockID', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST'
    })
  )
  for (;;) {
    const t = await ddb.send(new DescribeTableCommand({ TableName: TABLE }))
    if (t.Table?.TableStatus === 'ACTIVE') break
    await new Promise(r => setTimeout(r, 25))
  }
})

afterAll(async () => {
  await si?.stop()
  fs.rmSync(work, { recursive: true, force: true })
})

describe('real Terraform against the stand-ins', () => {
  it('initialises an empty backend "s3" {} and applies, keeping state in S3 and the digest in DynamoDB', async () => {
    const dir = await initStack('first')
    // The s3 backend found the bucket (workspace listing), the table (state digest) and STS.
    const ops = si.s3.requests.map(r => r.operation)
    expect(ops).toContain('ListObjectsV2')
    expect(si.cloud.requests.map(r => `${r.service}:${r.operation}`)).toContain(
      'sts:GetCallerIdentity'
    )

    const out = await apply(dir)
    expect(out).toContain('Apply complete! Resources: 1 added, 0 changed, 0 destroyed.')
    expect(out).toContain('frontend_bucket = "site-demo"')
    const s = await state()
    expect(s.serial).toBe(1)
    expect(s.resources.map(r => r.type)).toEqual(['terraform_data'])
    expect(si.s3.objectVersions(BUCKET, KEY)).toHaveLength(1)
    const items = await si.dynamodb.items(TABLE)
    expect(items.map(i => i.LockID)).toEqual([`${BUCKET}/${KEY}-md5`])
    expect(items[0]?.Digest).toMatch(/^[0-9a-f]{32}$/)
  })

  it('two concurrent applies of the same stack serialise on the DynamoDB lock', async () => {
    const [a, b] = [await initStack('copy-a'), await initStack('copy-b')]
    fs.writeFileSync(applyLog(), '')
    si.dynamodb.clearRequests()

    const lockSeen: string[] = []
    let running = true
    const watcher = (async () => {
      while (running) {
        for (const item of await si.dynamodb.items(TABLE)) {
          if (item.LockID === `${BUCKET}/${KEY}`) lockSeen.push(String(item.Info))
        }
        await new Promise(r => setTimeout(r, 100))
      }
    })()
    const outputs = await Promise.all([apply(a), apply(b)]).finally(() => {
      running = false
    })
    await watcher

    for (const out of outputs) expect(out).toContain('Apply complete!')
    // The provisioner runs never overlapped: start, end, start, end.
    const log = fs
      .readFileSync(applyLog(), 'utf8')
      .trim()
      .split('\n')
      .map(l => l.split(' '))
    expect(log.map(([what]) => what)).toEqual(['start', 'end', 'start', 'end'])
    expect(BigInt(log[2]?.[1] ?? 0)).toBeGreaterThan(BigInt(log[1]?.[1] ?? 0))

    // The lock item was there during an apply, held for an apply, and is gone now.
    expect(lockSeen.length).toBeGreaterThan(0)
    expect(JSON.parse(lockSeen[0] ?? '{}')).toMatchObject({ Operation: 'OperationTypeApply' })
    expect((await si.dynamodb.items(TABLE)).map(i => i.LockID)).toEqual([`${BUCKET}/${KEY}-md5`])
    // The second apply found the lock taken: a conditional PutItem that failed, then retried.
    const puts = si.dynamodb.requests.filter(r => r.operation === 'PutItem')
    expect(puts.some(r => r.status === 400)).toBe(true)

    const s = await state()
    expect(s.serial).toBe(3)
    expect(si.s3.objectVersions(BUCKET, KEY)).toHaveLength(3)
  })
})
