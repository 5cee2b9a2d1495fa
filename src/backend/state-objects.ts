/** Reading the state and the objects next to it in the state bucket (missing is not an error). */
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { awsErrorName, awsStatus } from '../aws/clients'
import { DeployError, errorMessage } from '../errors'

export interface StateDoc {
  lineage?: string
  serial?: number
  resources?: Array<{ mode?: string; type?: string; name?: string; module?: string }>
}

export async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
    return (head.ContentLength ?? 0) > 0
  } catch (error) {
    if (isMissing(error)) return false
    throw readFailure(bucket, key, error)
  }
}

export async function readObject(
  s3: S3Client,
  bucket: string,
  key: string
): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    return (await out.Body?.transformToString()) ?? ''
  } catch (error) {
    if (isMissing(error)) return undefined
    throw readFailure(bucket, key, error)
  }
}

/** The state document at the key (undefined when missing or empty). */
export async function readState(
  s3: S3Client,
  bucket: string,
  key: string
): Promise<StateDoc | undefined> {
  const text = await readObject(s3, bucket, key)
  if (!text) return undefined
  try {
    return JSON.parse(text) as StateDoc
  } catch {
    return undefined
  }
}

function isMissing(error: unknown): boolean {
  return awsStatus(error) === 404 || ['NotFound', 'NoSuchKey'].includes(awsErrorName(error))
}

function readFailure(bucket: string, key: string, error: unknown): DeployError {
  return new DeployError(
    `Could not read s3://${bucket}/${key}: ${awsErrorName(error) || errorMessage(error)}; check s3:GetObject on the state bucket`,
    { cause: error }
  )
}
