/**
 * The deploy report as GitHub markdown: one renderer for the PR comment and the job summary.
 * Pure: everything it shows comes from its arguments.
 *
 * Size: never longer than `maxLength` (JS string length, i.e. UTF-16 units, which is never less
 * than the characters GitHub counts). When it does not fit, the plan text is shortened first (whole
 * lines, with a note saying how many were cut and where the full plan is), then the extra sections
 * and the tables' rows ("… and N more"). The headline counts and the table headers always stay.
 *
 * Escaping: text from Terraform (addresses, values, errors, plan text) only ever appears inside code
 * spans, fenced code blocks or escaped text (see ./markdown), so it cannot break a table, inject
 * HTML, close the `<details>` or the code block, or start an HTML comment that would hide the rest.
 */
import { stackMarker, type StackIdentity } from '../github/marker'
import {
  MAX_ATTRIBUTES,
  redact,
  terraformPlanLine,
  type OutputChange,
  type PlanSummary,
  type ResourceChange
} from '../terraform/plan'
import type { ProtectedChange } from '../terraform/protect'
import {
  cleanText,
  codeSpan,
  escapeHtml,
  escapeText,
  fencedBlock,
  htmlCode,
  formatTimestamp,
  link,
  longestRun,
  tableHeader,
  tableRow,
  truncate
} from './markdown'
import { formatCount, formatDuration, plural } from '../format'

export interface ApplyOutcome {
  status: 'applied' | 'failed' | 'not-run'
  /** the failure (Terraform's error output); shown in a code block */
  error?: string
  seconds?: number
}

export interface ReportContext {
  stack: StackIdentity
  mode: string
  eventName: string
  repository?: string
  sha?: string
  actor?: string
  runUrl?: string
  timestamp: Date
  /** `terraform show -no-color <plan>` text, shown in a collapsed <details> */
  planText?: string
  /** a failed plan: shown instead of the table */
  planError?: string
  apply?: ApplyOutcome
  /** Protected resources the plan deletes or replaces: shown right under the headline. */
  protectedChanges?: readonly ProtectedChange[]
  /**
   * A failure that is neither the plan's nor the apply's (the state backend, init, the reviewed-plan
   * check, the frontend, ...): the phase it stopped and its error with Terraform's diagnostics;
   * shown in a code block.
   */
  failure?: { phase: string; text: string }
  /**
   * Already-rendered extra sections (backend, frontend sync, invalidation, health checks, phase
   * timings). Their markdown is trusted: escape anything external in it with ./markdown helpers.
   * HTML comments are not allowed in them (`<!--` is shown literally). Sections with `fold` (the
   * state backend, the timings) go together into one collapsed block when the report is rendered
   * with `foldSections` (the PR comment).
   */
  sections?: ReportSection[]
  /** where the full plan text can be found when it is shortened here (markdown, e.g. a link) */
  fullPlanLocation?: string
  /**
   * A short remark shown under the headline, e.g. "No changes now." Plain text: it is escaped
   * like the tables (it can name resource addresses from the plan).
   */
  note?: string
  /** A link shown after the note as "(run)" when it is a safe http(s) URL. */
  noteLink?: string
  /**
   * Sensitive strings to blank out of the plan text, errors, note and sections (pass
   * `sensitiveStrings(showJson)`): `terraform show` prints values derived from sensitive ones that
   * the provider does not mark.
   */
  secrets?: readonly string[]
}

export interface ReportSection {
  title: string
  markdown: string
  /** background detail: collapsed with the other folded sections under `foldSections` */
  fold?: boolean
}

export interface RenderOptions {
  /** default 65536, GitHub's limit for a comment body */
  maxLength?: number
  /** start with the hidden stack marker (for PR comments) */
  includeMarker?: boolean
  /** put the sections marked `fold` into one collapsed `<details>` block (for PR comments) */
  foldSections?: boolean
}

export const GITHUB_COMMENT_LIMIT = 65536

// ---------------------------------------------------------------------------------------------

const ERROR_MAX_CHARS = 12_000
const VALUE_MAX_CHARS = 200
const PLAN_LINE_MAX_CHARS = 4_000
const PLAN_TAIL_LINES = 30

