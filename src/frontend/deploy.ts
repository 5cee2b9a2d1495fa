/**
 * The frontend phase (SPEC §5), the one entry point main calls: build with Terraform outputs,
 * write the config file, scan the build output, list the bucket, plan by content, upload assets,
 * then entry files, then delete what the build no longer has, then invalidate CloudFront for what
 * changed.
 *
 * Failures are DeployErrors (one line for the step). Once the sync has started, they are
 * {@link FrontendError}s carrying the result so far, so the outputs and the job summary can still
 * say what was uploaded: a failed upload (nothing is deleted then), a failed deletion, and a
 * failed invalidation after a successful upload (SPEC §7: reported, and the step fails).
 *
 * With a site manifest (`opts.manifest`, next to the state; see `site-manifest.ts`) the phase also
 * keeps headers in step with their rules, keeps removed fingerprinted assets for `keep-removed`,
 * and remembers paths it could not invalidate. Without one (a manifest that cannot be read), the
 * headers of unchanged files are not compared and removed assets are kept until it can be read.
 */
import type { CloudFrontClient } from '@aws-sdk/client-cloudfront'
import type { S3Client } from '@aws-sdk/client-s3'
import { awsErrorName } from '../aws/clients'
import { DeployError, errorMessage } from '../errors'
import { bucketNameProblem } from '../aws/names'
import type { Config } from '../inputs'
import {
  configFileRule,
  mapBuildEnv,
  resolveBuildDirectory,
  runBuild,
  writeConfigFile
} from './build'
import {
  createInvalidation,
  originRoots,
  waitForInvalidation,
  type InvalidationRetry,
  type WaitOptions
} from './cloudfront'
import { callerReference, invalidationPaths } from './invalidation'
import {
  BuildDirectoryError,
  MULTIPART_THRESHOLD,
  addSha256,
  scanBuildDirectory,
  type LocalFile
} from './local-files'
import { coreLog, type Log } from '../log'
import {
  DEFAULT_HEAD_CONCURRENCY,
  DEFAULT_UPLOAD_CONCURRENCY,
  Progress,
  deleteKeys,
  headObjects,
  listRemote,
  updateHeaders,
  uploadItems
} from './s3-sync'
import {
  manifestUrl,
  readSiteManifest,
  serializeManifest,
  siteId,
  writeSiteManifest,
  type LoadedManifest,
  type ManifestLocation,
  type SiteManifest,
  type SiteRecord
} from './site-manifest'
import {
  keyFor,
  ownDeletions,
  planSync,
  syncPhases,
  type KeptRemoved,
  type SyncPlan,
  type UploadItem
} from './sync-plan'
import { formatBytes, formatCount, plural, secondsSince } from '../format'

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
  /** Uploads in flight (default {@link DEFAULT_UPLOAD_CONCURRENCY}). */
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

type FrontendConfig = Pick<
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

/** Lines of per-file detail in the log of a dry run, per list. */
const DRY_RUN_LIST_LIMIT = 200

/**
 * Runs the frontend phase. `outputs` are the non-sensitive Terraform outputs (name → value). See
 * the module comment for the failure contract.
 */
