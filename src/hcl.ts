/**
 * A small HCL 2 tokenizer for the root-module scanner (root-module.ts): comments, quoted strings with
 * template sequences, heredocs and nesting are consumed whole, so braces or keywords inside them are
 * never taken for structure. Also the text of a token and the literal value of an attribute.
 */
import type { LiteralValue } from './root-module'

export type Token =
  | { kind: 'ident'; text: string; line: number }
  | { kind: 'string'; value: string; literal: boolean; line: number }
  | { kind: 'number'; text: string; line: number }
  | { kind: 'punct'; text: string; line: number }
  | { kind: 'newline'; line: number }

export function tokenText(t: Token): string {
  switch (t.kind) {
    case 'ident':
    case 'number':
    case 'punct':
      return t.text
    case 'string':
      return JSON.stringify(t.value)
    default:
      return ''
  }
}

export function literalOf(value: Token[]): LiteralValue | undefined {
  if (value.length === 1) {
    const t = value[0] as Token
    if (t.kind === 'string' && t.literal) return t.value
    if (t.kind === 'ident' && (t.text === 'true' || t.text === 'false')) return t.text === 'true'
    if (t.kind === 'number') return Number(t.text)
  }
  if (value.length === 2) {
    const [sign, n] = value
    if (sign?.kind === 'punct' && sign.text === '-' && n?.kind === 'number') return -Number(n.text)
  }
  return undefined
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' }

/** HCL tokens, with comments, strings (templates included) and heredocs consumed whole. */
// eslint-disable-next-line max-lines-per-function -- one loop over the characters with a case per token kind: split up, each case would need the cursor and line counter passed in and out
export function tokenize(text: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  let line = 1
  const n = text.length
  while (i < n) {
    const c = text[i] as string
    if (c === '\n') {
      tokens.push({ kind: 'newline', line })
      line++
      i++
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\uFEFF') {
      i++
    } else if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < n && text[i] !== '\n') i++
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2)
      const stop = end < 0 ? n : end + 2
      for (let j = i; j < stop; j++) if (text[j] === '\n') line++
      i = stop
    } else if (c === '"') {
      const start = line
      const s = readQuoted(i)
      tokens.push({ kind: 'string', value: s.value, literal: s.literal, line: start })
      i = s.end
    } else if (c === '<' && text[i + 1] === '<' && /[-A-Za-z_]/.test(text[i + 2] ?? '')) {
      // Heredoc: <<EOF or <<-EOF up to a line holding only the marker.
      const m = /^<<-?([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n/.exec(text.slice(i, i + 200))
      if (!m) {
        tokens.push({ kind: 'punct', text: '<', line })
        i++
        continue
      }
      const marker = m[1] as string
      const start = line
      let j = i + m[0].length
      line++
      const contentStart = j
      let contentEnd = n
      while (j < n) {
        const eol = text.indexOf('\n', j)
        const lineText = text.slice(j, eol < 0 ? n : eol)
        if (lineText.trim() === marker) {
          contentEnd = j
          j = eol < 0 ? n : eol
          break
        }
        if (eol < 0) {
          j = n
          break
        }
        j = eol + 1
        line++
      }
      const value = text.slice(contentStart, contentEnd)
      tokens.push({ kind: 'string', value, literal: !/[$%]\{/.test(value), line: start })
      i = j
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1
      while (j < n && /[A-Za-z0-9_-]/.test(text[j] as string)) j++
      tokens.push({ kind: 'ident', text: text.slice(i, j), line })
      i = j
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 64))
      const len = m ? m[0].length : 1
      tokens.push({ kind: 'number', text: text.slice(i, i + len), line })
      i += len
    } else {
      tokens.push({ kind: 'punct', text: c, line })
      i++
    }
  }
  return tokens

  /** A quoted string from `start` (the opening quote); template sequences may nest strings. */
  function readQuoted(start: number): { value: string; literal: boolean; end: number } {
    let j = start + 1
    let value = ''
    let literal = true
    while (j < n) {
      const c = text[j] as string
      if (c === '"') return { value, literal, end: j + 1 }
      if (c === '\n') {
        // Unterminated: Terraform reports it; stop at the line end.
        return { value, literal: false, end: j }
      }
      if (c === '\\') {
        const e = text[j + 1] ?? ''
        if (e in ESCAPES) {
          value += ESCAPES[e]
          j += 2
        } else if (e === 'u' || e === 'U') {
          const len = e === 'u' ? 4 : 8
          const hex = text.slice(j + 2, j + 2 + len)
          const code = Number.parseInt(hex, 16)
          value += Number.isFinite(code) ? String.fromCodePoint(code) : ''
          j += 2 + len
        } else {
          value += e
          j += 2
        }
        continue
      }
      if ((c === '$' || c === '%') && text[j + 1] === c && text[j + 2] === '{') {
        value += `${c}{` // $${ is a literal ${
        j += 3
        continue
      }
      if ((c === '$' || c === '%') && text[j + 1] === '{') {
        literal = false
        j = skipTemplate(j + 2)
        continue
      }
      value += c
      j++
    }
    return { value, literal: false, end: j }
  }

  /** From just after `${`, the index after its matching `}` (nested strings and braces skipped). */
  function skipTemplate(from: number): number {
    let depth = 1
    let j = from
    while (j < n && depth > 0) {
      const c = text[j] as string
      if (c === '"') {
        j = readQuoted(j).end
        continue
      }
      if (c === '\n') line++
      if (c === '{') depth++
      else if (c === '}') depth--
      j++
    }
    return j
  }
}
