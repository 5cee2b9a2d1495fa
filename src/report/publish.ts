import * as core from '@actions/core'
import type { BackendReport } from '../backend/backend'
import type { FingerprintKey } from '../backend/fingerprint-key'
import { DeployError } from '../errors'
import { cancellation } from '../process'
import { group } from '../log'
import type { Config } from '../inputs'
import { planSummaryLine, type PlanSummary } from '../terraform/plan'
import { fingerprintLine, type Fingerprint } from '../terraform/fingerprint'
import { protectedLine, type ProtectedChange } from '../terraform/protect'
import { upsertComment, type CommentOutcome, type PullRequestRef } from '../github/client'
import { findsMarker, type StackIdentity } from '../github/marker'
import { codeSpan, escapeText, tableHeader, tableRow, truncate } from './markdown'
import {
  GITHUB_COMMENT_LIMIT,
  renderReport,
  type ApplyOutcome,
  type ReportContext,
  type ReportSection
} from './render'
import { formatDuration } from '../format'

/** GitHub's limit for one step's job summary is 1 MiB; stay well inside it. */
const SUMMARY_LIMIT = 512 * 1024

export interface PhaseTiming {
  name: string
  seconds: number
  status: 'ok' | 'failed' | 'skipped' | 'cancelled'
}

/**
 * Everything the run learns, for the job summary and the pull-request comment: one renderer feeds
 * both (./render). Sections are rendered markdown with external text already escaped.
 */
export class RunReport {
  summary?: PlanSummary
  planText?: string
  planError?: string
  apply?: ApplyOutcome
  /** The run's failure when neither the plan nor the apply shows it (see {@link recordFailure}). */
  failure?: { phase: string; text: string }
  /** The first phase that failed. */
  failedPhase?: string
  note?: string
  /** A link shown after the note (the run that applied). */
  noteLink?: string
  /** Strings that must never appear (sensitive plan values); blanked out of everything rendered. */
  secrets: string[] = []
  /** The plan fingerprint kept hidden in the PR comment (the reviewed plan; see require-reviewed-plan). */
  fingerprint?: Fingerprint
  /** On push: the merged pull request whose comment this run updates (apply outcome or refusal). */
  reviewPr?: PullRequestRef
  /** The reviewed-plan fingerprint's key, read (or created) once per run when first asked for. */
  fingerprintKey?: () => Promise<FingerprintKey>
  /** Protected resources the plan deletes or replaces (shown first; recorded for the label). */
  protectedChanges: ProtectedChange[] = []
  /** The phase a cancellation (SIGINT/SIGTERM from the runner) stopped. */
  cancelledDuring?: string
  readonly phases: PhaseTiming[] = []
  private readonly sections: ReportSection[] = []

  constructor(private readonly config: Config) {}

  get stack(): StackIdentity {
    return {
      workingDirectory: this.config.workingDirectoryInput,
      stateKey: this.config.stateKey,
      environment: this.config.environment
    }
  }

  /** `fold`: background detail, collapsed in the PR comment (the job summary shows it open). */
  addSection(title: string, markdown: string, opts: { fold?: boolean } = {}): void {
    this.sections.push({ title, markdown, ...(opts.fold && { fold: true }) })
  }

