import {
  CreateBucketCommand,
  GetBucketEncryptionCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
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
  ListTagsOfResourceCommand,
  UpdateContinuousBackupsCommand,
  UpdateTableCommand,
  type DynamoDBClient,
  type TableDescription
} from '@aws-sdk/client-dynamodb'
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts'
import { awsErrorName, awsStatus, expectBucketOwner, retryOn } from '../aws/clients'
import { DeployError, InputError, errorMessage } from '../errors'
import { bucketNameProblem } from '../aws/names'
import type { Config } from '../inputs'

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
> &
  Partial<Pick<Config, 'lock'>>

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
          `Could not read the AWS account id (STS GetCallerIdentity: ${awsErrorName(error) || errorMessage(error)}), which names the default state bucket and must own the state and site buckets; check the AWS credentials and sts:GetCallerIdentity`,
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
  // lock s3: Terraform locks with a file in the state bucket; no table is read, created or required.
  const useTable = config.lock !== 's3'
  const report: BackendReport = {
    account,
    bucket,
    table: useTable ? config.lockTable : '',
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
    useTable ? describeTable(clients.dynamodb, config.lockTable) : undefined
  ])
  if (tableState) checkTable(tableState, config.lockTable)

  const missing = [
    ...(bucketState ? [] : [`S3 bucket ${bucket}`]),
    ...(tableState || !useTable ? [] : [`DynamoDB table ${config.lockTable}`])
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
  else await checkBucketProtection(config, clients.s3, bucket, report, log)
  if (tableState) {
    const active = await waitActive(clients.dynamodb, config.lockTable, tableState)
    await checkTableProtection(config, clients.dynamodb, active, report, log)
  } else if (useTable) await createTable(config, clients.dynamodb, report, log)
  if (bucketState && (tableState || !useTable))
    log(
      `State backend present: s3://${bucket}${useTable ? ` and table ${config.lockTable}` : ' (lock: s3, no table)'}`
    )
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
    throw new DeployError(
      `Could not check the state bucket ${bucket}: ${name || errorMessage(error)}`,
      {
        cause: error
      }
    )
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
        `Could not create the state bucket ${bucket}: ${name || errorMessage(error)}`,
        { cause: error }
      )
    }
    log(`S3 bucket ${bucket} was created meanwhile by another run`)
  }

  // Harden. Tags first: they mark the bucket as the action's, so a run that finds a later setting
  // missing (this one failed half-way) finishes it. Every call is idempotent, so concurrent runs
  // that all reach this point agree.
  const steps = hardeningSteps(config, s3, bucket)
  for (const step of steps) {
    try {
      await settle(step.apply)
    } catch (error) {
      throw new DeployError(
        `Created the state bucket ${bucket} but could not apply "${step.what}": ${awsErrorName(error) || errorMessage(error)}. Grant the s3:PutBucket* permissions (docs/permissions.md) and re-run: the next run finds what is missing on this bucket and finishes it.`,
        { cause: error }
      )
    }
    report.hardened.push(`bucket: ${step.what}`)
  }
  log(`Hardened S3 bucket ${bucket}: ${steps.map(s => s.what).join(', ')}`)
}

/** A NoSuchBucket right after creation (eventual consistency) is retried. */
const settle = <T>(fn: () => Promise<T>): Promise<T> =>
  retryOn(fn, e => awsErrorName(e) === 'NoSuchBucket' || awsErrorName(e) === 'OperationAborted')

/** One protection of the state bucket: how to apply it, how to read it back, how a person fixes it. */
interface HardeningStep {
  what: string
  apply: () => Promise<unknown>
  /** true: in place; false: missing. Throws when it cannot be read. Absent: not checked on reuse. */
  present?: () => Promise<boolean>
  /** The command (or change) that applies it by hand. */
  fix: string
}

const TLS_SID = 'DenyInsecureTransport'

interface PolicyDocument {
  Version?: string
  Statement?: unknown
}

function tlsStatement(bucket: string): Record<string, unknown> {
  return {
    Sid: TLS_SID,
    Effect: 'Deny',
    Principal: '*',
    Action: 's3:*',
    Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
    Condition: { Bool: { 'aws:SecureTransport': 'false' } }
  }
}

/** A policy statement that denies requests without TLS to the whole bucket (ours or one like it). */
function deniesInsecureTransport(statement: unknown): boolean {
  const st = statement as {
    Effect?: unknown
    Condition?: { Bool?: Record<string, unknown> }
  } | null
  return st?.Effect === 'Deny' && String(st.Condition?.Bool?.['aws:SecureTransport']) === 'false'
}

