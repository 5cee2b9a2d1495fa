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
 */
import type { CloudFrontClient } from '@aws-sdk/client-cloudfront'
import type { S3Client } from '@aws-sdk/client-s3'
import { awsErrorName } from '../aws/clients'
import { DeployError } from '../errors'
import { bucketNameProblem, type Config } from '../inputs'
import {
  codeSpan,
  escapeText,
  formatCount,
  formatDuration,
  plural,
  tableHeader,
  tableRow
} from '../report/markdown'
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
  type WaitOptions
} from './cloudfront'
import { callerReference, invalidationPaths } from './invalidation'
import { BuildDirectoryError, scanBuildDirectory, type LocalFile } from './local-files'
import { coreLog, formatBytes, messageOf, secondsSince, type FrontendLog } from './log'
import {
  DEFAULT_HEAD_CONCURRENCY,
  DEFAULT_UPLOAD_CONCURRENCY,
  Progress,
  deleteKeys,
  headObjects,
  listRemote,
  uploadItems
} from './s3-sync'
import { ownDeletions, planSync, syncPhases, type SyncPlan } from './sync-plan'

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
  log?: FrontendLog
  /** Uploads in flight (default {@link DEFAULT_UPLOAD_CONCURRENCY}). */
  uploadConcurrency?: number
  headConcurrency?: number
  /** Progress line interval during uploads (default 2 s). */
  progressIntervalMs?: number
  /** Bounds of wait-for-invalidation. */
  wait?: WaitOptions
  /** The Terraform state bucket: never a site bucket. */
  stateBucket?: string
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
  let local: LocalFile[]
  try {
    local = await scanBuildDirectory(buildDirectory)
  } catch (error) {
    if (error instanceof BuildDirectoryError) throw new DeployError(error.message, { cause: error })
    throw error
  }
  const remote = await listRemote(clients.s3, bucket, config.sitePrefix)
  let plan: SyncPlan
  const planOptions = {
    prefix: config.sitePrefix,
    deleteRemoved: config.deleteRemoved,
    cacheRules
  }
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
      if (plan.needsHead.length > 0) plan = planSync(local, remote, { ...planOptions, heads })
      const own = ownDeletions(plan.deletions, heads)
      plan = { ...plan, deletions: own.deletions }
      result.keptKeys = own.kept
    }
  } catch (error) {
    if (error instanceof DeployError) throw error
    throw new DeployError(messageOf(error), { cause: error })
  }
  if (result.keptKeys.length > 0) {
    log.notice(
      `Kept ${plural(result.keptKeys.length, 'object')} under ${target} not uploaded by revive-deploy ` +
        `(or named like Terraform state): ${preview(result.keptKeys)}`
    )
  }
  result.unchanged = plan.unchanged.length
  log.info(
    `${config.dryRun ? 'Dry run: would sync' : 'Syncing'} ${formatCount(local.length)} files to ${target}: ` +
      `${formatCount(plan.uploads.length)} to upload (${formatBytes(plan.uploadBytes)}), ` +
      `${formatCount(plan.deletions.length)} to delete, ${formatCount(plan.unchanged.length)} unchanged` +
      ` (${formatCount(remote.length)} objects listed` +
      (plan.needsHead.length ? `, metadata read for ${formatCount(plan.needsHead.length)})` : ')')
  )

  if (config.dryRun) {
    logDryRun(plan, log)
    result.uploaded = plan.uploads.length
    result.bytesUploaded = plan.uploadBytes
    result.uploadedKeys = plan.uploads.map(u => u.key)
    result.deleted = plan.deletions.length
    result.deletedKeys = [...plan.deletions]
    result.syncSeconds = secondsSince(syncStart)
    await planInvalidation(config, result, distributionId, clients, log, (paths, reference) => {
      result.invalidation = { paths, status: 'dry-run', callerReference: reference }
      log.info(`Dry run: would invalidate ${plural(paths.length, 'path')}: ${preview(paths)}`)
    })
    return result
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
            `${messageOf(error)} (every file was uploaded)`,
            finish(result, syncStart),
            { cause: error }
          )
        }
        result.deletedKeys = [...phase.deletions]
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
        const { item, error } = outcome.failure
        throw new FrontendError(
          `Uploading ${item.file.relPath} to s3://${bucket}/${item.key} failed${attemptsOf(error)}: ` +
            `${describeAwsError(error)}. ${formatCount(result.uploaded)} of ` +
            `${formatCount(plan.uploads.length)} files were uploaded; nothing was deleted or invalidated. ` +
            'A re-run uploads the rest.',
          finish(result, syncStart),
          { cause: error }
        )
      }
    }
  } finally {
    progress.stop()
  }
  if (plan.uploads.length > 0) log.info(progress.line())
  finish(result, syncStart)
  log.info(
    `Synced ${target} in ${result.syncSeconds} s: ${formatCount(result.uploaded)} uploaded ` +
      `(${formatBytes(result.bytesUploaded)}), ${formatCount(result.deleted)} deleted, ` +
      `${formatCount(result.unchanged)} unchanged`
  )

  let pending: { paths: string[]; reference: string } | undefined
  await planInvalidation(config, result, distributionId, clients, log, (paths, reference) => {
    pending = { paths, reference }
  })
  if (pending && distributionId) {
    const { paths, reference } = pending
    result.invalidation = { paths, status: 'creating', callerReference: reference }
    try {
      const created = await createInvalidation(clients.cloudfront, distributionId, paths, reference)
      result.invalidation.id = created.id
      result.invalidation.status = created.status
    } catch (error) {
      result.invalidation.status = 'failed'
      throw new FrontendError(
        `${messageOf(error)}. The files are uploaded; a re-run finds nothing to upload and so ` +
          'invalidates nothing: re-run with invalidate: all, or invalidate the changed paths by hand.',
        result,
        { cause: error }
      )
    }
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

function finish(result: FrontendResult, syncStart: number): FrontendResult {
  result.syncSeconds = secondsSince(syncStart)
  return result
}

/**
 * Decides whether to invalidate and what: calls `create` with the paths and caller reference, or
 * sets `result.invalidationNote` (and logs a notice) saying why not.
 */
async function planInvalidation(
  config: FrontendConfig,
  result: FrontendResult,
  distributionId: string | undefined,
  clients: FrontendClients,
  log: FrontendLog,
  create: (paths: string[], reference: string) => void
): Promise<void> {
  if (!distributionId) {
    result.invalidationNote =
      'no distribution-id input and no cloudfront_distribution_id output: no invalidation'
    log.notice(result.invalidationNote)
    return
  }
  if (config.invalidate === 'none') {
    result.invalidationNote = 'invalidate: none'
    return
  }
  const changed = result.uploadedKeys.length + result.deletedKeys.length > 0
  const roots =
    config.invalidate === 'changed' && changed
      ? await servedRoots(clients, distributionId, result.bucket ?? '', config.sitePrefix, log)
      : undefined
  const paths = invalidationPaths(result.uploadedKeys, result.deletedKeys, {
    prefix: config.sitePrefix,
    roots,
    mode: config.invalidate
  })
  if (paths.length === 0) {
    result.invalidationNote = 'nothing changed: no invalidation'
    return
  }
  const runId = config.context.runId ?? `local-${Date.now()}`
  create(paths, callerReference(runId, config.context.runAttempt, paths))
}

/** Where the distribution serves the bucket from (one GetDistributionConfig), logged. */
async function servedRoots(
  clients: FrontendClients,
  distributionId: string,
  bucket: string,
  sitePrefix: string,
  log: FrontendLog
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

function logDryRun(plan: SyncPlan, log: FrontendLog): void {
  const uploads = plan.uploads.slice(0, DRY_RUN_LIST_LIMIT)
  for (const u of uploads) {
    log.info(`would upload ${u.key} (${u.reason}, ${u.contentType}, ${u.cacheControl})`)
  }
  if (plan.uploads.length > uploads.length) {
    log.info(`... and ${formatCount(plan.uploads.length - uploads.length)} more uploads`)
  }
  const deletions = plan.deletions.slice(0, DRY_RUN_LIST_LIMIT)
  for (const key of deletions) log.info(`would delete ${key}`)
  if (plan.deletions.length > deletions.length) {
    log.info(`... and ${formatCount(plan.deletions.length - deletions.length)} more deletions`)
  }
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
  const message = messageOf(error)
  const code = (error as { code?: unknown } | undefined)?.code
  const detail = typeof code === 'string' && !message.includes(code) ? ` (${code})` : ''
  if (!name || name === 'Error' || message.startsWith(name)) return `${message}${detail}`
  return `${name}: ${message}${detail}`
}

/** The frontend result as the body of the report's Frontend section (the report adds the heading). */
export function renderFrontendSection(result: FrontendResult): string {
  const lines: string[] = []
  if (result.skipped) {
    lines.push(`Skipped: ${escapeText(result.skipped)}.`)
    return `${lines.join('\n')}\n`
  }
  if (result.dryRun) {
    lines.push(
      '**Dry run**: nothing was uploaded, deleted or invalidated; the figures are what a deploy would do.',
      ''
    )
  }
  if (result.bucket) {
    lines.push(`Site: ${codeSpan(`s3://${result.bucket}/${result.prefix}`)}`, '')
  }
  const verb = result.dryRun ? 'To upload' : 'Uploaded'
  lines.push(
    tableHeader(['', 'Files', 'Size'], ['l', 'r', 'r']),
    tableRow([verb, formatCount(result.uploaded), formatBytes(result.bytesUploaded)]),
    tableRow([result.dryRun ? 'To delete' : 'Deleted', formatCount(result.deleted), '']),
    tableRow(['Unchanged', formatCount(result.unchanged), '']),
    ...(result.keptKeys.length > 0
      ? [
          tableRow([
            'Kept (not uploaded by revive-deploy)',
            formatCount(result.keptKeys.length),
            ''
          ])
        ]
      : []),
    ''
  )
  const times: string[] = []
  if (result.buildSeconds !== undefined) times.push(`build ${formatDuration(result.buildSeconds)}`)
  times.push(`sync ${formatDuration(result.syncSeconds)}`)
  if (result.invalidation?.waitSeconds !== undefined) {
    times.push(`invalidation wait ${formatDuration(result.invalidation.waitSeconds)}`)
  }
  lines.push(`Time: ${times.join(', ')}.`, '')

  const inv = result.invalidation
  if (inv) {
    const id = inv.id ? ` ${codeSpan(inv.id)}` : ''
    lines.push(
      `CloudFront invalidation${id}: ${escapeText(inv.status)}, ${plural(inv.paths.length, 'path')}` +
        (result.distributionId ? ` on distribution ${codeSpan(result.distributionId)}` : '') +
        '.',
      ''
    )
    lines.push(...detailsList('Invalidation paths', inv.paths))
  } else if (result.invalidationNote) {
    lines.push(`CloudFront: ${escapeText(result.invalidationNote)}.`, '')
  }
  lines.push(
    ...detailsList(result.dryRun ? 'Files to upload' : 'Uploaded files', result.uploadedKeys)
  )
  lines.push(
    ...detailsList(result.dryRun ? 'Objects to delete' : 'Deleted objects', result.deletedKeys)
  )
  lines.push(...detailsList('Kept objects', result.keptKeys))
  if (result.warnings.length) {
    lines.push('**Warnings**', '', ...result.warnings.map(w => `- ${escapeText(w)}`), '')
  }
  return `${lines.join('\n').replace(/\n+$/, '')}\n`
}

function detailsList(title: string, items: readonly string[], max = 100): string[] {
  if (items.length === 0) return []
  const shown = items.slice(0, max).map(item => `- ${codeSpan(item)}`)
  if (items.length > max) shown.push(`- … and ${formatCount(items.length - max)} more`)
  return [
    '<details>',
    `<summary>${escapeText(title)} (${formatCount(items.length)})</summary>`,
    '',
    ...shown,
    '',
    '</details>',
    ''
  ]
}
