/**
 * The CloudFront edge: create the invalidation the sync calls for, and optionally wait for it.
 *
 * The CallerReference comes from the run id, the attempt and the paths (see `callerReference`):
 * when a request is retried - by the SDK after a lost answer, or by a retried step of the same run
 * attempt that uploads the same changes - CloudFront answers with the existing invalidation
 * instead of creating a second one.
 *
 * A distribution has room for a limited number of paths in progress (3,000 files, 15 wildcards);
 * CreateInvalidation then answers TooManyInvalidationsInProgress. That, and throttling, is
 * retried with a growing pause within a bound ({@link InvalidationRetry}); past it, the failure
 * names every path that was not invalidated.
 */
import {
  CreateInvalidationCommand,
  GetDistributionConfigCommand,
  GetInvalidationCommand,
  type CloudFrontClient
} from '@aws-sdk/client-cloudfront'
import { awsErrorName } from '../aws/clients'
import { DeployError, errorMessage } from '../errors'
import { normalizePrefix } from './sync-plan'

/** Where a distribution roots the site bucket, for turning keys into the URL paths it serves. */
export interface OriginRoots {
  /** Key prefixes (`''` or `site/`) that the distribution serves as `/`. */
  roots: string[]
  /** Set when the origins could not be read or none is the bucket: why the site prefix is assumed. */
  assumed?: string
}

/**
 * Reads the distribution's origins (one GetDistributionConfig) and returns the origin paths of
 * those that are the site bucket (REST or website endpoint, any region): a key `K` under origin
 * path `P` is served as `/` + `K` without `P`. When the config cannot be read (for example the
 * credentials lack `cloudfront:GetDistributionConfig`) or no origin is the bucket (a custom
 * origin in front of it), the site prefix is assumed to be the origin path, and `assumed` says why.
 */
export async function originRoots(
  cloudfront: CloudFrontClient,
  distributionId: string,
  bucket: string,
  sitePrefix: string
): Promise<OriginRoots> {
  const fallback = (why: string): OriginRoots => ({
    roots: [normalizePrefix(sitePrefix)],
    assumed: `${why}: invalidation paths assume it serves ${sitePrefix ? `s3://${bucket}/${sitePrefix}` : `the root of s3://${bucket}`} as /`
  })
  let origins: { DomainName?: string | undefined; OriginPath?: string | undefined }[]
  try {
    const answer = await cloudfront.send(new GetDistributionConfigCommand({ Id: distributionId }))
    origins = answer.DistributionConfig?.Origins?.Items ?? []
  } catch (error) {
    const name = awsErrorName(error) || errorMessage(error)
    const fix =
      name === 'AccessDenied' ? '; grant cloudfront:GetDistributionConfig on the distribution' : ''
    return fallback(`Could not read the origins of distribution ${distributionId} (${name}${fix})`)
  }
  const endpoint = new RegExp(
    `^${bucket.replace(/\./g, '\\.')}\\.s3(?:[.-][a-z0-9-]+)*\\.amazonaws\\.com(?:\\.cn)?$`,
    'i'
  )
  const roots = new Set<string>()
  for (const origin of origins) {
    if (!endpoint.test(origin.DomainName ?? '')) continue
    roots.add(normalizePrefix((origin.OriginPath ?? '').replace(/^\/+|\/+$/g, '')))
  }
  if (roots.size === 0) {
    const domains = origins.map(o => o.DomainName ?? '?').join(', ') || 'none'
    return fallback(
      `Distribution ${distributionId} has no origin that is the bucket ${bucket} (origins: ${domains})`
    )
  }
  return { roots: [...roots].sort() }
}

export interface CreatedInvalidation {
  id: string
  status: string
}

/** How long CreateInvalidation is retried while the distribution is busy or throttles. */
export interface InvalidationRetry {
  /** Stop retrying after this long (default 10 minutes). */
  timeoutMs?: number
  /** First pause (default 5 s); grows by half each time up to `maxDelayMs`. */
  initialDelayMs?: number
  /** Longest pause (default 60 s). */
  maxDelayMs?: number
  /** Called before each pause (for the log). */
  onRetry?: (reason: string, delayMs: number) => void
}