export async function deployFrontend(
  config: FrontendConfig,
  outputs: Record<string, unknown>,
  clients: FrontendClients,
  opts: DeployFrontendOptions = {}
): Promise<FrontendResult> {
  const log = opts.log ?? coreLog
  const result: FrontendResult = {
    prefix: config.sitePrefix,
    uploaded: 0,
    deleted: 0,
    unchanged: 0,
    headersUpdated: 0,
    headersUpdatedKeys: [],
    keptRemoved: [],
    carriedPaths: [],
    bytesUploaded: 0,
    syncSeconds: 0,
    uploadedKeys: [],
    deletedKeys: [],
    keptKeys: [],
    dryRun: config.dryRun,
    warnings: []
  }
  const warn = (message: string): void => {
    result.warnings.push(message)
    log.warning(message)
  }
  if (!config.frontendDirectory) {
    result.skipped = 'no frontend directory; frontend phase skipped'
    log.notice(`${result.skipped} (set frontend-directory, or add a frontend/ directory)`)
    return result
  }

  // Everything that can be checked before the build is checked before the build.
  const bucket = resolveBucket(config, outputs)
  result.bucket = bucket
  if (opts.stateBucket !== undefined && bucket === opts.stateBucket) {
    throw new DeployError(
      `The site bucket ${bucket} (${config.siteBucket ? 'site-bucket input' : 'frontend_bucket output'}) is the Terraform state bucket: ` +
        'refusing to sync a site into it (its deletions would reach the state). Give the site a bucket of its own; nothing was built, uploaded or deleted.'
    )
  }
  const distributionId = resolveDistribution(config, outputs)
  if (distributionId) result.distributionId = distributionId
  const buildEnv = mapBuildEnv(config.buildEnv, outputs)

  result.buildSeconds = await runBuild(config, buildEnv, log)
  const buildDirectory = await resolveBuildDirectory(config)
  const cacheRules = [...config.cacheControl]
  if (config.configFile !== undefined) {
    const written = await writeConfigFile(buildDirectory, config.configFile, buildEnv.values)
    cacheRules.push(configFileRule(written))
    const names = Object.keys(buildEnv.values)
    log.info(
      `Wrote ${written} into the build output (${names.length ? names.join(', ') : 'no build-env values'})`
    )
  }

  const syncStart = performance.now()
  const target = `s3://${bucket}/${config.sitePrefix}`
  // The scan hashes in worker threads while this thread reads the manifest and lists the bucket;
  // only the hashes the listing is compared with (MD5, multipart ETag): the SHA-256 is computed
  // below for the few files that need it.
  const scanning = scanBuildDirectory(buildDirectory, { sha256: false })
  const reading = Promise.all([
    openManifest(opts.manifest, siteId(bucket, config.sitePrefix), warn),
    listRemote(clients.s3, bucket, config.sitePrefix)
  ])
  reading.catch(() => undefined) // a scan failure is reported first
  let local: LocalFile[]
  try {
    local = await scanning
  } catch (error) {
    throw asDeployError(error)
  }
  const [manifest, remote] = await reading
  let plan: SyncPlan
  const now = Date.now()
  const planOptions = {
    prefix: config.sitePrefix,
    deleteRemoved: config.deleteRemoved,
    cacheRules,
    headerDigests: manifest.headerDigests,
    keepRemovedMs: config.keepRemovedMs,
    removedSince: manifest.removedSince,
    now
  }
  let headed = 0
  try {
    plan = planSync(local, remote, planOptions)
    // One round of HEADs serves both: the metadata hash decides an equal-size file, and only what
    // this action uploaded (its metadata says so; the listing does not) is deleted.
    const toHead = [...plan.needsHead, ...plan.deletions]
    if (toHead.length > 0) {
      const heads = await headObjects(
        clients.s3,
        bucket,
        toHead,
        opts.headConcurrency ?? DEFAULT_HEAD_CONCURRENCY
      )
      headed = plan.needsHead.length
      if (plan.needsHead.length > 0) {
        await addSha256(filesOf(local, plan.prefix, plan.needsHead))
        plan = planSync(local, remote, { ...planOptions, heads })
      }
      const own = ownDeletions(plan.deletions, heads)
      plan = { ...plan, deletions: own.deletions }
      result.keptKeys = own.kept
    }
  } catch (error) {
    if (error instanceof DeployError) throw error
    throw new DeployError(errorMessage(error), { cause: error })
  }
  if (result.keptKeys.length > 0) {
    log.notice(
      `Kept ${plural(result.keptKeys.length, 'object')} under ${target} not uploaded by revive-deploy ` +
        `(or named like Terraform state): ${preview(result.keptKeys)}`
    )
  }
  result.unchanged = plan.unchanged.length
  result.keptRemoved = plan.keptRemoved
  if (manifest.firstRecord && headed > 0) {
    log.notice(
      `${manifest.url} has no record of the headers of ${target} yet (the first deploy that keeps one): ` +
        'the headers of the unchanged objects are read once (HEAD) and compared with the rules'
    )
  }
  log.info(
    `${config.dryRun ? 'Dry run: would sync' : 'Syncing'} ${formatCount(local.length)} files to ${target}: ` +
      `${formatCount(plan.uploads.length)} to upload (${formatBytes(plan.uploadBytes)}), ` +
      (plan.headerUpdates.length
        ? `${formatCount(plan.headerUpdates.length)} to update headers of, `
        : '') +
      `${formatCount(plan.deletions.length)} to delete, ${formatCount(plan.unchanged.length)} unchanged` +
      (plan.keptRemoved.length
        ? `, ${plural(plan.keptRemoved.length, 'removed asset')} kept for keep-removed`
        : '') +
      ` (${formatCount(remote.length)} objects listed` +
      (headed ? `, metadata read for ${formatCount(headed)})` : ')')
  )

  const carried = carriedPaths(manifest.record, distributionId, config, log)
  if (config.dryRun) {
    logDryRun(plan, log)
    result.headersUpdated = plan.headerUpdates.length
    result.headersUpdatedKeys = plan.headerUpdates.map(u => u.key)
    result.uploaded = plan.uploads.length
    result.bytesUploaded = plan.uploadBytes
    result.uploadedKeys = plan.uploads.map(u => u.key)
    result.deleted = plan.deletions.length
    result.deletedKeys = [...plan.deletions]
    result.syncSeconds = secondsSince(syncStart)
    const planned = await planInvalidation(config, result, distributionId, clients, log, carried)
    if (planned) {
      const { paths, reference } = planned
      result.invalidation = { paths, status: 'dry-run', callerReference: reference }
      log.info(`Dry run: would invalidate ${plural(paths.length, 'path')}: ${preview(paths)}`)
    }
    return result
  }

  // Copies and multipart uploads carry the SHA-256 in their metadata before a byte is read; a small
  // upload hashes the body it sends.
  try {
    await addSha256([
      ...plan.headerUpdates.map(u => u.file),
      ...plan.uploads.filter(u => u.file.size >= MULTIPART_THRESHOLD).map(u => u.file)
    ])
  } catch (error) {
    throw asDeployError(error)
  }
  const progress = new Progress(
    plan.uploads.length,
    plan.uploadBytes,
    log,
    opts.progressIntervalMs ?? 2000
  )
  try {
    for (const phase of syncPhases(plan)) {
      if (phase.name === 'deletions') {
        log.info(`Deleting ${plural(phase.deletions.length, 'removed object')} from ${target}`)
        try {
          result.deleted = await deleteKeys(clients.s3, bucket, config.sitePrefix, phase.deletions)
        } catch (error) {
          throw new FrontendError(
            `${errorMessage(error)} (every file was uploaded)`,
            finish(result, syncStart),
            { cause: error }
          )
        }
        result.deletedKeys = [...phase.deletions]
        continue
      }
      if (phase.name === 'headers') {
        log.info(
          `Updating the headers of ${plural(phase.updates.length, 'unchanged object')} (copied onto themselves, no upload)`
        )
        const outcome = await updateHeaders(
          clients.s3,
          bucket,
          phase.updates,
          opts.uploadConcurrency ?? DEFAULT_UPLOAD_CONCURRENCY
        )
        for (const item of outcome.uploaded) result.headersUpdatedKeys.push(item.key)
        result.headersUpdated = result.headersUpdatedKeys.length
        if (outcome.failure) {
          throw stepFailure(
            'Updating the headers of',
            bucket,
            outcome.failure,
            result,
            plan,
            syncStart
          )
        }
        continue
      }
      const bytes = phase.uploads.reduce((sum, u) => sum + u.file.size, 0)
      log.info(
        `Uploading ${plural(phase.uploads.length, phase.name === 'assets' ? 'asset' : 'entry file')} (${formatBytes(bytes)})`
      )
      const outcome = await uploadItems(clients.s3, bucket, phase.uploads, {
        concurrency: opts.uploadConcurrency ?? DEFAULT_UPLOAD_CONCURRENCY,
        progress
      })
      for (const item of outcome.uploaded) {
        result.uploaded++
        result.bytesUploaded += item.file.size
        result.uploadedKeys.push(item.key)
      }
      if (outcome.failure) {
        throw stepFailure('Uploading', bucket, outcome.failure, result, plan, syncStart)
      }
    }
  } catch (error) {
    // Some files may be up already: a re-run would not upload (and so not invalidate) them again.
    if (error instanceof FrontendError && distributionId) {
      const done = new Set([...result.uploadedKeys, ...result.headersUpdatedKeys])
      const partial: SiteRecord = {
        headers: {
          ...manifest.record?.headers,
          ...Object.fromEntries([...plan.digests].filter(([key]) => done.has(key)))
        },
        removed: manifest.record?.removed ?? {}
      }
      const unsent = await planInvalidation(config, result, distributionId, clients, log, carried)
      if (
        unsent &&
        (await manifest.save(
          withPending(partial, distributionId, unsent.paths, manifest.record, now)
        ))
      ) {
        error.message += ` The changed paths so far are recorded in ${manifest.url}; the next deploy invalidates them.`
      }
    }
    throw error
  } finally {
    progress.stop()
  }
  if (plan.uploads.length > 0) log.info(progress.line())
  finish(result, syncStart)
  log.info(
    `Synced ${target} in ${result.syncSeconds} s: ${formatCount(result.uploaded)} uploaded ` +
      `(${formatBytes(result.bytesUploaded)}), ` +
      (result.headersUpdated ? `${formatCount(result.headersUpdated)} headers updated, ` : '') +
      `${formatCount(result.deleted)} deleted, ${formatCount(result.unchanged)} unchanged` +
      (result.keptRemoved.length ? `, ${keptRemovedLine(result.keptRemoved, now)}` : '')
  )

  const record: SiteRecord = {
    headers: Object.fromEntries(plan.digests),
    removed: Object.fromEntries(plan.keptRemoved.map(k => [k.key, new Date(k.since).toISOString()]))
  }
  const pending = await planInvalidation(config, result, distributionId, clients, log, carried)
  if (!pending || !distributionId) {
    await manifest.save(record)
    return result
  }
  {
    const { paths, reference } = pending
    // The marker first: a run stopped while it waits for CloudFront leaves it too.
    const marked = await manifest.save(
      withPending(record, distributionId, paths, manifest.record, now)
    )
    result.invalidation = { paths, status: 'creating', callerReference: reference }
    try {
      const created = await createInvalidation(
        clients.cloudfront,
        distributionId,
        paths,
        reference,
        {
          onRetry: (why, delayMs) =>
            log.info(
              `CloudFront answered ${why}; trying again in ${Math.round(delayMs / 100) / 10} s`
            ),
          ...opts.invalidationRetry
        }
      )
      result.invalidation.id = created.id
      result.invalidation.status = created.status
    } catch (error) {
      result.invalidation.status = 'failed'
      throw new FrontendError(
        `${errorMessage(error)}. The files are uploaded; ` +
          (marked
            ? `the paths are recorded in ${manifest.url}, and the next deploy invalidates them (also when it uploads nothing).`
            : 'a re-run finds nothing to upload and so invalidates nothing: re-run with invalidate: all, or invalidate these paths by hand.'),
        result,
        { cause: error }
      )
    }
    await manifest.save(record)
    log.info(
      `CloudFront invalidation ${result.invalidation.id} (${result.invalidation.status}) of ` +
        `${plural(paths.length, 'path')}: ${preview(paths)}`
    )
    if (config.waitForInvalidation) {
      const id = result.invalidation.id ?? ''
      log.info(`Waiting for invalidation ${id} to complete`)
      const waited = await waitForInvalidation(clients.cloudfront, distributionId, id, opts.wait)
      result.invalidation.waitSeconds = waited.seconds
      if (waited.status === 'Completed') {
        result.invalidation.status = 'Completed'
        log.info(`Invalidation ${id} completed after ${waited.seconds} s`)
      } else {
        result.invalidation.status = waited.status
        warn(`wait-for-invalidation: invalidation ${id} ${waited.reason}; it continues on its own`)
      }
    }
  }
  return result
}

