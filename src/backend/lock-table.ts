/** The DynamoDB lock table: described, checked, created (protected, with point-in-time recovery), waited for. */
import {
  CreateTableCommand,
  DescribeTableCommand,
  ListTagsOfResourceCommand,
  UpdateContinuousBackupsCommand,
  UpdateTableCommand,
  type DynamoDBClient,
  type TableDescription
} from '@aws-sdk/client-dynamodb'
import { awsErrorName, retryOn } from '../aws/clients'
import { DeployError, errorMessage } from '../errors'

import type { BackendRun } from './backend'
import { managedTag, tags } from './bucket-protection'

const TABLE_ACTIVE_TIMEOUT_MS = 5 * 60_000

export async function describeTable(
  dynamodb: DynamoDBClient,
  table: string
): Promise<TableDescription | undefined> {
  try {
    return (await dynamodb.send(new DescribeTableCommand({ TableName: table }))).Table
  } catch (error) {
    if (awsErrorName(error) === 'ResourceNotFoundException') return undefined
    throw new DeployError(
      `Could not check the lock table ${table}: ${awsErrorName(error) || errorMessage(error)}`,
      {
        cause: error
      }
    )
  }
}

export function checkTable(table: TableDescription, name: string): void {
  const keys = table.KeySchema ?? []
  const hash = keys.find(k => k.KeyType === 'HASH')
  const type = table.AttributeDefinitions?.find(
    a => a.AttributeName === hash?.AttributeName
  )?.AttributeType
  if (keys.length !== 1 || hash?.AttributeName !== 'LockID' || type !== 'S') {
    const shape = keys.map(k => `${k.AttributeName} (${k.KeyType})`).join(', ')
    throw new DeployError(
      `The lock table ${name} has the key ${shape || 'none'}, but Terraform needs a single string hash key named LockID; choose another lock-table (the action creates it) or recreate this one with LockID (S) as its only key.`
    )
  }
}

export async function createTable(run: BackendRun, dynamodb: DynamoDBClient): Promise<void> {
  const { config, report, log } = run
  const table = config.lockTable
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'LockID', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'LockID', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        DeletionProtectionEnabled: true,
        Tags: tags(config)
      })
    )
    report.tableCreated = true
    log.info(`Creating DynamoDB table ${table} (LockID string key, on-demand)`)
  } catch (error) {
    if (awsErrorName(error) !== 'ResourceInUseException') {
      throw new DeployError(
        `Could not create the lock table ${table}: ${awsErrorName(error) || errorMessage(error)}`,
        {
          cause: error
        }
      )
    }
    log.info(`DynamoDB table ${table} was created meanwhile by another run`)
  }
  log.debug(`Waiting for the lock table ${table} to become ACTIVE (DescribeTable)`)
  const active = await waitActive(dynamodb, table)
  checkTable(active, table)
  if (report.tableCreated) {
    report.hardened.push('table: on-demand billing, LockID key, deletion protection')
    try {
      await retryOn(
        () =>
          dynamodb.send(
            new UpdateContinuousBackupsCommand({
              TableName: table,
              PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }
            })
          ),
        e => awsErrorName(e) === 'ContinuousBackupsUnavailableException',
        5
      )
      report.hardened.push('table: point-in-time recovery')
      log.debug(`Lock table ${table}: point-in-time recovery on (UpdateContinuousBackups)`)
    } catch (error) {
      report.warnings.push(
        `Point-in-time recovery could not be enabled on ${table} (${awsErrorName(error) || errorMessage(error)}); the lock table works without it.`
      )
    }
  }
}

/**
 * An existing lock table without deletion protection: turned on when the action created the table
 * (its ManagedBy tag), else a warning with the fix.
 * DescribeTable already says whether it is on, so a protected table costs no extra call.
 */
export async function checkTableProtection(
  run: BackendRun,
  dynamodb: DynamoDBClient,
  table: TableDescription
): Promise<void> {
  const { config, report, log } = run
  const name = config.lockTable
  if (table.DeletionProtectionEnabled !== false) {
    log.debug(`Lock table ${name}: deletion protection on (from DescribeTable; no further call)`)
    return
  }
  const fix = `aws dynamodb update-table --table-name ${name} --deletion-protection-enabled`
  let ours = false
  try {
    const tagged = await dynamodb.send(
      new ListTagsOfResourceCommand({ ResourceArn: table.TableArn })
    )
    ours = managedTag(tagged.Tags)
  } catch {
    // No permission to read tags: not known to be ours, so only warn.
  }
  log.debug(
    `Lock table ${name}: no deletion protection; ManagedBy tag ${ours ? 'present' : 'absent or unreadable'} (ListTagsOfResource)`
  )
  if (!ours || config.dryRun) {
    report.warnings.push(
      `The lock table ${name} has no deletion protection${ours ? '; a run that is not a dry run turns it on (the table was created by revive-deploy)' : `; fix: ${fix}`}.`
    )
    return
  }
  try {
    await dynamodb.send(
      new UpdateTableCommand({ TableName: name, DeletionProtectionEnabled: true })
    )
  } catch (error) {
    report.warnings.push(
      `Could not turn on deletion protection for the lock table ${name} (${awsErrorName(error) || errorMessage(error)}); grant dynamodb:UpdateTable on it, or run: ${fix}.`
    )
    return
  }
  report.hardened.push('table: deletion protection (finished: was missing)')
  log.info(`Turned on deletion protection for the lock table ${name}`)
}

/** Wait (bounded) until the table is ACTIVE. */
export async function waitActive(
  dynamodb: DynamoDBClient,
  table: string,
  known?: TableDescription
): Promise<TableDescription> {
  const deadline = Date.now() + TABLE_ACTIVE_TIMEOUT_MS
  let current = known
  for (let delay = 100; ; delay = Math.min(delay * 2, 5000)) {
    if (current?.TableStatus === 'ACTIVE') return current
    if (current && current.TableStatus !== 'CREATING' && current.TableStatus !== 'UPDATING') {
      throw new DeployError(
        `The lock table ${table} is ${current.TableStatus}; it must be ACTIVE. Choose another lock-table or fix it in the console.`
      )
    }
    if (Date.now() > deadline) {
      throw new DeployError(
        `The lock table ${table} did not become ACTIVE within ${TABLE_ACTIVE_TIMEOUT_MS / 60000} minutes; re-run when it is.`
      )
    }
    await new Promise(resolve => setTimeout(resolve, delay))
    current = await describeTable(dynamodb, table)
  }
}
