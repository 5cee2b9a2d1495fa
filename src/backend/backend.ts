import {
  CreateBucketCommand,
  HeadBucketCommand,
  type BucketLocationConstraint,
  type S3Client
} from '@aws-sdk/client-s3'
import { type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts'
import { awsErrorName, awsStatus, expectBucketOwner, retryOn } from '../aws/clients'
import { DeployError, InputError, errorMessage } from '../errors'
import { bucketNameProblem } from '../aws/names'
import { coreLog, type Log } from '../log'
import type { Config } from '../inputs'
import { checkBucketProtection, hardeningSteps, settle } from './bucket-protection'
import {
  checkTable,
  checkTableProtection,
  createTable,
  describeTable,
  waitActive
} from './lock-table'

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

/** One run of the backend step: what it was asked, what it reports, where it logs. */
export interface BackendRun {
  config: BackendConfig
  report: BackendReport
  log: Log
}

export type BackendConfig = Pick<
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
  log: Log = coreLog
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
  log.debug(
    `State backend: account ${account}, bucket ${bucket} (${config.stateBucket ? 'state-bucket' : 'default name'}): ${bucketState ? 'present' : 'missing'} (HeadBucket); ${useTable ? `lock table ${config.lockTable}: ${tableState?.TableStatus ?? 'missing'} (DescribeTable)` : 'lock s3: no lock table read'}`
  )
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
    log.info(`Dry run: would create ${missing.join(' and ')}`)
    report.seconds = (Date.now() - started) / 1000
    return report
  }

  const run: BackendRun = { config, report, log }
  // The bucket first: a name taken by another account must stop the run before anything is created.
  if (!bucketState) await createBucket(run, clients.s3, bucket)
  else await checkBucketProtection(run, clients.s3, bucket)
  if (tableState) {
    const active = await waitActive(clients.dynamodb, config.lockTable, tableState)
    await checkTableProtection(run, clients.dynamodb, active)
  } else if (useTable) await createTable(run, clients.dynamodb)
  if (bucketState && (tableState || !useTable))
    log.info(
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

async function createBucket(run: BackendRun, s3: S3Client, bucket: string): Promise<void> {
  const { config, report, log } = run
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
    log.info(`Created S3 bucket ${bucket} in ${config.region}`)
  } catch (error) {
    const name = awsErrorName(error)
    if (name === 'BucketAlreadyExists') throw nameTaken(bucket)
    if (name !== 'BucketAlreadyOwnedByYou') {
      throw new DeployError(
        `Could not create the state bucket ${bucket}: ${name || errorMessage(error)}`,
        { cause: error }
      )
    }
    log.info(`S3 bucket ${bucket} was created meanwhile by another run`)
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
    log.debug(`S3 bucket ${bucket}: applied ${step.what}`)
  }
  log.info(`Hardened S3 bucket ${bucket}: ${steps.map(s => s.what).join(', ')}`)
}
