/**
 * The deploy's writing steps: a dry run's result, or the SHA-256 of what needs it, then the sync
 * phases in order (assets, entry files, headers, deletions). After a failure once files are up,
 * the paths changed so far are recorded for the next deploy to invalidate.
 */
import { errorMessage } from '../errors'

import { MULTIPART_THRESHOLD, addSha256 } from './local-files'
import { DEFAULT_UPLOAD_CONCURRENCY, deleteKeys, updateHeaders, uploadItems } from './s3-sync'
import { Progress } from './upload-progress'
import { type SiteRecord } from './site-manifest'
import { syncPhases, type SyncPhase, type SyncPlan, type UploadItem } from './sync-plan'
import { formatBytes, formatCount, plural } from '../format'

import { FrontendError, finish } from './result'
import { keptRemovedLine, withPending } from './site-record'
import { planInvalidation } from './invalidation-plan'
import { asDeployError, logDryRun, preview, stepFailure } from './deploy-messages'
import { type DeployRun, type PlannedSync } from './deploy-run'

/** A dry run: the result says what the sync would do, and what it would invalidate. */
export async function dryRunResult(run: DeployRun, planned: PlannedSync): Promise<void> {
  const { config, result, log } = run
  const { plan } = planned
  logDryRun(plan, log)
  result.headersUpdated = plan.headerUpdates.length
  result.headersUpdatedKeys = plan.headerUpdates.map(u => u.key)
  result.uploaded = plan.uploads.length
  result.bytesUploaded = plan.uploadBytes
  result.uploadedKeys = plan.uploads.map(u => u.key)
  result.deleted = plan.deletions.length
  result.deletedKeys = [...plan.deletions]
  finish(result, run.syncStart)
  const invalidation = await planInvalidation(
    config,
    result,
    run.distributionId,
    run.clients,
    log,
    planned.carried
  )
  if (invalidation) {
    const { paths, reference } = invalidation
    result.invalidation = { paths, status: 'dry-run', callerReference: reference }
    log.info(`Dry run: would invalidate ${plural(paths.length, 'path')}: ${preview(paths)}`)
  }
}

/** Runs the sync phases in order and logs the outcome; a failure is a FrontendError. */
export async function syncSite(run: DeployRun, planned: PlannedSync): Promise<void> {
  const { plan } = planned
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
    run.log,
    run.opts.progressIntervalMs ?? 2000
  )
  try {
    for (const phase of syncPhases(plan)) await runPhase(run, plan, phase, progress)
  } catch (error) {
    // Some files may be up already: a re-run would not upload (and so not invalidate) them again.
    if (error instanceof FrontendError) await recordPartial(run, planned, error)
    throw error
  } finally {
    progress.stop()
  }
  if (plan.uploads.length > 0) run.log.info(progress.line())
  logSynced(run, planned.now)
}

/** One phase of the sync. */
async function runPhase(
  run: DeployRun,
  plan: SyncPlan,
  phase: SyncPhase,
  progress: Progress
): Promise<void> {
  if (phase.name === 'deletions') return deletePhase(run, phase.deletions)
  if (phase.name === 'headers') return headersPhase(run, plan, phase.updates)
  return uploadPhase(run, plan, phase.name, phase.uploads, progress)
}

async function deletePhase(run: DeployRun, deletions: string[]): Promise<void> {
  const { config, result } = run
  run.log.info(`Deleting ${plural(deletions.length, 'removed object')} from ${run.target}`)
  try {
    result.deleted = await deleteKeys(run.clients.s3, run.bucket, config.sitePrefix, deletions)
  } catch (error) {
    throw new FrontendError(
      `${errorMessage(error)} (every file was uploaded)`,
      finish(result, run.syncStart),
      { cause: error }
    )
  }
  result.deletedKeys = [...deletions]
}

async function headersPhase(run: DeployRun, plan: SyncPlan, updates: UploadItem[]): Promise<void> {
  const { result } = run
  run.log.info(
    `Updating the headers of ${plural(updates.length, 'unchanged object')} (copied onto themselves, no upload)`
  )
  const outcome = await updateHeaders(
    run.clients.s3,
    run.bucket,
    updates,
    run.opts.uploadConcurrency ?? DEFAULT_UPLOAD_CONCURRENCY
  )
  for (const item of outcome.uploaded) result.headersUpdatedKeys.push(item.key)
  result.headersUpdated = result.headersUpdatedKeys.length
  if (outcome.failure) {
    throw stepFailure(
      'Updating the headers of',
      run.bucket,
      outcome.failure,
      result,
      plan,
      run.syncStart
    )
  }
}

async function uploadPhase(
  run: DeployRun,
  plan: SyncPlan,
  name: 'assets' | 'entry',
  uploads: UploadItem[],
  progress: Progress
): Promise<void> {
  const { result } = run
  const bytes = uploads.reduce((sum, u) => sum + u.file.size, 0)
  run.log.info(
    `Uploading ${plural(uploads.length, name === 'assets' ? 'asset' : 'entry file')} (${formatBytes(bytes)})`
  )
  const outcome = await uploadItems(run.clients.s3, run.bucket, uploads, {
    concurrency: run.opts.uploadConcurrency ?? DEFAULT_UPLOAD_CONCURRENCY,
    progress
  })
  for (const item of outcome.uploaded) {
    result.uploaded++
    result.bytesUploaded += item.file.size
    result.uploadedKeys.push(item.key)
  }
  if (outcome.failure) {
    throw stepFailure('Uploading', run.bucket, outcome.failure, result, plan, run.syncStart)
  }
}

/**
 * After a failed sync with a distribution: records the headers of what was written and the paths
 * changed so far as pending, so the next deploy invalidates them; says so in the error.
 */
async function recordPartial(
  run: DeployRun,
  { plan, manifest, now, carried }: PlannedSync,
  error: FrontendError
): Promise<void> {
  const { distributionId, result } = run
  if (!distributionId) return
  const done = new Set([...result.uploadedKeys, ...result.headersUpdatedKeys])
  const partial: SiteRecord = {
    headers: {
      ...manifest.record?.headers,
      ...Object.fromEntries([...plan.digests].filter(([key]) => done.has(key)))
    },
    removed: manifest.record?.removed ?? {}
  }
  const unsent = await planInvalidation(
    run.config,
    result,
    distributionId,
    run.clients,
    run.log,
    carried
  )
  if (
    unsent &&
    (await manifest.save(withPending(partial, distributionId, unsent.paths, manifest.record, now)))
  ) {
    error.message += ` The changed paths so far are recorded in ${manifest.url}; the next deploy invalidates them.`
  }
}

function logSynced(run: DeployRun, now: number): void {
  const { result } = run
  finish(result, run.syncStart)
  run.log.info(
    `Synced ${run.target} in ${result.syncSeconds} s: ${formatCount(result.uploaded)} uploaded ` +
      `(${formatBytes(result.bytesUploaded)}), ` +
      (result.headersUpdated ? `${formatCount(result.headersUpdated)} headers updated, ` : '') +
      `${formatCount(result.deleted)} deleted, ${formatCount(result.unchanged)} unchanged` +
      (result.keptRemoved.length ? `, ${keptRemovedLine(result.keptRemoved, now)}` : '')
  )
}
