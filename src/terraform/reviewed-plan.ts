/**
 * The reviewed plan: the merged pull request of the deployed commit, and the plan comment the
 * reviewers saw on it. `require-reviewed-plan` compares its fingerprint with this run's plan;
 * `allow-destroy-label` reads the protected changes it recorded.
 */
import * as core from '@actions/core'
import { errorMessage } from '../errors'
import type { Config } from '../inputs'
import {
  findComment,
  githubClient,
  mergedPullRequestOf,
  tokenLogin,
  type ExistingComment,
  type PullRequestRef
} from '../github/client'
import { findsMarker, type StackIdentity } from '../github/marker'
import {
  compareFingerprints,
  describeDifference,
  readFingerprint,
  type Fingerprint
} from './fingerprint'

type Merged = NonNullable<Awaited<ReturnType<typeof mergedPullRequestOf>>>

/** The merged pull request of `config.context.sha` and this stack's plan comment on it. */
export interface MergedPlanComment {
  merged: Merged
  comment: ExistingComment | undefined
}

/**
 * The lookup both checks share. Undefined when the commit is not the merge commit of a merged pull
 * request; throws when GitHub cannot be asked.
 */
export async function mergedPlanComment(
  config: Config,
  stack: StackIdentity,
  wanted: (merged: Merged) => boolean = () => true
): Promise<MergedPlanComment | undefined> {
  const { context } = config
  if (!config.githubToken || !context.repository || !context.sha) return undefined
  const octokit = githubClient(config.githubToken, context.apiUrl)
  const merged = await mergedPullRequestOf(octokit, context.repository, context.sha)
  if (!merged) return undefined
  if (!wanted(merged)) return { merged, comment: undefined }
  const login = await tokenLogin(octokit)
  const comment = await findComment(octokit, merged.pr, login, body => findsMarker(body, stack))
  return { merged, comment }
}

/** What the check found, for the report; `refusal` set means nothing may be applied. */
export interface ReviewResult {
  pr?: PullRequestRef
  fingerprint?: Fingerprint
  note?: string
  noteLink?: string | undefined
  refusal?: string
}

/**
 * require-reviewed-plan: apply only when this plan's effect (`current`) equals the one shown on the
 * pull request the commit came from. Otherwise the result carries the refusal and the note the pull
 * request's comment shows (the plan changed after review, was never planned, …).
 */
export async function checkReviewedPlan(
  config: Config,
  stack: StackIdentity,
  current: Fingerprint | undefined
): Promise<ReviewResult> {
  const { context } = config
  const sha = (context.sha ?? '').slice(0, 7)
  if (!config.githubToken) return { refusal: 'no github-token to find the reviewed plan with.' }
  if (!context.repository || !context.sha)
    return { refusal: 'GITHUB_REPOSITORY and GITHUB_SHA are needed to find the pull request.' }
  let found: MergedPlanComment | undefined
  try {
    found = await mergedPlanComment(config, stack, () => current !== undefined)
  } catch (error) {
    return {
      refusal: `could not look up the pull request of commit ${sha} (${errorMessage(error)}).`
    }
  }
  if (!found) {
    return {
      refusal: `commit ${sha} is not the merge commit of a merged pull request${context.eventName === 'workflow_dispatch' ? ' (a workflow_dispatch run of a commit that was not merged through a pull request; an open pull request is not reviewed-and-merged)' : ''}, so there is no reviewed plan. Merge through a pull request, or run with require-reviewed-plan: false.`
    }
  }
  const { merged, comment } = found
  const pr = merged.pr
  if (!current)
    return { refusal: 'this plan has no fingerprint to compare (see the warning above).' }
  const reviewed = comment ? readFingerprint(comment.body) : undefined
  if (!reviewed) {
    return {
      pr,
      note: 'Not applied: no reviewed plan was found on this pull request for this stack.',
      refusal: `pull request #${pr.number} has no reviewed plan for this stack (working directory ${config.workingDirectoryInput}, state key ${config.stateKey}); its plan comment is missing${config.comment === 'never' ? ' (comment: never posts none)' : ''}.`
    }
  }
  if (!reviewed.keyed) {
    return {
      pr,
      note: 'Not applied: the plan on this pull request was fingerprinted by an earlier version of revive-deploy. Plan again and review the new plan.',
      refusal: `the reviewed plan on pull request #${pr.number} was made by an earlier version of revive-deploy (an unkeyed fingerprint, not trusted); plan the pull request again.`
    }
  }
  if (reviewed.head && reviewed.head !== merged.headSha) {
    return {
      pr,
      note: `Not applied: the plan shown here was made for ${reviewed.head.slice(0, 7)}, but the pull request was merged at ${merged.headSha.slice(0, 7)}; the last commits were never planned here.`,
      refusal: `the reviewed plan on pull request #${pr.number} was made for head ${reviewed.head.slice(0, 7)}, but the pull request's final head is ${merged.headSha.slice(0, 7)} (pushed after the last plan).`
    }
  }
  const difference = compareFingerprints(reviewed, current)
  if (!difference.same) {
    const what = describeDifference(difference)
    return {
      pr,
      fingerprint: reviewed,
      note: `Plan changed after review: the plan at merge time differs from the one reviewed here, so nothing was applied (${what}). Plan again and review the new plan.`,
      refusal: `the plan changed after review of pull request #${pr.number}: ${what}.`
    }
  }
  core.info(`The plan matches the one reviewed on pull request #${pr.number}`)
  return {
    pr,
    fingerprint: current,
    note: 'Applied after merge: the plan matched the one reviewed here.',
    noteLink: context.runUrl
  }
}
