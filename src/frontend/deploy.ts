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

import { DeployError } from '../errors'

import {
  configFileRule,
  mapBuildEnv,
  resolveBuildDirectory,
  runBuild,
  writeConfigFile
} from './build'
import { type CacheRule } from './cache-control'
import { coreLog, type Log } from '../log'

import {
  type DeployFrontendOptions,
  type FrontendClients,
  type FrontendConfig,
  type FrontendResult
} from './result'
import { resolveBucket, resolveDistribution } from './targets'
import { type DeployRun } from './deploy-run'
import { planDeploy } from './deploy-plan'
import { dryRunResult, syncSite } from './deploy-sync'
import { startHashingThreads, stopHashingThreads } from './local-files'
import { invalidateAndRecord } from './deploy-invalidate'

/**
 * Runs the frontend phase. `outputs` are the non-sensitive Terraform outputs (name → value). See
 * the module comment for the failure contract. The steps: resolve the targets, build, scan and
 * list, plan (`deploy-plan.ts`), sync (`deploy-sync.ts`), invalidate and record
 * (`deploy-invalidate.ts`).
 */
export async function deployFrontend(
  config: FrontendConfig,
  outputs: Record<string, unknown>,
  clients: FrontendClients,
  opts: DeployFrontendOptions = {}
): Promise<FrontendResult> {
  const log = opts.log ?? coreLog
  const result = emptyResult(config)
  if (!config.frontendDirectory) {
    result.skipped = 'no frontend directory; frontend phase skipped'
    log.notice(`${result.skipped} (set frontend-directory, or add a frontend/ directory)`)
    return result
  }

  // Everything that can be checked before the build is checked before the build.
  const { bucket, distributionId } = resolveTargets(config, outputs, opts.stateBucket, result)
  const buildEnv = mapBuildEnv(config.buildEnv, outputs)
  // The scan's hashing threads start while the build runs (tens of milliseconds each).
  startHashingThreads()
  try {
    return await buildAndSync(config, buildEnv, clients, opts, log, result, bucket, distributionId)
  } finally {
    stopHashingThreads()
  }
}

/** The build, then the scan, the plan and the sync (or the dry run's result). */
async function buildAndSync(
  config: FrontendConfig,
  buildEnv: ReturnType<typeof mapBuildEnv>,
  clients: FrontendClients,
  opts: DeployFrontendOptions,
  log: Log,
  result: FrontendResult,
  bucket: string,
  distributionId: string | undefined
): Promise<FrontendResult> {
  const { buildDirectory, cacheRules } = await build(config, buildEnv, result, log)

  const run: DeployRun = {
    config,
    clients,
    opts,
    log,
    result,
    warn: (message: string): void => {
      result.warnings.push(message)
      log.warning(message)
    },
    bucket,
    distributionId,
    target: `s3://${bucket}/${config.sitePrefix}`,
    syncStart: performance.now()
  }
  const planned = await planDeploy(run, buildDirectory, cacheRules)
  if (config.dryRun) {
    await dryRunResult(run, planned)
    return result
  }
  await syncSite(run, planned)
  await invalidateAndRecord(run, planned)
  return result
}

/** The result before anything is done. */
function emptyResult(config: FrontendConfig): FrontendResult {
  return {
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
}

/** The site bucket (never the state bucket) and the distribution, if any; set in the result. */
function resolveTargets(
  config: FrontendConfig,
  outputs: Record<string, unknown>,
  stateBucket: string | undefined,
  result: FrontendResult
): { bucket: string; distributionId: string | undefined } {
  const bucket = resolveBucket(config, outputs)
  result.bucket = bucket
  if (stateBucket !== undefined && bucket === stateBucket) {
    throw new DeployError(
      `The site bucket ${bucket} (${config.siteBucket ? 'site-bucket input' : 'frontend_bucket output'}) is the Terraform state bucket: ` +
        'refusing to sync a site into it (its deletions would reach the state). Give the site a bucket of its own; nothing was built, uploaded or deleted.'
    )
  }
  const distributionId = resolveDistribution(config, outputs)
  if (distributionId) result.distributionId = distributionId
  return { bucket, distributionId }
}

/** Runs the build and writes the config file into its output; the rules include the file's. */
async function build(
  config: FrontendConfig,
  buildEnv: ReturnType<typeof mapBuildEnv>,
  result: FrontendResult,
  log: Log
): Promise<{ buildDirectory: string; cacheRules: CacheRule[] }> {
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
  return { buildDirectory, cacheRules }
}