function statements(policy: PolicyDocument): unknown[] {
  if (Array.isArray(policy.Statement)) return policy.Statement as unknown[]
  return policy.Statement ? [policy.Statement] : []
}

/** The bucket's policy, or undefined when it has none. */
async function readPolicy(s3: S3Client, bucket: string): Promise<PolicyDocument | undefined> {
  try {
    const text = (await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy
    return text ? (JSON.parse(text) as PolicyDocument) : undefined
  } catch (error) {
    if (awsErrorName(error) === 'NoSuchBucketPolicy') return undefined
    throw error
  }
}

/** false when the configuration answers its not-found error; other errors are thrown. */
async function readsPresent(read: () => Promise<boolean>, notFound: string): Promise<boolean> {
  try {
    return await read()
  } catch (error) {
    if (awsErrorName(error) === notFound) return false
    throw error
  }
}

/** What a bucket the action creates gets, in order; the same steps finish a half-hardened one. */
function hardeningSteps(config: BackendConfig, s3: S3Client, bucket: string): HardeningStep[] {
  const encryption = config.stateKmsKeyId
    ? {
        ApplyServerSideEncryptionByDefault: {
          SSEAlgorithm: 'aws:kms' as const,
          KMSMasterKeyID: config.stateKmsKeyId
        },
        BucketKeyEnabled: true
      }
    : { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' as const } }
  const publicAccessBlock = {
    BlockPublicAcls: true,
    IgnorePublicAcls: true,
    BlockPublicPolicy: true,
    RestrictPublicBuckets: true
  }
  return [
    {
      what: 'tags',
      apply: () =>
        s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: tags(config) } })),
      fix: `aws s3api put-bucket-tagging --bucket ${bucket} --tagging 'TagSet=[{Key=ManagedBy,Value=revive-deploy}]'`
    },
    {
      what: 'public access blocked',
      apply: () =>
        s3.send(
          new PutPublicAccessBlockCommand({
            Bucket: bucket,
            PublicAccessBlockConfiguration: publicAccessBlock
          })
        ),
      present: () =>
        readsPresent(async () => {
          const got = (await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket })))
            .PublicAccessBlockConfiguration
          return Object.keys(publicAccessBlock).every(
            k => got?.[k as keyof typeof publicAccessBlock] === true
          )
        }, 'NoSuchPublicAccessBlockConfiguration'),
      fix: `aws s3api put-public-access-block --bucket ${bucket} --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true`
    },
    {
      what: 'object ownership enforced',
      apply: () =>
        s3.send(
          new PutBucketOwnershipControlsCommand({
            Bucket: bucket,
            OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] }
          })
        ),
      fix: `aws s3api put-bucket-ownership-controls --bucket ${bucket} --ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'`
    },
    {
      what: 'versioning enabled',
      apply: () =>
        s3.send(
          new PutBucketVersioningCommand({
            Bucket: bucket,
            VersioningConfiguration: { Status: 'Enabled' }
          })
        ),
      present: async () =>
        (await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status === 'Enabled',
      fix: `aws s3api put-bucket-versioning --bucket ${bucket} --versioning-configuration Status=Enabled`
    },
    {
      what: config.stateKmsKeyId ? 'encryption (KMS)' : 'encryption (SSE-S3)',
      apply: () =>
        s3.send(
          new PutBucketEncryptionCommand({
            Bucket: bucket,
            ServerSideEncryptionConfiguration: { Rules: [encryption] }
          })
        ),
      // Any default encryption counts: the action does not replace a key someone chose.
      present: () =>
        readsPresent(
          async () =>
            ((await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket })))
              .ServerSideEncryptionConfiguration?.Rules?.length ?? 0) > 0,
          'ServerSideEncryptionConfigurationNotFoundError'
        ),
      fix: `aws s3api put-bucket-encryption --bucket ${bucket} --server-side-encryption-configuration '${JSON.stringify({ Rules: [encryption] })}'`
    },
    {
      what: 'TLS-only bucket policy',
      // Added to the statements already there, never replacing them.
      apply: async () => {
        const current = (await readPolicy(s3, bucket)) ?? {}
        const kept = statements(current).filter(
          st => (st as { Sid?: unknown } | null)?.Sid !== TLS_SID
        )
        const policy = {
          ...current,
          Version: current.Version ?? '2012-10-17',
          Statement: [...kept, tlsStatement(bucket)]
        }
        return s3.send(
          new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) })
        )
      },
      present: async () => {
        const policy = await readPolicy(s3, bucket)
        return policy !== undefined && statements(policy).some(deniesInsecureTransport)
      },
      fix: `add to the bucket policy of ${bucket} a statement that denies s3:* when aws:SecureTransport is false (docs/backend.md)`
    }
  ]
}

