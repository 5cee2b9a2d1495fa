import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { errorMessage } from '../../../src/errors'
import { protectedLine } from '../../../src/terraform/protect'
import type { RunContext } from '../../../src/inputs'
import { actionDefault, INPUT_NAMES } from '../../../src/input-reader'
import { changedFiles, rangeOf, selectStacks, type Range } from '../../../src/stacks/changes'
import {
  headlineOf,
  overviewRow,
  renderOverview,
  type OverviewRow
} from '../../../src/stacks/overview'
import { withStackDefaults } from '../../../src/stacks/stack-input'
import { loadStacks, waves, type StackSet } from '../../../src/stacks/stacks-file'
import { commit, git, makeStacksRepo, STACK_FILES } from '../../helpers/stacks-repo'

const inputNames = INPUT_NAMES
const load = (workspace: string, explicit: Record<string, string> = {}): StackSet =>
  loadStacks({ workspace, file: 'revive-deploy.yml', inputNames, explicit: n => explicit[n] })

/** The stacks a commit on top of the repository's base touches, and their waves. */
function touched(files: Record<string, string>): {
  names: string[]
  waves: string[][]
  reasons: Record<string, string>
} {
  const { dir, base } = makeStacksRepo()
  const head = commit(dir, files, 'change')
  const set = load(dir)
  const range: Range = { base, head, mergeBase: true, what: 'base' }
  const selection = selectStacks(dir, set, { files: changedFiles(dir, range) })
  const names = selection.filter(s => s.included).map(s => s.stack.name)
  return {
    names,
    waves: waves(set.stacks, new Set(names)),
    reasons: Object.fromEntries(selection.map(s => [s.stack.name, s.reason]))
  }
}

const context = (eventName: string, payload: Record<string, unknown> = {}): RunContext => ({
  eventName,
  payload,
  runAttempt: '1',
  serverUrl: 'https://github.com',
  apiUrl: 'https://api.github.com'
})

/** Load a repository whose stacks file is `yaml` (stacks network/data/app directories exist). */
function loadFailure(yaml: string, extra: Record<string, string> = {}): string {
  const { dir } = makeStacksRepo({ ...STACK_FILES, 'revive-deploy.yml': yaml, ...extra })
  try {
    load(dir)
  } catch (error) {
    return errorMessage(error)
  }
  throw new Error('the stacks file was accepted')
}

