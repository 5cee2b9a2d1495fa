import { expect } from '@jest/globals'
import MarkdownIt from 'markdown-it'
import type { StackIdentity } from '../../src/github/marker'
import type { ReportContext } from '../../src/report/render'

// What the tests check in the markdown the action writes (PR comments, job summaries).

/** Markdown without its fenced code blocks and code spans (where GitHub shows text literally). */
export function stripCode(markdown: string): string {
  const withoutFences = markdown.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '')
  return withoutFences.replace(/(`+)(?!`)[\s\S]*?[^`]\1(?!`)/g, '')
}

const ENTITIES: Record<string, string> = {
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&#39;': "'",
  '&amp;': '&'
}
const decode = (html: string): string =>
  html.replace(/&(lt|gt|quot|#39|amp);/g, e => ENTITIES[e] ?? e)

/** The text a reader sees: backslash escapes, zero-width spaces and entities resolved. */
export function shownText(markdown: string): string {
  return decode(markdown.replace(/\\([!-/:-@[-`{-~])/g, '$1').replace(/\u200b/g, ''))
}

/** The contents of the fenced code blocks, in order. */
export function codeBlocks(md: string): string[] {
  const blocks: string[] = []
  const lines = md.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})\w*$/.exec(lines[i] ?? '')
    if (!open) continue
    const n = (open[1] ?? '').length
    const body: string[] = []
    let j = i + 1
    while (j < lines.length && !new RegExp(`^\`{${n},}\\s*$`).test(lines[j] ?? ''))
      body.push(lines[j++] ?? '')
    blocks.push(body.join('\n'))
    i = j
  }
  return blocks
}

// A GFM-like renderer (tables, raw HTML, autolinks), as GitHub renders comments and summaries.
const renderer = new MarkdownIt({ html: true, linkify: true })

/**
 * Renders `markdown` and asserts that nothing outside code is live markup from outside the action:
 * no mention, issue reference, image, script, HTML comment other than the action's hidden markers,
 * link other than `allowedLinks` (prefixes of the links the action writes itself), and no
 * `<details>` closed that was not opened.
 */
export function expectInert(markdown: string, allowedLinks: readonly string[] = []): void {
  const html = renderer.render(markdown.replace(/^<!-- revive-deploy:[^\n]* -->$/gm, ''))
  const outside = html.replace(/<pre\b[\s\S]*?<\/pre>/g, '').replace(/<code\b[\s\S]*?<\/code>/g, '')
  const tags = [...outside.matchAll(/<\/?([a-zA-Z][\w-]*)[^>]*>/g)]
  const tagNames = new Set(tags.map(t => (t[1] ?? '').toLowerCase()))
  for (const name of ['img', 'script', 'iframe', 'style', 'svg'])
    expect([name, tagNames.has(name)]).toEqual([name, false])
  expect(outside).not.toContain('<!--')
  const hrefs = [...outside.matchAll(/<a\s[^>]*href="([^"]*)"/g)].map(m => decode(m[1] ?? ''))
  for (const href of hrefs)
    expect([href, allowedLinks.some(a => href.startsWith(a))]).toEqual([href, true])
  const text = decode(outside.replace(/<[^>]*>/g, ' '))
  expect(text).not.toMatch(/(^|[^\w`])@[A-Za-z0-9]/)
  expect(text).not.toMatch(/(^|[^\w&])#\d/)
  const opened = tags.filter(t => /^<details\b/i.test(t[0])).length
  const closed = tags.filter(t => /^<\/details>/i.test(t[0])).length
  expect(['details opened/closed', opened]).toEqual(['details opened/closed', closed])
}

/** The stack the report tests render for. */
export const reportStack: StackIdentity = {
  workingDirectory: 'terraform',
  stateKey: 'production/terraform.tfstate',
  environment: 'production'
}

/** A report context as a pull-request run gives it, plus `extra`. */
export function prContext(extra: Partial<ReportContext> = {}): ReportContext {
  return {
    stack: reportStack,
    mode: 'plan',
    eventName: 'pull_request',
    repository: 'acme/shop',
    sha: '0123456789abcdef0123456789abcdef01234567',
    actor: 'octocat',
    runUrl: 'https://github.com/acme/shop/actions/runs/4242',
    timestamp: new Date('2025-03-04T05:06:07Z'),
    ...extra
  }
}
