import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import {
  CreateTableCommand,
  DeleteItemCommand,
  DeleteTableCommand,
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  DynamoDBServiceException,
  ListTagsOfResourceCommand,
  ListTablesCommand,
  PutItemCommand,
  TagResourceCommand,
  UpdateContinuousBackupsCommand,
  UpdateTableCommand,
  type DynamoDBClientConfig
} from '@aws-sdk/client-dynamodb'
import { startDynamoDbStandIn, type DynamoDbStandIn } from '../../standins/dynamodb'

let ddb: DynamoDbStandIn
const credentials = { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin-secret' }

function client(region = 'eu-west-1', extra: Partial<DynamoDBClientConfig> = {}): DynamoDBClient {
  return new DynamoDBClient({ region, endpoint: ddb.url, credentials, ...extra })
}

async function failure(p: Promise<unknown>): Promise<DynamoDBServiceException> {
  try {
    await p
  } catch (error) {
    if (error instanceof DynamoDBServiceException) return error
    throw error
  }
  throw new Error('expected the call to fail')
}

async function waitActive(c: DynamoDBClient, TableName: string): Promise<number> {
  const started = Date.now()
  for (;;) {
    const t = await c.send(new DescribeTableCommand({ TableName }))
    if (t.Table?.TableStatus === 'ACTIVE') return Date.now() - started
    if (Date.now() - started > 5000) throw new Error(`${TableName} never became ACTIVE`)
    await new Promise(r => setTimeout(r, 20))
  }
}

function lockTable(TableName: string): CreateTableCommand {
  return new CreateTableCommand({
    TableName,
    AttributeDefinitions: [{ AttributeName: 'LockID', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'LockID', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
    Tags: [{ Key: 'project', Value: 'demo' }]
  })
}

beforeAll(async () => {
  ddb = await startDynamoDbStandIn({ accountId: '210987654321', createTableMs: 150 })
})

afterAll(async () => {
  await ddb.stop()
})

describe('lock table lifecycle', () => {
  it('creates an on-demand table that goes CREATING → ACTIVE, with tags', async () => {
    const c = client()
    const created = await c.send(lockTable('demo-terraform-locks'))
    expect(created.TableDescription?.TableStatus).toBe('CREATING')
    expect(created.TableDescription?.TableArn).toBe(
      'arn:aws:dynamodb:eu-west-1:210987654321:table/demo-terraform-locks'
    )
    const waited = await waitActive(c, 'demo-terraform-locks')
    expect(waited).toBeGreaterThanOrEqual(100)
    const t = await c.send(new DescribeTableCommand({ TableName: 'demo-terraform-locks' }))
    expect(t.Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST')
    expect(t.Table?.KeySchema).toEqual([{ AttributeName: 'LockID', KeyType: 'HASH' }])

    const tags = await c.send(new ListTagsOfResourceCommand({ ResourceArn: t.Table?.TableArn }))
    expect(tags.Tags).toEqual([{ Key: 'project', Value: 'demo' }])
    await c.send(
      new TagResourceCommand({
        ResourceArn: t.Table?.TableArn,
        Tags: [{ Key: 'env', Value: 'prod' }]
      })
    )
    const [info] = await ddb.tables('eu-west-1')
    expect(info).toMatchObject({
      name: 'demo-terraform-locks',
      status: 'ACTIVE',
      billingMode: 'PAY_PER_REQUEST',
      pointInTimeRecovery: false,
      tags: { project: 'demo', env: 'prod' }
    })
  })

  it('answers ResourceInUseException when the table exists (the race two runs hit)', async () => {
    const c = client()
    const results = await Promise.allSettled([
      c.send(lockTable('race-locks')),
      c.send(lockTable('race-locks'))
    ])
    expect(results.filter(r => r.status === 'fulfilled')).toHaveLength(1)
    const rejected = results.find(r => r.status === 'rejected') as PromiseRejectedResult
    expect((rejected.reason as Error).name).toBe('ResourceInUseException')
    expect((rejected.reason as Error).message).toBe('Table already exists: race-locks')
    await waitActive(c, 'race-locks')
  })

  it('deletion protection: set at creation or by UpdateTable, described, and DeleteTable refused', async () => {
    const c = client()
    const created = await c.send(
      new CreateTableCommand({
        TableName: 'guarded-locks',
        AttributeDefinitions: [{ AttributeName: 'LockID', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'LockID', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        DeletionProtectionEnabled: true
      })
    )
    expect(created.TableDescription?.DeletionProtectionEnabled).toBe(true)
    await waitActive(c, 'guarded-locks')
    const described = await c.send(new DescribeTableCommand({ TableName: 'guarded-locks' }))
    expect(described.Table?.DeletionProtectionEnabled).toBe(true)
    const refused = await failure(c.send(new DeleteTableCommand({ TableName: 'guarded-locks' })))
    expect(refused.name).toBe('ValidationException')
    expect(refused.message).toMatch(/protected against deletion/)

    await c.send(lockTable('open-locks'))
    await waitActive(c, 'open-locks')
    expect(
      (await c.send(new DescribeTableCommand({ TableName: 'open-locks' }))).Table
        ?.DeletionProtectionEnabled
    ).toBe(false)
    const updated = await c.send(
      new UpdateTableCommand({ TableName: 'open-locks', DeletionProtectionEnabled: true })
    )
    expect(updated.TableDescription?.DeletionProtectionEnabled).toBe(true)
    expect((await ddb.tables('eu-west-1')).find(t => t.name === 'open-locks')).toMatchObject({
      deletionProtection: true
    })
    await c.send(
      new UpdateTableCommand({ TableName: 'open-locks', DeletionProtectionEnabled: false })
    )
    const deleted = await c.send(new DeleteTableCommand({ TableName: 'open-locks' }))
    expect(deleted.TableDescription?.TableStatus).toBe('DELETING')
  })

  it('keeps tables per region', async () => {
    const other = client('us-east-1')
    const e = await failure(
      other.send(new DescribeTableCommand({ TableName: 'demo-terraform-locks' }))
    )
    expect(e.name).toBe('ResourceNotFoundException')
    expect((await other.send(new ListTablesCommand({}))).TableNames).toEqual([])
  })

  it('point-in-time recovery: unavailable while CREATING, then enabled and described', async () => {
    const c = client()
    await c.send(lockTable('pitr-locks'))
    const early = await failure(
      c.send(
        new UpdateContinuousBackupsCommand({
          TableName: 'pitr-locks',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }
        })
      )
    )
    expect(early.name).toBe('ContinuousBackupsUnavailableException')
    await waitActive(c, 'pitr-locks')
    const before = await c.send(new DescribeContinuousBackupsCommand({ TableName: 'pitr-locks' }))
    expect(
      before.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus
    ).toBe('DISABLED')
    const updated = await c.send(
      new UpdateContinuousBackupsCommand({
        TableName: 'pitr-locks',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }
      })
    )
    expect(updated.ContinuousBackupsDescription?.PointInTimeRecoveryDescription).toMatchObject({
      PointInTimeRecoveryStatus: 'ENABLED',
      RecoveryPeriodInDays: 35
    })
    const after = await c.send(new DescribeContinuousBackupsCommand({ TableName: 'pitr-locks' }))
    expect(
      after.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.EarliestRestorableDateTime
    ).toBeInstanceOf(Date)
    expect(
      (await ddb.tables('eu-west-1')).find(t => t.name === 'pitr-locks')?.pointInTimeRecovery
    ).toBe(true)
    const missing = await failure(
      c.send(new DescribeContinuousBackupsCommand({ TableName: 'no-such-table' }))
    )
    expect(missing.name).toBe('TableNotFoundException')
  })

  it('conditional writes behave like the Terraform lock (attribute_not_exists)', async () => {
    const c = client()
    const put = (info: string): PutItemCommand =>
      new PutItemCommand({
        TableName: 'demo-terraform-locks',
        Item: { LockID: { S: 'state-bucket/production/terraform.tfstate' }, Info: { S: info } },
        ConditionExpression: 'attribute_not_exists(LockID)'
      })
    await c.send(put('first'))
    const second = await failure(c.send(put('second')))
    expect(second.name).toBe('ConditionalCheckFailedException')
    expect(await ddb.items('demo-terraform-locks')).toEqual([
      { LockID: 'state-bucket/production/terraform.tfstate', Info: 'first' }
    ])
    await c.send(
      new DeleteItemCommand({
        TableName: 'demo-terraform-locks',
        Key: { LockID: { S: 'state-bucket/production/terraform.tfstate' } }
      })
    )
    expect(await ddb.items('demo-terraform-locks')).toEqual([])
  })

  it('is reached through AWS_ENDPOINT_URL_DYNAMODB', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_DYNAMODB
    process.env.AWS_ENDPOINT_URL_DYNAMODB = ddb.url
    try {
      const viaEnv = new DynamoDBClient({ region: 'eu-west-1', credentials })
      const names = (await viaEnv.send(new ListTablesCommand({}))).TableNames
      expect(names).toContain('demo-terraform-locks')
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_DYNAMODB
      else process.env.AWS_ENDPOINT_URL_DYNAMODB = saved
    }
  })
})

describe('fault injection seen by the SDK', () => {
  it.each(['throttle', '5xx', 'reset'] as const)('one %s is retried by the SDK', async kind => {
    ddb.clearRequests()
    ddb.failNext(1, { operation: 'DescribeTable' }, kind)
    const t = await client().send(new DescribeTableCommand({ TableName: 'demo-terraform-locks' }))
    expect(t.Table?.TableStatus).toBe('ACTIVE')
    expect(ddb.requests.map(r => [r.operation, r.status, r.fault])).toEqual([
      ['DescribeTable', { throttle: 400, '5xx': 500, reset: 0 }[kind], kind],
      ['DescribeTable', 200, undefined]
    ])
  })

  it('throttling past the retry budget surfaces ThrottlingException', async () => {
    ddb.clearRequests()
    ddb.failNext(2, { operation: /^Describe/ }, 'throttle')
    const e = await failure(
      client('eu-west-1', { maxAttempts: 2 }).send(
        new DescribeTableCommand({ TableName: 'demo-terraform-locks' })
      )
    )
    expect(e.name).toBe('ThrottlingException')
    expect(e.$metadata.attempts).toBe(2)
    expect(ddb.requests).toHaveLength(2)
  })
})
