/**
 * The state lock as a person sees it: who holds it, since when, for which operation (the
 * `lock-holder` output), and `mode: unlock`, which releases it only when the given id is the lock that
 * holds the state, with Terraform's own `force-unlock`.
 */
import * as core from '@actions/core'
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { awsErrorName, awsStatus } from '../aws/clients'
import { readLockItem } from '../aws/lock-item'
import { DeployError, InputError, errorMessage } from '../errors'
import type { Config, LockKind } from '../inputs'
import { compareVersions } from '../terraform/install'
import { lockOperation, parseLockCreated, type LockInfo } from '../terraform/diagnostics'
import type { BackendSettings, Terraform } from '../terraform/runner'
import { resolveBucketName, type BackendClients } from '../backend/backend'

/** The first Terraform whose S3 backend has use_lockfile (1.10.0; generally available in 1.11). */
export const MIN_LOCKFILE_TERRAFORM = '1.10.0'

/** lock s3/both needs a Terraform that writes the S3 lock file: older ones fail with one error. */
export function checkLockSupport(lock: LockKind, terraformVersion: string): void {
  if (lock === 'dynamodb') return
  if (compareVersions(terraformVersion, MIN_LOCKFILE_TERRAFORM) >= 0) return
  throw new InputError(
    'lock',
    lock,
    `Terraform ${terraformVersion} has no S3 lock file (use_lockfile, Terraform ${MIN_LOCKFILE_TERRAFORM} or later); set terraform-version to 1.10.0 or later (1.11 or later recommended), or use lock: dynamodb. Nothing was run.`
  )
}

/** Where Terraform keeps the lock of one state. */
export interface LockLocation {
  bucket: string
  key: string
  /** The DynamoDB table (lock dynamodb or both). */
  table?: string
  lock: LockKind
}

/** A lock found in the backend, with where it was read. */
export interface HeldLock extends LockInfo {
  /** `DynamoDB table <name>` or `s3://<bucket>/<key>.tflock`. */
  where: string
}

/** Terraform prints Go's time.String form; it stores RFC 3339: either → ISO 8601, else as given. */
function createdIso(created: string): string {
  const date = parseLockCreated(created) ?? new Date(created)
  return Number.isNaN(date.getTime()) ? created : date.toISOString()
}

/** The `lock-holder` output: JSON of the lock's id, who, created (ISO when known), operation. */
export function lockHolder(lock: LockInfo): string {
  return JSON.stringify({
    id: lock.id,
    who: lock.who ?? null,
    created: lock.created ? createdIso(lock.created) : null,
    operation: lockOperation(lock.operation) ?? null
  })
}

/** `held by runner@host since 2026-12-06T02:10:00.123Z for a terraform apply (lock <id>, in …)`. */
export function describeLock(lock: HeldLock): string {
  const operation = lockOperation(lock.operation)
  return [
    `held by ${lock.who ?? 'an unknown holder'}`,
    lock.created ? `since ${createdIso(lock.created)}` : '',
    operation ? `for a terraform ${operation}` : '',
    `(lock ${lock.id}, in ${lock.where})`
  ]
    .filter(Boolean)
    .join(' ')
}

/** Terraform's lock info as it stores it (JSON with ID, Operation, Who, Version, Created, Path). */
function fromStored(text: string, where: string): HeldLock | undefined {
  let info: Record<string, unknown>
  try {
    info = JSON.parse(text) as Record<string, unknown>
  } catch {
    throw new DeployError(
      `The lock in ${where} is not Terraform's lock info (not JSON); nothing was changed. Look at it before removing it by hand.`
    )
  }
  const field = (name: string): string | undefined =>
    typeof info[name] === 'string' && info[name] !== '' ? info[name] : undefined
  const id = field('ID')
  if (!id) return undefined
  const lock: HeldLock = { id, where }
  const fields: Array<[keyof LockInfo, string]> = [
    ['path', 'Path'],
    ['operation', 'Operation'],
    ['who', 'Who'],
    ['version', 'Version'],
    ['created', 'Created'],
    ['info', 'Info']
  ]
  for (const [key, name] of fields) {
    const value = field(name)
    if (value !== undefined) lock[key] = value
  }
  return lock
}

