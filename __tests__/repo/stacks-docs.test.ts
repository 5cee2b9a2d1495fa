import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { parse } from 'yaml'
import { INPUT_NAMES } from '../../src/input-reader'
import { loadStacks } from '../../src/stacks/stacks-file'
import { repoRoot } from '../../standins/run-action'
import { actionlint } from '../helpers/actionlint'

// docs/stacks.md's promises: the example workflow lints and uses only the action's inputs, and the
// example stacks file is one the action reads.
const read = (rel: string): string => fs.readFileSync(path.join(repoRoot, rel), 'utf8')
const doc = read('docs/stacks.md')
const yamlBlocks = [...doc.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map(m => m[1] ?? '')

interface Workflow {
  jobs: Record<string, { steps: Array<{ uses?: string; with?: Record<string, unknown> }> }>
}

describe('docs/stacks.md', () => {
  it('shows docs/example-stacks.yml character for character, and it passes actionlint', () => {
    expect(yamlBlocks).toContain(read('docs/example-stacks.yml'))
    expect(actionlint('docs/example-stacks.yml')).toEqual([])
  })

  it("sets only the action's inputs, and runs stacks, the matrix, the overview and every wave", () => {
    const workflow = parse(read('docs/example-stacks.yml')) as Workflow
    const ours = Object.values(workflow.jobs).flatMap(j =>
      j.steps.filter(s => s.uses?.startsWith('org/revive-deploy@'))
    )
    const inputs = INPUT_NAMES
    for (const step of ours)
      for (const key of Object.keys(step.with ?? {})) expect(inputs).toContain(key)
    const modes = ours.map(s => s.with?.mode ?? 'auto')
    expect(modes).toEqual(['stacks', 'auto', 'overview', 'apply', 'apply', 'apply'])
  })

  it('its stacks file example is read as documented', () => {
    const example = yamlBlocks.find(b => b.includes('stacks:\n  - name: network')) ?? ''
    const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'revive-docs-'))
    for (const dir of ['infra/network', 'infra/data', 'infra/app'])
      fs.mkdirSync(path.join(workspace, dir), { recursive: true })
    fs.writeFileSync(path.join(workspace, 'revive-deploy.yml'), example)
    const set = loadStacks({
      workspace,
      file: 'revive-deploy.yml',
      inputNames: INPUT_NAMES,
      explicit: () => undefined
    })
    expect(set.stacks.map(s => [s.name, s.dependsOn, s.inputs['lock-timeout']])).toEqual([
      ['network', [], '10m'],
      ['data', ['network'], '10m'],
      ['app', ['network', 'data'], '10m']
    ])
  })
})
