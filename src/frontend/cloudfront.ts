/**
 * The CloudFront edge: create the invalidation the sync calls for, and optionally wait for it.
 *
 * The CallerReference comes from the run id, the attempt and the paths (see `callerReference`):
 * when a request is retried - by the SDK after a lost answer, or by a retried step of the same run
 * attempt that uploads the same changes - CloudFront answers with the existing invalidation
 * instead of creating a second one.
 */
import {
  CreateInvalidationCommand,
  GetInvalidationCommand,
  type CloudFrontClient
} from '@aws-sdk/client-cloudfront'
import { awsErrorName } from '../aws/clients'
import { DeployError } from '../errors'
import { messageOf } from './log'

export interface CreatedInvalidation {
  id: string
  status: string
}

/** CreateInvalidation; a failure is a DeployError naming the distribution and the fix. */
export async function createInvalidation(
  cloudfront: CloudFrontClient,
  distributionId: string,
  paths: readonly string[],
  reference: string
): Promise<CreatedInvalidation> {
  try {
    const result = await cloudfront.send(
      new CreateInvalidationCommand({
        DistributionId: distributionId,
        InvalidationBatch: {
          CallerReference: reference,
          Paths: { Quantity: paths.length, Items: [...paths] }
        }
      })
    )
    const id = result.Invalidation?.Id
    if (!id) throw new Error('CreateInvalidation answered without an invalidation id')
    return { id, status: result.Invalidation?.Status ?? 'InProgress' }
  } catch (error) {
    throw new DeployError(invalidationFailure(distributionId, error), { cause: error })
  }
}

function invalidationFailure(distributionId: string, error: unknown): string {
  const name = awsErrorName(error)
  const message = messageOf(error).replace(/\.$/, '')
  const detail = name && name !== 'Error' ? `${name}: ${message}` : message
  let fix = ''
  if (name === 'NoSuchDistribution') {
    fix = '; check distribution-id or the cloudfront_distribution_id output'
  } else if (name === 'AccessDenied') {
    fix = `; the credentials need cloudfront:CreateInvalidation on ${distributionId}`
  } else if (name === 'TooManyInvalidationsInProgress') {
    fix = '; wait for the invalidations in progress to finish, or use invalidate: all'
  }
  return `CloudFront invalidation of distribution ${distributionId} failed: ${detail}${fix}`
}

export interface WaitOptions {
  /** Give up after this long (default 15 minutes). */
  timeoutMs?: number
  /** First pause between polls (default 5 s); grows by half each time up to `maxDelayMs`. */
  initialDelayMs?: number
  /** Longest pause between polls (default 30 s). */
  maxDelayMs?: number
}

export type WaitResult =
  | { status: 'Completed'; seconds: number }
  | { status: 'timed out' | 'unknown'; seconds: number; reason: string }

/**
 * Polls GetInvalidation until it reports `Completed`, with a growing pause and a bound. Neither a
 * timeout nor a failing poll throws: the invalidation exists and will finish on its own; the
 * caller turns them into warnings.
 */
export async function waitForInvalidation(
  cloudfront: CloudFrontClient,
  distributionId: string,
  id: string,
  opts: WaitOptions = {}
): Promise<WaitResult> {
  const timeoutMs = opts.timeoutMs ?? 15 * 60_000
  const maxDelay = opts.maxDelayMs ?? 30_000
  let delay = opts.initialDelayMs ?? 5_000
  const start = performance.now()
  const elapsed = (): number => performance.now() - start
  const seconds = (): number => Math.round(elapsed() / 100) / 10
  for (;;) {
    let status: string | undefined
    try {
      const result = await cloudfront.send(
        new GetInvalidationCommand({ DistributionId: distributionId, Id: id })
      )
      status = result.Invalidation?.Status
    } catch (error) {
      return {
        status: 'unknown',
        seconds: seconds(),
        reason: `GetInvalidation failed: ${awsErrorName(error) || messageOf(error)}`
      }
    }
    if (status === 'Completed') return { status: 'Completed', seconds: seconds() }
    const left = timeoutMs - elapsed()
    if (left <= 0) {
      return {
        status: 'timed out',
        seconds: seconds(),
        reason: `still ${status ?? 'in progress'} after ${timeoutMs / 1000} s`
      }
    }
    await new Promise(resolve => setTimeout(resolve, Math.min(delay, left)))
    delay = Math.min(maxDelay, Math.round(delay * 1.5))
  }
}
