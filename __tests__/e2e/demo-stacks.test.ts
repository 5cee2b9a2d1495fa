import { describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import * as path from 'node:path'
import { repoRoot } from '../../standins/run-action'

// `npm run demo -- --stacks` as a person runs it (no NODE_OPTIONS): its exit code and the table of
// which stacks ran for the change to one module.
describe('npm run demo -- --stacks', () => {
  it('applies the three stacks, then runs only the stack that uses the changed module', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' }
    delete env.NODE_OPTIONS
    const tsx = path.join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs')
    const result = spawnSync(process.execPath, [tsx, 'scripts/demo.ts', '--stacks'], {
      cwd: repoRoot,
      env,
      encoding: 'utf8',
      timeout: 600_000
    })
    expect([result.status, result.stderr]).toEqual([0, result.stderr])
    const rows = result.stdout
      .split('\n')
      .filter(l => /^\| `(network|data|app)` \| `\w+` \| (yes|no) \|/.test(l))
      .map(l => l.split('|').map(c => c.trim()))
    expect(rows.map(r => [r[1], r[3]])).toEqual([
      ['`network`', 'no'],
      ['`data`', 'no'],
      ['`app`', 'yes']
    ])
    expect(rows[2]?.[5]).toBe('0 to add, 1 to change, 0 to destroy, 0 to replace')
    expect(result.stdout).toContain('**1 of 3 stacks planned** for this change')
  })
})
