import { expect } from '@jest/globals'
import MarkdownIt from 'markdown-it'

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
