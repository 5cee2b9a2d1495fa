import { describe, expect, it, beforeAll, afterAll } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { DEFAULTS } from '../../src/input-reader'
import { readConfig, type InputReader } from '../../src/inputs'
import { actionInputDefaults } from '../../src/stacks/action-inputs'

// action.yml is where defaults live; the code's table (src/input-reader.ts) must say the same.
const actionDefaults = Object.fromEntries(actionInputDefaults())

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