  /**
   * Run one phase, timing it; a failure is recorded and rethrown. Once the run is cancelled, no
   * phase starts, and the one running when the signal came is recorded as cancelled.
   */
  async phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
    if (cancellation()) {
      this.phases.push({ name, seconds: 0, status: 'skipped' })
      throw new DeployError(`${name} was not started: the run was cancelled`)
    }
    const started = Date.now()
    let status: PhaseTiming['status'] = 'ok'
    try {
      // One log group per phase, named as its row in the summary's timing table.
      const result = await group(name, fn)
      if (cancellation()) throw new DeployError(`${name} was cancelled`)
      return result
    } catch (error) {
      status = cancellation() ? 'cancelled' : 'failed'
      if (status === 'cancelled') this.cancelledDuring ??= name
      else this.failedPhase ??= name
      throw error
    } finally {
      this.phases.push({ name, seconds: (Date.now() - started) / 1000, status })
    }
  }

  /**
   * The error the run failed with (its line and Terraform's diagnostics), for the comment and the
   * summary, unless the report already explains it: a failed plan or apply shows its own error, and
   * a note (a reviewed-plan refusal, a cancellation) says what happened.
   */
  recordFailure(text: string): void {
    if (this.planError !== undefined || this.apply?.status === 'failed' || this.note !== undefined)
      return
    this.failure = { phase: this.failedPhase ?? 'The run', text }
  }

  skip(name: string): void {
    this.phases.push({ name, seconds: 0, status: 'skipped' })
  }

  context(): ReportContext {
    const { context } = this.config
    const ctx: ReportContext = {
      stack: this.stack,
      mode: this.config.mode,
      eventName: context.eventName,
      timestamp: new Date(),
      secrets: this.secrets,
      sections: [
        ...this.sections,
        ...(this.phases.length > 0
          ? [{ title: 'Timings', markdown: this.timings(), fold: true }]
          : [])
      ],
      fullPlanLocation: context.runUrl
        ? `the job summary and log of [this run](${context.runUrl})`
        : 'the job summary and log of this run'
    }
    if (context.repository)
      ctx.repository = `${context.repository.owner}/${context.repository.repo}`
    if (context.sha) ctx.sha = context.sha
    if (context.actor) ctx.actor = context.actor
    if (context.runUrl) ctx.runUrl = context.runUrl
    if (this.planText !== undefined) ctx.planText = this.planText
    if (this.planError !== undefined) ctx.planError = this.planError
    if (this.apply) ctx.apply = this.apply
    if (this.failure) ctx.failure = this.failure
    if (this.note !== undefined) ctx.note = this.note
    if (this.noteLink !== undefined) ctx.noteLink = this.noteLink
    if (this.protectedChanges.length > 0) ctx.protectedChanges = this.protectedChanges
    return ctx
  }

  private timings(): string {
    const rows = this.phases.map(p =>
      tableRow([escapeText(p.name), p.status, formatDuration(p.seconds)])
    )
    return [tableHeader(['Phase', 'Result', 'Time'], ['l', 'l', 'r']), ...rows].join('\n')
  }

  /** The job summary: the same report, on every run. */
  async writeSummary(): Promise<void> {
    if (!process.env.GITHUB_STEP_SUMMARY) return
    const markdown = renderReport(this.summary, this.context(), { maxLength: SUMMARY_LIMIT })
    await core.summary.addRaw(markdown, true).write()
  }

  /**
   * The pull request's sticky comment for this stack, when the run belongs to a pull request and
   * `comment` allows it. Never fails the run: problems become warnings.
   */
  async writeComment(): Promise<CommentOutcome | undefined> {
    const { context } = this.config
    if (this.config.comment === 'never' || !context.repository) return undefined
    const pr =
      context.pullRequest !== undefined
        ? { ...context.repository, number: context.pullRequest }
        : this.reviewPr
    if (!pr) return undefined
    const changed = this.summary?.hasChanges ?? false
    const failed =
      this.planError !== undefined || this.apply?.status === 'failed' || this.failure !== undefined
    // A push run only updates the comment the pull request already has.
    const create =
      pr === this.reviewPr ? false : this.config.comment === 'always' || changed || failed
    if (!create && !changed && !failed && this.note === undefined) this.note = 'No changes now.'
    // Hidden lines right after the marker: the fingerprint (where readFingerprint looks for it),
    // then the protected changes a plan on the pull request showed (what its label allows).
    const hidden =
      (this.fingerprint ? `${fingerprintLine(this.fingerprint)}\n` : '') +
      (this.protectedChanges.length > 0 && pr !== this.reviewPr
        ? `${protectedLine(this.protectedChanges)}\n`
        : '')
    const rendered = renderReport(this.summary, this.context(), {
      includeMarker: true,
      foldSections: true,
      maxLength: GITHUB_COMMENT_LIMIT - hidden.length
    })
    const at = rendered.indexOf('\n')
    const body =
      at < 0
        ? `${rendered}\n${hidden}`
        : `${rendered.slice(0, at + 1)}${hidden}${rendered.slice(at + 1)}`
    const outcome = await upsertComment(
      {
        ...(this.config.githubToken !== undefined && { token: this.config.githubToken }),
        apiUrl: context.apiUrl,
        pr
      },
      existing => findsMarker(existing, this.stack),
      body,
      create
    )
    if (outcome.status === 'failed') core.warning(outcome.warning)
    else if (outcome.status === 'skipped')
      core.info(`Pull-request comment: skipped (${outcome.reason})`)
    else {
      core.info(`Pull-request comment ${outcome.status}: ${outcome.url}`)
      core.setOutput('comment-url', outcome.url)
    }
    return outcome
  }
}

/** The plan's step outputs: changes, the counts and the one-line summary. */
export function publishPlanOutputs(plan: { changes: boolean; summary: PlanSummary }): void {
  const s = plan.summary
  core.setOutput('changes', String(plan.changes))
  core.setOutput('to-add', String(s.add))
  core.setOutput('to-change', String(s.change))
  core.setOutput('to-destroy', String(s.destroy))
  core.setOutput('to-replace', String(s.replace))
  core.setOutput('plan-summary', planSummaryLine(s))
}

/** The Terraform outputs after apply; sensitive ones are named, never shown. */
export function outputsSection(
  all: Record<string, { value: unknown; sensitive: boolean }>
): string {
  const names = Object.keys(all).sort()
  if (names.length === 0) return 'No outputs.'
  const rows = names.map(name => {
    const output = all[name]
    const value = output?.sensitive
      ? '(sensitive)'
      : codeSpan(truncate(JSON.stringify(output?.value ?? null), 200), { table: true })
    return tableRow([codeSpan(name, { table: true }), value])
  })
  return [tableHeader(['Output', 'Value']), ...rows].join('\n')
}

/** The backend step's section of the report. */
export function backendSection(report: BackendReport): string {
  const status = (created: boolean): string =>
    created ? 'created by this run' : report.missing ? 'missing' : 'found'
  const lines = [
    tableHeader(['Resource', 'Name', 'Status']),
    tableRow([
      'S3 state bucket',
      codeSpan(report.bucket, { table: true }),
      status(report.bucketCreated)
    ]),
    report.table
      ? tableRow([
          'DynamoDB lock table',
          codeSpan(report.table, { table: true }),
          status(report.tableCreated)
        ])
      : tableRow(['S3 lock file', codeSpan(`${report.key}.tflock`, { table: true }), 'lock: s3']),
    tableRow(['State key', codeSpan(report.key, { table: true }), escapeText(report.region)])
  ]
  if (report.hardened.length > 0)
    lines.push('', `Hardened: ${report.hardened.map(escapeText).join('; ')}.`)
  if (report.wouldCreate.length > 0)
    lines.push('', `Dry run: would create ${report.wouldCreate.map(escapeText).join(' and ')}.`)
  for (const warning of report.warnings) lines.push('', `Warning: ${escapeText(warning)}`)
  return lines.join('\n')
}
