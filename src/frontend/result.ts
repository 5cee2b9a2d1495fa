/** What the frontend phase returns (and carries in its errors), and what it is given. */
import type { CloudFrontClient } from '@aws-sdk/client-cloudfront'
import type { S3Client } from '@aws-sdk/client-s3'

import { DeployError } from '../errors'

import type { Config } from '../inputs'
import { type InvalidationRetry, type WaitOptions } from './cloudfront'
import { type Log } from '../log'
import { type ManifestLocation } from './site-manifest'
import { type KeptRemoved } from './sync-plan'
import { secondsSince } from '../format'

export interface InvalidationReport {
  /** Set once CloudFront accepted it. */
  id?: string
  paths: string[]
  /** CloudFront's status (`InProgress`, `Completed`), or `dry-run`, `failed`, `timed out`. */
  status: string
  callerReference: string
  /** Seconds spent waiting for completion (wait-for-invalidation). */
  waitSeconds?: number
}

export interface FrontendResult {
  /** Why the phase did nothing (no frontend directory). */
  skipped?: string
  bucket?: string
  /** The normalised site prefix ('' or 'x/'). */
  prefix: string
  distributionId?: string
  buildSeconds?: number
  /** Files uploaded (in a dry run: that would be uploaded). */
  uploaded: number
  /** Objects deleted (in a dry run: that would be deleted). */
  deleted: number
  unchanged: number
  /** Unchanged files whose headers were updated (in a dry run: would be). */
  headersUpdated: number
  headersUpdatedKeys: string[]
  /** Removed fingerprinted assets kept for keep-removed. */
  keptRemoved: KeptRemoved[]
  /** Paths an earlier run could not invalidate, invalidated by this one. */
  carriedPaths: string[]
  bytesUploaded: number
  /** Scan, listing, uploads and deletions. */
  syncSeconds: number
  uploadedKeys: string[]
  deletedKeys: string[]
  /** Objects under the prefix the build no longer has, kept: not uploaded by this action, or state-like. */
  keptKeys: string[]
  invalidation?: InvalidationReport
  /** Why no invalidation was made (no distribution, `invalidate: none`, nothing changed). */
  invalidationNote?: string
  dryRun: boolean
  warnings: string[]
}

/** A failure after the sync started; `result` says what was done before it. */
export class FrontendError extends DeployError {
  constructor(
    message: string,
    readonly result: FrontendResult,
    options?: { cause?: unknown }
  ) {
    super(message, options)
    this.name = 'FrontendError'
  }
}

export interface FrontendClients {
  s3: S3Client
  cloudfront: CloudFrontClient
}

export interface DeployFrontendOptions {
  log?: Log
  /** Uploads in flight (default: DEFAULT_UPLOAD_CONCURRENCY in s3-sync.ts). */
  uploadConcurrency?: number
  headConcurrency?: number
  /** Progress line interval during uploads (default 2 s). */
  progressIntervalMs?: number
  /** Bounds of wait-for-invalidation. */
  wait?: WaitOptions
  /** The Terraform state bucket: never a site bucket. */
  stateBucket?: string
  /** Where the site manifest lives (next to the state). */
  manifest?: ManifestLocation
  /** Bounds of the retries of a busy or throttling CreateInvalidation. */
  invalidationRetry?: InvalidationRetry
}

export type FrontendConfig = Pick<
  Config,
  | 'frontendDirectory'
  | 'buildCommand'
  | 'buildDirectory'
  | 'buildEnv'
  | 'configFile'
  | 'siteBucket'
  | 'sitePrefix'
  | 'distributionId'
  | 'deleteRemoved'
  | 'keepRemovedMs'
  | 'cacheControl'
  | 'invalidate'
  | 'waitForInvalidation'
  | 'dryRun'
  | 'workspace'
  | 'context'
>

/** Sets the sync's duration (from `syncStart`, a performance.now()) and gives the result. */
export function finish(result: FrontendResult, syncStart: number): FrontendResult {
  result.syncSeconds = secondsSince(syncStart)
  return result
}
