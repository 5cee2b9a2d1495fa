/**
 * The deploy's last steps: record the site (headers, kept removed assets), invalidate CloudFront
 * for what changed, and optionally wait for it. The paths are recorded as pending before the
 * invalidation is created, so a run stopped meanwhile leaves them for the next deploy.
 */
import { errorMessage } from '../errors'

import { createInvalidation, waitForInvalidation } from './cloudfront'
import { type SiteRecord } from './site-manifest'
import { plural } from '../format'

import { FrontendError, type InvalidationReport } from './result'
import { withPending } from './site-record'
import { planInvalidation } from './invalidation-plan'
import { preview } from './deploy-messages'
import { type DeployRun, type PlannedSync } from './deploy-run'

/** Invalidates what the sync changed and writes the site record. */
export async function invalidateAndRecord(run: DeployRun, planned: PlannedSync): Promise<void> {
  const { plan, manifest, now } = planned
  const { distributionId, result } = run
  const record: SiteRecord = {
    headers: Object.fromEntries(plan.digests),
    removed: Object.fromEntries(plan.keptRemoved.map(k => [k.key, new Date(k.since).toISOString()]))
  }
  const pending = await planInvalidation(
    run.config,
    result,
    distributionId,
    run.clients,
    run.log,
    planned.carried
  )
  if (!pending || !distributionId) {
    await manifest.save(record)
    return
  }
  const { paths, reference } = pending
  // The marker first: a run stopped while it waits for CloudFront leaves it too.
  const marked = await manifest.save(
    withPending(record, distributionId, paths, manifest.record, now)
  )
  const invalidation: InvalidationReport = { paths, status: 'creating', callerReference: reference }
  result.invalidation = invalidation
  await createStep(run, distributionId, invalidation, marked ? manifest.url : undefined)
  await manifest.save(record)
  run.log.info(
    `CloudFront invalidation ${invalidation.id} (${invalidation.status}) of ` +
      `${plural(paths.length, 'path')}: ${preview(paths)}`
  )
  if (run.config.waitForInvalidation) await waitStep(run, distributionId, invalidation)
}

/**
 * Creates the invalidation (retried while CloudFront is busy); a failure is a FrontendError that
 * says whether the paths were recorded (`recordedIn`, the manifest's URL) for the next deploy.
 */
async function createStep(
  run: DeployRun,
  distributionId: string,
  invalidation: InvalidationReport,
  recordedIn: string | undefined
): Promise<void> {
  try {
    const created = await createInvalidation(
      run.clients.cloudfront,
      distributionId,
      invalidation.paths,
      invalidation.callerReference,
      {
        onRetry: (why, delayMs) =>
          run.log.info(
            `CloudFront answered ${why}; trying again in ${Math.round(delayMs / 100) / 10} s`
          ),
        ...run.opts.invalidationRetry
      }
    )
    invalidation.id = created.id
    invalidation.status = created.status
  } catch (error) {
    invalidation.status = 'failed'
    throw new FrontendError(
      `${errorMessage(error)}. The files are uploaded; ` +
        (recordedIn !== undefined
          ? `the paths are recorded in ${recordedIn}, and the next deploy invalidates them (also when it uploads nothing).`
          : 'a re-run finds nothing to upload and so invalidates nothing: re-run with invalidate: all, or invalidate these paths by hand.'),
      run.result,
      { cause: error }
    )
  }
}

/** wait-for-invalidation: waits for it to complete; a timeout or failing poll is a warning. */
async function waitStep(
  run: DeployRun,
  distributionId: string,
  invalidation: InvalidationReport
): Promise<void> {
  const id = invalidation.id ?? ''
  run.log.info(`Waiting for invalidation ${id} to complete`)
  const waited = await waitForInvalidation(
    run.clients.cloudfront,
    distributionId,
    id,
    run.opts.wait
  )
  invalidation.waitSeconds = waited.seconds
  if (waited.status === 'Completed') {
    invalidation.status = 'Completed'
    run.log.info(`Invalidation ${id} completed after ${waited.seconds} s`)
  } else {
    invalidation.status = waited.status
    run.warn(`wait-for-invalidation: invalidation ${id} ${waited.reason}; it continues on its own`)
  }
}
