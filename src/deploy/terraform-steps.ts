/**
 * The Terraform steps of a deploy: the Terraform the module accepts, the plan (with its fingerprint
 * on a pull request), the protected-resource guard, the reviewed-plan check and the apply, planned
 * again when another run made the saved plan stale.
 */
import * as core from '@actions/core'
import * as path from 'node:path'
import { checkLockSupport } from '../unlock/unlock'
import { DeployError, errorMessage } from '../errors'
import type { Config } from '../inputs'
import { publishPlanOutputs, type RunReport } from '../report/publish'
import { planFingerprint, type Fingerprint, type StackKey } from '../terraform/fingerprint'
import { locateTerraform } from '../terraform/install'
import type { PrivateDir } from '../terraform/private-dir'
import type { ModuleConfig } from '../root-module'
import { readVersionRequirement, type VersionRequirement } from '../terraform/version-requirement'
import { planSummaryLine } from '../terraform/plan'
import { guardProtected } from '../terraform/protection'
import { checkReviewedPlan } from '../terraform/reviewed-plan'
import {
  Terraform,
  TerraformError,
  type PlanResult,
  type TerraformOutputs
} from '../terraform/runner'

/** The Terraform the module accepts, with this run's private data directory. */
export async function terraformFor(
  config: Config,
  module: ModuleConfig,
  privateDir: PrivateDir
): Promise<Terraform> {
  const installation = await locateTerraform(config, versionRequirement(config, module))
  checkLockSupport(config.lock, installation.version)
  if (process.env.TF_DATA_DIR) {
    core.info(
      'TF_DATA_DIR is set: it is read to find earlier state, but Terraform runs with a private data directory of its own (removed after the run)'
    )
  }
  return Terraform.fromConfig(config, installation.bin, {
    env: { TF_DATA_DIR: privateDir.dataDir },
    planFile: privateDir.planFile
  })
}

/** The Terraform versions the root module accepts (required_version, version files). */
function versionRequirement(config: Config, module: ModuleConfig): VersionRequirement {
  return readVersionRequirement(
    module.requiredVersions.map(r => ({
      text: r.text,
      source: `${path.posix.join(config.workingDirectoryInput, r.file)} line ${r.line}`
    })),
    config.workingDirectory,
    config.workspace
  )
}

export async function planStack(
  config: Config,
  terraform: Terraform,
  report: RunReport
): Promise<PlanResult> {
  try {
    // On a pull request, the comment keeps the fingerprint of the plan the reviewers see: made
    // while the plan is read when the key is there already (one pass over the changes less).
    const onPullRequest = config.context.pullRequest !== undefined
    const key = onPullRequest ? (await report.fingerprintKey?.())?.key : undefined
    const head = config.context.sha
    const plan = await terraform.plan(
      key ? { fingerprint: { key, stack: stackKey(config), ...(head && { head }) } } : {}
    )
    report.secrets.push(...plan.secrets)
    report.summary = plan.summary
    report.planText = plan.text
    if (onPullRequest) {
      const fingerprint = plan.fingerprint ?? (await fingerprintOf(config, plan, report))
      if (fingerprint) report.fingerprint = fingerprint
    }
    publishPlanOutputs(plan)
    core.info(`Plan: ${planSummaryLine(plan.summary)}`)
    return plan
  } catch (error) {
    report.planError = error instanceof TerraformError ? failureText(error) : errorMessage(error)
    throw error
  }
}

/** Plans to try when another run applied between our plan and our apply (a stale saved plan). */
const STALE_PLAN_ATTEMPTS = 3

export async function applyPlan(
  config: Config,
  terraform: Terraform,
  first: PlanResult,
  report: RunReport
): Promise<TerraformOutputs> {
  const started = Date.now()
  let plan = first
  for (let attempt = 1; ; attempt++) {
    if (!plan.changes) {
      report.apply = { status: 'not-run', seconds: 0 }
      core.info('No changes: nothing to apply')
      return terraform.outputs()
    }
    try {
      const result = await terraform.apply(plan.planFile)
      report.apply = { status: 'applied', seconds: (Date.now() - started) / 1000 }
      return result.outputs
    } catch (error) {
      if (isStalePlan(error) && attempt < STALE_PLAN_ATTEMPTS) {
        // Another run applied after this plan was made: Terraform refuses the saved plan, rightly.
        // Plan again against the new state and apply that (often it has nothing left to do).
        core.info(
          'The state changed since this plan was made (another run applied); planning again'
        )
        plan = await planStack(config, terraform, report)
        await guard(config, plan, report, true)
        if (config.requireReviewedPlan && plan.changes) await requireReviewed(config, plan, report)
        continue
      }
      report.apply = {
        status: 'failed',
        seconds: (Date.now() - started) / 1000,
        error: error instanceof TerraformError ? failureText(error) : errorMessage(error)
      }
      throw error
    }
  }
}

/** The plan's fingerprint under the stack's key, or undefined (and a warning) when there is no key. */
async function fingerprintOf(
  config: Config,
  plan: PlanResult,
  report: RunReport
): Promise<Fingerprint | undefined> {
  const key = await report.fingerprintKey?.()
  if (!key?.key) {
    core.warning(
      `No reviewed-plan fingerprint: ${key?.problem ?? 'no state bucket'}; require-reviewed-plan cannot match this plan`
    )
    return undefined
  }
  return planFingerprint(plan.effect, stackKey(config), key.key, config.context.sha)
}

function stackKey(config: Config): StackKey {
  return { workingDirectory: config.workingDirectoryInput, stateKey: config.stateKey }
}

/** The protected-resource guard, recorded in the report; a refusal stops the run before apply. */
export async function guard(
  config: Config,
  plan: PlanResult,
  report: RunReport,
  applying: boolean
): Promise<void> {
  const result = await guardProtected(config, plan.summary, report.stack, applying)
  report.protectedChanges = result.changes
  if (result.reviewPr) report.reviewPr ??= result.reviewPr
  if (result.refusal) throw new DeployError(result.refusal)
}

/**
 * require-reviewed-plan: apply only when this plan's effect equals the one shown on the pull request
 * the commit came from. Otherwise nothing is applied, the step fails with the difference, and the
 * pull request's comment says why.
 */
export async function requireReviewed(
  config: Config,
  plan: PlanResult,
  report: RunReport
): Promise<void> {
  const current = await fingerprintOf(config, plan, report)
  const result = await checkReviewedPlan(config, report.stack, current)
  if (result.pr) report.reviewPr = result.pr
  if (result.fingerprint) report.fingerprint = result.fingerprint
  if (result.note) report.note = result.note
  if (result.noteLink) report.noteLink = result.noteLink
  if (result.refusal)
    throw new DeployError(`require-reviewed-plan: ${result.refusal} Nothing was applied.`)
}

function isStalePlan(error: unknown): boolean {
  return (
    error instanceof TerraformError &&
    error.diagnostics.some(d => /Saved plan is stale/i.test(d.summary))
  )
}

/** The failure line and Terraform's diagnostics, for the report. */
export function failureText(error: TerraformError): string {
  const details = error.diagnostics.map(d => d.text).join('\n\n')
  return details ? `${error.message}\n\n${details}` : error.message
}
