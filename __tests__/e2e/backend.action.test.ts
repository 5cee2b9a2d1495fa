import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetBucketEncryptionCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  ListBucketsCommand,
  ListObjectVersionsCommand
} from '@aws-sdk/client-s3'
import {
  CreateTableCommand,
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  ListTablesCommand
} from '@aws-sdk/client-dynamodb'
import {
  byAction,
  explain,
  instanceCount,
  makeWorkspace,
  startTestbed,
  WRITE_OPERATION,
  type Testbed
} from '../helpers/testbed'

// The state backend through the bundled action, against the stand-ins, with the real Terraform binary.
describe('state backend (eu-west-1)', () => {
  let bed: Testbed
  let workspace: string
  const bucket = 'shop-terraform-state-123456789012'
  const table = 'shop-terraform-locks'
  beforeAll(async () => {
    // New buckets start with nothing set, so what the test reads back is what the action set.
    bed = await startTestbed('eu-west-1', { bucketDefaults: 'none' })
    workspace = makeWorkspace('app')
  })
  afterAll(async () => bed.stop())

  it('creates a hardened bucket and table in an empty account', async () => {
    const run = await bed.run(workspace, { mode: 'apply' })
    expect(run.exitCode).toBe(0)
    expect(run.outputs['backend-created']).toBe('true')
    expect(run.outputs['state-bucket']).toBe(bucket)
    expect(run.outputs['lock-table']).toBe(table)
    expect(run.log).toContain(`Created S3 bucket ${bucket} in eu-west-1`)
    expect(run.summary).toMatch(
      /S3 state bucket \| `shop-terraform-state-123456789012` \| created by this run/
    )

    const s3 = bed.s3()
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe(
      'Enabled'
    )
    const encryption = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }))
    expect(
      encryption.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault
        ?.SSEAlgorithm
    ).toBe('AES256')
    const pab = (await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket })))
      .PublicAccessBlockConfiguration
    expect(pab).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true
    })
    const ownership = await s3.send(new GetBucketOwnershipControlsCommand({ Bucket: bucket }))
    expect(ownership.OwnershipControls?.Rules?.[0]?.ObjectOwnership).toBe('BucketOwnerEnforced')
    const policy = JSON.parse(
      (await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy ?? '{}'
    ) as {
      Statement: Array<{ Effect: string; Condition: unknown }>
    }
    expect(policy.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } }
      })
    )
    const tags = (await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }))).TagSet ?? []
    expect(tags).toEqual(
      expect.arrayContaining([
        { Key: 'Project', Value: 'shop' },
        { Key: 'ManagedBy', Value: 'revive-deploy' }
      ])
    )

    const described = (await bed.dynamodb().send(new DescribeTableCommand({ TableName: table })))
      .Table
    expect(described?.TableStatus).toBe('ACTIVE')
    expect(described?.KeySchema).toEqual([{ AttributeName: 'LockID', KeyType: 'HASH' }])
    expect(described?.AttributeDefinitions).toEqual([
      { AttributeName: 'LockID', AttributeType: 'S' }
    ])
    expect(described?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST')
    expect(described?.DeletionProtectionEnabled).toBe(true)
    const pitr = await bed
      .dynamodb()
      .send(new DescribeContinuousBackupsCommand({ TableName: table }))
    expect(
      pitr.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus
    ).toBe('ENABLED')
    expect(instanceCount(await bed.state(bucket))).toBe(6)
  })

  it('a second run only reads: no writes, at most 9 backend reads', async () => {
    bed.standins.s3.clearRequests()
    bed.standins.dynamodb.clearRequests()
    bed.standins.cloud.clearRequests()
    const run = await bed.run(workspace, { mode: 'apply' })
    expect(run.exitCode).toBe(0)
    expect(run.outputs['backend-created']).toBe('false')
    const calls = byAction([
      ...bed.standins.s3.requests,
      ...bed.standins.dynamodb.requests,
      ...bed.standins.cloud.requests
    ])
    const writes = calls.filter(r => WRITE_OPERATION.test(r.operation))
    console.log(
      `backend check on an existing backend: ${calls.length} calls by the action (${calls.map(r => r.operation).join(', ')}), ${writes.length} writes`
    )
    expect(writes).toEqual([])
    // HeadBucket, DescribeTable, GetCallerIdentity (the bucket's name), the bucket's protection
    // (GetBucketVersioning, GetBucketEncryption, GetPublicAccessBlock, GetBucketPolicy), GetObject
    // of the ownership record next to the state, HeadObject of the state (the state-loss guard).
    expect(calls.length).toBeLessThanOrEqual(9)
  })

  it('refuses to plan from scratch when the state object was deleted, and says how to restore it', async () => {
    const s3 = bed.s3()
    const key = 'production/terraform.tfstate'
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }))
    const newest = versions.Versions?.find(v => v.Key === key)
    expect(newest?.VersionId).toBeDefined()

    const run = await bed.run(workspace, { mode: 'apply' })
    expect(run.exitCode).toBe(1)
    expect(run.errors).toHaveLength(1)
    expect(run.errors[0]).toMatch(/State-loss guard/)
    expect(run.errors[0]).toContain('still holds the state digest')
    expect(run.errors[0]).toContain(`versionId=${newest?.VersionId}`)
    expect(run.errors[0]).toContain('allow-fresh-state')
    expect(run.log).not.toContain('terraform plan')
    expect(run.outputs['to-add']).toBeUndefined()

    const fresh = await bed.run(workspace, { mode: 'plan', 'allow-fresh-state': 'true' })
    expect(fresh.exitCode).toBe(0)
    expect(fresh.log).toMatch(/State-loss guard: the state is missing/)
    expect(fresh.outputs['to-add']).toBe('6')
  })
})