/** A problem with the build output as a DeployError (its message is the one line). */
function asDeployError(error: unknown): unknown {
  return error instanceof BuildDirectoryError
    ? new DeployError(error.message, { cause: error })
    : error
}

/** The local files of `keys`. */
function filesOf(
  local: readonly LocalFile[],
  prefix: string,
  keys: readonly string[]
): LocalFile[] {
  const wanted = new Set(keys)
  return local.filter(file => wanted.has(keyFor(prefix, file.relPath)))
}

/** A failed upload or header update, as the FrontendError saying what was done. */
function stepFailure(
  what: 'Uploading' | 'Updating the headers of',
  bucket: string,
  failure: { item: UploadItem; error: unknown },
  result: FrontendResult,
  plan: SyncPlan,
  syncStart: number
): FrontendError {
  const { item, error } = failure
  const target =
    what === 'Uploading'
      ? `${item.file.relPath} to s3://${bucket}/${item.key}`
      : `s3://${bucket}/${item.key}`
  return new FrontendError(
    `${what} ${target} failed${attemptsOf(error)}: ${describeAwsError(error)}. ` +
      `${formatCount(result.uploaded)} of ${formatCount(plan.uploads.length)} files were uploaded` +
      (plan.headerUpdates.length
        ? `, the headers of ${formatCount(result.headersUpdated)} of ${formatCount(plan.headerUpdates.length)} updated`
        : '') +
      '; nothing was deleted or invalidated. A re-run does the rest.',
    finish(result, syncStart),
    { cause: error }
  )
}

