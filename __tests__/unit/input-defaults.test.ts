import { describe, expect, it, beforeAll, afterAll } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { parse } from 'yaml'
import { actionDefault, DEFAULTS, INPUT_NAMES } from '../../src/input-reader'
import { readConfig, type InputReader } from '../../src/inputs'
import { repoRoot } from '../../standins/run-action'

// action.yml is where defaults live; the code's tables (src/input-reader.ts) must say the same.
const actionYml = parse(fs.readFileSync(path.join(repoRoot, 'action.yml'), 'utf8')) as {
  inputs: Record<string, { default?: unknown } | null>
}
const actionDefaults: Record<string, string> = Object.fromEntries(
  Object.entries(actionYml.inputs).map(([name, spec]) => [name, String(spec?.default ?? '')])
)

let workspace: string
beforeAll(() => {
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'input-defaults-'))
  fs.mkdirSync(path.join(workspace, 'terraform'))
})
afterAll(() => fs.rmSync(workspace, { recursive: true, force: true }))

const env = (): Record<string, string> => ({
  GITHUB_WORKSPACE: workspace,
  GITHUB_REPOSITORY: 'acme/shop',
  GITHUB_EVENT_NAME: 'workflow_dispatch',
  AWS_REGION: 'eu-west-1'
})
const reader =
  (inputs: Record<string, string>): InputReader =>
  name =>
    (inputs[name] ?? '').trim()

describe('input defaults', () => {
  it("the code's defaults table is action.yml's non-empty defaults, one for one", () => {
    const expected = Object.fromEntries(
      Object.entries(actionDefaults).filter(
        // github-token's default is an expression the runner evaluates; the code has no stand-in.
        ([name, value]) => value !== '' && name !== 'github-token'
      )
    )
    expect({ ...DEFAULTS }).toEqual(expected)
  })

  it("the code's list of input names is action.yml's inputs, in any order", () => {
    expect([...INPUT_NAMES].sort()).toEqual(Object.keys(actionDefaults).sort())
    expect(INPUT_NAMES.size).toBe(Object.keys(actionDefaults).length)
  })

  it('actionDefault gives every non-expression default of action.yml, empty for the others', () => {
    for (const [name, value] of Object.entries(actionDefaults))
      expect([name, actionDefault(name)]).toEqual([name, value.includes('${{') ? '' : value])
    expect(actionDefault('toString')).toBe('')
  })

  it('a run with no inputs is configured exactly as one given every action.yml default', () => {
    const given = Object.fromEntries(
      Object.entries(actionDefaults).filter(
        // allow-destroy-label: empty means "no label"; the runner passes the default when it is omitted.
        ([name, value]) => !value.includes('${{') && name !== 'allow-destroy-label'
      )
    )
    const { context: _a, ...withNone } = readConfig(reader({}), env())
    const { context: _b, ...withDefaults } = readConfig(reader(given), env())
    expect(withNone).toEqual(withDefaults)
    expect(withNone.lockTimeout).toBe(actionDefaults['lock-timeout'])
    expect(withNone.terraformDownloadUrl).toBe(actionDefaults['terraform-download-url'])
  })
})