const REASONS: Record<string, string> = {
  replace_because_cannot_update: 'cannot be updated in place',
  replace_because_tainted: 'tainted',
  replace_by_request: 'replacement requested (-replace)',
  replace_by_triggers: 'replace_triggered_by',
  delete_because_no_resource_config: 'no longer in the configuration',
  delete_because_wrong_repetition: 'count/for_each changed',
  delete_because_count_index: 'count index out of range',
  delete_because_each_key: 'for_each key no longer present',
  delete_because_no_module: 'module no longer in the configuration',
  delete_because_no_move_target: 'moved target does not exist',
  read_because_config_unknown: 'configuration known only during apply',
  read_because_dependency_pending: 'depends on a pending change',
  read_because_check_nested: 'read by a check block'
}

/** Risky first: replacements that destroy first, other replacements, deletions, ... */
function rank(r: ResourceChange): number {
  switch (r.action) {
    case 'replace':
      return r.replaceOrder === 'destroy-before-create' ? 0 : 1
    case 'delete':
      return 2
    case 'forget':
      return 3
    case 'update':
      return 4
    case 'create':
      return 5
    case 'read':
      return 6
    case 'no-op':
      return 7
  }
}

function actionLabel(r: ResourceChange): string {
  switch (r.action) {
    case 'replace':
      return r.replaceOrder === 'destroy-before-create' ? '**replace**' : 'replace'
    case 'delete':
      return '**destroy**'
    case 'forget':
      return 'forget'
    case 'update':
      return 'update'
    case 'create':
      return 'create'
    case 'read':
      return 'read'
    case 'no-op':
      return r.previousAddress !== undefined ? 'move' : r.importing ? 'import' : 'no change'
  }
}

/**
 * The explanations many rows can share (the replacement order, why Terraform plans the action):
 * said once under the table with the addresses they apply to, not repeated in every row.
 */
function explanations(r: ResourceChange): string[] {
  const parts: string[] = []
  if (r.action === 'replace') {
    parts.push(
      r.replaceOrder === 'destroy-before-create'
        ? 'Destroys the old object before creating the new one (downtime risk)'
        : 'Creates the new object before destroying the old one'
    )
  }
  if (r.action === 'forget') parts.push('Removed from state, not destroyed')
  if (r.forgetsPrevious) parts.push('The old object is removed from state, not destroyed')
  if (r.actionReason) {
    const known = REASONS[r.actionReason]
    parts.push(
      known
        ? `${known.charAt(0).toUpperCase()}${known.slice(1)}`
        : `Reason ${codeSpan(truncate(r.actionReason, 100))}`
    )
  }
  return parts
}

/** What is particular to this row: the attributes that change or force it, a move, an import. */
function details(r: ResourceChange): string {
  const parts: string[] = []
  if (r.replacePaths && r.replacePaths.length > 0) {
    const shown = r.replacePaths.slice(0, 5).map(p => codeSpan(truncate(p, 100), { table: true }))
    const more = r.replacePaths.length > 5 ? ` and ${r.replacePaths.length - 5} more` : ''
    parts.push(`forced by ${shown.join(', ')}${more}`)
  }
  if (r.action === 'update' && r.changedAttributes && r.changedAttributes.length > 0) {
    const names = r.changedAttributes
    const shown = names.slice(0, NAMES_SHOWN).map(n => codeSpan(truncate(n, 100), { table: true }))
    const more = names.length > NAMES_SHOWN ? ` and ${names.length - NAMES_SHOWN} more` : ''
    parts.push(`changes ${shown.join(', ')}${more}`)
  }
  if (r.previousAddress !== undefined) {
    parts.push(`moved from ${codeSpan(truncate(r.previousAddress, 300), { table: true })}`)
  }
  if (r.importing) parts.push('imported')
  if (r.deposed) parts.push(`deposed object ${codeSpan(truncate(r.deposed, 40), { table: true })}`)
  return parts.join('; ')
}

/** Attribute names listed in a row before "and N more". */
const NAMES_SHOWN = 6
/** Addresses listed after a shared explanation before "and N more". */
const GROUP_ADDRESSES = 5
/** Shared explanations listed at most (unknown action reasons could make many). */
const GROUPS_SHOWN = 12

/**
 * The shared explanations, each once with the addresses it applies to (riskiest rows first), e.g.
 * "- Destroys the old object before creating the new one (downtime risk): `a`, `b` and 5 more."
 * `compact` leaves the addresses out (counts only), for a report short of room.
 */