describe('state backend edge cases', () => {
  let bed: Testbed
  beforeAll(async () => {
    bed = await startTestbed('us-east-1', { foreignBuckets: ['taken-state-bucket'] })
  })
  afterAll(async () => bed.stop())

  const counts = async (): Promise<{ buckets: number; tables: number }> => ({
    buckets: (await bed.s3().send(new ListBucketsCommand({}))).Buckets?.length ?? 0,
    tables: (await bed.dynamodb().send(new ListTablesCommand({}))).TableNames?.length ?? 0
  })

  it('a bucket name owned by another account fails clearly and creates nothing', async () => {
    const run = await bed.run(makeWorkspace('app'), {
      mode: 'plan',
      'state-bucket': 'taken-state-bucket'
    })
    expect(run.exitCode).toBe(1)
    expect(run.errors[0]).toMatch(
      /taken-state-bucket is taken by another AWS account.*choose another state-bucket/
    )
    expect(await counts()).toEqual({ buckets: 0, tables: 0 })
  })

  it('create-backend: false with nothing there names what is missing and how to create it', async () => {
    const run = await bed.run(makeWorkspace('app'), { mode: 'plan', 'create-backend': 'false' })
    expect(run.exitCode).toBe(1)
    expect(run.errors[0]).toMatch(
      /S3 bucket shop-terraform-state-123456789012 and DynamoDB table shop-terraform-locks do not exist in us-east-1/
    )
    expect(run.errors[0]).toMatch(/create-backend: true/)
    expect(await counts()).toEqual({ buckets: 0, tables: 0 })
  })

  it('a lock table with the wrong key schema fails clearly and creates nothing', async () => {
    await bed.dynamodb().send(
      new CreateTableCommand({
        TableName: 'wrong-locks',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST'
      })
    )
    const run = await bed.run(makeWorkspace('app'), { mode: 'plan', 'lock-table': 'wrong-locks' })
    expect(run.exitCode).toBe(1)
    expect(run.errors[0]).toMatch(/lock table wrong-locks has the key id \(HASH\).*LockID/)
    expect(await counts()).toEqual({ buckets: 0, tables: 1 })
  })

  it('works in us-east-1, and five concurrent first runs end with one bucket and one table', async () => {
    const runs = await Promise.all(
      Array.from({ length: 5 }, () =>
        bed.run(makeWorkspace('app'), { mode: 'plan', project: 'race' })
      )
    )
    for (const run of runs) expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    const buckets = (await bed.s3().send(new ListBucketsCommand({}))).Buckets?.map(b => b.Name)
    expect(buckets).toEqual(['race-terraform-state-123456789012'])
    const tables = (await bed.dynamodb().send(new ListTablesCommand({}))).TableNames
    expect(tables?.filter(t => t.startsWith('race'))).toEqual(['race-terraform-locks'])
    expect(runs.filter(r => r.outputs['backend-created'] === 'true').length).toBeGreaterThanOrEqual(
      1
    )
    for (const run of runs) expect(run.outputs['to-add']).toBe('6')
  })
})

