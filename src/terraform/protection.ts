/**
 * The guard on protected resources: after each plan, name the protected resources it deletes or
 * replaces (outputs `protected` and `allowed`, the top of the report), and before an apply refuse
 * any that no allowance covers: `allow-destroy`, or the `allow-destroy-label` on the merged pull
 * request whose plan comment showed them.
 */
import * as core from '@actions/core'
import { errorMessage } from '../errors'
import type { Config } from '../inputs'
import type { PullRequestRef } from '../github/client'
import type { StackIdentity } from '../github/marker'
import type { PlanSummary } from './plan'
import { protectedChanges, readProtectedLine, type ProtectedChange } from './protect'
import { mergedPlanComment } from './reviewed-plan'

const describe = (c: ProtectedChange): string =>
  `${c.address} (${c.action}${c.why ? `: ${c.why}` : ''})`

function list(changes: readonly ProtectedChange[], max = 10): string {
  const shown = changes.slice(0, max).map(describe).join(', ')
  return changes.length > max ? `${shown} and ${changes.length - max} more` : shown
}

/** The protected changes of a plan, and the pull request whose label allowed some of them. */
export interface ProtectionResult {
  changes: ProtectedChange[]
  reviewPr?: PullRequestRef | undefined
  /** set when this run applies and a protected change is not allowed: nothing may be applied */
  refusal?: string
}

/**
 * `applying`: this run is about to apply the plan (not a plan-only run or a dry run): protected
 * changes that are not allowed give a `refusal`, and the caller applies nothing.
 */
export async function guardProtected(
  config: Config,
  summary: PlanSummary,
  stack: StackIdentity,
  applying: boolean
): Promise<ProtectionResult> {
  let changes = protectedChanges(summary, config.guard)
  let reviewPr: PullRequestRef | undefined
  if (applying && changes.some(c => !c.allowed) && config.guard.allowDestroyLabel) {
    const byLabel = await labelAllowance(config, stack)
    if (byLabel) {
      changes = protectedChanges(summary, config.guard, byLabel)
      reviewPr = byLabel.pr
    }
  }
  core.setOutput('protected', JSON.stringify(changes.map(c => c.address)))
  core.setOutput('allowed', JSON.stringify(changes.filter(c => c.allowed).map(c => c.address)))
  const result: ProtectionResult = { changes, reviewPr }
  if (changes.length === 0) return result

  const blocked = changes.filter(c => !c.allowed)
  const allowed = changes.filter(c => c.allowed)
  if (allowed.length > 0)
    core.warning(
      `Protected resources deleted or replaced, allowed in this run: ${allowed.map(c => `${describe(c)} by ${c.allowedBy ?? 'allow-destroy'}`).join(', ')}`
    )
  if (blocked.length === 0) return result
  const how = `set allow-destroy to their addresses for one run${config.guard.allowDestroyLabel ? `, or add the label '${config.guard.allowDestroyLabel}' to the pull request (the deploy of its merge allows what its plan showed)` : ''}, or change protect`
  if (!applying) {
    core.warning(
      `This plan deletes or replaces protected resources: ${list(blocked)}. A deploy of it applies nothing unless allowed: ${how}.`
    )
    return result
  }
  return {
    ...result,
    refusal: `Protected resources would be deleted or replaced: ${list(blocked)}; nothing was applied. If that is intended, ${how}.`
  }
}

/**
 * The protected changes the merged pull request of this commit allows by its label: those its plan
 * comment recorded. Undefined (with a log line saying why) when there is none.
 */
async function labelAllowance(
  config: Config,
  stack: StackIdentity
): Promise<{ label: string; addresses: ReadonlySet<string>; pr: PullRequestRef } | undefined> {
  const { context } = config
  const label = config.guard.allowDestroyLabel
  if (!config.githubToken || !context.repository || !context.sha) return undefined
  try {
    const found = await mergedPlanComment(config, stack, merged => merged.labels.includes(label))
    if (!found) {
      core.info(
        `allow-destroy-label: commit ${context.sha.slice(0, 7)} is not the merge commit of a merged pull request`
      )
      return undefined
    }
    const { merged, comment } = found
    if (!merged.labels.includes(label)) {
      core.info(`allow-destroy-label: pull request #${merged.pr.number} has no label '${label}'`)
      return undefined
    }
    const addresses = comment ? readProtectedLine(comment.body) : undefined
    if (!addresses) {
      core.info(
        `allow-destroy-label: the plan comment of pull request #${merged.pr.number} records no protected changes for this stack`
      )
      return undefined
    }
    return { label: `'${label}' on #${merged.pr.number}`, addresses, pr: merged.pr }
  } catch (error) {
    core.warning(
      `allow-destroy-label: could not read the merged pull request (${errorMessage(error)}); only allow-destroy applies`
    )
    return undefined
  }
}