describe('stacks file', () => {
  it('reads the stacks with their directories, default state keys and waves by depends-on', () => {
    const { dir } = makeStacksRepo()
    const set = load(dir)
    expect(set.file).toBe('revive-deploy.yml')
    expect(set.stacks.map(s => [s.name, s.directory, s.stateKey, s.dependsOn])).toEqual([
      ['network', 'network', 'production/network/terraform.tfstate', []],
      ['data', 'data', 'production/data/terraform.tfstate', ['network']],
      ['app', 'app', 'production/app/terraform.tfstate', ['data']]
    ])
    expect(waves(set.stacks, new Set(['network', 'data', 'app']))).toEqual([
      ['network'],
      ['data'],
      ['app']
    ])
    // A dependency that is not in the run is not waited for.
    expect(waves(set.stacks, new Set(['network', 'app']))).toEqual([['network', 'app']])
  })

  it('refuses a cycle in one line naming it', () => {
    const message = loadFailure(
      'stacks:\n  - name: a\n    working-directory: network\n    depends-on: [b]\n  - name: b\n    working-directory: data\n    depends-on: [a]\n'
    )
    expect(message).toBe(
      'revive-deploy.yml: depends-on has a cycle: a → b → a; remove one of these dependencies'
    )
  })

  it('refuses a missing directory in one line naming the stack, the line and the path', () => {
    expect(
      loadFailure(
        'stacks:\n  - name: a\n    working-directory: network\n  - name: b\n    working-directory: infra/nope\n'
      )
    ).toBe(
      'revive-deploy.yml: stack "b" (line 4): working-directory infra/nope does not exist; fix the path or remove the stack'
    )
  })

  it('refuses two stacks on one state key in one line', () => {
    expect(
      loadFailure(
        'stacks:\n  - name: a\n    working-directory: network\n  - name: b\n    working-directory: data\n    state-key: production/network/terraform.tfstate\n'
      )
    ).toBe(
      'revive-deploy.yml: stacks "a" and "b" use the same state key production/network/terraform.tfstate; give one of them its own state-key (or environment)'
    )
  })

  it('refuses an unknown input, and inputs that do not belong in a file', () => {
    expect(
      loadFailure('stacks:\n  - name: a\n    working-directory: network\n    var-file: x.tfvars\n')
    ).toMatch(
      /^revive-deploy\.yml: stack "a" \(line 4\): unknown input "var-file"; use the action's input names/
    )
    expect(
      loadFailure(
        'defaults:\n  github-token: ghp_x\nstacks:\n  - name: a\n    working-directory: network\n'
      )
    ).toMatch(/defaults \(line 2\): github-token cannot be set in the stacks file/)
  })

  it('reports every problem at once, one after another on one line', () => {
    const message = loadFailure(
      'stacks:\n  - name: a\n    working-directory: nope\n  - name: b\n    working-directory: data\n    depends-on: [c]\n'
    )
    expect(message).toMatch(
      /^revive-deploy\.yml: 2 problems: \(1\) .*nope does not exist.*; \(2\) .*depends-on names "c"/
    )
    expect(message).not.toContain('\n')
  })

  it('without a file, finds every root module with an s3 backend, named by its path', () => {
    const files: Record<string, string> = {
      ...STACK_FILES,
      'tools/local/main.tf': 'terraform {\n  backend "local" {}\n}\n'
    }
    delete files['revive-deploy.yml']
    const { dir } = makeStacksRepo(files)
    const set = load(dir)
    expect(set.file).toBeUndefined()
    expect(set.stacks.map(s => [s.name, s.stateKey])).toEqual([
      ['app', 'production/app/terraform.tfstate'],
      ['data', 'production/data/terraform.tfstate'],
      ['network', 'production/network/terraform.tfstate']
    ])
  })

  it('keeps the single-stack default key for the conventional terraform directory', () => {
    const files = { 'terraform/main.tf': 'terraform {\n  backend "s3" {}\n}\n' }
    const { dir } = makeStacksRepo(files)
    expect(load(dir).stacks.map(s => [s.name, s.stateKey])).toEqual([
      ['terraform', 'production/terraform.tfstate']
    ])
  })
})

