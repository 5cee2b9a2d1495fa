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
import type { StackIdentity } from '../github/marker'
import type { PlanSummary } from '../terraform/plan'
import type { ProtectedChange } from '../terraform/protect'
import { redact } from '../terraform/sensitive'
import { truncate } from './markdown'
import { footerText, renderHead } from './head'
import { planDetails } from './plan-text'
import { diffBlockWithin } from './resource-diff'
import { fitRows, listsFixed, renderList, SEP } from './row-budget'
import { neutraliseComments, sectionBlocks } from './sections'
import { groupedExplanations, planTables } from './tables'

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
  const headText = renderHead(summary, ctx, opts.includeMarker === true, maxLength)
  const footer = footerText(ctx, summary)
  const tables =
    summary && ctx.planError === undefined ? planTables(summary, fullPlanAt) : undefined
  const lists = tables?.lists ?? []
  const sections = sectionBlocks(ctx.sections ?? [], opts.foldSections === true)

  // --- budget: the head, footer and table headers always stay -----------------------------------
  const withPlan =
    ctx.planText !== undefined && ctx.planText.trim() !== '' && ctx.planError === undefined
  const planOmitted = `The plan text is not shown here (too long for this report); the full plan is in ${fullPlanAt}.`
  const planReserve = withPlan ? planOmitted.length + SEP : 0
  const fixedOf = (): number =>
    headText.length + SEP + footer.length + 1 + listsFixed(lists) + planReserve
  let available = maxLength - fixedOf()
  if (available < 0 && tables && tables.explanationsFull !== '' && lists[0]) {
    // short of room: the shared explanations without their addresses
    lists[0].footer = groupedExplanations(tables.explained, true)
    available = maxLength - fixedOf()
  }
  if (available < 0) return emergency(headText, footer, maxLength)
  available = fitRows(lists, sections, available)

  // --- the per-resource diffs get what the tables leave: the first to be cut ---------------------
  const diffBlock = diffBlockWithin(tables?.withDiff ?? [], available, secrets, fullPlanAt)
  if (diffBlock !== undefined) available -= diffBlock.length + SEP

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