/** Errors of CreateInvalidation that pass with time. */
const RETRYABLE_INVALIDATION_ERRORS = new Set([
  'TooManyInvalidationsInProgress',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException'
])

/**
 * CreateInvalidation, retried while the distribution is busy or throttles (see the module
 * comment); any failure is a DeployError naming the distribution, every path not invalidated,
 * and the fix.
 */
export async function createInvalidation(
  cloudfront: CloudFrontClient,
  distributionId: string,
  paths: readonly string[],
  reference: string,
  retry: InvalidationRetry = {}
): Promise<CreatedInvalidation> {
  const clock = new Backoff(retry, 10 * 60_000, 60_000)
  for (let attempt = 1; ; attempt++) {
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
      const name = awsErrorName(error)
      const left = clock.left()
      if (RETRYABLE_INVALIDATION_ERRORS.has(name) && left > 0) {
        const pause = clock.pauseWithin(left)
        retry.onRetry?.(name, pause)
        await clock.sleep(pause)
        continue
      }
      const seconds = clock.seconds()
      const tries = attempt > 1 ? ` (${attempt} attempts in ${seconds} s)` : ''
      throw new DeployError(
        `${invalidationFailure(distributionId, error)}${tries}. Not invalidated: ${paths.join(' ')}`,
        { cause: error }
      )
    }
  }
}

function invalidationFailure(distributionId: string, error: unknown): string {
  const name = awsErrorName(error)
  const message = errorMessage(error).replace(/\.$/, '')
  const detail = name && name !== 'Error' ? `${name}: ${message}` : message
  let fix = ''
  if (name === 'NoSuchDistribution') {
    fix = '; check distribution-id or the cloudfront_distribution_id output'
  } else if (name === 'AccessDenied') {
    fix = `; the credentials need cloudfront:CreateInvalidation on ${distributionId}`
  } else if (name === 'TooManyInvalidationsInProgress') {
    fix =
      '; the distribution has too many paths in progress (CloudFront allows 3,000 files and 15 wildcards); they were waited for in vain'
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
  const clock = new Backoff(opts, 15 * 60_000, 30_000)
  const seconds = (): number => clock.seconds()
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
        reason: `GetInvalidation failed: ${awsErrorName(error) || errorMessage(error)}`
      }
    }
    if (status === 'Completed') return { status: 'Completed', seconds: seconds() }
    const left = clock.left()
    if (left <= 0) {
      return {
        status: 'timed out',
        seconds: seconds(),
        reason: `still ${status ?? 'in progress'} after ${clock.timeoutMs / 1000} s`
      }
    }
    await clock.sleep(clock.pauseWithin(left))
  }
}

/**
 * A growing pause within a time limit, for retries and polls: the first pause is
 * `initialDelayMs` (default 5 s), each next one half longer, up to `maxDelayMs`.
 */
class Backoff {
  readonly timeoutMs: number
  private readonly maxDelay: number
  private delay: number
  private readonly start = performance.now()

  /** `opts` as given; its unset bounds default to `timeoutMs` and `maxDelayMs`. */
  constructor(opts: WaitOptions, timeoutMs: number, maxDelayMs: number) {
    this.timeoutMs = opts.timeoutMs ?? timeoutMs
    this.maxDelay = opts.maxDelayMs ?? maxDelayMs
    this.delay = opts.initialDelayMs ?? 5_000
  }

  /** Milliseconds left before the time limit (0 or less once it is reached). */
  left(): number {
    return this.timeoutMs - (performance.now() - this.start)
  }

  /** Seconds since the start, to a tenth. */
  seconds(): number {
    return Math.round((performance.now() - this.start) / 100) / 10
  }

  /** The next pause, at most `left`. */
  pauseWithin(left: number): number {
    return Math.min(this.delay, left)
  }

  /** Sleeps `pause` ms; the next pause is half longer, up to the longest. */
  async sleep(pause: number): Promise<void> {
    await new Promise(resolve => setTimeout(resolve, pause))
    this.delay = Math.min(this.maxDelay, Math.round(this.delay * 1.5))
  }
}
