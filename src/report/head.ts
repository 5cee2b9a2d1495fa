/**
 * The report's head (title, headline with the counts, protected resources, risks, the note, the
 * errors of a failed plan, apply or phase) and its footer line.
 */
import { stackMarker } from '../github/marker'
import { terraformPlanLine, type PlanSummary } from '../terraform/plan'
import type { ProtectedChange } from '../terraform/protect'
import {
  cleanText,
  codeSpan,
  escapeText,
  fencedBlock,
  formatTimestamp,
  link,
  tableHeader,
  tableRow,
  truncate
} from './markdown'
import { formatCount, formatDuration, plural } from '../format'
import type { ApplyOutcome, ReportContext } from './render'

const ERROR_MAX_CHARS = 12_000

/** The head: always shown, whatever the size (errors are cut to a fifth of `maxLength`). */
export function renderHead(
  summary: PlanSummary | undefined,
  ctx: ReportContext,
  includeMarker: boolean,
  maxLength: number
): string {
  const head: string[] = []
  if (includeMarker) head.push(stackMarker(ctx.stack))
  head.push(title(ctx))
  head.push('')
  head.push(headline(summary, ctx))
  if (ctx.protectedChanges && ctx.protectedChanges.length > 0 && ctx.planError === undefined)
    head.push('', protectedBlock(ctx.protectedChanges))
  const warnings = summary && !ctx.planError ? riskLines(summary) : []
  for (const warning of warnings) head.push('', warning)
  if (ctx.note) {
    const run = ctx.noteLink ? ` (${link('run', ctx.noteLink)})` : ''
    head.push('', `> ${escapeText(ctx.note)}${run}`)
  }
  const errorBudget = Math.min(ERROR_MAX_CHARS, Math.floor(maxLength / 5))
  if (ctx.planError !== undefined) {
    head.push('', fencedBlock(shortenLines(cleanText(ctx.planError), errorBudget)))
  }
  if (ctx.apply) head.push('', ...applyLines(ctx.apply, errorBudget))
  if (ctx.failure)
    head.push('', ...failureLines(ctx.failure, beforePlan(summary, ctx), errorBudget))
  return head.join('\n')
}

/** Head and tail lines of a long text within `max` characters, with a line saying what was cut. */
export function shortenLines(text: string, max: number): string {
  if (text.length <= max) return text
  const lines = text.split('\n')
  const tail: string[] = []
  let tailSize = 0
  for (let i = lines.length - 1; i > 0 && tail.length < 10; i--) {
    const line = lines[i] ?? ''
    if (tailSize + line.length + 1 > max / 3) break
    tail.unshift(line)
    tailSize += line.length + 1
  }
  const head: string[] = []
  let headSize = 0
  const room = max - tailSize - 60
  for (let i = 0; i < lines.length - tail.length; i++) {
    const line = lines[i] ?? ''
    if (headSize + line.length + 1 > room) break
    head.push(line)
    headSize += line.length + 1
  }
  if (head.length === 0) head.push(truncate(lines[0] ?? '', Math.max(20, room)))
  const cut = lines.length - head.length - tail.length
  return [...head, `[… ${plural(cut, 'line')} cut …]`, ...tail].join('\n')
}

function title(ctx: ReportContext): string {
  const what =
    ctx.apply && ctx.apply.status !== 'not-run'
      ? 'Terraform apply'
      : ctx.mode === 'frontend'
        ? 'Frontend deploy'
        : ctx.mode === 'drift'
          ? 'Drift check'
          : 'Terraform plan'
  return `### ${what}: ${codeSpan(ctx.stack.workingDirectory)} (${codeSpan(ctx.stack.environment)})`
}

function headline(summary: PlanSummary | undefined, ctx: ReportContext): string {
  if (ctx.planError !== undefined) {
    return '**Plan failed.** Terraform could not produce a plan, so nothing was applied. The error:'
  }
  if (ctx.failure && beforePlan(summary, ctx)) {
    return `**${escapeText(ctx.failure.phase)} failed** before a plan was made; nothing was applied. The error:`
  }
  if (!summary) return `No Terraform plan in this run (mode ${codeSpan(ctx.mode)}).`
  const counts = countsText(summary)
  if (summary.errored) {
    // As Terraform says it: planning failed, then what it planned before the error, if anything.
    const failed =
      '**Planning failed.** Terraform hit an error while planning, so this plan cannot be applied (the error is in the log).'
    return summary.hasChanges
      ? `${failed} Before the error it planned the changes below: ${counts}.`
      : failed
  }
  let line = `**Plan: ${counts}.**`
  const terraformLine = terraformPlanLine(summary)
  if (terraformLine)
    line += ` As Terraform counts it (a replacement is one to add and one to destroy): ${codeSpan(terraformLine)}`
  if (summary.refreshOnly) {
    line += ` Refresh-only plan: ${plural(summary.drift.length, 'object')} changed outside Terraform (below); applying it only records ${summary.drift.length === 1 ? 'that' : 'them'} in the state.`
  } else if (!summary.hasChanges)
    line += ' No changes: the infrastructure matches the configuration.'
  else if (summary.resources.length === 0 && summary.outputs.length > 0) {
    line += ` Only ${plural(summary.outputs.length, 'output')} change.`
  }
  return line
}

