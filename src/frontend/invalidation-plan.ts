/** Whether to invalidate after a sync, and which paths (from what changed and where the distribution serves the bucket). */

import { originRoots } from './cloudfront'
import { callerReference, invalidationPaths } from './invalidation'
import { type Log } from '../log'

import { type FrontendClients, type FrontendConfig, type FrontendResult } from './result'

/**
 * Decides whether to invalidate and what: the paths and caller reference, or undefined after
 * setting `result.invalidationNote` (and logging a notice) saying why not.
 */
export async function planInvalidation(
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