function groupedExplanations(ordered: readonly ResourceChange[], compact: boolean): string {
  const groups = new Map<string, ResourceChange[]>()
  for (const r of ordered) {
    for (const text of explanations(r)) {
      const list = groups.get(text)
      if (list) list.push(r)
      else if (groups.size < GROUPS_SHOWN) groups.set(text, [r])
    }
  }
  const lines: string[] = []
  for (const [text, list] of groups) {
    if (compact) {
      lines.push(`- ${text}: ${plural(list.length, 'resource')}.`)
      continue
    }
    const shown = list
      .slice(0, GROUP_ADDRESSES)
      .map(r => codeSpan(truncate(r.address, 120)))
      .join(', ')
    const more =
      list.length > GROUP_ADDRESSES ? ` and ${formatCount(list.length - GROUP_ADDRESSES)} more` : ''
    lines.push(`- ${text}: ${shown}${more}.`)
  }
  return lines.join('\n')
}

function resourceRow(r: ResourceChange): string {
  return tableRow([actionLabel(r), codeSpan(truncate(r.address, 500), { table: true }), details(r)])
}

function driftRow(r: ResourceChange): string {
  const what =
    r.action === 'delete'
      ? 'deleted'
      : r.action === 'update'
        ? 'changed'
        : r.action === 'replace'
          ? 'replaced'
          : r.action === 'create'
            ? 'created'
            : r.action === 'no-op' && r.previousAddress !== undefined
              ? 'moved'
              : escapeText(r.action)
  const names = r.changedAttributes ?? []
  const attributes = names
    .slice(0, NAMES_SHOWN)
    .map(n => codeSpan(truncate(n, 100), { table: true }))
    .join(', ')
  const more = names.length > NAMES_SHOWN ? ` and ${names.length - NAMES_SHOWN} more` : ''
  return tableRow([what, codeSpan(truncate(r.address, 500), { table: true }), attributes + more])
}

/**
 * One resource's changed attributes in a collapsed block, as a diff: `-` the value before, `+` the
 * value after, by attribute path; the attributes that force a replacement say so.
 */
function resourceDiff(r: ResourceChange, secrets: readonly string[]): string {
  const lines = [r.diff ?? '']
  const total = r.attributesTotal ?? 0
  if (total > MAX_ATTRIBUTES)
    lines.push(`# … and ${plural(total - MAX_ATTRIBUTES, 'more changed attribute')}`)
  const body = secrets.length > 0 ? redact(lines.join('\n'), secrets) : lines.join('\n')
  const label = `${actionWord(r)}, ${plural(total, 'attribute')}`
  const address = htmlCode(truncate(r.address, 300))
  return `<details><summary>${address} (${label})</summary>\n\n${fencedBlock(body, 'diff')}\n\n</details>`
}

function actionWord(r: ResourceChange): string {
  switch (r.action) {
    case 'replace':
      return 'replace'
    case 'create':
      return r.importing ? 'import' : 'create'
    case 'update':
      return r.importing ? 'import and update' : 'update'
    default:
      return r.action
  }
}

function outputValue(o: OutputChange, which: 'before' | 'after'): string {
  if (o.sensitive) {
    const absent =
      (which === 'before' && o.action === 'create') || (which === 'after' && o.action === 'delete')
    return absent ? '' : '(sensitive)'
  }
  const value = o[which]
  if (which === 'after' && o.afterUnknown && value === undefined) return '(known after apply)'
  if (value === undefined) return ''
  return codeSpan(truncate(value, VALUE_MAX_CHARS), { table: true })
}

function outputRow(o: OutputChange): string {
  return tableRow([
    codeSpan(truncate(o.name, 200), { table: true }),
    escapeText(o.action),
    outputValue(o, 'before'),
    outputValue(o, 'after')
  ])
}

/** Head and tail lines of a long text within `max` characters, with a line saying what was cut. */
function shortenLines(text: string, max: number): string {
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

interface RowList {
  header: string
  rows: string[]
  /** prefix sums of row lengths + 1 (newline) */
  sizes: number[]
  noun: string
  take: number
  /** where the cut rows can be seen */
  elsewhere: string
  /** shown after the rows (and after the "and N more" note) */
  footer?: string
}

function rowList(header: string, rows: string[], noun: string, elsewhere: string): RowList {
  const sizes = new Array<number>(rows.length + 1)
  sizes[0] = 0
  for (let i = 0; i < rows.length; i++) sizes[i + 1] = (sizes[i] ?? 0) + (rows[i]?.length ?? 0) + 1
  return { header, rows, sizes, noun, take: rows.length, elsewhere }
}

function listTotal(list: RowList): number {
  return list.sizes[list.rows.length] ?? 0
}

/** Largest k with sizes[k] <= budget. */
function rowsWithin(list: RowList, budget: number): number {
  let lo = 0
  let hi = list.rows.length
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if ((list.sizes[mid] ?? Infinity) <= budget) lo = mid
    else hi = mid - 1
  }
  return lo
}

