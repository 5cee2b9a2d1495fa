import {
  CreateBucketCommand,
  HeadBucketCommand,
  PutBucketEncryptionCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  type BucketLocationConstraint,
  type S3Client
} from '@aws-sdk/client-s3'
import {
  CreateTableCommand,
  DescribeTableCommand,
  UpdateContinuousBackupsCommand,
  type DynamoDBClient,
  type TableDescription
} from '@aws-sdk/client-dynamodb'
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts'
import { awsErrorName, awsStatus, expectBucketOwner, retryOn } from '../aws/clients'
import { DeployError, InputError } from '../errors'
import { bucketNameProblem, type Config } from '../inputs'

/** What the state-backend step found and did. */
export interface BackendReport {
  /** The account of the credentials: it must own the state bucket (and the site bucket). */
  account: string
  bucket: string
  table: string
  key: string
  region: string
  /** This run created the bucket / the table. */
  bucketCreated: boolean
  tableCreated: boolean
  /** Settings applied to a bucket or table this run created (versioning, encryption, ...). */
  hardened: string[]
  /** Dry run: what would have been created. */
  wouldCreate: string[]
  /** The backend does not fully exist (only possible in a dry run). */
  missing: boolean
  /** Settings that could not be applied, with the reason (reported as warnings). */
  warnings: string[]
  seconds: number
}

export interface BackendClients {
  s3: S3Client
  dynamodb: DynamoDBClient
  sts: STSClient
}

type BackendConfig = Pick<
  Config,
  | 'region'
  | 'project'
  | 'stateBucket'
  | 'stateKey'
  | 'lockTable'
  | 'createBackend'
  | 'stateKmsKeyId'
  | 'dryRun'
>

const TABLE_ACTIVE_TIMEOUT_MS = 5 * 60_000

const accounts = new WeakMap<STSClient, Promise<string>>()

/** The account of the credentials (STS GetCallerIdentity, asked once per client). */
export function callerAccount(sts: STSClient): Promise<string> {
  let account = accounts.get(sts)
  if (!account) {
    account = (async () => {
      let id: string | undefined
      try {
        id = (await sts.send(new GetCallerIdentityCommand({}))).Account
      } catch (error) {
        throw new DeployError(
          `Could not read the AWS account id (STS GetCallerIdentity: ${awsErrorName(error) || String(error)}), which names the default state bucket and must own the state and site buckets; check the AWS credentials and sts:GetCallerIdentity`,
          { cause: error }
        )
      }
      if (!id) throw new DeployError('STS GetCallerIdentity returned no account id')
      return id
    })()
    accounts.set(sts, account)
  }
  return account
}

/** The state bucket name: the input, or `<project>-terraform-state-<account-id>` from STS. */
export async function resolveBucketName(config: BackendConfig, sts: STSClient): Promise<string> {
  if (config.stateBucket) return config.stateBucket
  const account = await callerAccount(sts)
  const name = `${config.project}-terraform-state-${account}`
  const problem = bucketNameProblem(name)
  if (problem)
    throw new InputError('state-bucket', name, `${problem}; set state-bucket or a shorter project`)
  return name
}

/**
 * Make sure the state bucket and the lock table exist. Present: read-only checks (HeadBucket,
 * DescribeTable). Missing: create and harden them (unless create-backend is false or this is a dry run).
 * Safe when several runs create at once: every run ends with the same single bucket and table.
 */
