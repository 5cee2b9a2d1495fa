import pRetry from 'p-retry'
import { CloudFrontClient } from '@aws-sdk/client-cloudfront'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'
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

const ignore = (): void => undefined

/**
 * The clients' logger: nothing is logged, as with the SDK's default, but without `info`. The SDK's
 * logger middleware builds, for `logger?.info?.(...)`, a copy of every response with its sensitive
 * fields masked before it calls the (default, empty) `info`: about 5% of listing 10,000 objects.
 */
const SILENT_LOGGER = { debug: ignore, warn: ignore, error: ignore } as unknown as NonNullable<
  S3ClientConfig['logger']
>

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
  const common = { region, maxAttempts, retryMode: 'standard' as const, logger: SILENT_LOGGER }
  const s3Endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL
  const s3Config: S3ClientConfig = { ...common, forcePathStyle: Boolean(s3Endpoint) }
  const s3 = withoutUnusedMiddleware(new S3Client(s3Config))
  s3Configs.set(s3, s3Config)
  return {
    region,
    s3,
    dynamodb: new DynamoDBClient(common),
    // CloudFront is a global service signed for us-east-1.
    cloudfront: new CloudFrontClient({ ...common, region: 'us-east-1' }),
    sts: new STSClient(common)
  }
}

/**
 * SDK middleware that does nothing useful for this action yet runs on every request: removed from
 * the S3 client, where a sync sends thousands of requests (a few percent of the client's CPU on a
 * 2,000-file first upload, `npm run bench`).
 * - `recursionDetectionMiddleware`: inside AWS Lambda, passes the X-Ray trace id on; a runner is
 *   not a Lambda function, so it only reads the environment on every request.
 * The logger middleware stays: with SILENT_LOGGER (no `info`) it builds no log entry, for every
 * client. Everything that checks or shapes a request stays (bucket-name validation, checksums,
 * signing, retries, S3's 200-with-error handling, region redirects, S3 Express).
 */
export const UNUSED_S3_MIDDLEWARE = ['recursionDetectionMiddleware'] as const

export function withoutUnusedMiddleware(s3: S3Client): S3Client {
  for (const name of UNUSED_S3_MIDDLEWARE) s3.middlewareStack.remove(name)
  return s3
}

/** The settings each S3 client of createClients was made with (see oneBucketClient). */
const s3Configs = new WeakMap<S3Client, S3ClientConfig>()

/**
 * An S3 client for the requests of one upload run to one bucket: the settings, credentials
 * provider, HTTP handler (the same connections) and expected bucket owner of `main` (a client of
 * createClients), plus the SDK's `cacheMiddleware`, which resolves each command's middleware stack
 * once instead of on every send: 7% less client CPU for a first sync of 2,000 files (median 3,070
 * -> 2,850 ms). Undefined for a client createClients did not make: use that one as it is.
 * Everything sent through it runs the same middlewares as on `main` (a test checks what a PUT carries).
 *
 * Why the cache is safe only here. With `cacheMiddleware`, `Client.send` (@smithy/core
 * smithy-client) keeps, per command class, the handler that the first command resolved, and
 * reuses it while no send options are passed (lib-storage's Upload and this action pass none). That
 * handler closes over ONE handler-execution context shared by all later requests of the class,
 * concurrent ones included, into which the middlewares write per-request state: the endpoint
 * resolved from the bucket (`endpointV2`, signing region and service), the chosen auth scheme and
 * its identity, a region redirect. On a client used for one bucket with one set of settings every
 * request writes the same values, so a race between two requests changes nothing (a refreshed
 * identity is as valid as the one before it). On a client shared by two buckets, one request could
 * read the other's endpoint. Middleware added after the first send would also be ignored: the
 * returned client has all of its middleware (the caller adds its own before sending).
 *
 * Not destroyed with `destroy()`: that would also destroy the shared HTTP handler of `main`.
 * Dropping the last reference frees it (the cache lives on the client).
 */
export function oneBucketClient(main: S3Client): S3Client | undefined {
  const config = s3Configs.get(main)
  if (!config) return undefined
  const client = withoutUnusedMiddleware(
    new S3Client({
      ...config,
      credentials: main.config.credentials,
      requestHandler: main.config.requestHandler,
      cacheMiddleware: true
    })
  )
  const account = ownerExpected.get(main)
  if (account !== undefined) expectBucketOwner(client, account)
  return client
}

const ownerExpected = new WeakMap<S3Client, string>()

/**
 * Every request of `s3` that names a bucket says which account must own it (ExpectedBucketOwner,
 * and ExpectedSourceBucketOwner on copies): S3 refuses with 403 when another account owns the
 * bucket, even one whose policy lets these credentials in (a squatted name). Installed once per client.
 */
export function expectBucketOwner(s3: S3Client, account: string): void {
  if (ownerExpected.has(s3)) return
  ownerExpected.set(s3, account)
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
