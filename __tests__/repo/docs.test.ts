import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { parse } from 'yaml'
import { repoRoot } from '../../standins/run-action'
import { actionlint } from '../helpers/actionlint'

// The README's promises that can drift from the code: the copyable workflow, the IAM table and its
// JSON twin, the commands it tells people to run.

const read = (rel: string): string => fs.readFileSync(path.join(repoRoot, rel), 'utf8')
const readme = read('README.md')
const permissions = read('docs/permissions.md')
const exampleFile = 'docs/example-deploy.yml'
const actionInputs = Object.keys(
  (parse(read('action.yml')) as { inputs: Record<string, unknown> }).inputs
)

interface Step {
  uses?: string
  with?: Record<string, unknown>
}
interface Workflow {
  permissions?: Record<string, string>
  concurrency?: unknown
  on: Record<string, unknown>
  jobs: Record<string, { steps: Step[] }>
}

/** The body of the markdown section starting with `heading` (up to the next heading of its level). */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n${heading}\n`)
  expect(start).toBeGreaterThanOrEqual(0)
  const level = /^#+/.exec(heading)?.[0] ?? '##'
  const rest = markdown.slice(start + heading.length + 2)
  const next = rest.search(new RegExp(`\\n${level} `))
  return next < 0 ? rest : rest.slice(0, next)
}

function fenced(markdown: string, lang: string): string[] {
  const blocks: string[] = []
  const re = new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'gm')
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) blocks.push(m[1] ?? '')
  return blocks
}

describe('the example deploy workflow', () => {
  const text = read(exampleFile)
  const workflow = parse(text) as Workflow

  it('is the quick start in the README, character for character', () => {
    const quickStart = section(readme, '## Quick start')
    expect(fenced(quickStart, 'yaml')).toEqual([text])
  })

  it('passes actionlint', () => {
    expect(actionlint(exampleFile)).toEqual([])
  })

  it('covers PR plan, push deploy and a dispatch with a mode choice, OIDC, permissions, concurrency', () => {
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'push', 'workflow_dispatch'])
    const dispatch = workflow.on.workflow_dispatch as {
      inputs: { mode: { type: string; options: string[] } }
    }
    expect(dispatch.inputs.mode.type).toBe('choice')
    expect([...dispatch.inputs.mode.options].sort()).toEqual([
      'apply',
      'deploy',
      'frontend',
      'plan'
    ])
    expect(workflow.permissions).toEqual({
      contents: 'read',
      'pull-requests': 'write',
      'id-token': 'write'
    })
    expect(workflow.concurrency).toBeDefined()
    const steps = Object.values(workflow.jobs).flatMap(j => j.steps)
    const uses = steps.map(s => s.uses ?? '')
    expect(uses.some(u => u.startsWith('aws-actions/configure-aws-credentials@'))).toBe(true)
    expect(uses.indexOf('org/revive-deploy@v1')).toBeGreaterThan(
      uses.findIndex(u => u.startsWith('aws-actions/configure-aws-credentials@'))
    )
  })

  it('passes only inputs that action.yml has (here and in the self-test)', () => {
    const selfTest = parse(read('.github/workflows/self-test.yml')) as Workflow
    const ours = [workflow, selfTest]
      .flatMap(w => Object.values(w.jobs).flatMap(j => j.steps))
      .filter(s => s.uses === 'org/revive-deploy@v1' || s.uses === './')
    expect(ours.length).toBeGreaterThan(1)
    for (const step of ours) {
      expect(Object.keys(step.with ?? {}).filter(k => !actionInputs.includes(k))).toEqual([])
    }
  })
})

describe('the unlock workflow in docs/locking.md', () => {
  it('passes actionlint and passes only inputs that action.yml has, with mode unlock', () => {
    const [block] = fenced(read('docs/locking.md'), 'yaml')
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'unlock-doc-')), 'unlock.yml')
    fs.writeFileSync(file, block ?? '')
    expect(actionlint(file)).toEqual([])
    const workflow = parse(block ?? '') as Workflow
    const step = Object.values(workflow.jobs)
      .flatMap(j => j.steps)
      .find(s => s.uses === 'org/revive-deploy@v1')
    expect(step?.with?.mode).toBe('unlock')
    expect(Object.keys(step?.with ?? {}).filter(k => !actionInputs.includes(k))).toEqual([])
    expect(Object.keys(workflow.on)).toEqual(['workflow_dispatch'])
  })
})

describe('IAM permissions', () => {
  const json = JSON.parse(read('docs/iam-permissions.json')) as Record<string, string[]>
  const modes = ['plan', 'apply', 'deploy', 'frontend']

  it('docs/iam-permissions.json has one sorted, duplicate-free list per mode', () => {
    expect(Object.keys(json)).toEqual([...modes, 'plan-read-only'])
    for (const mode of [...modes, 'plan-read-only']) {
      const list = json[mode] ?? []
      expect(list.length).toBeGreaterThan(0)
      expect(list).toEqual([...new Set(list)].sort())
      for (const action of list) expect(action).toMatch(/^(s3|dynamodb|sts|cloudfront):[A-Za-z]+$/)
    }
    // Each mode needs at least what a narrower one does on the state backend.
    for (const action of json['plan-read-only'] ?? []) expect(json.plan).toContain(action)
    for (const action of json.plan ?? []) expect(json.apply).toContain(action)
    for (const action of json.apply ?? []) expect(json.deploy).toContain(action)
  })

  it('the permissions table marks exactly the actions of the JSON, per mode', () => {
    const text = section(permissions, '## IAM permissions')
    const lines = text.split('\n').filter(l => /^\| `[a-z0-9]+:[A-Za-z]+` /.test(l))
    const fromTable: Record<string, string[]> = Object.fromEntries(modes.map(m => [m, []]))
    for (const line of lines) {
      const cells = line
        .slice(1, -1)
        .split('|')
        .map(c => c.trim())
      const action = (cells[0] ?? '').replace(/`/g, '')
      modes.forEach((mode, i) => {
        if ((cells[i + 1] ?? '') !== '') fromTable[mode]?.push(action)
      })
    }
    for (const mode of modes)
      expect([mode, [...(fromTable[mode] ?? [])].sort()]).toEqual([mode, json[mode]])
  })

  it('docs/permissions.md names the read-only plan list (plan-lock: false) of the JSON, and no write', () => {
    const text = section(permissions, '## IAM permissions')
    const paragraph = /With `plan-lock: false`[\s\S]*?\n\n/.exec(text)?.[0] ?? ''
    const named = [...paragraph.matchAll(/`([a-z0-9]+:[A-Za-z]+)`/g)].map(m => m[1] ?? '')
    expect([...new Set(named)].sort()).toEqual(json['plan-read-only'])
    for (const action of named) expect(action).toMatch(/:(Get|List|Describe)/)
  })

  it('the example policy grants the deploy list (GetCallerIdentity needs no grant)', () => {
    const policies = fenced(section(permissions, '## IAM permissions'), 'json')
    expect(policies).toHaveLength(1)
    const policy = JSON.parse(policies[0] ?? '{}') as { Statement: Array<{ Action: string[] }> }
    const granted = new Set(policy.Statement.flatMap(s => s.Action))
    expect([...granted, 'sts:GetCallerIdentity'].sort()).toEqual(json.deploy)
  })
})

