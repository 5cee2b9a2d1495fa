/**
 * Escaping and layout helpers for GitHub-flavoured markdown (PR comments and job summaries).
 *
 * Rule of thumb for anything that comes from Terraform, the repository or the user: put it in a
 * code span (`codeSpan`), a fenced block (`fencedBlock`) or escape it as text (`escapeText`). Inside
 * those it cannot break a table, open an HTML comment or tag, close a `<details>` or a code block,
 * mention someone or make a link.
 */

/** Terminal colour codes, C0/C1 controls (except tab and newline) and bidi overrides. */

const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]/g
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/** Normalises line endings to \n and removes terminal escapes and invisible control characters. */
export function cleanText(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(ANSI, '').replace(CONTROL, '')
}

/** Length of the longest run of `char` in `text`. */
export function longestRun(text: string, char: string): number {
  let longest = 0
  let current = 0
  for (let i = 0; i < text.length; i++) {
    if (text[i] === char) {
      current++
      if (current > longest) longest = current
    } else current = 0
  }
  return longest
}

/**
 * Inline code. Newlines become spaces, the fence is longer than any backtick run inside, and with
 * `table: true` every `|` is escaped so it stays inside its cell (GFM drops the backslash again
 * inside code spans in tables). A backslash right before a pipe would make that escape ambiguous
 * (cmark-gfm and other GFM parsers split `\\|` differently), so such text becomes an HTML
 * `<code>` element with its punctuation as numeric character references instead.
 */
export function codeSpan(text: string, opts: { table?: boolean } = {}): string {
  const content = cleanText(text).replace(/\n/g, ' ')
  if (content === '') return opts.table ? '' : '` `'
  if (!opts.table) return span(content)
  if (content.includes('\\|'))
    return `<code>${content.replace(PUNCTUATION, c => `&#${c.charCodeAt(0)};`)}</code>`
  return span(content.replace(/\|/g, '\\|'))
}

/** ASCII punctuation (markdown syntax, HTML, autolink and mention triggers). */
const PUNCTUATION = /[!-/:-@[-`{-~]/g

function span(content: string): string {
  const fence = '`'.repeat(longestRun(content, '`') + 1)
  const pad = content.startsWith('`') || content.endsWith('`') || /^ .* $/.test(content) ? ' ' : ''
  return `${fence}${pad}${content}${pad}${fence}`
}

const MARKDOWN_PUNCTUATION = /[\\`*_{}[\]()#+\-.!|~:@]/g
const HTML_SPECIAL = /[&<>"']/g
const HTML_ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;'
}

/** HTML-escapes &, <, >, " and '. */
export function escapeHtml(text: string): string {
  return text.replace(HTML_SPECIAL, c => HTML_ENTITIES[c] ?? c)
}

/**
 * Plain text for a markdown paragraph or table cell: one line, HTML special characters as
 * entities, markdown punctuation backslash-escaped (so no emphasis, links, tables or headings).
 * GitHub links a bare @name or #123 in rendered text whatever the escaping, so `@` and `#` are
 * followed by a zero-width space: no mention, no reference, and the text reads the same.
 */
export function escapeText(text: string): string {
  return escapeHtml(
    cleanText(text)
      .replace(/\s*\n\s*/g, ' ')
      .replace(MARKDOWN_PUNCTUATION, '\\$&')
      .replace(/[@#]/g, '$&\u200b')
  )
}

/**
 * A fenced code block whose fence is longer than any backtick run in the text, so no line inside
 * can close it (`</details>`, `<!--` and the like are inert inside a code block).
 */
export function fencedBlock(text: string, info = 'text'): string {
  const body = cleanText(text).replace(/\n+$/, '')
  const fence = '`'.repeat(Math.max(3, longestRun(body, '`') + 1))
  return `${fence}${info}\n${body}\n${fence}`
}

/** A table row from cells that are already safe for a table (code spans with `table: true`, ...). */
export function tableRow(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`
}

/** Header and delimiter lines of a table. */
export function tableHeader(headers: readonly string[], align?: readonly ('l' | 'r')[]): string {
  const delimiter = headers.map((_, i) => (align?.[i] === 'r' ? '---:' : '---'))
  return `${tableRow(headers)}\n${tableRow(delimiter)}`
}

/** An http(s) URL safe to put in `[text](url)`, or undefined. */
export function safeUrl(url: string | undefined): string | undefined {
  if (!url) return undefined
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return undefined
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined
  return parsed.href.replace(/[()<>\s|`]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

/** `[text](url)` when the URL is safe, else the text alone; `text` must already be markdown. */
export function link(text: string, url: string | undefined): string {
  const href = safeUrl(url)
  return href ? `[${text}](${href})` : text
}

/** The text cut to `max` characters (whole UTF-16 pairs) with an ellipsis when it was longer. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text
  let end = Math.max(0, max - 1)
  const code = text.charCodeAt(end - 1)
  if (code >= 0xd800 && code <= 0xdbff) end--
  return `${text.slice(0, end)}…`
}

/** 1234567 -> "1,234,567" */
export function formatCount(n: number): string {
  // Integers without Intl: its first use costs a process about 50-120 ms of CPU (ICU's set-up).
  if (Number.isSafeInteger(n)) return String(n).replace(/\B(?=(\d{3})+$)/g, ',')
  return n.toLocaleString('en-US')
}

/** "s" when n is not 1. */
export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${formatCount(n)} ${n === 1 ? word : pluralWord}`
}

/** 42 -> "42 s", 125 -> "2 min 5 s", 3725 -> "1 h 2 min" */
export function formatDuration(seconds: number): string {
  if (seconds < 9.95) return `${Math.max(0, seconds).toFixed(1)} s`
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

/** 2024-05-01T12:03:04.000Z -> "2024-05-01 12:03:04 UTC" */
export function formatTimestamp(date: Date): string {
  if (Number.isNaN(date.getTime())) return 'unknown time'
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`
}
