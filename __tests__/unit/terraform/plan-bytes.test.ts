/**
 * The plan read piece by piece from its bytes (readPlanBytes, what Terraform.plan() runs) against
 * the whole document parsed at once (readPlanJson, the way it was read before): the same summary,
 * the same secrets masked in the same order, the same fingerprint, the same error for anything
 * that is not a plan. On the real plans of `../shared/real-plans` (read where they are, never
 * copied in), the fixtures, and the bench's synthetic AWS-like plan.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { writePlan } from '../../../bench/lib/plans'
import { planEntries, planFingerprint } from '../../../src/terraform/fingerprint'
import { JsonArrayBytes } from '../../../src/terraform/json-scan'
import {
  readPlanBytes,
  readPlanFile,
  readPlanJson,
  type ReadPlanOptions
} from '../../../src/terraform/plan-json'
import { sensitiveStrings } from '../../../src/terraform/sensitive'

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const CORPUS = path.resolve(repositoryRoot, '..', 'shared', 'real-plans')
const FIXTURES = path.join(repositoryRoot, '__tests__', 'fixtures', 'plans')
const stack = { workingDirectory: 'terraform', stateKey: 'production/terraform.tfstate' }
const KEY = Buffer.alloc(32, 7)

const jsonFiles = (dir: string): string[] =>
  fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter(f => f.endsWith('.json'))
        .sort()
        .map(f => path.join(dir, f))
    : []

type Outcome =
  | { error: string }
  | {
      summary: unknown
      secrets: string[]
      masked: string[]
      fingerprint: unknown
      entries: unknown
      /** made while the plan was read (ReadPlanOptions.fingerprint) */
      given: unknown
    }

/** Everything a run takes from the plan, or the error it fails with. */
function outcome(read: (options: ReadPlanOptions) => ReturnType<typeof readPlanJson>): Outcome {
  const masked: string[] = []
  try {
    const plan = read({
      mask: s => masked.push(s),
      fingerprint: { key: KEY, stack, head: 'abc1234' }
    })
    return {
      summary: plan.summary,
      secrets: plan.secrets,
      masked,
      fingerprint: planFingerprint(plan.effect, stack, KEY, 'abc1234'),
      entries: [...planEntries(plan.effect, KEY)],
      given: plan.fingerprint
    }
  } catch (error) {
    return { error: `${(error as Error).name}: ${(error as Error).message}` }
  }
}

const whole = (text: string, refreshOnly = false): Outcome =>
  outcome(options => readPlanJson(text, { ...options, refreshOnly }))
const inMemory = (text: string, refreshOnly = false): Outcome =>
  outcome(options => readPlanBytes(Buffer.from(text, 'utf8'), { ...options, refreshOnly }))

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-bytes-'))
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }))
let files = 0

/** As Terraform.plan() reads it: from a file, piece by piece (and the same from memory). */
function pieces(text: string, refreshOnly = false): Outcome {
  const file = path.join(scratch, `plan-${files++}.json`)
  fs.writeFileSync(file, text)
  const fd = fs.openSync(file, 'r')
  fs.rmSync(file)
  const fromFile = outcome(options => readPlanFile(fd, { ...options, refreshOnly }))
  expect(inMemory(text, refreshOnly)).toEqual(fromFile)
  return fromFile
}

