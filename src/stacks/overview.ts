/**
 * `mode: overview`: one pull-request comment listing every stack: its plan headline, protected
 * resources, a link to its own comment, and what was not run and why. The per-stack comments are found
 * by their hidden markers (written by the token's user); the overview has a marker of its own.
 *
 * Pure rendering here; the same rules as the stack report: never longer than GitHub's limit (rows
 * are cut with a count, never the header), text from comments and the stacks file escaped.
 */
import { readProtectedLine } from '../terraform/protect'
import { cleanText, codeSpan, escapeText, link, tableHeader, tableRow } from '../report/markdown'
import { GITHUB_COMMENT_LIMIT } from '../report/render'
import type { ExistingComment } from '../github/client'
import type { Selection } from './changes'
import { findsMarker } from '../github/marker'

export const OVERVIEW_MARKER = '<!-- revive-deploy:overview -->'

export function isOverview(body: string): boolean {
  return body === OVERVIEW_MARKER || body.startsWith(`${OVERVIEW_MARKER}\n`)
}

export interface OverviewRow {
  name: string
  directory: string
  /** Plain-text headline of its plan, or what was not run and why. */
  status: string
  /** Protected resources its plan deletes or replaces. */
  protectedCount: number
  commentUrl?: string
}

/** The stack's row: from its comment when it has one, else why it has none. */
export function overviewRow(
  selection: Selection,
  comment: ExistingComment | undefined
): OverviewRow {
  const { stack } = selection
  const row: OverviewRow = {
    name: stack.name,
    directory: stack.directory,
    status: '',
    protectedCount: 0
  }
  if (!selection.included) {
    row.status = `Not run: ${selection.reason}.`
    return row
  }
  if (!comment) {
    row.status = `No plan comment: the stack ran (${selection.reason}) but has not commented; its job may have failed before planning, or comment is on-change or never.`
    return row
  }
  row.status = headlineOf(comment.body)
  row.protectedCount = readProtectedLine(comment.body)?.size ?? 0
  row.commentUrl = comment.url
  return row
}

/** The headline of a stack comment as plain text (the line after its title). */
export function headlineOf(body: string): string {
  const lines = cleanText(body).split('\n')
  const title = lines.findIndex(l => l.startsWith('### '))
  const line = title >= 0 ? lines.slice(title + 1).find(l => l.trim() !== '') : undefined
  if (!line) return 'No headline in its comment.'
  const plain = line.replace(/[*`]/g, '').replace(/\s+/g, ' ').trim()
  return plain.length > 300 ? `${plain.slice(0, 299)}…` : plain
}

/** Who ran, what stacks file; shown under the table. */
export interface OverviewContext {
  file?: string
  sha?: string
  runUrl?: string
}

export function stackIdentityOf(selection: Selection): {
  workingDirectory: string
  stateKey: string
  environment: string
} {
  return {
    workingDirectory: selection.stack.directory,
    stateKey: selection.stack.stateKey,
    environment: selection.stack.environment
  }
}

/** The stack's comment among the pull request's comments by the token's user. */
export function commentOf(
  selection: Selection,
  comments: readonly ExistingComment[]
): ExistingComment | undefined {
  const identity = stackIdentityOf(selection)
  return comments.find(c => findsMarker(c.body, identity))
}

export function renderOverview(
  rows: readonly OverviewRow[],
  ctx: OverviewContext,
  maxLength = GITHUB_COMMENT_LIMIT
): string {
  const ran = rows.filter(r => !r.status.startsWith('Not run:')).length
  const protectedTotal = rows.reduce((n, r) => n + r.protectedCount, 0)
  const head = [
    OVERVIEW_MARKER,
    '### Terraform plans: overview',
    '',
    `**${ran} of ${rows.length} ${rows.length === 1 ? 'stack' : 'stacks'} planned** for this change${ctx.file ? ` (stacks from ${codeSpan(ctx.file)})` : ' (stacks discovered by their backend blocks)'}.`
  ]
  if (protectedTotal > 0) {
    head.push(
      '',
      `**Protected resources:** ${protectedTotal} protected ${protectedTotal === 1 ? 'resource is' : 'resources are'} deleted or replaced by these plans; see the stacks marked below.`
    )
  }
  head.push('', tableHeader(['Stack', 'Directory', 'Plan', 'Protected', 'Comment']))
  const footerParts: string[] = []
  if (ctx.sha) footerParts.push(`commit ${codeSpan(ctx.sha.slice(0, 7))}`)
  if (ctx.runUrl) footerParts.push(link('workflow run', ctx.runUrl))
  const footer = `\n---\n\n<sub>${footerParts.join(' · ') || 'revive-deploy'}</sub>\n`
  const lines = rows.map(r =>
    tableRow([
      codeSpan(r.name, { table: true }),
      codeSpan(r.directory, { table: true }),
      escapeText(r.status),
      r.protectedCount > 0 ? `**${r.protectedCount}**` : '',
      r.commentUrl ? link('plan', r.commentUrl) : ''
    ])
  )
  let text = head.join('\n')
  let shown = 0
  for (const line of lines) {
    const more = `\n\n… and ${lines.length - shown} more stacks (see the job summary).`
    if (text.length + line.length + 1 + more.length + footer.length > maxLength) {
      text += more
      break
    }
    text += `\n${line}`
    shown++
  }
  return `${text}\n${footer}`
}
