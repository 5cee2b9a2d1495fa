import pRetry from 'p-retry'
import { CloudFrontClient } from '@aws-sdk/client-cloudfront'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { S3Client } from '@aws-sdk/client-s3'
import { STSClient } from '@aws-sdk/client-sts'

/** The AWS clients of one run, all in the configured region. */
export interface AwsClients {
  region: string
  s3: S3Client
  dynamodb: DynamoDBClient
  cloudfront: CloudFrontClient
  sts: STSClient
}

type Env = Record<string, string | undefined>

/**
 * Create the clients. Credentials come from the standard chain (the environment set by
 * aws-actions/configure-aws-credentials, or the runner's role). Endpoints can be overridden with the
 * standard AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> variables, which the SDK reads itself; an S3
 * endpoint override (S3-compatible stores, local stand-ins) gets path-style addressing, since such
 * endpoints rarely have per-bucket host names.
 *
 * Transient errors (throttling, 5xx, connection resets, timeouts) are retried by the SDK's standard
 * retry strategy with exponential backoff and jitter; `maxAttempts` bounds it.
 */
export function createClients(region: string, env: Env = process.env, maxAttempts = 6): AwsClients {
  const common = { region, maxAttempts, retryMode: 'standard' as const }
  const s3Endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL
  return {
    region,
    s3: withoutUnusedMiddleware(new S3Client({ ...common, forcePathStyle: Boolean(s3Endpoint) })),
    dynamodb: new DynamoDBClient(common),
    // CloudFront is a global service signed for us-east-1.
    cloudfront: new CloudFrontClient({ ...common, region: 'us-east-1' }),
    sts: new STSClient(common)
  }
}

/**
 * SDK middlewares that do nothing useful for this action yet run on every request: removed from
 * the S3 client, where a sync sends thousands of requests (each saved a few percent of the
 * client's CPU on a 2,000-file first upload, `npm run bench`).
 * - `loggerMiddleware`: no SDK logger is configured (the default is a no-op logger), yet it
 *   redacts every command's input and output for the log line it hands that logger.
 * - `recursionDetectionMiddleware`: inside AWS Lambda, passes the X-Ray trace id on; a runner is
 *   not a Lambda function, so it only reads the environment on every request.
 * Everything that checks or shapes a request stays (bucket-name validation, checksums, signing,
 * retries, S3's 200-with-error handling, region redirects, S3 Express).
 */
export const UNUSED_S3_MIDDLEWARE = ['loggerMiddleware', 'recursionDetectionMiddleware'] as const

export function withoutUnusedMiddleware(s3: S3Client): S3Client {
  for (const name of UNUSED_S3_MIDDLEWARE) s3.middlewareStack.remove(name)
  return s3
}

const ownerExpected = new WeakSet<S3Client>()

/**
 * Every request of `s3` that names a bucket says which account must own it (ExpectedBucketOwner,
 * and ExpectedSourceBucketOwner on copies): S3 refuses with 403 when another account owns the
 * bucket, even one whose policy lets these credentials in (a squatted name). Installed once per client.
 */
export function expectBucketOwner(s3: S3Client, account: string): void {
  if (ownerExpected.has(s3)) return
  ownerExpected.add(s3)
  s3.middlewareStack.add(
    next => async args => {
      const input = args.input as Record<string, unknown>
      if (typeof input.Bucket !== 'string') return next(args)
      const owned: Record<string, unknown> = { ExpectedBucketOwner: account, ...input }
      if (typeof input.CopySource === 'string') owned.ExpectedSourceBucketOwner ??= account
      return next({ ...args, input: owned })
    },
    { step: 'initialize', name: 'expectBucketOwner' }
  )
}

/** The error name/code of an SDK error (`BucketAlreadyOwnedByYou`, `ResourceNotFoundException`, ...). */
export function awsErrorName(error: unknown): string {
  if (error && typeof error === 'object') {
    const e = error as { name?: unknown; Code?: unknown; code?: unknown }
    for (const v of [e.name, e.Code, e.code]) if (typeof v === 'string' && v) return v
  }
  return ''
}

/** The HTTP status of an SDK error's response, when it has one. */
export function awsStatus(error: unknown): number | undefined {
  const meta = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
  return meta?.httpStatusCode
}

/**
 * Retry `attempt` with exponential backoff (p-retry) while `retryable` accepts the error: for conditions
 * the SDK's own retries do not cover (S3's OperationAborted during concurrent bucket creation, a
 * NoSuchBucket right after creation).
 */
export async function retryOn<T>(
  attempt: () => Promise<T>,
  retryable: (error: unknown) => boolean,
  retries = 7,
  minTimeout = 250
): Promise<T> {
  return pRetry(attempt, {
    retries,
    minTimeout,
    maxTimeout: 8000,
    randomize: true,
    shouldRetry: ({ error }) => retryable(error)
  })
}