export async function ensureBackend(
  config: BackendConfig,
  clients: BackendClients,
  log: (line: string) => void = () => {}
): Promise<BackendReport> {
  const started = Date.now()
  const account = await callerAccount(clients.sts)
  // From here on, every call to a bucket names this account as its owner.
  expectBucketOwner(clients.s3, account)
  const bucket = await resolveBucketName(config, clients.sts)
  const report: BackendReport = {
    account,
    bucket,
    table: config.lockTable,
    key: config.stateKey,
    region: config.region,
    bucketCreated: false,
    tableCreated: false,
    hardened: [],
    wouldCreate: [],
    missing: false,
    warnings: [],
    seconds: 0
  }

  const [bucketState, tableState] = await Promise.all([
    bucketExists(clients.s3, bucket, config.region),
    describeTable(clients.dynamodb, config.lockTable)
  ])
  if (tableState) checkTable(tableState, config.lockTable)

  const missing = [
    ...(bucketState ? [] : [`S3 bucket ${bucket}`]),
    ...(tableState ? [] : [`DynamoDB table ${config.lockTable}`])
  ]
  if (missing.length > 0 && !config.createBackend) {
    throw new DeployError(
      `The state backend is incomplete: ${missing.join(' and ')} ${missing.length > 1 ? 'do' : 'does'} not exist in ${config.region}, and create-backend is false. Set create-backend: true to let the action create and harden ${missing.length > 1 ? 'them' : 'it'}, or create ${missing.length > 1 ? 'them' : 'it'} first (terraform/bootstrap in this repository does it: a versioned, encrypted, private bucket and a table with a LockID string hash key).`
    )
  }
  if (missing.length > 0 && config.dryRun) {
    report.wouldCreate = missing
    report.missing = true
    log(`Dry run: would create ${missing.join(' and ')}`)
    report.seconds = (Date.now() - started) / 1000
    return report
  }

  // The bucket first: a name taken by another account must stop the run before anything is created.
  if (!bucketState) await createBucket(config, clients.s3, bucket, report, log)
  if (tableState) await waitActive(clients.dynamodb, config.lockTable, tableState)
  else await createTable(config, clients.dynamodb, report, log)
  if (bucketState && tableState)
    log(`State backend present: s3://${bucket} and table ${config.lockTable}`)
  report.seconds = (Date.now() - started) / 1000
  return report
}

/** true: exists and is ours; false: does not exist. Throws for a bucket owned by someone else. */
async function bucketExists(s3: S3Client, bucket: string, region: string): Promise<boolean> {
  try {
    const head = await s3.send(new HeadBucketCommand({ Bucket: bucket }))
    if (head.BucketRegion && head.BucketRegion !== region)
      throw wrongRegion(bucket, head.BucketRegion, region)
    return true
  } catch (error) {
    if (error instanceof DeployError) throw error
    const status = awsStatus(error)
    const name = awsErrorName(error)
    if (status === 404 || name === 'NotFound' || name === 'NoSuchBucket') return false
    if (status === 403 || name === 'Forbidden' || name === 'AccessDenied') throw nameTaken(bucket)
    if (status === 301 || name === 'PermanentRedirect') {
      const other = (error as { $response?: { headers?: Record<string, string> } }).$response
        ?.headers?.['x-amz-bucket-region']
      throw wrongRegion(bucket, other ?? 'another region', region)
    }
    throw new DeployError(`Could not check the state bucket ${bucket}: ${name || String(error)}`, {
      cause: error
    })
  }
}

function nameTaken(bucket: string): DeployError {
  return new DeployError(
    `The S3 bucket name ${bucket} is taken by another AWS account (it is not owned by the account of these credentials, or they may not access it); choose another state-bucket. Nothing was created, and no state was written.`
  )
}

function wrongRegion(bucket: string, actual: string, wanted: string): DeployError {
  return new DeployError(
    `The state bucket ${bucket} is in ${actual}, not ${wanted}; set aws-region: ${actual} or choose another state-bucket.`
  )
}