/** "1 to add, 0 to change, 0 to destroy, 0 to replace" and the other counts that are not zero. */
function countsText(summary: PlanSummary): string {
  const counts = [
    `${formatCount(summary.add)} to add`,
    `${formatCount(summary.change)} to change`,
    `${formatCount(summary.destroy)} to destroy`,
    `${formatCount(summary.replace)} to replace`
  ]
  if (summary.read > 0) counts.push(`${formatCount(summary.read)} to read`)
  if (summary.import > 0) counts.push(`${formatCount(summary.import)} to import`)
  if (summary.move > 0) counts.push(`${formatCount(summary.move)} to move`)
  if (summary.forget > 0) counts.push(`${formatCount(summary.forget)} to forget`)
  return counts.join(', ')
}

/** At most this many protected changes are listed in the head; the rest are counted. */
const PROTECTED_ROWS = 20

function protectedBlock(changes: readonly ProtectedChange[]): string {
  const blocked = changes.filter(c => !c.allowed).length
  const lead =
    blocked > 0
      ? `**Protected resources:** this plan deletes or replaces ${plural(changes.length, 'protected resource')}; an apply refuses ${blocked === changes.length ? (changes.length === 1 ? 'it' : 'them') : `the ${formatCount(blocked)} not allowed`} unless allowed (\`allow-destroy\`, or the allow-destroy label on this pull request).`
      : `**Protected resources:** this plan deletes or replaces ${plural(changes.length, 'protected resource')}, allowed in this run.`
  const rows = changes
    .slice(0, PROTECTED_ROWS)
    .map(c =>
      tableRow([
        codeSpan(c.address, { table: true }),
        c.action,
        c.why ? escapeText(c.why) : '',
        c.allowed ? `yes (${escapeText(c.allowedBy ?? 'allow-destroy')})` : 'no'
      ])
    )
  const more =
    changes.length > PROTECTED_ROWS
      ? [``, `… and ${formatCount(changes.length - PROTECTED_ROWS)} more protected changes.`]
      : []
  return [
    lead,
    '',
    tableHeader(['Protected resource', 'Action', 'Why', 'Allowed']),
    ...rows,
    ...more
  ].join('\n')
}

/** Warnings about what applying the plan would do (none for an errored plan: it cannot be applied). */
function riskLines(summary: PlanSummary): string[] {
  const lines: string[] = []
  if (summary.errored) return lines
  let destroyFirst = 0
  for (const r of summary.resources) {
    if (r.action === 'replace' && r.replaceOrder === 'destroy-before-create') destroyFirst++
  }
  if (destroyFirst > 0) {
    lines.push(
      `**Downtime risk:** ${plural(destroyFirst, 'replacement destroys', 'replacements destroy')} the existing object before creating the new one.`
    )
  }
  if (summary.destroy > 0) {
    lines.push(`**${plural(summary.destroy, 'resource')} will be destroyed.**`)
  }
  return lines
}

/** The run failed before Terraform planned (in a mode that plans). */
function beforePlan(summary: PlanSummary | undefined, ctx: ReportContext): boolean {
  return summary === undefined && ctx.planError === undefined && ctx.mode !== 'frontend'
}

/** The failure's error block; the headline already named the phase when it came before the plan. */
function failureLines(
  failure: NonNullable<ReportContext['failure']>,
  named: boolean,
  errorBudget: number
): string[] {
  const block = fencedBlock(shortenLines(cleanText(failure.text), errorBudget))
  return named ? [block] : [`**${escapeText(failure.phase)} failed.** The error:`, '', block]
}

function applyLines(apply: ApplyOutcome, errorBudget: number): string[] {
  const took = apply.seconds !== undefined ? ` in ${formatDuration(apply.seconds)}` : ''
  switch (apply.status) {
    case 'applied':
      return [`**Apply: succeeded**${took}.`]
    case 'not-run':
      return ['**Apply: not run.**']
    case 'failed': {
      const lines = [
        `**Apply: failed**${took}. Some changes may have been made; the plan above is what was attempted.`
      ]
      if (apply.error !== undefined && apply.error.trim() !== '') {
        lines.push('', fencedBlock(shortenLines(cleanText(apply.error), errorBudget)))
      }
      return lines
    }
  }
}

export function footerText(ctx: ReportContext, summary: PlanSummary | undefined): string {
  const parts: string[] = []
  if (ctx.sha) {
    const short = codeSpan(ctx.sha.slice(0, 7))
    const server = serverOf(ctx.runUrl)
    const repoOk = ctx.repository !== undefined && /^[\w.-]+\/[\w.-]+$/.test(ctx.repository)
    const shaOk = /^[0-9a-f]{7,64}$/i.test(ctx.sha)
    parts.push(
      `commit ${server && repoOk && shaOk ? link(short, `${server}/${ctx.repository}/commit/${ctx.sha}`) : short}`
    )
  }
  if (ctx.runUrl) parts.push(link('workflow run', ctx.runUrl))
  let event = `event ${codeSpan(ctx.eventName)}`
  if (ctx.actor) event += ` by ${codeSpan(ctx.actor)}`
  parts.push(event)
  parts.push(`mode ${codeSpan(ctx.mode)}`)
  parts.push(`state key ${codeSpan(ctx.stack.stateKey)}`)
  if (summary?.terraformVersion) parts.push(`Terraform ${codeSpan(summary.terraformVersion)}`)
  parts.push(formatTimestamp(ctx.timestamp))
  return `---\n\n<sub>${parts.join(' · ')}</sub>`
}

function serverOf(runUrl: string | undefined): string | undefined {
  if (!runUrl) return undefined
  try {
    const url = new URL(runUrl)
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : undefined
  } catch {
    return undefined
  }
}
