import { describe, expect, it } from '@jest/globals'
import { containsSecret, redact } from '../../../src/terraform/sensitive'

// containsSecret replaced `secrets.some(s => text.includes(s))` in the plan summary (one compiled
// regex instead of one scan per secret); it must answer exactly as that did.
const slow = (text: string, secrets: readonly string[]): boolean =>
  secrets.some(secret => text.includes(secret))

describe('containsSecret', () => {
  const secrets = [
    'hunter2-password',
    'a.b*c+d?e^f$g{h}i(j)k|l[m]n\\o',
    'naïve-ünïcode-🔑',
    'line\nbreak',
    'short'
  ]
  const texts = [
    '"plain value"',
    '"prefix hunter2-password suffix"',
    '"hunter2-passwor"',
    '"a.b*c+d?e^f$g{h}i(j)k|l[m]n\\\\o"',
    'a.b*c+d?e^f$g{h}i(j)k|l[m]n\\o',
    'aXbXcXdXeXfXgXhXiXjXkXlXmXnXo',
    '{"k":"naïve-ünïcode-🔑"}',
    'naïve-ünïcode-',
    'line\nbreak',
    'line break',
    'shor',
    'shortly',
    ''
  ]

  it('answers as a scan per secret does, regex characters, Unicode and newlines included', () => {
    for (const text of texts)
      expect([text, containsSecret(text, secrets)]).toEqual([text, slow(text, secrets)])
    expect(texts.filter(t => containsSecret(t, secrets))).toHaveLength(5)
  })

  it('finds nothing without secrets, and everything with an empty one (as includes does)', () => {
    expect(containsSecret('anything', [])).toBe(false)
    expect(containsSecret('anything', ['', 'x'])).toBe(true)
  })

  it('is not fooled by a cached pattern of another list', () => {
    expect(containsSecret('value-one', ['value-one'])).toBe(true)
    expect(containsSecret('value-one', ['value-two'])).toBe(false)
  })

  it('leaves redact as it was: every occurrence replaced, longest first', () => {
    expect(redact('x hunter2-password hunter2 y', ['hunter2', 'hunter2-password'])).toBe(
      'x (sensitive value) (sensitive value) y'
    )
  })

  it('copes with secrets too large for one regex (a certificate bundle of megabytes)', () => {
    const huge = `-----BEGIN CERTIFICATE-----${'A'.repeat(600_000)}-----END-----`
    const secrets = [huge, 'hunter2-password']
    expect(containsSecret(`before ${huge} after`, secrets)).toBe(true)
    expect(containsSecret('hunter2-password', secrets)).toBe(true)
    expect(containsSecret(huge.slice(1), secrets)).toBe(false)
    expect(redact(`a ${huge} b hunter2-password c`, secrets)).toBe(
      'a (sensitive value) b (sensitive value) c'
    )
  })
})