function cutNote(list: RowList, cut: number): string {
  return `\n\n… and ${formatCount(cut)} more ${list.noun} (${list.elsewhere}).`
}

function renderList(list: RowList): string {
  const shown = list.take === list.rows.length ? list.rows : list.rows.slice(0, list.take)
  let text = list.rows.length > 0 ? `${list.header}\n${shown.join('\n')}` : list.header
  const cut = list.rows.length - list.take
  if (cut > 0) text += cutNote(list, cut)
  if (list.footer) text += `\n\n${list.footer}`
  return text
}

/** Renders the report; see the module comment for the size and escaping rules. */
export function renderReport(
  summary: PlanSummary | undefined,
  ctx: ReportContext,
  opts: RenderOptions = {}
): string {
  const maxLength = opts.maxLength ?? GITHUB_COMMENT_LIMIT
  const secrets = ctx.secrets ?? []
  if (secrets.length > 0) ctx = withSecretsRedacted(ctx, secrets)
  const fullPlanAt = ctx.fullPlanLocation ? neutraliseComments(ctx.fullPlanLocation) : 'the job log'

  // --- mandatory head --------------------------------------------------------------------------
  const head: string[] = []
  if (opts.includeMarker) head.push(stackMarker(ctx.stack))
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
  const headText = head.join('\n')
  const footer = footerText(ctx, summary)

  // --- tables ----------------------------------------------------------------------------------
  const lists: RowList[] = []
  let withDiff: ResourceChange[] = []
  let explanationsFull = ''
  let explained: ResourceChange[] = []
  if (summary && ctx.planError === undefined) {
    if (summary.resources.length > 0) {
      const ordered = summary.resources
        .map((r, i) => ({ r, i, k: rank(r) }))
        .sort((a, b) => a.k - b.k || a.i - b.i)
        .map(o => o.r)
      const table = rowList(
        `#### Resource changes\n\n${tableHeader(['Action', 'Resource', 'Details'])}`,
        ordered.map(resourceRow),
        'resource changes',
        `all of them are in the plan text; the full plan is in ${fullPlanAt}`
      )
      explanationsFull = groupedExplanations(ordered, false)
      explained = ordered
      if (explanationsFull !== '') table.footer = explanationsFull
      lists.push(table)
      withDiff = ordered.filter(r => r.diff !== undefined)
    }
    if (summary.drift.length > 0) {
      const intro = summary.refreshOnly
        ? 'Terraform found these changes made outside Terraform since the last apply. This is a refresh-only plan: applying it records them in the state and changes no real infrastructure.'
        : 'Terraform found these changes made outside Terraform since the last apply that may have affected this plan; the plan above may undo or respond to them.'
      lists.push(
        rowList(
          `#### Changed outside Terraform\n\n${intro}\n\n${tableHeader(['Change', 'Resource', 'Attributes'])}`,
          summary.drift.map(driftRow),
          'drifted resources',
          `see the plan in ${fullPlanAt}`
        )
      )
    }
    if (summary.outputs.length > 0) {
      lists.push(
        rowList(
          `#### Output changes\n\n${tableHeader(['Output', 'Action', 'Before', 'After'])}`,
          summary.outputs.map(outputRow),
          'output changes',
          `see the plan in ${fullPlanAt}`
        )
      )
    }
  }

  const sections = sectionBlocks(ctx.sections ?? [], opts.foldSections === true)

  // --- budget ----------------------------------------------------------------------------------
  const SEP = 2 // "\n\n" between blocks
  const withPlan =
    ctx.planText !== undefined && ctx.planText.trim() !== '' && ctx.planError === undefined
  const planOmitted = `The plan text is not shown here (too long for this report); the full plan is in ${fullPlanAt}.`
  const planReserve = withPlan ? planOmitted.length + SEP : 0
  const listFixed = (): number =>
    lists.reduce(
      (n, l) =>
        n +
        l.header.length +
        SEP +
        cutNote(l, l.rows.length).length +
        (l.footer ? l.footer.length + SEP : 0),
      0
    )
  const fixedOf = (): number =>
    headText.length + SEP + footer.length + 1 + listFixed() + planReserve
  let available = maxLength - fixedOf()
  if (available < 0 && explanationsFull !== '' && lists[0]) {
    // short of room: the shared explanations without their addresses
    lists[0].footer = groupedExplanations(explained, true)
    available = maxLength - fixedOf()
  }
  if (available < 0) return emergency(headText, footer, maxLength)

  const listsTotal = lists.reduce((n, l) => n + listTotal(l), 0)
  const sectionsTotal = sections.reduce((n, s) => n + s.text.length + SEP, 0)
  if (listsTotal + sectionsTotal > available) {
    // sections keep up to a quarter of the room; an oversized one is replaced by a note
    let sectionRoom = Math.floor(available / 4)
    for (const s of sections) {
      if (s.text.length + SEP > sectionRoom) s.text = s.tooLong
      const size = s.text.length + SEP
      sectionRoom = Math.max(0, sectionRoom - size)
      available -= size
    }
    // rows share the rest: smaller lists are kept whole first (water filling)
    const byTotal = [...lists].sort((a, b) => listTotal(a) - listTotal(b))
    let left = Math.max(0, available)
    let pending = byTotal.length
    for (const list of byTotal) {
      const share = Math.floor(left / pending)
      list.take = listTotal(list) <= share ? list.rows.length : rowsWithin(list, share)
      left -= list.sizes[list.take] ?? 0
      pending--
    }
    available = left
  } else {
    available -= listsTotal + sectionsTotal
  }

  // --- the per-resource diffs get what the tables leave: the first to be cut ---------------------
  // Rendered one by one while they fit (a 10,000-change plan renders the few that fit, not all).
  let diffBlock: string | undefined
  if (withDiff.length > 0) {
    const header =
      '#### Changes by resource\n\nThe attributes that change: `-` before, `+` after.\n'
    const more = (n: number): string =>
      `\n\n… and ${plural(n, 'more resource')} with changed attributes (see the plan text; the full plan is in ${fullPlanAt}).`
    let room = available - SEP - header.length - more(withDiff.length).length
    const shown: string[] = []
    for (const r of withDiff) {
      const block = resourceDiff(r, secrets)
      if (block.length + 1 > room) break
      shown.push(block)
      room -= block.length + 1
    }
    if (shown.length > 0) {
      const cut = withDiff.length - shown.length
      diffBlock = `${header}\n${shown.join('\n')}${cut > 0 ? more(cut) : ''}`
      available -= diffBlock.length + SEP
    }
  }

  // --- plan text gets what is left --------------------------------------------------------------
  const assemble = (planBlock: string | undefined): string => {
    const blocks: string[] = [headText]
    lists.forEach((list, i) => {
      blocks.push(renderList(list))
      if (i === 0 && diffBlock !== undefined && summary && summary.resources.length > 0)
        blocks.push(diffBlock)
    })
    for (const s of sections) blocks.push(s.text)
    if (planBlock !== undefined) blocks.push(planBlock)
    blocks.push(footer)
    return blocks.join('\n\n') + '\n'
  }
  const planBlock = withPlan
    ? planDetails(ctx.planText ?? '', available + planReserve - SEP, fullPlanAt, planOmitted)
    : undefined
  let report = assemble(planBlock)
  if (report.length > maxLength && withPlan) report = assemble(planOmitted)
  return report.length <= maxLength ? report : emergency(headText, footer, maxLength)
}

