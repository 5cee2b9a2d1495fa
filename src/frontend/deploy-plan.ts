/**
 * The deploy's planning steps: scan the build output while the site manifest is read and the
 * bucket listed, plan the sync by content (with one round of HEADs where the listing cannot
 * decide), and log the plan.
 */
import { DeployError, errorMessage } from '../errors'

import { addSha256, scanBuildDirectory, type LocalFile } from './local-files'
import { DEFAULT_HEAD_CONCURRENCY, headObjects, listRemote } from './s3-sync'
import { siteId } from './site-manifest'
import { keyFor, ownDeletions, planSync, type RemoteObject, type SyncPlan } from './sync-plan'
import { formatBytes, formatCount, plural } from '../format'

import { carriedPaths, openManifest, type OpenManifest } from './site-record'
import { asDeployError, preview } from './deploy-messages'
import { type CacheRule } from './cache-control'
import { type DeployRun, type PlannedSync } from './deploy-run'

/** What the scan and the reads in parallel with it found. */
interface Found {
  local: LocalFile[]
  manifest: OpenManifest
  remote: RemoteObject[]
}

/** Scans, lists and plans the sync, and logs the plan. */
export async function planDeploy(
  run: DeployRun,
  buildDirectory: string,
  cacheRules: CacheRule[]
): Promise<PlannedSync> {
  const found = await scanAndRead(run, buildDirectory)
  const now = Date.now()
  const { plan, headed } = await planWithHeads(run, found, cacheRules, now)
  logPlan(run, found, plan, headed)
  const carried = carriedPaths(found.manifest.record, run.distributionId, run.config, run.log)
  return { plan, manifest: found.manifest, now, carried }
}

/**
 * The scan hashes in worker threads while this thread reads the manifest and lists the bucket,
 * then hashes with them; only the hashes the listing is compared with (MD5, multipart ETag): the
 * SHA-256 is computed later for the few files that need it. The reads start first (their first
 * requests go out while the directory is walked); a scan failure is reported first.
 */
async function scanAndRead(run: DeployRun, buildDirectory: string): Promise<Found> {
  const { config, bucket } = run
  const reading = Promise.all([
    openManifest(run.opts.manifest, siteId(bucket, config.sitePrefix), run.warn),
    listRemote(run.clients.s3, bucket, config.sitePrefix)
  ])
  reading.catch(() => undefined) // a scan failure is reported first
  const scanning = scanBuildDirectory(buildDirectory, { sha256: false, joinAfter: reading })
  let local: LocalFile[]
  try {
    local = await scanning
  } catch (error) {
    throw asDeployError(error)
  }
  const [manifest, remote] = await reading
  return { local, manifest, remote }
}

/**
 * Plans the sync. One round of HEADs serves both: the metadata hash decides an equal-size file,
 * and only what this action uploaded (its metadata says so; the listing does not) is deleted.
 * Sets `keptKeys` in the result. `headed` is the number of files whose metadata decided them.
 */
async function planWithHeads(
  run: DeployRun,
  { local, manifest, remote }: Found,
  cacheRules: CacheRule[],
  now: number
): Promise<{ plan: SyncPlan; headed: number }> {
  const { config, result } = run
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
    let plan = planSync(local, remote, planOptions)
    const toHead = [...plan.needsHead, ...plan.deletions]
    if (toHead.length === 0) return { plan, headed }
    const concurrency = run.opts.headConcurrency ?? DEFAULT_HEAD_CONCURRENCY
    const heads = await headObjects(run.clients.s3, run.bucket, toHead, concurrency)
    headed = plan.needsHead.length
    if (plan.needsHead.length > 0) {
      await addSha256(filesOf(local, plan.prefix, plan.needsHead))
      plan = planSync(local, remote, { ...planOptions, heads })
    }
    const own = ownDeletions(plan.deletions, heads)
    result.keptKeys = own.kept
    return { plan: { ...plan, deletions: own.deletions }, headed }
  } catch (error) {
    if (error instanceof DeployError) throw error
    throw new DeployError(errorMessage(error), { cause: error })
  }
}

/** Logs the objects kept, the first manifest record, and the plan; sets the counts it fixes. */
function logPlan(run: DeployRun, found: Found, plan: SyncPlan, headed: number): void {
  const { config, log, result, target } = run
  if (result.keptKeys.length > 0) {
    log.notice(
      `Kept ${plural(result.keptKeys.length, 'object')} under ${target} not uploaded by revive-deploy ` +
        `(or named like Terraform state): ${preview(result.keptKeys)}`
    )
  }
  result.unchanged = plan.unchanged.length
  result.keptRemoved = plan.keptRemoved
  if (found.manifest.firstRecord && headed > 0) {
    log.notice(
      `${found.manifest.url} has no record of the headers of ${target} yet (the first deploy that keeps one): ` +
        'the headers of the unchanged objects are read once (HEAD) and compared with the rules'
    )
  }
  log.info(
    `${config.dryRun ? 'Dry run: would sync' : 'Syncing'} ${formatCount(found.local.length)} files to ${target}: ` +
      `${formatCount(plan.uploads.length)} to upload (${formatBytes(plan.uploadBytes)}), ` +
      (plan.headerUpdates.length
        ? `${formatCount(plan.headerUpdates.length)} to update headers of, `
        : '') +
      `${formatCount(plan.deletions.length)} to delete, ${formatCount(plan.unchanged.length)} unchanged` +
      (plan.keptRemoved.length
        ? `, ${plural(plan.keptRemoved.length, 'removed asset')} kept for keep-removed`
        : '') +
      ` (${formatCount(found.remote.length)} objects listed` +
      (headed ? `, metadata read for ${formatCount(headed)})` : ')')
  )
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