interface OpenManifest {
  url: string
  /** This site's record as read; undefined when there is none (or no manifest). */
  record?: SiteRecord
  /** No record for this site yet: the first deploy that keeps one. */
  firstRecord: boolean
  /** Undefined when headers cannot be compared (no usable manifest). */
  headerDigests?: Map<string, string>
  removedSince: Map<string, number>
  /** Writes this site's record when it changed; false when it could not be written. */
  save(record: SiteRecord): Promise<boolean>
}

/** Reads the site manifest (one GET) and gives what the plan needs from it, and its writer. */
async function openManifest(
  location: ManifestLocation | undefined,
  site: string,
  warn: (message: string) => void
): Promise<OpenManifest> {
  if (!location) {
    return {
      url: 'no site manifest',
      firstRecord: false,
      removedSince: new Map(),
      save: async () => false
    }
  }
  const url = manifestUrl(location)
  const loaded: LoadedManifest = await readSiteManifest(location)
  if (loaded.problem) {
    warn(
      `Site manifest: ${loaded.problem}. Without it the headers of unchanged files are not compared with the rules, and removed fingerprinted assets are kept (keep-removed: 0 deletes them)`
    )
  }
  const record = loaded.problem ? undefined : loaded.manifest.sites[site]
  let current: SiteManifest = loaded.manifest
  const removedSince = new Map<string, number>()
  for (const [key, when] of Object.entries(record?.removed ?? {})) {
    const time = Date.parse(when)
    if (Number.isFinite(time)) removedSince.set(key, time)
  }
  return {
    url,
    ...(record && { record }),
    firstRecord: !loaded.problem && !record,
    ...(!loaded.problem && { headerDigests: new Map(Object.entries(record?.headers ?? {})) }),
    removedSince,
    async save(next) {
      if (loaded.problem) return false
      const manifest: SiteManifest = { ...current, sites: { ...current.sites, [site]: next } }
      if (serializeManifest(manifest) === serializeManifest(current)) return true
      const written = await writeSiteManifest(location, loaded, manifest)
      if (written.problem) {
        warn(`Site manifest: ${written.problem}`)
        loaded.problem = written.problem
        return false
      }
      current = manifest
      if (written.etag) loaded.etag = written.etag
      return true
    }
  }
}