interface SectionBlock {
  text: string
  /** what replaces it when it is too long for the report */
  tooLong: string
}

/**
 * The extra sections as blocks; with `fold`, those marked `fold` go together into one collapsed
 * block where the first of them was.
 */
function sectionBlocks(sections: readonly ReportSection[], fold: boolean): SectionBlock[] {
  const blocks: SectionBlock[] = []
  const body = (s: ReportSection): string =>
    `#### ${escapeText(s.title)}\n\n${neutraliseComments(cleanText(s.markdown)).replace(/\n+$/, '')}`
  const note = (title: string): string =>
    `#### ${escapeText(title)}\n\n(Not shown: too long for this report. See the job log.)`
  const folded = fold ? sections.filter(s => s.fold) : []
  for (const s of sections) {
    if (folded.length > 0 && s.fold) {
      if (s !== folded[0]) continue
      const titles = folded.map(f => escapeHtml(cleanText(f.title).replace(/\n/g, ' ')))
      const summaryLine = `<details><summary>${titles.join(' and ')}</summary>`
      blocks.push({
        text: `${summaryLine}\n\n${folded.map(body).join('\n\n')}\n\n</details>`,
        tooLong: `${summaryLine}\n\n${folded.map(f => note(f.title)).join('\n\n')}\n\n</details>`
      })
      continue
    }
    blocks.push({ text: body(s), tooLong: note(s.title) })
  }
  return blocks
}

