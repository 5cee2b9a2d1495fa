/** The deploy's dry-run listing and its failure lines. */
import { awsErrorName } from '../aws/clients'
import { DeployError, errorMessage } from '../errors'

import { BuildDirectoryError } from './local-files'
import { type Log } from '../log'
import { type SyncPlan, type UploadItem } from './sync-plan'
import { formatCount } from '../format'

import { FrontendError, finish, type FrontendResult } from './result'

/** Lines of per-file detail in the log of a dry run, per list. */
const DRY_RUN_LIST_LIMIT = 200
/** A problem with the build output as a DeployError (its message is the one line). */
export function asDeployError(error: unknown): unknown {
  return error instanceof BuildDirectoryError
    ? new DeployError(error.message, { cause: error })
    : error
}

/** A failed upload or header update, as the FrontendError saying what was done. */
export function stepFailure(
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

export function logDryRun(plan: SyncPlan, log: Log): void {
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

export function preview(paths: readonly string[], max = 10): string {
  const shown = paths.slice(0, max).join(' ')
  return paths.length > max ? `${shown} ... (+${paths.length - max})` : shown
}

export function attemptsOf(error: unknown): string {
  const attempts = (error as { $metadata?: { attempts?: number } } | undefined)?.$metadata?.attempts
  return attempts && attempts > 1 ? ` after ${attempts} attempts` : ''
}

export function describeAwsError(error: unknown): string {
  const name = awsErrorName(error)
  const message = errorMessage(error)
  const code = (error as { code?: unknown } | undefined)?.code
  const detail = typeof code === 'string' && !message.includes(code) ? ` (${code})` : ''
  if (!name || name === 'Error' || message.startsWith(name)) return `${message}${detail}`
  return `${name}: ${message}${detail}`
}