/** `record` with the marker of paths not invalidated yet (keeping when the first of them was). */
function withPending(
  record: SiteRecord,
  distributionId: string,
  paths: string[],
  previous: SiteRecord | undefined,
  now: number
): SiteRecord {
  const since = previous?.pendingInvalidation?.since ?? new Date(now).toISOString()
  return { ...record, pendingInvalidation: { distributionId, paths, since } }
}

/** Paths an earlier run recorded as not invalidated, when they are for this distribution. */
function carriedPaths(
  record: SiteRecord | undefined,
  distributionId: string | undefined,
  config: FrontendConfig,
  log: Log
): string[] {
  const pending = record?.pendingInvalidation
  if (!pending || config.invalidate === 'none') return []
  if (pending.distributionId !== distributionId) {
    log.notice(
      `An earlier deploy could not invalidate ${plural(pending.paths.length, 'path')} on distribution ${pending.distributionId}, which no longer serves this site: not invalidated now`
    )
    return []
  }
  log.info(
    `An earlier deploy (since ${pending.since}) could not invalidate ${plural(pending.paths.length, 'path')}; this one invalidates them: ${preview(pending.paths)}`
  )
  return pending.paths
}

/** `kept 3 removed assets (oldest removed 3 days ago)` */
export function keptRemovedLine(kept: readonly KeptRemoved[], now = Date.now()): string {
  const oldest = Math.min(...kept.map(k => k.since))
  return `kept ${plural(kept.length, 'removed asset')} (oldest removed ${formatAge(now - oldest)})`
}