async function readTableLock(
  dynamodb: DynamoDBClient,
  table: string,
  lockId: string
): Promise<HeldLock | undefined> {
  const item = await readLockItem(
    dynamodb,
    table,
    lockId,
    reason =>
      `Could not read the state lock in the lock table ${table}: ${reason}; check dynamodb:GetItem`
  )
  const info = item?.Info?.S
  return info ? fromStored(info, `DynamoDB table ${table}`) : undefined
}

async function readFileLock(
  s3: S3Client,
  bucket: string,
  key: string
): Promise<HeldLock | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    const text = (await out.Body?.transformToString()) ?? ''
    return fromStored(text, `s3://${bucket}/${key}`)
  } catch (error) {
    if (awsStatus(error) === 404 || ['NoSuchKey', 'NotFound'].includes(awsErrorName(error)))
      return undefined
    if (error instanceof DeployError) throw error
    throw new DeployError(
      `Could not read the state lock file s3://${bucket}/${key}: ${awsErrorName(error) || errorMessage(error)}; check s3:GetObject`,
      { cause: error }
    )
  }
}

/**
 * The lock that holds the state now, or undefined: the DynamoDB item `<bucket>/<key>` and/or the S3
 * lock file `<key>.tflock`, as `lock` says Terraform uses them.
 */
export async function readLock(
  where: LockLocation,
  clients: Pick<BackendClients, 's3' | 'dynamodb'>
): Promise<HeldLock | undefined> {
  const reads: Array<Promise<HeldLock | undefined>> = []
  if (where.lock !== 's3' && where.table)
    reads.push(readTableLock(clients.dynamodb, where.table, `${where.bucket}/${where.key}`))
  if (where.lock !== 'dynamodb')
    reads.push(readFileLock(clients.s3, where.bucket, `${where.key}.tflock`))
  return (await Promise.all(reads)).find(lock => lock !== undefined)
}

export interface UnlockResult {
  /** The lock found before anything was done. */
  found?: HeldLock
  released: boolean
}

/**
 * `mode: unlock`: read the lock, show it, and release it only when its id is `lock-id`, with
 * `terraform force-unlock -force <id>` (Terraform checks the id again against the lock it holds). A
 * wrong id or no lock changes nothing.
 */
export async function releaseLock(
  config: Config,
  clients: BackendClients,
  terraform: (settings: Pick<BackendSettings, 'bucket'>) => Promise<Terraform>
): Promise<UnlockResult> {
  const wanted = config.lockId ?? ''
  const bucket = await resolveBucketName(config, clients.sts)
  const where: LockLocation = {
    bucket,
    key: config.stateKey,
    lock: config.lock,
    ...(config.lock !== 's3' && { table: config.lockTable })
  }
  const state = `s3://${bucket}/${config.stateKey}`
  const found = await readLock(where, clients)
  if (!found) {
    core.notice(
      `No lock holds the state ${state} (${lookedIn(where)}): nothing to release, nothing was changed.`
    )
    return { released: false }
  }
  core.setOutput('lock-holder', lockHolder(found))
  core.info(`The state ${state} is locked: ${describeLock(found)}`)
  if (found.id !== wanted) {
    throw new DeployError(
      `lock-id ${wanted} is not the lock that holds the state ${state}; nothing was changed. The lock is ${describeLock(found)}. If that run is over (cancelled or crashed), run mode unlock with lock-id: ${found.id}.`
    )
  }
  const tf = await terraform({ bucket })
  await tf.forceUnlock(found.id)
  const after = await readLock(where, clients)
  if (after?.id === found.id) {
    throw new DeployError(
      `terraform force-unlock ${found.id} ended, but the lock is still in ${after.where}; release it by hand after checking its run is over.`
    )
  }
  core.notice(`Released the state lock ${found.id} of ${state}, which was ${describeLock(found)}.`)
  return { found, released: true }
}

function lookedIn(where: LockLocation): string {
  const places: string[] = []
  if (where.lock !== 's3' && where.table) places.push(`lock table ${where.table}`)
  if (where.lock !== 'dynamodb') places.push(`s3://${where.bucket}/${where.key}.tflock`)
  return `looked in the ${places.join(' and the ')}`
}