function withSecretsRedacted(ctx: ReportContext, secrets: readonly string[]): ReportContext {
  const out: ReportContext = { ...ctx }
  if (ctx.planText !== undefined) out.planText = redact(ctx.planText, secrets)
  if (ctx.planError !== undefined) out.planError = redact(ctx.planError, secrets)
  if (ctx.note !== undefined) out.note = redact(ctx.note, secrets)
  if (ctx.apply?.error !== undefined)
    out.apply = { ...ctx.apply, error: redact(ctx.apply.error, secrets) }
  if (ctx.failure) out.failure = { ...ctx.failure, text: redact(ctx.failure.text, secrets) }
  if (ctx.sections) {
    out.sections = ctx.sections.map(s => ({
      ...s,
      title: redact(s.title, secrets),
      markdown: redact(s.markdown, secrets)
    }))
  }
  return out
}

/** Everything else failed to fit (a tiny maxLength): the head and footer, cut if need be. */
function emergency(headText: string, footer: string, maxLength: number): string {
  const note = '(The report was too long to show here; see the job log.)'
  const text = `${headText}\n\n${note}\n\n${footer}\n`
  if (text.length <= maxLength) return text
  return truncate(headText, maxLength)
}

/** HTML comments could hide the rest of the report: show `<!--` and `-->` literally. */
function neutraliseComments(markdown: string): string {
  return markdown.replace(/<!--/g, '&lt;!--').replace(/-->/g, '--&gt;')
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

function footerText(ctx: ReportContext, summary: PlanSummary | undefined): string {
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

/**
 * The plan text in a collapsed block within `budget` characters: whole lines from the start and
 * the last lines (where Terraform's "Plan:" line and output changes are), with the middle cut.
 */
function planDetails(
  planText: string,
  budget: number,
  fullPlanAt: string,
  omitted: string
): string {
  const lines = cleanText(planText)
    .replace(/^\s*\n/, '')
    .replace(/\n+$/, '')
    .split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    if (line.length > PLAN_LINE_MAX_CHARS) {
      lines[i] =
        `${truncate(line, PLAN_LINE_MAX_CHARS)} [${formatCount(line.length - PLAN_LINE_MAX_CHARS + 1)} characters cut]`
    }
  }
  const total = lines.reduce((n, l) => n + l.length + 1, 0)

  let fence = 3
  for (;;) {
    const fenceText = '`'.repeat(fence)
    const open = `<details><summary>Plan text (${plural(lines.length, 'line')}, shortened)</summary>\n\n${fenceText}text\n`
    const planCutNote = (cut: number): string =>
      `\n\n${plural(cut, 'line was', 'lines were')} cut from the middle of the plan. The full plan is in ${fullPlanAt}.`
    const close = `\n${fenceText}`
    const end = '\n\n</details>'
    const room =
      budget - open.length - close.length - end.length - planCutNote(lines.length).length - 100
    if (room <= 200) return omitted

    let head: string[]
    const tail: string[] = []
    if (total <= room) head = lines
    else {
      let tailSize = 0
      for (let i = lines.length - 1; i > 0 && tail.length < PLAN_TAIL_LINES; i--) {
        const line = lines[i] as string
        if (tailSize + line.length + 1 > room / 4) break
        tail.push(line)
        tailSize += line.length + 1
      }
      tail.reverse()
      head = []
      let headSize = 0
      const headRoom = room - tailSize
      for (let i = 0; i < lines.length - tail.length; i++) {
        const line = lines[i] as string
        if (headSize + line.length + 1 > headRoom) break
        head.push(line)
        headSize += line.length + 1
      }
    }
    const cut = lines.length - head.length - tail.length
    const body =
      cut > 0
        ? [...head, `[… ${plural(cut, 'line')} cut here …]`, ...tail].join('\n')
        : head.join('\n')
    const needed = Math.max(3, longestRun(body, '`') + 1)
    if (needed > fence) {
      fence = needed
      continue
    }
    const summaryLine =
      cut > 0
        ? `<details><summary>Plan text (${formatCount(lines.length - cut)} of ${plural(lines.length, 'line')} shown)</summary>`
        : `<details><summary>Plan text (${plural(lines.length, 'line')})</summary>`
    return `${summaryLine}\n\n${fenceText}text\n${body}${close}${cut > 0 ? planCutNote(cut) : ''}${end}`
  }
}