async function createBucket(
  config: BackendConfig,
  s3: S3Client,
  bucket: string,
  report: BackendReport,
  log: (line: string) => void
): Promise<void> {
  try {
    await retryOn(
      () =>
        s3.send(
          new CreateBucketCommand({
            Bucket: bucket,
            ObjectOwnership: 'BucketOwnerEnforced',
            ...(config.region !== 'us-east-1' && {
              CreateBucketConfiguration: {
                LocationConstraint: config.region as BucketLocationConstraint
              }
            })
          })
        ),
      error => awsErrorName(error) === 'OperationAborted'
    )
    report.bucketCreated = true
    log(`Created S3 bucket ${bucket} in ${config.region}`)
  } catch (error) {
    const name = awsErrorName(error)
    if (name === 'BucketAlreadyExists') throw nameTaken(bucket)
    if (name !== 'BucketAlreadyOwnedByYou') {
      throw new DeployError(
        `Could not create the state bucket ${bucket}: ${name || String(error)}`,
        { cause: error }
      )
    }
    log(`S3 bucket ${bucket} was created meanwhile by another run`)
  }

  // Harden. Every call is idempotent, so concurrent runs that all reach this point agree. A NoSuchBucket
  // right after creation (eventual consistency) is retried.
  const settle = <T>(fn: () => Promise<T>): Promise<T> =>
    retryOn(fn, e => awsErrorName(e) === 'NoSuchBucket' || awsErrorName(e) === 'OperationAborted')
  const tls = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } }
      }
    ]
  }
  const steps: Array<[string, () => Promise<unknown>]> = [
    [
      'public access blocked',
      () =>
        s3.send(
          new PutPublicAccessBlockCommand({
            Bucket: bucket,
            PublicAccessBlockConfiguration: {
              BlockPublicAcls: true,
              IgnorePublicAcls: true,
              BlockPublicPolicy: true,
              RestrictPublicBuckets: true
            }
          })
        )
    ],
    [
      'object ownership enforced',
      () =>
        s3.send(
          new PutBucketOwnershipControlsCommand({
            Bucket: bucket,
            OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] }
          })
        )
    ],
    [
      'versioning enabled',
      () =>
        s3.send(
          new PutBucketVersioningCommand({
            Bucket: bucket,
            VersioningConfiguration: { Status: 'Enabled' }
          })
        )
    ],
    [
      config.stateKmsKeyId ? 'encryption (KMS)' : 'encryption (SSE-S3)',
      () =>
        s3.send(
          new PutBucketEncryptionCommand({
            Bucket: bucket,
            ServerSideEncryptionConfiguration: {
              Rules: [
                config.stateKmsKeyId
                  ? {
                      ApplyServerSideEncryptionByDefault: {
                        SSEAlgorithm: 'aws:kms',
                        KMSMasterKeyID: config.stateKmsKeyId
                      },
                      BucketKeyEnabled: true
                    }
                  : { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }
              ]
            }
          })
        )
    ],
    [
      'TLS-only bucket policy',
      () => s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(tls) }))
    ],
    [
      'tags',
      () =>
        s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: tags(config) } }))
    ]
  ]
  for (const [what, step] of steps) {
    try {
      await settle(step)
    } catch (error) {
      throw new DeployError(
        `Created the state bucket ${bucket} but could not apply "${what}": ${awsErrorName(error) || String(error)}. Grant the s3:PutBucket* permissions (README, IAM permissions), then apply "${what}" and the settings after it to the bucket yourself: later runs use an existing bucket as it is.`,
        { cause: error }
      )
    }
    report.hardened.push(`bucket: ${what}`)
  }
  log(`Hardened S3 bucket ${bucket}: ${steps.map(s => s[0]).join(', ')}`)
}

function tags(config: BackendConfig): Array<{ Key: string; Value: string }> {
  return [
    { Key: 'Project', Value: config.project },
    { Key: 'ManagedBy', Value: 'revive-deploy' },
    { Key: 'Purpose', Value: 'terraform-state' }
  ]
}

async function describeTable(
  dynamodb: DynamoDBClient,
  table: string
): Promise<TableDescription | undefined> {
  try {
    return (await dynamodb.send(new DescribeTableCommand({ TableName: table }))).Table
  } catch (error) {
    if (awsErrorName(error) === 'ResourceNotFoundException') return undefined
    throw new DeployError(
      `Could not check the lock table ${table}: ${awsErrorName(error) || String(error)}`,
      {
        cause: error
      }
    )
  }
}

function checkTable(table: TableDescription, name: string): void {
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

async function createTable(
  config: BackendConfig,
  dynamodb: DynamoDBClient,
  report: BackendReport,
  log: (line: string) => void
): Promise<void> {
  const table = config.lockTable
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'LockID', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'LockID', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        Tags: tags(config)
      })
    )
    report.tableCreated = true
    log(`Creating DynamoDB table ${table} (LockID string key, on-demand)`)
  } catch (error) {
    if (awsErrorName(error) !== 'ResourceInUseException') {
      throw new DeployError(
        `Could not create the lock table ${table}: ${awsErrorName(error) || String(error)}`,
        {
          cause: error
        }
      )
    }
    log(`DynamoDB table ${table} was created meanwhile by another run`)
  }
  const active = await waitActive(dynamodb, table)
  checkTable(active, table)
  if (report.tableCreated) {
    report.hardened.push('table: on-demand billing, LockID key')
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
    } catch (error) {
      report.warnings.push(
        `Point-in-time recovery could not be enabled on ${table} (${awsErrorName(error) || String(error)}); the lock table works without it.`
      )
    }
  }
}

/** Wait (bounded) until the table is ACTIVE. */
async function waitActive(
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
