/**
 * The stack's drift issue: one open issue per stack (working directory + state key), found by a
 * hidden marker at the start of its body and by its author (the token's login). Opened when drift or
 * unapplied changes are found, updated on each later run, closed with a short comment when the stack
 * is clean again. The body is the run's report, rendered like the pull-request comment (same
 * escaping, size limit and sensitive-value blanking). Never throws: a missing or read-only token is a
 * warning, the job summary still has the report.
 */
import type { Config } from '../inputs'
import { errorMessage } from '../errors'
import { githubClient, tokenLogin, type GitHubClient } from '../github/client'
import { link, truncate } from '../report/markdown'
import type { RunReport } from '../report/publish'
import { GITHUB_COMMENT_LIMIT, renderReport } from '../report/render'
import type { PlanSummary } from '../terraform/plan'
import { stackId, type StackIdentity } from '../github/marker'

export type DriftIssueOutcome =
  | { status: 'opened' | 'updated' | 'closed'; url: string; number: number }
  | { status: 'none' }
  | { status: 'failed'; warning: string }

interface FoundIssue {
  number: number
  url: string
}

/** The hidden first line of a stack's drift issue, e.g. `<!-- revive-deploy:drift=1a2b… -->`. */
export function driftMarker(stack: StackIdentity): string {
  return `<!-- revive-deploy:drift=${stackId(stack)} -->`
}

/** True only when the body starts with the stack's drift marker on a line of its own. */
export function findsDriftMarker(body: string, stack: StackIdentity): boolean {
  const marker = driftMarker(stack)
  if (!body.startsWith(marker)) return false
  const next = body.charAt(marker.length)
  return next === '' || next === '\n' || next === '\r'
}

/** The issue's title: the stack, as the user named it (plain text; GitHub's limit is 256). */
export function driftIssueTitle(stack: StackIdentity): string {
  return truncate(
    `Drift or unapplied changes: ${stack.workingDirectory} (${stack.stateKey})`.replace(
      /[\r\n]+/g,
      ' '
    ),
    256
  )
}

/** The issue body: the marker, then the report, within GitHub's 65,536 characters. */
export function driftIssueBody(summary: PlanSummary | undefined, report: RunReport): string {
  const ctx = report.context()
  const marker = driftMarker(ctx.stack)
  const rendered = renderReport(summary, ctx, {
    maxLength: GITHUB_COMMENT_LIMIT - marker.length - 1
  })
  return `${marker}\n${rendered}`
}

/** Open, update or close the stack's drift issue to match what this run found. */
export async function syncDriftIssue(
  config: Config,
  report: RunReport,
  findings: { drift: boolean; changes: boolean; summary: PlanSummary }
): Promise<DriftIssueOutcome> {
  const { context } = config
  const dirty = findings.drift || findings.changes
  if (!context.repository) {
    return {
      status: 'failed',
      warning:
        'No GITHUB_REPOSITORY: the drift issue was not opened or updated (the job summary has the report).'
    }
  }
  if (!config.githubToken) {
    return {
      status: 'failed',
      warning:
        'No github-token: the drift issue was not opened or updated (the job summary has the report).'
    }
  }
  const repo = context.repository
  const octokit = githubClient(config.githubToken, context.apiUrl)
  try {
    const login = await tokenLogin(octokit)
    const existing = await findDriftIssue(octokit, repo, login, report.stack)
    if (dirty) {
      const body = driftIssueBody(findings.summary, report)
      if (existing) {
        const { data } = await octokit.rest.issues.update({
          ...repo,
          issue_number: existing.number,
          body
        })
        return { status: 'updated', url: data.html_url, number: data.number }
      }
      const { data } = await octokit.rest.issues.create({
        ...repo,
        title: driftIssueTitle(report.stack),
        body
      })
      return { status: 'opened', url: data.html_url, number: data.number }
    }
    if (!existing) return { status: 'none' }
    const run = context.runUrl ? link('this run', context.runUrl) : 'this run'
    const commit = context.sha ? ` at commit \`${context.sha.slice(0, 12)}\`` : ''
    await octokit.rest.issues.createComment({
      ...repo,
      issue_number: existing.number,
      body: `No drift and no unapplied changes any more: ${run}${commit} found the infrastructure matching the configuration. Closing.`
    })
    const { data } = await octokit.rest.issues.update({
      ...repo,
      issue_number: existing.number,
      state: 'closed',
      state_reason: 'completed'
    })
    return { status: 'closed', url: data.html_url, number: data.number }
  } catch (error) {
    return { status: 'failed', warning: issueWarning(error) }
  }
}

/** The open issue of this stack written by `login`, searched through every page of open issues. */
async function findDriftIssue(
  octokit: GitHubClient,
  repo: { owner: string; repo: string },
  login: string,
  stack: StackIdentity
): Promise<FoundIssue | undefined> {
  for await (const page of octokit.paginate.iterator(octokit.rest.issues.listForRepo, {
    ...repo,
    state: 'open',
    per_page: 100
  })) {
    for (const issue of page.data) {
      if (issue.pull_request || issue.user?.login !== login) continue
      if (typeof issue.body === 'string' && findsDriftMarker(issue.body, stack))
        return { number: issue.number, url: issue.html_url }
    }
  }
  return undefined
}

function issueWarning(error: unknown): string {
  const status = (error as { status?: number }).status
  const base = 'Could not open or update the drift issue'
  if (status === 401)
    return `${base}: the github-token was refused (401 Bad credentials). The job summary has the report.`
  if (status === 403 || status === 404) {
    return `${base}: the token may not write issues (${status}: ${errorMessage(error)}). Give the workflow "permissions: issues: write", or set drift-issue: false. The job summary has the report.`
  }
  if (status === 410)
    return `${base}: issues are disabled in this repository (410). Enable them, or set drift-issue: false. The job summary has the report.`
  return `${base}: ${errorMessage(error)}. The job summary has the report.`
}