/** `just now`, `5 minutes ago`, `7 hours ago`, `3 days ago`. */
export function formatAge(ms: number): string {
  const minutes = Math.floor(ms / 60_000)
  if (minutes < 1) return 'just now'
  if (minutes < 60) return `${plural(minutes, 'minute')} ago`
  const hours = Math.floor(minutes / 60)
  if (hours < 48) return `${plural(hours, 'hour')} ago`
  return `${plural(Math.floor(hours / 24), 'day')} ago`
}

function finish(result: FrontendResult, syncStart: number): FrontendResult {
  result.syncSeconds = secondsSince(syncStart)
  return result
}

/**
 * Decides whether to invalidate and what: the paths and caller reference, or undefined after
 * setting `result.invalidationNote` (and logging a notice) saying why not.
 */
async function planInvalidation(
  config: FrontendConfig,
  result: FrontendResult,
  distributionId: string | undefined,
  clients: FrontendClients,
  log: Log,
  carried: readonly string[]
): Promise<{ paths: string[]; reference: string } | undefined> {
  if (!distributionId) {
    result.invalidationNote =
      'no distribution-id input and no cloudfront_distribution_id output: no invalidation'
    log.notice(result.invalidationNote)
    return undefined
  }
  if (config.invalidate === 'none') {
    result.invalidationNote = 'invalidate: none'
    return undefined
  }
  const changedKeys = [...result.uploadedKeys, ...result.headersUpdatedKeys]
  const changed = changedKeys.length + result.deletedKeys.length > 0
  const roots =
    config.invalidate === 'changed' && changed
      ? await servedRoots(clients, distributionId, result.bucket ?? '', config.sitePrefix, log)
      : undefined
  result.carriedPaths = [...carried]
  const paths = invalidationPaths(changedKeys, result.deletedKeys, {
    prefix: config.sitePrefix,
    roots,
    mode: config.invalidate,
    extraPaths: carried
  })
  if (paths.length === 0) {
    result.invalidationNote = 'nothing changed: no invalidation'
    return undefined
  }
  const runId = config.context.runId ?? `local-${Date.now()}`
  return { paths, reference: callerReference(runId, config.context.runAttempt, paths) }
}

