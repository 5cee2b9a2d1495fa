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

import { DeployError, errorMessage } from '../errors'

import {
  configFileRule,
  mapBuildEnv,
  resolveBuildDirectory,
  runBuild,
  writeConfigFile
} from './build'
import { createInvalidation, waitForInvalidation } from './cloudfront'
import { MULTIPART_THRESHOLD, addSha256, scanBuildDirectory, type LocalFile } from './local-files'
import { coreLog } from '../log'
import {
  DEFAULT_HEAD_CONCURRENCY,
  DEFAULT_UPLOAD_CONCURRENCY,
  deleteKeys,
  headObjects,
  listRemote,
  updateHeaders,
  uploadItems
} from './s3-sync'
import { Progress } from './upload-progress'
import { siteId, type SiteRecord } from './site-manifest'
import { keyFor, ownDeletions, planSync, syncPhases, type SyncPlan } from './sync-plan'
import { formatBytes, formatCount, plural, secondsSince } from '../format'

import {
  FrontendError,
  type DeployFrontendOptions,
  type FrontendClients,
  type FrontendConfig,
  type FrontendResult
} from './result'
import { carriedPaths, keptRemovedLine, openManifest, withPending } from './site-record'
import { planInvalidation } from './invalidation-plan'
import { resolveBucket, resolveDistribution } from './targets'
import { asDeployError, logDryRun, preview, stepFailure } from './deploy-messages'

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

/** The local files of `keys`. */
function filesOf(
  local: readonly LocalFile[],
  prefix: string,
  keys: readonly string[]
): LocalFile[] {
  const wanted = new Set(keys)
  return local.filter(file => wanted.has(keyFor(prefix, file.relPath)))
}

export function finish(result: FrontendResult, syncStart: number): FrontendResult {
  result.syncSeconds = secondsSince(syncStart)
  return result
}
