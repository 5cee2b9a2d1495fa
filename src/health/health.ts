/**
 * Health checks after the deploy (SPEC §5): every `health-check` URL (or `output:<name>`, the URL in
 * a Terraform output) must answer 2xx within a bounded number of attempts; a fresh CloudFront or
 * API Gateway deployment can take a moment, so failures are retried with a growing pause.
 */
import { DeployError, errorMessage } from '../errors'
import type { Config } from '../inputs'
import { coreLog, type Log } from '../log'

export interface HealthResult {
  /** The line as given: the URL, or `output:<name>`. */
  target: string
  url: string
  ok: boolean
  /** HTTP status of the last answer, when there was one. */
  status?: number
  /** Why the last attempt got no answer (connection refused, timeout...). */
  error?: string
  attempts: number
  seconds: number
}

export interface HealthOptions {
  /** Attempts per URL (default 6). */
  attempts?: number
  /** Pause after the first failed attempt (default 1 s), doubled each time up to `maxDelayMs`. */
  delayMs?: number
  /** Longest pause (default 15 s): the defaults wait 1+2+4+8+15 = 30 s at most. */
  maxDelayMs?: number
  /** Time limit of one request (default 10 s). */
  timeoutMs?: number
  log?: Log
}

/** Thrown when a health check fails; carries every result for the job summary. */
export class HealthCheckError extends DeployError {
  constructor(
    message: string,
    readonly results: HealthResult[]
  ) {
    super(message)
    this.name = 'HealthCheckError'
  }
}

/**
 * Checks every `config.healthChecks` target (in parallel) and returns the results. Throws a
 * DeployError for an `output:` target naming a missing output or one that is not an http(s) URL,
 * and a {@link HealthCheckError} ("health-check <url> answered 503 (after 6 attempts)") when a URL
 * does not answer 2xx in time.
 */
export async function runHealthChecks(
  config: Pick<Config, 'healthChecks'>,
  outputs: Record<string, unknown>,
  opts: HealthOptions = {}
): Promise<HealthResult[]> {
  const log = opts.log ?? coreLog
  const targets = config.healthChecks.map(target => resolveTarget(target, outputs))
  if (targets.length === 0) return []
  const results = await Promise.all(targets.map(t => check(t.target, t.url, opts, log)))
  const failed = results.filter(r => !r.ok)
  const first = failed[0]
  if (first) {
    const more = failed.length > 1 ? `; ${failed.length - 1} more health-check URL(s) failed` : ''
    throw new HealthCheckError(`${describeFailure(first)}${more}`, results)
  }
  return results
}

function resolveTarget(
  target: Config['healthChecks'][number],
  outputs: Record<string, unknown>
): { target: string; url: string } {
  if (target.kind === 'url') return { target: target.url, url: target.url }
  const shown = `output:${target.output}`
  if (!Object.hasOwn(outputs, target.output)) {
    const known = Object.keys(outputs).sort()
    throw new DeployError(
      `health-check: ${shown} names the Terraform output "${target.output}", which does not exist ` +
        `(non-sensitive outputs: ${known.length ? known.join(', ') : 'none'})`
    )
  }
  const value = outputs[target.output]
  let url: URL | undefined
  try {
    url = typeof value === 'string' ? new URL(value) : undefined
  } catch {
    url = undefined
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new DeployError(
      `health-check: the Terraform output "${target.output}" is ${JSON.stringify(value)?.slice(0, 120)}, not an http(s) URL`
    )
  }
  return { target: shown, url: String(value) }
}

async function check(
  target: string,
  url: string,
  opts: HealthOptions,
  log: Log
): Promise<HealthResult> {
  const attempts = Math.max(1, Math.floor(opts.attempts ?? 6))
  const maxDelay = opts.maxDelayMs ?? 15_000
  const timeoutMs = opts.timeoutMs ?? 10_000
  let delay = opts.delayMs ?? 1_000
  const start = performance.now()
  const result: HealthResult = { target, url, ok: false, attempts: 0, seconds: 0 }
  for (let attempt = 1; attempt <= attempts; attempt++) {
    result.attempts = attempt
    delete result.status
    delete result.error
    try {
      const response = await fetch(url, {
        redirect: 'follow',
        signal: AbortSignal.timeout(timeoutMs),
        headers: { 'user-agent': 'revive-deploy health-check' }
      })
      result.status = response.status
      await response.body?.cancel().catch(() => undefined)
      if (response.ok) {
        result.ok = true
        break
      }
    } catch (error) {
      result.error = fetchError(error, timeoutMs)
    }
    if (attempt < attempts) {
      const got = result.status !== undefined ? `answered ${result.status}` : result.error
      log.info(
        `health-check ${url} ${got} (attempt ${attempt} of ${attempts}); retrying in ${delay / 1000} s`
      )
      await new Promise(resolve => setTimeout(resolve, delay))
      delay = Math.min(maxDelay, delay * 2)
    }
  }
  result.seconds = Math.round((performance.now() - start) / 100) / 10
  if (result.ok) {
    log.info(`health-check ${url} answered ${result.status} (attempt ${result.attempts})`)
  }
  return result
}

function fetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `gave no answer within ${timeoutMs / 1000} s`
  }
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause
  if (cause && typeof cause.code === 'string') return `could not be reached (${cause.code})`
  if (cause && typeof cause.message === 'string') return `could not be reached (${cause.message})`
  return `could not be reached (${errorMessage(error)})`
}

function describeFailure(result: HealthResult): string {
  const after = `(after ${result.attempts} attempt${result.attempts === 1 ? '' : 's'})`
  if (result.status !== undefined) {
    return `health-check ${result.url} answered ${result.status} ${after}`
  }
  return `health-check ${result.url} ${result.error ?? 'failed'} ${after}`
}