/** Where the distribution serves the bucket from (one GetDistributionConfig), logged. */
async function servedRoots(
  clients: FrontendClients,
  distributionId: string,
  bucket: string,
  sitePrefix: string,
  log: Log
): Promise<string[]> {
  const served = await originRoots(clients.cloudfront, distributionId, bucket, sitePrefix)
  if (served.assumed) log.notice(served.assumed)
  else {
    const shown = served.roots.map(r => `s3://${bucket}/${r}`).join(' and ')
    log.info(`Distribution ${distributionId} serves ${shown} as /`)
  }
  return served.roots
}

function resolveBucket(config: FrontendConfig, outputs: Record<string, unknown>): string {
  if (config.siteBucket) return config.siteBucket
  const value = outputs.frontend_bucket
  if (value === undefined || value === null || value === '') {
    throw new DeployError(
      'No site bucket: set the site-bucket input, or add a frontend_bucket output to the Terraform module'
    )
  }
  const problem = typeof value === 'string' ? bucketNameProblem(value) : 'it is not a string'
  if (problem) {
    throw new DeployError(
      `The Terraform output frontend_bucket (${JSON.stringify(value)?.slice(0, 80)}) is not a bucket name: ${problem}; fix the output or set site-bucket`
    )
  }
  return value as string
}

function resolveDistribution(
  config: FrontendConfig,
  outputs: Record<string, unknown>
): string | undefined {
  if (config.distributionId) return config.distributionId
  const value = outputs.cloudfront_distribution_id
  if (value === undefined || value === null || value === '') return undefined
  if (typeof value !== 'string' || !/^[A-Z0-9]{8,32}$/.test(value)) {
    throw new DeployError(
      `The Terraform output cloudfront_distribution_id (${JSON.stringify(value)?.slice(0, 80)}) is not a CloudFront distribution id; fix the output or set distribution-id`
    )
  }
  return value
}

function logDryRun(plan: SyncPlan, log: Log): void {
  const lines = (items: readonly string[], what: string): void => {
    for (const line of items.slice(0, DRY_RUN_LIST_LIMIT)) log.info(line)
    if (items.length > DRY_RUN_LIST_LIMIT) {
      log.info(`... and ${formatCount(items.length - DRY_RUN_LIST_LIMIT)} more ${what}`)
    }
  }
  const described = (u: UploadItem): string =>
    `${u.key} (${u.reason}, ${u.contentType}, ${u.cacheControl})`
  lines(
    plan.uploads.map(u => `would upload ${described(u)}`),
    'uploads'
  )
  lines(
    plan.headerUpdates.map(u => `would update the headers of ${described(u)}`),
    'header updates'
  )
  lines(
    plan.deletions.map(key => `would delete ${key}`),
    'deletions'
  )
  lines(
    plan.keptRemoved.map(
      k =>
        `would keep ${k.key} (removed since ${new Date(k.since).toISOString()}); the first deploy after ${new Date(k.deleteAfter).toISOString()} deletes it`
    ),
    'kept removed assets'
  )
}

function preview(paths: readonly string[], max = 10): string {
  const shown = paths.slice(0, max).join(' ')
  return paths.length > max ? `${shown} ... (+${paths.length - max})` : shown
}

function attemptsOf(error: unknown): string {
  const attempts = (error as { $metadata?: { attempts?: number } } | undefined)?.$metadata?.attempts
  return attempts && attempts > 1 ? ` after ${attempts} attempts` : ''
}

function describeAwsError(error: unknown): string {
  const name = awsErrorName(error)
  const message = errorMessage(error)
  const code = (error as { code?: unknown } | undefined)?.code
  const detail = typeof code === 'string' && !message.includes(code) ? ` (${code})` : ''
  if (!name || name === 'Error' || message.startsWith(name)) return `${message}${detail}`
  return `${name}: ${message}${detail}`
}
