/**
 * Drift mode: a refresh-only plan (what changed outside Terraform) and a normal plan (what Terraform
 * would change), both without the state lock and never applied; the outputs `drift` and `changes`,
 * the report, and the stack's drift issue.
 */
import * as core from '@actions/core'
import * as path from 'node:path'
import type { Config } from '../inputs'
import { publishPlanOutputs, type RunReport } from '../report/publish'
import { escapeText, link, tableHeader, tableRow } from '../report/markdown'
import { planSummaryLine, type PlanSummary } from '../terraform/plan'
import type { Terraform } from '../terraform/runner'
import { syncDriftIssue, type DriftIssueOutcome } from './issue'
import { plural } from '../format'

/** What the two plans found. */
export interface DriftFindings {
  /** The refresh-only plan found resources changed outside Terraform. */
  drift: boolean
  /** The normal plan has changes (drift it would undo, or configuration not yet applied). */
  changes: boolean
  /** The summary to report: the normal plan's, with the refresh-only plan's drift list. */
  summary: PlanSummary
}

/** Pure: the findings of a refresh-only plan and a normal plan of the same state. */
export function driftFindings(refreshOnly: PlanSummary, plan: PlanSummary): DriftFindings {
  return {
    drift: refreshOnly.drift.length > 0,
    changes: plan.hasChanges,
    summary: { ...plan, drift: refreshOnly.drift }
  }
}

/** One line for the log and the report's note. */
export function findingsLine(f: Pick<DriftFindings, 'drift' | 'changes' | 'summary'>): string {
  const drifted = f.drift
    ? `${plural(f.summary.drift.length, 'resource')} changed outside Terraform`
    : 'no resource changed outside Terraform'
  const changes = f.changes
    ? `the plan has unapplied changes (${planSummaryLine(f.summary)})`
    : 'the plan has no changes'
  return `Drift check: ${drifted}; ${changes}.`
}

/** Refresh-only plan, normal plan, outputs, report, issue. Applies nothing, takes no lock. */
export async function checkDrift(
  config: Config,
  terraform: Terraform,
  report: RunReport
): Promise<DriftFindings> {
  const refreshFile = path.join(path.dirname(terraform.planFile), 'refresh-only.tfplan')
  const refresh = await report.phase('Terraform refresh-only plan', () =>
    terraform.plan({ refreshOnly: true, lock: false, planFile: refreshFile })
  )
  report.secrets.push(...refresh.secrets)
  const plan = await report.phase('Terraform plan', () => terraform.plan({ lock: false }))
  report.secrets.push(...plan.secrets)
  report.skip('Terraform apply')
  const findings = driftFindings(refresh.summary, plan.summary)
  report.summary = findings.summary
  report.planText = plan.text
  publishPlanOutputs(plan)
  core.setOutput('drift', String(findings.drift))
  const line = findingsLine(findings)
  core.info(line)
  report.note = line

  // The issue carries the same report, this section included.
  report.addSection('Drift', driftSection(findings))
  let issue: DriftIssueOutcome | undefined
  if (config.driftIssue) {
    issue = await report.phase('Drift issue', () => syncDriftIssue(config, report, findings))
    if (issue.status === 'failed') core.warning(issue.warning)
    else core.info(`Drift issue: ${describeIssue(issue)}`)
  }
  report.addSection('Drift issue', driftIssueSection(config, issue))
  return findings
}

function describeIssue(issue: Exclude<DriftIssueOutcome, { status: 'failed' }>): string {
  switch (issue.status) {
    case 'none':
      return 'none open, none needed'
    case 'opened':
    case 'updated':
    case 'closed':
      return `${issue.status} ${issue.url}`
  }
}

/** The report's "Drift" section: what each plan found. */
export function driftSection(findings: Pick<DriftFindings, 'drift' | 'changes'>): string {
  const yesNo = (b: boolean): string => (b ? 'yes' : 'no')
  const rows = [
    tableHeader(['Check', 'Found']),
    tableRow(['Resources changed outside Terraform (refresh-only plan)', yesNo(findings.drift)]),
    tableRow(['Changes the plan would make (not yet applied)', yesNo(findings.changes)])
  ]
  const lines = [rows.join('\n'), '', 'Both plans ran without the state lock; nothing was applied.']
  if (findings.drift)
    lines.push('', 'The drifted resources are listed under "Changed outside Terraform" above.')
  return lines.join('\n')
}

/** The job summary's line on the stack's drift issue. */
export function driftIssueSection(
  config: Pick<Config, 'driftIssue'>,
  issue: DriftIssueOutcome | undefined
): string {
  if (!config.driftIssue || !issue) return 'Off (drift-issue: false).'
  switch (issue.status) {
    case 'failed':
      return escapeText(issue.warning)
    case 'none':
      return 'None open, none needed.'
    default:
      return `${issue.status[0]?.toUpperCase()}${issue.status.slice(1)}: ${link(`#${issue.number}`, issue.url)}.`
  }
}

/**
 * Drift mode on a stack that was never deployed (no state backend, or no state at the key): nothing
 * is created and nothing is planned; there is nothing to drift from. `drift` and `changes` are false,
 * and no issue is opened, updated or closed.
 */
export function nothingDeployed(report: RunReport, why: string): void {
  core.setOutput('drift', 'false')
  core.setOutput('changes', 'false')
  const line = `Drift check: ${why}, so this stack was never deployed and there is nothing to drift from; nothing was created or planned. Deploy it first.`
  core.notice(line)
  report.note = line
  report.skip('Terraform plan')
}
