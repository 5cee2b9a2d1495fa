/**
 * The guard on protected resources: after each plan, name the protected resources it deletes or
 * replaces (outputs `protected` and `allowed`, the top of the report), and before an apply refuse
 * any that no allowance covers: `allow-destroy`, or the `allow-destroy-label` on the merged pull
 * request whose plan comment showed them.
 */
import * as core from '@actions/core'
import { DeployError, errorMessage } from '../errors'
import type { Config } from '../inputs'
import { findComment, githubClient, mergedPullRequestOf, tokenLogin } from '../github/client'
import type { RunReport } from '../report/publish'
import { findsMarker } from '../github/marker'
import type { PlanSummary } from '../terraform/plan'
import { protectedChanges, readProtectedLine, type ProtectedChange } from '../terraform/protect'

const describe = (c: ProtectedChange): string =>
  `${c.address} (${c.action}${c.why ? `: ${c.why}` : ''})`

function list(changes: readonly ProtectedChange[], max = 10): string {
  const shown = changes.slice(0, max).map(describe).join(', ')
  return changes.length > max ? `${shown} and ${changes.length - max} more` : shown
}

/**
 * `applying`: this run is about to apply the plan (not a plan-only run or a dry run): protected
 * changes that are not allowed stop it, with nothing applied.
 */
export async function guardProtected(
  config: Config,
  summary: PlanSummary,
  report: RunReport,
  applying: boolean
): Promise<ProtectedChange[]> {
  let changes = protectedChanges(summary, config.guard)
  if (applying && changes.some(c => !c.allowed) && config.guard.allowDestroyLabel) {
    const byLabel = await labelAllowance(config, report)
    if (byLabel) changes = protectedChanges(summary, config.guard, byLabel)
  }
  report.protectedChanges = changes
  core.setOutput('protected', JSON.stringify(changes.map(c => c.address)))
  core.setOutput('allowed', JSON.stringify(changes.filter(c => c.allowed).map(c => c.address)))
  if (changes.length === 0) return changes

  const blocked = changes.filter(c => !c.allowed)
  const allowed = changes.filter(c => c.allowed)
  if (allowed.length > 0)
    core.warning(
      `Protected resources deleted or replaced, allowed in this run: ${allowed.map(c => `${describe(c)} by ${c.allowedBy ?? 'allow-destroy'}`).join(', ')}`
    )
  if (blocked.length === 0) return changes
  const how = `set allow-destroy to their addresses for one run${config.guard.allowDestroyLabel ? `, or add the label '${config.guard.allowDestroyLabel}' to the pull request (the deploy of its merge allows what its plan showed)` : ''}, or change protect`
  if (!applying) {
    core.warning(
      `This plan deletes or replaces protected resources: ${list(blocked)}. A deploy of it applies nothing unless allowed: ${how}.`
    )
    return changes
  }
  throw new DeployError(
    `Protected resources would be deleted or replaced: ${list(blocked)}; nothing was applied. If that is intended, ${how}.`
  )
}

/**
 * The protected changes the merged pull request of this commit allows by its label: those its plan
 * comment recorded. Undefined (with a log line saying why) when there is none.
 */
async function labelAllowance(
  config: Config,
  report: RunReport
): Promise<{ label: string; addresses: ReadonlySet<string> } | undefined> {
  const { context } = config
  const label = config.guard.allowDestroyLabel
  if (!config.githubToken || !context.repository || !context.sha) return undefined
  try {
    const octokit = githubClient(config.githubToken, context.apiUrl)
    const merged = await mergedPullRequestOf(octokit, context.repository, context.sha)
    if (!merged) {
      core.info(
        `allow-destroy-label: commit ${context.sha.slice(0, 7)} is not the merge commit of a merged pull request`
      )
      return undefined
    }
    if (!merged.labels.includes(label)) {
      core.info(`allow-destroy-label: pull request #${merged.pr.number} has no label '${label}'`)
      return undefined
    }
    const login = await tokenLogin(octokit)
    const comment = await findComment(octokit, merged.pr, login, body =>
      findsMarker(body, report.stack)
    )
    const addresses = comment ? readProtectedLine(comment.body) : undefined
    if (!addresses) {
      core.info(
        `allow-destroy-label: the plan comment of pull request #${merged.pr.number} records no protected changes for this stack`
      )
      return undefined
    }
    report.reviewPr ??= merged.pr
    return { label: `'${label}' on #${merged.pr.number}`, addresses }
  } catch (error) {
    core.warning(
      `allow-destroy-label: could not read the merged pull request (${errorMessage(error)}); only allow-destroy applies`
    )
    return undefined
  }
}
