/** Terraform's items in the DynamoDB lock table: the lock `<bucket>/<key>` and the state digest `<bucket>/<key>-md5`. */
import { GetItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DeployError, errorMessage } from '../errors'
import { awsErrorName } from './clients'

/**
 * The item under `lockId` (a consistent read), or undefined when there is none. A failed read throws
 * a DeployError whose message `failure` words from the AWS error's name.
 */
export async function readLockItem(
  dynamodb: DynamoDBClient,
  table: string,
  lockId: string,
  failure: (reason: string) => string
): Promise<Record<string, AttributeValue> | undefined> {
  try {
    const out = await dynamodb.send(
      new GetItemCommand({ TableName: table, Key: { LockID: { S: lockId } }, ConsistentRead: true })
    )
    return out.Item
  } catch (error) {
    throw new DeployError(failure(awsErrorName(error) || errorMessage(error)), { cause: error })
  }
}