describe('state backend protection on later runs', () => {
  let bed: Testbed
  const bucket = 'shop-terraform-state-123456789012'
  beforeAll(async () => {
    bed = await startTestbed('eu-west-2', { bucketDefaults: 'none' })
  })
  afterAll(async () => bed.stop())

  const bucketConfigWrites = (): string[] =>
    byAction(bed.standins.s3.requests)
      .map(r => r.operation)
      .filter(op => /^Put(Bucket|PublicAccessBlock)/.test(op))
  const warnings = (log: string): string[] =>
    log.split('\n').filter(line => line.startsWith('::warning'))

  it('a bucket whose hardening failed half-way is finished by the next run', async () => {
    const workspace = makeWorkspace('app')
    // Versioning fails past every retry: the bucket is created and tagged, then the run stops.
    // (6: the SDK's attempts per call, so no fault is left for the next run.)
    bed.standins.s3.failNext(6, { operation: 'PutBucketVersioning' }, '5xx')
    const first = await bed.run(workspace, { mode: 'plan' })
    expect(first.exitCode).toBe(1)
    expect(first.errors[0]).toMatch(/could not apply "versioning enabled"/)
    expect(first.errors[0]).toMatch(/the next run finds what is missing on this bucket/)
    const s3 = bed.s3()
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe(
      undefined
    )
    bed.standins.s3.clearRequests()

    const second = await bed.run(workspace, { mode: 'plan' })
    expect([second.exitCode, explain(second)]).toEqual([0, explain(second)])
    expect(second.log).toContain(`Finished the hardening of S3 bucket ${bucket}`)
    expect(second.summary.replace(/\\/g, '')).toMatch(
      /Hardened: bucket: versioning enabled \(finished: was missing\)/
    )
    expect(bucketConfigWrites().sort()).toEqual([
      'PutBucketEncryption',
      'PutBucketPolicy',
      'PutBucketVersioning'
    ])
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe(
      'Enabled'
    )
    const policy = JSON.parse(
      (await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy ?? '{}'
    ) as { Statement: unknown[] }
    expect(policy.Statement).toContainEqual(
      expect.objectContaining({ Condition: { Bool: { 'aws:SecureTransport': 'false' } } })
    )
    const encryption = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }))
    expect(encryption.ServerSideEncryptionConfiguration?.Rules).toHaveLength(1)

    bed.standins.s3.clearRequests()
    const third = await bed.run(workspace, { mode: 'plan' })
    expect(third.exitCode).toBe(0)
    expect(bucketConfigWrites()).toEqual([])
    expect(warnings(third.log)).toEqual([])
  })

  it('a state bucket the action did not create: each gap and its fix in a warning, nothing changed', async () => {
    await bed.s3().send(
      new CreateBucketCommand({
        Bucket: 'team-state',
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' }
      })
    )
    bed.standins.s3.clearRequests()
    const run = await bed.run(makeWorkspace('app'), {
      mode: 'plan',
      'state-bucket': 'team-state',
      'lock-table': 'team-locks'
    })
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    const [warning, ...others] = warnings(run.log).filter(w => w.includes('team-state'))
    expect(others).toEqual([])
    expect(warning).toMatch(
      /lacks public access blocked, versioning enabled, encryption \(SSE-S3\), TLS-only bucket policy/
    )
    expect(warning).toMatch(/state-loss guard cannot find earlier versions/)
    expect(warning).toContain(
      'aws s3api put-bucket-versioning --bucket team-state --versioning-configuration Status=Enabled'
    )
    expect(warning).toContain('aws s3api put-public-access-block --bucket team-state')
    expect(bucketConfigWrites()).toEqual([])
    expect(
      (await bed.s3().send(new GetBucketVersioningCommand({ Bucket: 'team-state' }))).Status
    ).toBe(undefined)
  })

  it('lock tables: an older one of the action gets deletion protection, another one a warning', async () => {
    const ddb = bed.dynamodb()
    const table = (TableName: string, managed: boolean): CreateTableCommand =>
      new CreateTableCommand({
        TableName,
        AttributeDefinitions: [{ AttributeName: 'LockID', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'LockID', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        ...(managed && { Tags: [{ Key: 'ManagedBy', Value: 'revive-deploy' }] })
      })
    await ddb.send(table('old-locks', true))
    await ddb.send(table('hand-locks', false))
    const protectedNow = async (TableName: string): Promise<boolean | undefined> =>
      (await ddb.send(new DescribeTableCommand({ TableName }))).Table?.DeletionProtectionEnabled

    const old = await bed.run(makeWorkspace('app'), { mode: 'plan', 'lock-table': 'old-locks' })
    expect([old.exitCode, explain(old)]).toEqual([0, explain(old)])
    expect(old.log).toContain('Turned on deletion protection for the lock table old-locks')
    expect(await protectedNow('old-locks')).toBe(true)

    const hand = await bed.run(makeWorkspace('app'), { mode: 'plan', 'lock-table': 'hand-locks' })
    expect([hand.exitCode, explain(hand)]).toEqual([0, explain(hand)])
    expect(warnings(hand.log).join('\n')).toContain(
      'The lock table hand-locks has no deletion protection; fix: aws dynamodb update-table --table-name hand-locks --deletion-protection-enabled'
    )
    expect(await protectedNow('hand-locks')).toBe(false)
  })
})