/**
 * An existing state bucket: read its protection (versioning, encryption, public access block, TLS
 * policy: four reads at once). A bucket the action created (its ManagedBy tag) gets what is missing,
 * as a run that failed half-way would have given it; any other bucket is left as it is, with a
 * warning that names each gap and its fix.
 */
async function checkBucketProtection(
  config: BackendConfig,
  s3: S3Client,
  bucket: string,
  report: BackendReport,
  log: (line: string) => void
): Promise<void> {
  const steps = hardeningSteps(config, s3, bucket).filter(step => step.present)
  const results = await Promise.all(
    steps.map(async step => {
      try {
        return { step, present: await step.present!() }
      } catch (error) {
        return { step, present: undefined, error: awsErrorName(error) || errorMessage(error) }
      }
    })
  )
  const unreadable = results.filter(r => r.present === undefined)
  if (unreadable.length > 0)
    report.warnings.push(
      `Could not read the protection of the state bucket ${bucket} (${unreadable.map(r => `${r.step.what}: ${r.error}`).join('; ')}); grant s3:GetBucketVersioning, s3:GetEncryptionConfiguration, s3:GetBucketPublicAccessBlock and s3:GetBucketPolicy on it (docs/permissions.md) so each run can check it.`
    )
  const missing = results.filter(r => r.present === false).map(r => r.step)
  if (missing.length === 0) return
  const names = missing.map(step => step.what).join(', ')
  if (!(await managedByAction(s3, bucket))) {
    report.warnings.push(
      `The state bucket ${bucket} lacks ${names}${missing.some(m => m.what === 'versioning enabled') ? ' (without versioning the state-loss guard cannot find earlier versions of the state)' : ''}. It was not created by revive-deploy, so the action leaves it as it is; fix: ${missing.map(m => m.fix).join('; ')}.`
    )
    return
  }
  if (config.dryRun) {
    log(`Dry run: would finish the hardening of ${bucket}: ${names}`)
    report.warnings.push(
      `The state bucket ${bucket} lacks ${names}; a run that is not a dry run finishes it (the bucket was created by revive-deploy).`
    )
    return
  }
  for (const step of missing) {
    try {
      await step.apply()
    } catch (error) {
      throw new DeployError(
        `The state bucket ${bucket} (created by revive-deploy) lacks "${step.what}", and applying it failed: ${awsErrorName(error) || errorMessage(error)}. Grant the s3:PutBucket* permissions (docs/permissions.md) and re-run, or apply it yourself: ${step.fix}.`,
        { cause: error }
      )
    }
    report.hardened.push(`bucket: ${step.what} (finished: was missing)`)
  }
  log(`Finished the hardening of S3 bucket ${bucket}: ${names}`)
}

/** The bucket carries the action's ManagedBy tag (set first when the action creates a bucket). */
async function managedByAction(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    const got = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }))
    return managedTag(got.TagSet)
  } catch {
    // NoSuchTagSet, or no permission to read tags: not known to be ours, so only warn.
    return false
  }
}

const MANAGED_BY = 'revive-deploy'

/** The tags (of a bucket or a table) carry the action's `ManagedBy` tag. */
function managedTag(
  tags: Array<{ Key?: string | undefined; Value?: string | undefined }> | undefined
): boolean {
  return (tags ?? []).some(t => t.Key === 'ManagedBy' && t.Value === MANAGED_BY)
}

function tags(config: BackendConfig): Array<{ Key: string; Value: string }> {
  return [
    { Key: 'Project', Value: config.project },
    { Key: 'ManagedBy', Value: MANAGED_BY },
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
      `Could not check the lock table ${table}: ${awsErrorName(error) || errorMessage(error)}`,
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
        DeletionProtectionEnabled: true,
        Tags: tags(config)
      })
    )
    report.tableCreated = true
    log(`Creating DynamoDB table ${table} (LockID string key, on-demand)`)
  } catch (error) {
    if (awsErrorName(error) !== 'ResourceInUseException') {
      throw new DeployError(
        `Could not create the lock table ${table}: ${awsErrorName(error) || errorMessage(error)}`,
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
async function checkTableProtection(
  config: BackendConfig,
  dynamodb: DynamoDBClient,
  table: TableDescription,
  report: BackendReport,
  log: (line: string) => void
): Promise<void> {
  if (table.DeletionProtectionEnabled !== false) return
  const name = config.lockTable
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
  log(`Turned on deletion protection for the lock table ${name}`)
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
