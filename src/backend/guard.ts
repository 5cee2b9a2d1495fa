import { HeadObjectCommand, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3'
import { DeleteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { awsErrorName, awsStatus } from '../aws/clients'
import { readLockItem } from '../aws/lock-item'
import { DeployError, errorMessage } from '../errors'

export interface GuardResult {
  /** The state object exists and is not empty. */
  stateFound: boolean
  /** Signs of earlier state, when the object is missing or empty. */
  evidence: string[]
  /** A fresh start was let through by allow-fresh-state. */
  allowed: boolean
}

export interface StateLocation {
  bucket: string
  key: string
  /** The lock table holding Terraform's digest; undefined with lock s3 (no table, no digest). */
  table?: string | undefined
  region: string
}

/**
 * The state-loss guard: before planning, make sure a missing or empty state object really means a new
 * stack. If the lock table still holds Terraform's `<bucket>/<key>-md5` digest, or the versioned bucket
 * holds earlier versions of the key, the state was lost, and planning now would create every resource
 * again. Refuse, unless allow-fresh-state says a fresh start is intended.
 *
 * Cost on an existing stack: one HeadObject.
 */
export async function checkStateLoss(
  where: StateLocation,
  clients: { s3: S3Client; dynamodb: DynamoDBClient },
  allowFreshState: boolean
): Promise<GuardResult> {
  const { bucket, key, table } = where
  let size: number | undefined
  try {
    const head = await clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
    size = head.ContentLength ?? 0
  } catch (error) {
    if (!(awsStatus(error) === 404 || ['NotFound', 'NoSuchKey'].includes(awsErrorName(error)))) {
      throw new DeployError(
        `Could not read the state object s3://${bucket}/${key}: ${awsErrorName(error) || errorMessage(error)}; check s3:GetObject on the state bucket`,
        { cause: error }
      )
    }
  }
  if (size !== undefined && size > 0) return { stateFound: true, evidence: [], allowed: false }

  const evidence: string[] = []
  const digestId = `${bucket}/${key}-md5`
  // With lock s3 there is no table and no digest: the versions of the state object are the evidence.
  const digest = table ? await readDigest(clients.dynamodb, table, digestId) : undefined
  if (digest)
    evidence.push(`the lock table ${table} still holds the state digest (${digestId} = ${digest})`)

  const versions = await earlierVersions(clients.s3, bucket, key)
  const restorable = versions.find(v => (v.size ?? 0) > 0)
  if (versions.length > 0) {
    evidence.push(
      `the bucket holds ${versions.length} earlier version${versions.length === 1 ? '' : 's'} of ${key}${restorable ? ` (newest non-empty: ${restorable.versionId}, ${restorable.lastModified ?? 'unknown date'})` : ''}`
    )
  }
  if (evidence.length === 0) return { stateFound: false, evidence, allowed: false }
  if (allowFreshState) {
    // A deliberate fresh start: Terraform refuses to read a state whose digest does not match, so the
    // stale digest goes (the digest is a checksum, not state; the earlier versions stay in the bucket).
    if (digest && table) {
      await clients.dynamodb.send(
        new DeleteItemCommand({ TableName: table, Key: { LockID: { S: digestId } } })
      )
    }
    return { stateFound: false, evidence, allowed: true }
  }

  const what = size === 0 ? 'is empty' : 'is missing'
  const restore = restorable
    ? `Restore it: aws s3api copy-object --bucket ${bucket} --key ${key} --copy-source "${bucket}/${key}?versionId=${restorable.versionId}"`
    : `Restore it from a backup of s3://${bucket}/${key}`
  const fresh = digest
    ? `delete the digest (aws dynamodb delete-item --table-name ${table} --key '{"LockID":{"S":"${digestId}"}}') or set allow-fresh-state: true`
    : 'set allow-fresh-state: true'
  throw new DeployError(
    `State-loss guard: the Terraform state s3://${bucket}/${key} ${what}, but ${evidence.join(' and ')}. Planning now would create every resource again as duplicates, so nothing was planned. ${restore} and re-run. If starting from empty state is really intended, ${fresh}.`
  )
}

async function readDigest(
  dynamodb: DynamoDBClient,
  table: string,
  digestId: string
): Promise<string | undefined> {
  const item = await readLockItem(
    dynamodb,
    table,
    digestId,
    reason => `Could not read the lock table ${table} to check for lost state: ${reason}`
  )
  return item?.Digest?.S
}

interface Version {
  versionId: string
  size?: number
  lastModified?: string
}

async function earlierVersions(s3: S3Client, bucket: string, key: string): Promise<Version[]> {
  const found: Version[] = []
  let keyMarker: string | undefined
  let versionMarker: string | undefined
  try {
    for (let page = 0; page < 10; page++) {
      const out = await s3.send(
        new ListObjectVersionsCommand({
          Bucket: bucket,
          Prefix: key,
          ...(keyMarker !== undefined && { KeyMarker: keyMarker }),
          ...(versionMarker !== undefined && { VersionIdMarker: versionMarker })
        })
      )
      for (const v of out.Versions ?? []) {
        if (v.Key !== key || !v.VersionId || v.IsLatest) continue
        const version: Version = { versionId: v.VersionId }
        if (v.Size !== undefined) version.size = v.Size
        if (v.LastModified) version.lastModified = v.LastModified.toISOString()
        found.push(version)
      }
      if (!out.IsTruncated) break
      keyMarker = out.NextKeyMarker
      versionMarker = out.NextVersionIdMarker
    }
  } catch (error) {
    throw new DeployError(
      `Could not list the versions of s3://${bucket}/${key} to check for lost state: ${awsErrorName(error) || errorMessage(error)}; check s3:ListBucketVersions`,
      { cause: error }
    )
  }
  // Newest first, as S3 lists them.
  return found
}