describe('the two commands', () => {
  it('the README gives them as they are run, and package.json has both scripts', () => {
    expect(readme).toContain('\nnpm ci && npm run demo\n')
    expect(readme).toContain('\nnpm ci && npm test\n')
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> })
      .scripts
    expect(scripts.demo).toMatch(/scripts\/demo\.ts/)
    expect(scripts.test).toMatch(/jest/)
  })
})

describe('the documentation', () => {
  const pages = [
    'README.md',
    'CONTRIBUTING.md',
    ...fs
      .readdirSync(path.join(repoRoot, 'docs'))
      .filter(f => f.endsWith('.md'))
      .map(f => `docs/${f}`)
  ]

  it('keeps the README short: under 15 KB, the rest linked from it', () => {
    expect(Buffer.byteLength(readme)).toBeLessThan(15 * 1024)
    const linked = [...readme.matchAll(/\]\(([^)#\s]+)/g)].map(m => m[1])
    for (const page of pages.filter(p => p !== 'README.md')) expect(linked).toContain(page)
  })

  it.each(pages)('%s links only to files that exist', page => {
    const text = read(page)
    const missing = [...text.matchAll(/\]\(([^)#\s]+)(#[^)\s]*)?\)/g)]
      .map(m => m[1] ?? '')
      .filter(target => !/^[a-z]+:/.test(target))
      .filter(target => !fs.existsSync(path.join(repoRoot, path.dirname(page), target)))
    expect(missing).toEqual([])
  })
})

describe('the drift workflow in docs/drift.md', () => {
  const blocks = fenced(read('docs/drift.md'), 'yaml')

  it('passes actionlint, runs on schedule and by hand, may write issues, and passes only known inputs', () => {
    expect(blocks).toHaveLength(1)
    const text = blocks[0] ?? ''
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'drift-doc-')), 'drift.yml')
    fs.writeFileSync(file, text)
    expect(actionlint(file)).toEqual([])
    const workflow = parse(text) as Workflow
    expect(Object.keys(workflow.on).sort()).toEqual(['schedule', 'workflow_dispatch'])
    expect(workflow.permissions?.issues).toBe('write')
    const ours = Object.values(workflow.jobs)
      .flatMap(j => j.steps)
      .filter(s => s.uses === 'org/revive-deploy@v1')
    expect(ours.map(s => s.with?.mode)).toEqual(['drift'])
    for (const step of ours)
      expect(Object.keys(step.with ?? {}).filter(k => !actionInputs.includes(k))).toEqual([])
  })
})
