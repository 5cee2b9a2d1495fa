/**
 * The S3 edge of the sync: list the site objects, HEAD the few the planner asks about, upload with
 * bounded concurrency, delete in batches. Everything here sends what `sync-plan.ts` decided; no
 * decision about what to upload or delete is made here, except the defensive check that a
 * deletion stays under the prefix.
 *
 * Retries: the SDK's standard retry strategy (see `createClients`) retries throttling, 5xx and
 * connection resets with backoff. Bodies are safe to re-send: a file below the multipart threshold
 * is read into a Buffer (sent again from its start on every attempt), and lib-storage's `Upload`
 * reads a large file's stream into part Buffers, each of which is retried on its own.
 */
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import pLimit from 'p-limit'
import { hash } from 'node:crypto'
import { createReadStream, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { awsErrorName, awsStatus, oneBucketClient } from '../aws/clients'
import { DeployError, errorMessage } from '../errors'
import { MULTIPART_PART_SIZE, MULTIPART_THRESHOLD } from './local-files'
import {
  HEADERS_METADATA_KEY,
  SHA256_METADATA_KEY,
  remoteHead,
  type RemoteHead,
  type RemoteObject,
  type UploadItem
} from './sync-plan'
import type { Progress } from './upload-progress'

/**
 * Uploads in flight at once: 48. Measured on a quiet 2-core machine with `npm run bench --
 * --latency 20,50` (2,000 files, every stand-in request delayed, the stand-ins in their own
 * process), two runs on 2026-12-06: with 20 ms, 48 took 4.94 s, 64 5.21-5.31 s, 32 5.49-5.75 s,
 * 16 6.74 s (the AWS CLI's 10: 9.6-10.0 s); with 50 ms, 64 5.43/4.68 s, 48 5.65 s, 32 6.14-6.76 s.
 * Earlier runs on a machine loaded by other work had put 32 first at 20 ms: there, the client and
 * the stand-in compete for the cores, which hides the latency. 48 also stays under the SDK's
 * default of 50 sockets per client (64 would queue on them).
 */
export const DEFAULT_UPLOAD_CONCURRENCY = 48
/** HEAD requests in flight at once. */
export const DEFAULT_HEAD_CONCURRENCY = 32
/** Multipart uploads in flight at once (each keeps up to 4 parts of 8 MiB in memory). */
export const MULTIPART_CONCURRENCY = 2
/** Upload bodies up to this size are read with a blocking call (see putSmall). */
export const SYNC_READ_MAX_BYTES = 1024 * 1024
/** S3's DeleteObjects limit. */
export const DELETE_BATCH_SIZE = 1000

/** A key as S3 lists it with `encoding-type=url`: percent-encoded UTF-8, a space as `+`. */
export function decodeS3Url(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '))
}

/** Every object under `prefix` ('' = the whole bucket), all pages of ListObjectsV2. */
export async function listRemote(
  s3: S3Client,
  bucket: string,
  prefix: string
): Promise<RemoteObject[]> {
  const objects: RemoteObject[] = []
  try {
    const pages = paginateListObjectsV2(
      { client: s3, pageSize: 1000 },
      // URL-encoded keys: XML turns a \r in a key into \n, and some characters cannot be in XML.
      { Bucket: bucket, EncodingType: 'url', ...(prefix && { Prefix: prefix }) }
    )
    for await (const page of pages) {
      const encoded = page.EncodingType === 'url'
      for (const item of page.Contents ?? []) {
        if (item.Key === undefined) continue
        const key = encoded ? decodeS3Url(item.Key) : item.Key
        objects.push({ key, etag: item.ETag, size: item.Size })
      }
    }
  } catch (error) {
    throw s3Failure(`list s3://${bucket}/${prefix}`, bucket, error)
  }
  return objects
}

/**
 * HEAD each key (bounded concurrency) for the SHA-256 in its metadata and its Content-Type and
 * Cache-Control; a vanished key has none of them.
 */
export async function headObjects(
  s3: S3Client,
  bucket: string,
  keys: readonly string[],
  concurrency = DEFAULT_HEAD_CONCURRENCY
): Promise<Map<string, RemoteHead>> {
  const limit = pLimit(concurrency)
  const heads = new Map<string, RemoteHead>()
  await Promise.all(
    keys.map(key =>
      limit(async () => {
        try {
          const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
          heads.set(key, remoteHead(head))
        } catch (error) {
          if (awsStatus(error) === 404) heads.set(key, {})
          else throw s3Failure(`read the metadata of s3://${bucket}/${key}`, bucket, error)
        }
      })
    )
  )
  return heads
}

export interface UploadOutcome {
  /** Items uploaded completely, in completion order. */
  uploaded: UploadItem[]
  /** The first failure; once one happened no further upload was started. */
  failure?: { item: UploadItem; error: unknown }
}

export interface UploadOptions {
  concurrency?: number
  progress?: Progress
}

/**
 * Uploads `items` with bounded concurrency. The first failure stops new uploads from starting (the
 * ones in flight finish) and is returned, not thrown, so the caller can report what was uploaded.
 */
export async function uploadItems(
  s3: S3Client,
  bucket: string,
  items: readonly UploadItem[],
  opts: UploadOptions = {}
): Promise<UploadOutcome> {
  const multipart = pLimit(MULTIPART_CONCURRENCY)
  // Only this run's uploads to `bucket` go through `client`, whose middleware is resolved once.
  const client = oneBucketClient(s3) ?? s3
  signWithKnownChecksum(client)
  return eachUntilFailure(items, opts.concurrency ?? DEFAULT_UPLOAD_CONCURRENCY, async item => {
    if (item.file.size < MULTIPART_THRESHOLD) {
      await putSmall(client, bucket, item)
    } else {
      await multipart(() => putLarge(client, bucket, item, opts.progress))
    }
    opts.progress?.fileDone(item.key, item.file.size)
  })
}

/** Runs `send` for each item, `concurrency` at once; the first failure stops new ones starting. */
async function eachUntilFailure(
  items: readonly UploadItem[],
  concurrency: number,
  send: (item: UploadItem) => Promise<void>
): Promise<UploadOutcome> {
  const limit = pLimit(concurrency)
  const outcome: UploadOutcome = { uploaded: [] }
  await Promise.all(
    items.map(item =>
      limit(async () => {
        if (outcome.failure) return
        try {
          await send(item)
          outcome.uploaded.push(item)
        } catch (error) {
          outcome.failure ??= { item, error }
        }
      })
    )
  )
  return outcome
}

function objectParams(bucket: string, item: UploadItem, sha256 = item.file.sha256) {
  if (sha256 === undefined) {
    // deployFrontend computes it (addSha256) for everything but small uploads, which hash their body.
    throw new Error(`The SHA-256 of ${item.file.relPath} was not computed before sending it`)
  }
  return {
    Bucket: bucket,
    Key: item.key,
    ContentType: item.contentType,
    CacheControl: item.cacheControl,
    Metadata: {
      [SHA256_METADATA_KEY]: sha256,
      [HEADERS_METADATA_KEY]: item.headersDigest
    }
  }
}

/** A key as CopySource wants it: `bucket/key`, each segment URL-encoded. */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`
}

/**
 * Gives objects whose content is unchanged their new headers: each is copied onto itself with
 * MetadataDirective REPLACE and the new Content-Type, Cache-Control and metadata (the SHA-256
 * stays), so no byte is sent again. Bounded concurrency; the first failure stops new copies and is
 * returned, as in {@link uploadItems}.
 */
export async function updateHeaders(
  s3: S3Client,
  bucket: string,
  items: readonly UploadItem[],
  concurrency = DEFAULT_UPLOAD_CONCURRENCY
): Promise<UploadOutcome> {
  return eachUntilFailure(items, concurrency, async item => {
    await s3.send(
      new CopyObjectCommand({
        ...objectParams(bucket, item),
        CopySource: copySource(bucket, item.key),
        MetadataDirective: 'REPLACE'
      })
    )
  })
}

/**
 * One PutObject with the whole file in a Buffer. `x-amz-checksum-sha256` is the content's SHA-256
 * (from the scan, or from this body after its MD5 was checked against the scan's), so S3 refuses a
 * body that differs from what was planned (corruption in transit, or a file changed since).
 */
async function putSmall(s3: S3Client, bucket: string, item: UploadItem): Promise<void> {
  // Most bodies are small: one blocking read costs a fraction of the CPU of fs/promises' open,
  // fstat, read and close round trips, and holds the event loop for microseconds.
  const body =
    item.file.size <= SYNC_READ_MAX_BYTES
      ? readFileSync(item.file.absPath)
      : await readFile(item.file.absPath)
  if (body.length !== item.file.size) {
    throw new Error(
      `${item.file.relPath} changed since it was scanned (${item.file.size} bytes, now ${body.length})`
    )
  }
  let sha256 = item.file.sha256
  if (sha256 === undefined) {
    if (hash('md5', body, 'hex') !== item.file.md5) {
      throw new Error(`${item.file.relPath} changed since it was scanned (other content)`)
    }
    sha256 = item.file.sha256 = hash('sha256', body, 'hex')
  }
  await s3.send(
    new PutObjectCommand({
      ...objectParams(bucket, item, sha256),
      Body: body,
      ContentLength: body.length,
      ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64')
    })
  )
}

const knownChecksumSigning = new WeakSet<S3Client>()

/**
 * A PutObject that carries the SHA-256 of its whole body (`ChecksumSHA256`) is signed with that
 * hash as its payload hash (`x-amz-content-sha256`) instead of the signer hashing the body again:
 * the same value, one pass over the bytes less per upload. S3 checks both against the body.
 * Installed once per client.
 */
export function signWithKnownChecksum(s3: S3Client): void {
  if (knownChecksumSigning.has(s3)) return
  knownChecksumSigning.add(s3)
  s3.middlewareStack.add(
    (next, context) => async args => {
      const checksum = (args.input as { ChecksumSHA256?: unknown }).ChecksumSHA256
      const request = args.request as { headers?: Record<string, string> } | undefined
      if (
        context.commandName === 'PutObjectCommand' &&
        typeof checksum === 'string' &&
        request?.headers
      ) {
        request.headers['x-amz-content-sha256'] = Buffer.from(checksum, 'base64').toString('hex')
      }
      return next(args)
    },
    { step: 'build', name: 'signWithKnownChecksum' }
  )
}

/**
 * A multipart upload streamed from the file, parts of MULTIPART_PART_SIZE (so the object's ETag is
 * the one the scan computed); each part carries the SDK's CRC32 checksum, which S3 verifies.
 */
async function putLarge(
  s3: S3Client,
  bucket: string,
  item: UploadItem,
  progress: Progress | undefined
): Promise<void> {
  const upload = new Upload({
    client: s3,
    params: { ...objectParams(bucket, item), Body: createReadStream(item.file.absPath) },
    partSize: MULTIPART_PART_SIZE,
    queueSize: 4,
    leavePartsOnError: false
  })
  if (progress) {
    upload.on('httpUploadProgress', event => {
      if (event.loaded !== undefined) progress.partialBytes(item.key, event.loaded)
    })
  }
  await upload.done()
}

/**
 * Deletes `keys` with DeleteObjects, 1,000 a request. Every key is checked to be under `prefix`
 * first (the planner already guarantees it; a deletion outside the prefix must be impossible).
 */
export async function deleteKeys(
  s3: S3Client,
  bucket: string,
  prefix: string,
  keys: readonly string[]
): Promise<number> {
  for (const key of keys) {
    if (!key.startsWith(prefix) || key === prefix || key === '') {
      throw new DeployError(
        `Refusing to delete s3://${bucket}/${key}: it is not under site-prefix "${prefix}" (nothing was deleted)`
      )
    }
  }
  let deleted = 0
  for (let i = 0; i < keys.length; i += DELETE_BATCH_SIZE) {
    const batch = keys.slice(i, i + DELETE_BATCH_SIZE)
    let errors: {
      Key?: string | undefined
      Code?: string | undefined
      Message?: string | undefined
    }[]
    try {
      const result = await s3.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: batch.map(Key => ({ Key })), Quiet: true }
        })
      )
      errors = result.Errors ?? []
    } catch (error) {
      throw s3Failure(`delete removed files from s3://${bucket}/${prefix}`, bucket, error)
    }
    deleted += batch.length - errors.length
    const first = errors[0]
    if (first) {
      throw new DeployError(
        `Could not delete ${errors.length} of ${batch.length} objects from s3://${bucket} ` +
          `(first: ${first.Key}: ${first.Code ?? 'error'} ${first.Message ?? ''}`.trimEnd() +
          ')'
      )
    }
  }
  return deleted
}

/** An S3 error as one line naming the bucket and what to check. */
export function s3Failure(what: string, bucket: string, error: unknown): DeployError {
  const name = awsErrorName(error)
  const status = awsStatus(error)
  let fix = ''
  if (name === 'NoSuchBucket') {
    fix = `; the bucket does not exist: check site-bucket or the frontend_bucket output`
  } else if (name === 'AccessDenied' || status === 403) {
    fix = `; the bucket ${bucket} belongs to another AWS account than these credentials' (every request names their account as the expected owner), or they may not use it (s3:ListBucket, s3:GetObject, s3:PutObject, s3:DeleteObject)`
  }
  const message = errorMessage(error).replace(/\.$/, '')
  const detail = name && name !== 'Error' ? `${name}: ${message}` : message
  return new DeployError(`Could not ${what}: ${detail}${fix}`, { cause: error })
}