describe('the stacks a change touches', () => {
  it('a module used by two stacks: those two and the stack downstream', () => {
    const result = touched({
      'modules/shared/main.tf': 'resource "terraform_data" "shared" {\n  input = "v2"\n}\n'
    })
    expect(result.names).toEqual(['network', 'data', 'app'])
    expect(result.reasons).toEqual({
      network: 'module modules/shared changed (modules/shared/main.tf)',
      data: 'module modules/shared changed (modules/shared/main.tf)',
      app: 'downstream of data'
    })
    expect(result.waves).toEqual([['network'], ['data'], ['app']])
  })

  it('a module sourced through another module: only the stack that uses it', () => {
    const result = touched({
      'modules/nested/main.tf': 'resource "terraform_data" "nested" {\n  input = "v2"\n}\n'
    })
    expect(result.names).toEqual(['app'])
    expect(result.reasons.app).toBe('module modules/nested changed (modules/nested/main.tf)')
    expect(result.waves).toEqual([['app']])
  })

  it("a stack's own directory, and its var file outside it", () => {
    expect(touched({ 'data/extra.tf': '\n' }).names).toEqual(['data', 'app'])
    const vars = touched({ 'env/app.tfvars': 'x = 1\n' })
    expect(vars.names).toEqual(['app'])
    expect(vars.reasons.app).toBe('var file env/app.tfvars changed')
  })

  it('follows module sources written in JSON syntax and skips registry and remote sources', () => {
    const files: Record<string, string> = {
      ...STACK_FILES,
      'app/main.tf':
        'terraform {\n  backend "s3" {}\n}\n\nmodule "vpc" {\n  source  = "terraform-aws-modules/vpc/aws"\n  version = "5.0.0"\n}\n',
      'app/web.tf.json': JSON.stringify({ module: { web: { source: '../modules/web' } } })
    }
    const { dir, base } = makeStacksRepo(files)
    const head = commit(dir, { 'modules/nested/main.tf': '# changed\n' }, 'nested')
    const set = load(dir)
    const range: Range = { base, head, mergeBase: false, what: 'base' }
    const selection = selectStacks(dir, set, { files: changedFiles(dir, range) })
    expect(selection.filter(s => s.included).map(s => s.stack.name)).toEqual(['app'])
  })

  it('a README-only change touches none', () => {
    const result = touched({ 'README.md': '# shop infrastructure, now documented\n' })
    expect(result.names).toEqual([])
    expect(result.waves).toEqual([])
    expect(result.reasons.network).toBe('nothing it depends on changed')
  })

  it('a change to the stacks file runs every stack', () => {
    expect(
      touched({ 'revive-deploy.yml': `${STACK_FILES['revive-deploy.yml']}\n# a comment\n` }).names
    ).toEqual(['network', 'data', 'app'])
  })

  it('workflow_dispatch and schedule run all; pull requests, pushes and merge queues compare', () => {
    expect(rangeOf(context('workflow_dispatch'))).toEqual({
      all: 'workflow_dispatch runs every stack'
    })
    expect(rangeOf(context('schedule'))).toEqual({ all: 'schedule runs every stack' })
    expect(
      rangeOf(context('pull_request', { pull_request: { base: { sha: 'b' }, head: { sha: 'h' } } }))
    ).toMatchObject({ base: 'b', head: 'h', mergeBase: true })
    expect(rangeOf(context('push', { before: 'b', after: 'h' }))).toMatchObject({
      base: 'b',
      head: 'h',
      mergeBase: false
    })
    expect(rangeOf(context('push', { before: '0'.repeat(40), after: 'h' }))).toHaveProperty('all')
    expect(
      rangeOf(context('merge_group', { merge_group: { base_sha: 'b', head_sha: 'h' } }))
    ).toMatchObject({ base: 'b', head: 'h' })
    const { dir } = makeStacksRepo()
    const set = load(dir)
    expect(
      selectStacks(dir, set, { all: 'workflow_dispatch runs every stack' }).every(s => s.included)
    ).toBe(true)
  })

  it('a shallow checkout without the base says to fetch the history (fetch-depth: 0)', () => {
    const { dir, base } = makeStacksRepo()
    const head = commit(dir, { 'README.md': 'x\n' }, 'second')
    const shallow = fs.mkdtempSync(path.join(os.tmpdir(), 'revive-shallow-'))
    git(shallow, 'clone', '-q', '--depth', '1', `file://${dir}`, '.')
    expect(() =>
      changedFiles(shallow, { base, head, mergeBase: true, what: "the pull request's base" })
    ).toThrow(
      `mode stacks: commit ${base.slice(0, 12)} (the pull request's base) is not in the checkout, so the changed files cannot be found; check out the full history with actions/checkout's fetch-depth: 0 (or fetch the base commit) before this step`
    )
  })
})

