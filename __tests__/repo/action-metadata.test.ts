import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { parse } from 'yaml'
import { repoRoot } from '../../standins/run-action'

interface ActionYaml {
  name?: unknown
  description?: unknown
  branding?: { icon?: unknown; color?: unknown }
  inputs: Record<string, { description?: unknown; required?: unknown; default?: unknown }>
  outputs: Record<string, { description?: unknown }>
  runs: { using?: unknown; main?: unknown }
}

const action = parse(fs.readFileSync(path.join(repoRoot, 'action.yml'), 'utf8')) as ActionYaml
const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8')

// The public contract of SPEC §2: these names must never disappear.
const SPEC_INPUTS = [
  'mode',
  'working-directory',
  'aws-region',
  'project',
  'environment',
  'state-bucket',
  'state-key',
  'lock-table',
  'create-backend',
  'state-kms-key-id',
  'allow-fresh-state',
  'backend-config',
  'lock-timeout',
  'terraform-version',
  'variables',
  'var-files',
  'frontend-directory',
  'build-command',
  'build-directory',
  'build-env',
  'config-file',
  'site-bucket',
  'site-prefix',
  'distribution-id',
  'delete-removed',
  'cache-control',
  'invalidate',
  'wait-for-invalidation',
  'health-check',
  'github-token',
  'comment',
  'require-reviewed-plan',
  'dry-run'
]
const SPEC_OUTPUTS = [
  'mode',
  'changes',
  'to-add',
  'to-change',
  'to-destroy',
  'to-replace',
  'plan-summary',
  'state-bucket',
  'lock-table',
  'backend-created',
  'terraform-outputs',
  'comment-url',
  'uploaded',
  'deleted',
  'unchanged',
  'invalidation-id'
]

/** Rows of the markdown table whose header's first cell is `first`: [name, ...cells]. */
function tableRows(markdown: string, first: string): string[][] {
  const lines = markdown.split('\n')
  const start = lines.findIndex(l => new RegExp(`^\\|\\s*${first}\\s*\\|`).test(l))
  expect(start).toBeGreaterThanOrEqual(0)
  const rows: string[][] = []
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break
    const cells = line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map(c => c.trim())
    rows.push(cells)
  }
  return rows
}
const unticked = (cell: string): string => cell.replace(/^`|`$/g, '')

describe('action.yml', () => {
  it('uses only keys of the metadata schema and runs the committed bundle on node24', () => {
    const allowed = ['name', 'description', 'author', 'branding', 'inputs', 'outputs', 'runs']
    expect(Object.keys(action).filter(k => !allowed.includes(k))).toEqual([])
    expect(typeof action.name).toBe('string')
    expect(typeof action.description).toBe('string')
    expect(action.runs.using).toBe('node24')
    expect(action.runs.main).toBe('dist/index.js')
    expect(fs.existsSync(path.join(repoRoot, String(action.runs.main)))).toBe(true)
    expect(typeof action.branding?.icon).toBe('string')
    expect([
      'white',
      'black',
      'yellow',
      'blue',
      'green',
      'orange',
      'red',
      'purple',
      'gray-dark'
    ]).toContain(action.branding?.color)
  })

  it('describes every input and output, with string defaults and only known input keys', () => {
    for (const [name, spec] of Object.entries(action.inputs)) {
      expect([name, typeof spec.description]).toEqual([name, 'string'])
      expect(String(spec.description).length).toBeGreaterThan(10)
      expect(
        Object.keys(spec).filter(
          k => !['description', 'required', 'default', 'deprecationMessage'].includes(k)
        )
      ).toEqual([])
      if (spec.default !== undefined) expect([name, typeof spec.default]).toEqual([name, 'string'])
    }
    for (const [name, spec] of Object.entries(action.outputs)) {
      expect([name, typeof spec.description]).toEqual([name, 'string'])
    }
  })

  it('keeps every input and output name of the public contract', () => {
    expect(SPEC_INPUTS.filter(n => !(n in action.inputs))).toEqual([])
    expect(SPEC_OUTPUTS.filter(n => !(n in action.outputs))).toEqual([])
  })
})

describe('README', () => {
  it('lists exactly the inputs of action.yml, with their defaults', () => {
    const rows = tableRows(readme, 'input')
    expect(rows.map(r => unticked(r[0] ?? ''))).toEqual(Object.keys(action.inputs))
    for (const row of rows) {
      const name = unticked(row[0] ?? '')
      const expected = String(action.inputs[name]?.default ?? '')
      expect([name, unticked(row[1] ?? '').replace(/\\\|/g, '|')]).toEqual([name, expected])
    }
  })

  it('lists exactly the outputs of action.yml', () => {
    const rows = tableRows(readme, 'output')
    expect(rows.map(r => unticked(r[0] ?? ''))).toEqual(Object.keys(action.outputs))
  })
})

describe('docs/inputs.md', () => {
  const page = fs.readFileSync(path.join(repoRoot, 'docs', 'inputs.md'), 'utf8')
  const described = (text: unknown): string =>
    String(text ?? '')
      .replace(/\s+/g, ' ')
      .trim()
  const cellText = (cell: string): string => cell.replace(/\\([|*])/g, '$1')

  it("has every input with action.yml's default and full description, in its order", () => {
    const rows = tableRows(page, 'input')
    expect(rows.map(r => unticked(r[0] ?? ''))).toEqual(Object.keys(action.inputs))
    for (const row of rows) {
      const name = unticked(row[0] ?? '')
      const spec = action.inputs[name]
      expect([name, unticked(cellText(row[1] ?? '')), cellText(row[2] ?? '')]).toEqual([
        name,
        String(spec?.default ?? ''),
        described(spec?.description)
      ])
    }
  })

  it("has every output with action.yml's description", () => {
    const rows = tableRows(page, 'output')
    expect(rows.map(r => [unticked(r[0] ?? ''), cellText(r[1] ?? '')])).toEqual(
      Object.entries(action.outputs).map(([name, spec]) => [name, described(spec.description)])
    )
  })
})
