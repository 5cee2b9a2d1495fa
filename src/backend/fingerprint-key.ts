/**
 * The key of the reviewed-plan fingerprint. The fingerprint sits in the pull request's comment, where
 * anyone who can read the pull request sees it; its hashes of sensitive values (and of every change)
 * are HMACs under a key those readers do not have: 32 random bytes kept next to the state, in the
 * private, versioned, encrypted state bucket (`<state-key>.revive-deploy-hmac-key`).
 *
 * The first run that needs the key and finds none creates it with a conditional write
 * (`If-None-Match: *`), so two first runs at once agree on one key. A run that may not read or create
 * it (a plan role without `s3:PutObject` on that object, a dry run before the key exists) makes no
 * fingerprint and says why: a merge with `require-reviewed-plan` then finds no reviewed plan and
 * applies nothing.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { randomBytes } from 'node:crypto'
import { awsErrorName, awsStatus } from '../aws/clients'
import { errorMessage } from '../errors'

export const HMAC_KEY_SUFFIX = '.revive-deploy-hmac-key'

export type FingerprintKey = { key: Buffer } | { key?: undefined; problem: string }

export interface FingerprintKeyOptions {
  s3: S3Client
  bucket: string
  stateKey: string
  /** A dry run reads the key but never creates it. */
  create: boolean
}

/** Reads the key, creating it when missing (see the module comment). Never throws. */
export async function fingerprintKey(opts: FingerprintKeyOptions): Promise<FingerprintKey> {
  const objectKey = `${opts.stateKey}${HMAC_KEY_SUFFIX}`
  const where = `s3://${opts.bucket}/${objectKey}`
  const read = async (): Promise<Buffer | undefined> => {
    try {
      const got = await opts.s3.send(new GetObjectCommand({ Bucket: opts.bucket, Key: objectKey }))
      const text = ((await got.Body?.transformToString()) ?? '').trim()
      return /^[0-9a-f]{64}$/.test(text) ? Buffer.from(text, 'hex') : undefined
    } catch (error) {
      if (awsStatus(error) === 404) return undefined
      throw error
    }
  }
  const failed = (what: string, error: unknown): FingerprintKey => ({
    problem: `could not ${what} the fingerprint key ${where} (${awsErrorName(error) || errorMessage(error)}); grant s3:GetObject and s3:PutObject on it`
  })
  let key: Buffer | undefined
  try {
    key = await read()
  } catch (error) {
    return failed('read', error)
  }
  if (key) return { key }
  if (!opts.create)
    return { problem: `there is no fingerprint key ${where} yet (a dry run creates none)` }
  try {
    await opts.s3.send(
      new PutObjectCommand({
        Bucket: opts.bucket,
        Key: objectKey,
        Body: randomBytes(32).toString('hex'),
        ContentType: 'text/plain',
        IfNoneMatch: '*'
      })
    )
  } catch (error) {
    // Another run created it first: that one is the key.
    if (awsStatus(error) !== 412) return failed('create', error)
  }
  try {
    key = await read()
  } catch (error) {
    return failed('read', error)
  }
  return key ? { key } : { problem: `the fingerprint key ${where} is not 64 hex digits` }
}