describe('stack input', () => {
  const reader =
    (values: Record<string, string>) =>
    (name: string): string =>
      values[name] ?? actionDefault(name)

  it("applies the stack's defaults under the inputs the workflow set", () => {
    const { dir } = makeStacksRepo({
      ...STACK_FILES,
      'revive-deploy.yml':
        'defaults:\n  lock-timeout: 10m\nstacks:\n  - name: app\n    working-directory: app\n    environment: staging\n    comment: on-change\n'
    })
    const { input, stack } = withStackDefaults(reader({ stack: 'app', comment: 'never' }), dir)
    expect(stack).toEqual({ name: 'app', dependsOn: [], file: 'revive-deploy.yml' })
    expect(input('working-directory')).toBe('app')
    expect(input('environment')).toBe('staging')
    expect(input('lock-timeout')).toBe('10m')
    expect(input('comment')).toBe('never') // the workflow's explicit value wins
    expect(input('invalidate')).toBe('changed') // action.yml's default where nobody set one
  })

  it('an unknown stack name is an error on the stack input listing the names', () => {
    const { dir } = makeStacksRepo()
    expect(() => withStackDefaults(reader({ stack: 'web' }), dir)).toThrow(
      `Input 'stack' has an invalid value "web": no such stack in revive-deploy.yml; use one of network, data, app`
    )
  })
})

describe('overview', () => {
  const { dir } = makeStacksRepo()
  const set = load(dir)
  const network = set.stacks[0]!

  it("takes each stack's headline and protected count from its comment, and says why others did not run", () => {
    const body =
      '<!-- revive-deploy:stack=abc -->\n<!-- revive-deploy:protected=x -->\n### Terraform plan: `network` (`production`)\n\n**Plan: 1 to add, 0 to change, 0 to destroy, 0 to replace.**\n\nmore'
    expect(headlineOf(body)).toBe('Plan: 1 to add, 0 to change, 0 to destroy, 0 to replace.')
    const ran = overviewRow(
      { stack: network, included: true, reason: 'x changed' },
      { id: 1, body, url: 'https://github.com/acme/shop/pull/1#issuecomment-1', login: 'bot' }
    )
    expect(ran.commentUrl).toBe('https://github.com/acme/shop/pull/1#issuecomment-1')
    const skipped = overviewRow(
      { stack: network, included: false, reason: 'nothing it depends on changed' },
      undefined
    )
    expect(skipped.status).toBe('Not run: nothing it depends on changed.')
    const guarded = overviewRow(
      { stack: network, included: true, reason: 'x changed' },
      {
        id: 2,
        body: body.replace(
          '<!-- revive-deploy:protected=x -->',
          protectedLine([
            {
              address: 'aws_dynamodb_table.orders',
              type: 'aws_dynamodb_table',
              action: 'replace',
              allowed: false
            },
            {
              address: 'aws_s3_bucket.site',
              type: 'aws_s3_bucket',
              action: 'delete',
              allowed: false
            }
          ])
        ),
        url: 'https://github.com/acme/shop/pull/1#issuecomment-2',
        login: 'bot'
      }
    )
    expect([ran.protectedCount, guarded.protectedCount]).toEqual([0, 2])
    expect(renderOverview([guarded], {})).toContain(
      '**Protected resources:** 2 protected resources are deleted or replaced by these plans'
    )
    const missing = overviewRow({ stack: network, included: true, reason: 'x changed' }, undefined)
    expect(missing.status).toMatch(/^No plan comment: the stack ran/)
  })

  it('stays within the comment limit with the header kept, and escapes what it shows', () => {
    const rows: OverviewRow[] = Array.from({ length: 2000 }, (_, i) => ({
      name: `stack-${i}`,
      directory: `infra/${i}`,
      status: 'Plan: 1 to add <!-- hidden --> @someone [x](https://evil.test) | cell',
      protectedCount: i % 7 === 0 ? 1 : 0,
      commentUrl: `https://github.com/acme/shop/pull/1#issuecomment-${i}`
    }))
    const text = renderOverview(rows, { file: 'revive-deploy.yml' }, 65536)
    expect(text.length).toBeLessThanOrEqual(65536)
    expect(text).toContain('| Stack | Directory | Plan | Protected | Comment |')
    expect(text).toMatch(/… and \d+ more stacks/)
    expect(text).not.toContain('<!-- hidden')
    expect(text).not.toContain('](https://evil.test)')
    expect(text).not.toMatch(/[^\\]\| cell/)
    expect(text.split('\n').filter(l => l.includes('revive-deploy:overview'))).toHaveLength(1)
  })
})
