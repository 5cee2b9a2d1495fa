/**
 * Where the run comes from: the event, its payload and the repository, read from the runner's
 * environment. Not @actions/github's `context`: that one reads process.env once, when the module
 * loads (readConfig takes the environment as a parameter), throws on an unreadable event file and
 * prints to stdout when it is missing, gives NaN for an absent run id, and has no pull request's
 * head commit or default event.
 */
import * as fs from 'node:fs'
import { optional, type Env } from '../input-reader'

/** Where the run comes from: the event and the repository, read from the runner's environment. */
export interface RunContext {
  eventName: string
  /** Parsed event payload (empty object when there is none). */
  payload: Record<string, unknown>
  repository?: { owner: string; repo: string }
  /** Pull-request number for pull_request / pull_request_target events. */
  pullRequest?: number
  sha?: string
  ref?: string
  actor?: string
  runId?: string
  runAttempt: string
  serverUrl: string
  apiUrl: string
  /** Link to the workflow run, when the repository and run id are known. */
  runUrl?: string
}

/** The event and repository, from the runner's environment variables and event payload. */
export function readContext(env: Env = process.env): RunContext {
  const eventName = env.GITHUB_EVENT_NAME || 'workflow_dispatch'
  let payload: Record<string, unknown> = {}
  const eventPath = env.GITHUB_EVENT_PATH
  if (eventPath && fs.existsSync(eventPath)) {
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(eventPath, 'utf8'))
      if (parsed && typeof parsed === 'object') payload = parsed as Record<string, unknown>
    } catch {
      payload = {}
    }
  }
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/')
  const repository = owner && repo ? { owner, repo } : undefined
  const pr = payload.pull_request as { number?: unknown } | undefined
  const prNumber = typeof pr?.number === 'number' ? pr.number : undefined
  const serverUrl = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '')
  const runId = optional(env.GITHUB_RUN_ID ?? '')
  const context: RunContext = {
    eventName,
    payload,
    runAttempt: env.GITHUB_RUN_ATTEMPT || '1',
    serverUrl,
    apiUrl: (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '')
  }
  if (repository) context.repository = repository
  if (prNumber !== undefined) context.pullRequest = prNumber
  const headSha = (pr as { head?: { sha?: unknown } } | undefined)?.head?.sha
  const sha = typeof headSha === 'string' ? headSha : env.GITHUB_SHA
  if (sha) context.sha = sha
  if (env.GITHUB_REF) context.ref = env.GITHUB_REF
  if (env.GITHUB_ACTOR) context.actor = env.GITHUB_ACTOR
  if (runId) {
    context.runId = runId
    if (repository)
      context.runUrl = `${serverUrl}/${repository.owner}/${repository.repo}/actions/runs/${runId}`
  }
  return context
}