describe('readPlanBytes: the plan read piece by piece, as the whole document', () => {
  const corpus = jsonFiles(CORPUS)

  it('finds the real plans', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(79)
  })

  it.each([...corpus, ...jsonFiles(FIXTURES)].map(f => [path.basename(f), f]))(
    '%s: same summary, secrets, masks and fingerprint',
    (_name, file) => {
      const text = fs.readFileSync(file, 'utf8')
      const expected = whole(text)
      expect(pieces(text)).toEqual(expected)
      expect(pieces(text, true)).toEqual(whole(text, true))
      if (!('error' in expected)) {
        // and the fingerprint is the one of the whole document, as before
        expect(expected.fingerprint).toEqual(planFingerprint(text, stack, KEY, 'abc1234'))
        expect(expected.given).toEqual(expected.fingerprint)
        expect(expected.secrets).toEqual(sensitiveStrings(text))
      }
    }
  )

  it('the bench’s synthetic AWS-like plan (mixed actions, secrets, 13 modules)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-bytes-'))
    try {
      const { jsonFile } = writePlan(path.join(dir, 'plan'), 400)
      const text = fs.readFileSync(jsonFile, 'utf8')
      const expected = whole(text)
      expect('error' in expected).toBe(false)
      expect(pieces(text)).toEqual(expected)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('strings longer than the file is read in at once, with escaped quotes and backslashes at every offset', () => {
    // The scan reads the file in 1 MiB windows and finds the end of a string natively: a string
    // that runs past a window, and quotes after odd and even runs of backslashes, must end where
    // JSON.parse says they end.
    const plan = JSON.parse(
      fs.readFileSync(path.join(FIXTURES, 'outputs-secret-change.json'), 'utf8')
    ) as { resource_changes: Array<Record<string, unknown>> }
    const first = plan.resource_changes[0] as { change: { after: Record<string, unknown> } }
    const tricky = ['"', '\\', '\\"', '\\\\"', '"]}{[', '\\u0022']
    for (let i = 0; i < 12; i++) {
      const filler = 'x'.repeat(150_000 + i * 7919)
      plan.resource_changes.push({
        ...first,
        address: `terraform_data.blob_${i}`,
        name: `blob_${i}`,
        change: {
          ...first.change,
          after: { ...first.change.after, input: `${filler}${tricky.join(filler.slice(0, i))}` }
        }
      })
    }
    const text = JSON.stringify(plan)
    expect(text.length).toBeGreaterThan(2 * 2 ** 20)
    const expected = whole(text)
    expect(expected).not.toHaveProperty('error')
    expect(pieces(text)).toEqual(expected)
    // and a cut inside the last long string is still found
    expect(pieces(text.slice(0, text.lastIndexOf('xxxxx')))).toEqual(
      whole(text.slice(0, text.lastIndexOf('xxxxx')))
    )
  })

  it('keeps the resource changes as bytes, not as a tree of objects', () => {
    const text = fs.readFileSync(path.join(FIXTURES, 'outputs-secret-change.json'), 'utf8')
    expect(readPlanBytes(Buffer.from(text)).effect.resource_changes).toBeInstanceOf(JsonArrayBytes)
  })
})

describe('readPlanBytes: what is not a plan fails as before', () => {
  const base = fs.readFileSync(path.join(FIXTURES, 'outputs-secret-change.json'), 'utf8')
  const doc = JSON.parse(base) as Record<string, unknown>

  const cases: Array<[string, string]> = [
    ['empty', ''],
    ['not JSON', 'not json'],
    ['an array', '[1, 2]'],
    ['null', 'null'],
    ['a string', '"plan"'],
    ['text after the object', `${base}x`],
    ['a second object', `${base}{}`],
    ['a byte-order mark', `\ufeff${base}`],
    ['state, not a plan', JSON.stringify({ format_version: '1.0', values: {} })],
    ['no format_version', JSON.stringify({ ...doc, format_version: undefined })],
    ['format 0.1', JSON.stringify({ ...doc, format_version: '0.1' })],
    ['resource_changes not an array', JSON.stringify({ ...doc, resource_changes: { a: 1 } })],
    ['a change without address', JSON.stringify({ ...doc, resource_changes: [{ change: {} }] })],
    [
      'trailing comma in an array',
      base.replace(/\]\s*,\s*"output_changes"/, ',], "output_changes"')
    ],
    ['whitespace around', `\n\t ${base} \r\n`],
    [
      'unicode and escapes',
      base.replace('"format_version"', '"x": "é \\u00e9 \\" \\\\", "format_version"')
    ]
  ]
  it.each(cases)('%s', (_name, text) => {
    expect(pieces(text)).toEqual(whole(text))
  })

  it('every cut of a plan, and every byte dropped or doubled, gives the same outcome', () => {
    // Deterministic positions over the whole text: structure, names, values and strings.
    const positions = Array.from({ length: 120 }, (_, i) => Math.floor((i * base.length) / 120))
    for (const at of positions) {
      const variants = [
        base.slice(0, at),
        base.slice(0, at) + base.slice(at + 1),
        base.slice(0, at) + base.charAt(at) + base.slice(at)
      ]
      for (const text of variants) expect([at, pieces(text)]).toEqual([at, whole(text)])
    }
  })

  it('a member given twice counts the last time, as JSON.parse reads it', () => {
    const first = JSON.stringify(doc.resource_changes)
    const twice = base.replace(/^\{/, `{"resource_changes": ${first}, "planned_values": 1,`)
    expect(pieces(twice)).toEqual(whole(twice))
    const inner = base.replace(/^\{/, '{"resource_changes": [{"change": {"after": 1}}], ')
    expect(pieces(inner)).toEqual(whole(inner))
    const proto = base.replace(/^\{/, '{"__proto__": {"values": {}}, ')
    expect(pieces(proto)).toEqual(whole(proto))
  })

  it('a member given twice whose first value is not JSON fails, as JSON.parse does', () => {
    const text = base.replace(/^\{/, '{"planned_values": {"root_module": [1,,2]}, ')
    const got = pieces(text)
    expect(got).toEqual(whole(text))
    expect('error' in got).toBe(true)
  })
})
