/** The lock table's items as the state-loss guard and mode unlock read them (one GetItem, shared). */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { checkStateLoss } from '../../../src/backend/guard'
import { readLock } from '../../../src/unlock/unlock'
import { startDynamoDbStandIn, type DynamoDbStandIn } from '../../../standins/dynamodb'
import { startS3StandIn, type S3StandIn } from '../../../standins/s3'

const region = 'eu-west-1'
const credentials = { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin-secret' }
let s3Standin: S3StandIn
let ddbStandin: DynamoDbStandIn
let s3: S3Client
let dynamodb: DynamoDBClient

beforeAll(async () => {
  s3Standin = await startS3StandIn()
  ddbStandin = await startDynamoDbStandIn({ createTableMs: 0 })
  s3 = new S3Client({ region, endpoint: s3Standin.url, credentials, forcePathStyle: true })
  dynamodb = new DynamoDBClient({ region, endpoint: ddbStandin.url, credentials })
  await s3.send(
    new CreateBucketCommand({
      Bucket: 'state',
      CreateBucketConfiguration: { LocationConstraint: region }
    })
  )
  await dynamodb.send(
    new CreateTableCommand({
      TableName: 'locks',
      AttributeDefinitions: [{ AttributeName: 'LockID', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'LockID', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST'
    })
  )
  const put = (LockID: string, field: string, value: string) =>
    dynamodb.send(
      new PutItemCommand({
        TableName: 'locks',
        Item: { LockID: { S: LockID }, [field]: { S: value } }
      })
    )
  await put('state/lost.tfstate-md5', 'Digest', 'abc123')
  await put('state/held.tfstate', 'Info', JSON.stringify({ ID: 'lock-1', Who: 'runner@host' }))
})

afterAll(async () => {
  s3.destroy()
  dynamodb.destroy()
  await Promise.all([s3Standin.stop(), ddbStandin.stop()])
})

describe('the lock table items', () => {
  it('the guard finds the digest of a lost state', async () => {
    const where = { bucket: 'state', key: 'lost.tfstate', table: 'locks', region }
    await expect(checkStateLoss(where, { s3, dynamodb }, false)).rejects.toThrow(
      'the lock table locks still holds the state digest (state/lost.tfstate-md5 = abc123)'
    )
  })

  it('the guard names the table it could not read', async () => {
    const where = { bucket: 'state', key: 'lost.tfstate', table: 'no-such-table', region }
    await expect(checkStateLoss(where, { s3, dynamodb }, false)).rejects.toThrow(
      /^Could not read the lock table no-such-table to check for lost state: ResourceNotFoundException$/
    )
  })

  it('mode unlock reads the lock in the table, and says which table it could not read', async () => {
    const where = {
      bucket: 'state',
      key: 'held.tfstate',
      table: 'locks',
      lock: 'dynamodb' as const
    }
    expect(await readLock(where, { s3, dynamodb })).toEqual({
      id: 'lock-1',
      who: 'runner@host',
      where: 'DynamoDB table locks'
    })
    expect(await readLock({ ...where, key: 'free.tfstate' }, { s3, dynamodb })).toBeUndefined()
    await expect(readLock({ ...where, table: 'gone' }, { s3, dynamodb })).rejects.toThrow(
      /^Could not read the state lock in the lock table gone: ResourceNotFoundException; check dynamodb:GetItem$/
    )
  })
})
