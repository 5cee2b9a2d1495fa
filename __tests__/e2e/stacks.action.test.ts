import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {
  explain,
  GITHUB_BOT,
  GITHUB_REPO,
  GITHUB_WRITE_TOKEN,
  instanceCount,
  startTestbed,
  type Testbed
} from '../helpers/testbed'
import type { ActionRun, RunActionOptions } from '../../standins/run-action'
import {
  commit,
  git,
  makeStacksRepo,
  pullRequestPayload,
  STACK_FILES,
  STACKS_FILE
} from '../helpers/stacks-repo'

// Many stacks through the bundled action: mode stacks on a git repository made here (real git),
// each matrix entry run in turn (real Terraform against the stand-ins), then mode overview.
const bucket = 'shop-terraform-state-123456789012'
const keyOf = (stack: string, environment = 'production'): string =>
  `${environment}/${stack}/terraform.tfstate`
/** Resources each stack has (its own and its modules'). */
const RESOURCES: Record<string, number> = { network: 2, data: 2, app: 3 }

interface Matrix {
  include: Array<Record<string, string>>
}

const pullRequest = (number: number, base: string, head: string): Partial<RunActionOptions> => ({
  event: { name: 'pull_request', payload: pullRequestPayload(number, base, head) },
  env: { GITHUB_TOKEN: GITHUB_WRITE_TOKEN, GITHUB_SHA: head }
})
const push = (before: string, after: string, runId: string): Partial<RunActionOptions> => ({
  event: { name: 'push', payload: { before, after } },
  env: { GITHUB_TOKEN: GITHUB_WRITE_TOKEN, GITHUB_SHA: after, GITHUB_RUN_ID: runId }
})

describe('many stacks', () => {
  let bed: Testbed
  beforeAll(async () => {
    bed = await startTestbed('eu-west-1')
  })
  afterAll(async () => bed.stop())

  const stacksOf = (run: ActionRun): { names: string[]; waves: string[][] } => {
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    const matrix = JSON.parse(run.outputs.matrix ?? '') as Matrix
    return {
      names: matrix.include.map(e => e.stack ?? ''),
      waves: JSON.parse(run.outputs.waves ?? '') as string[][]
    }
  }

  it('mode stacks: a module change, a README change, a manual run', async () => {
    const { dir, base } = makeStacksRepo()
    const moduleChange = commit(
      dir,
      { 'modules/shared/main.tf': 'resource "terraform_data" "shared" {\n  input = "v2"\n}\n' },
      'shared v2'
    )
    const byModule = await bed.run(dir, { mode: 'stacks' }, pullRequest(1, base, moduleChange))
    expect(stacksOf(byModule)).toEqual({
      names: ['network', 'data', 'app'],
      waves: [['network'], ['data'], ['app']]
    })
    const entry = (JSON.parse(byModule.outputs.matrix ?? '') as Matrix).include[2]
    expect(entry).toEqual({
      stack: 'app',
      'working-directory': 'app',
      environment: 'production',
      'state-key': keyOf('app'),
      'var-files': '../env/app.tfvars'
    })
    expect(byModule.summary).toContain('3 of 3 stacks run, in 3 waves.')

    const readme = commit(dir, { 'README.md': '# shop\n\nNow documented.\n' }, 'docs')
    const byReadme = await bed.run(dir, { mode: 'stacks' }, pullRequest(1, moduleChange, readme))
    expect(stacksOf(byReadme)).toEqual({ names: [], waves: [] })

    const manual = await bed.run(dir, { mode: 'stacks' }, { event: { name: 'workflow_dispatch' } })
    expect(stacksOf(manual).names).toEqual(['network', 'data', 'app'])
  })

  it('a cycle, a missing directory, a duplicate state key: one error line each, nothing else', async () => {
    const cases: Array<[string, string]> = [
      [
        'stacks:\n  - name: a\n    working-directory: network\n    depends-on: [b]\n  - name: b\n    working-directory: data\n    depends-on: [a]\n',
        'revive-deploy.yml: depends-on has a cycle: a → b → a; remove one of these dependencies'
      ],
      [
        'stacks:\n  - name: a\n    working-directory: infra/a\n',
        'revive-deploy.yml: stack "a" (line 2): working-directory infra/a does not exist; fix the path or remove the stack'
      ],
      [
        'stacks:\n  - name: a\n    working-directory: network\n    state-key: one.tfstate\n  - name: b\n    working-directory: data\n    state-key: one.tfstate\n',
        'revive-deploy.yml: stacks "a" and "b" use the same state key one.tfstate; give one of them its own state-key (or environment)'
      ]
    ]
    for (const [yaml, line] of cases) {
      const { dir } = makeStacksRepo({ ...STACK_FILES, 'revive-deploy.yml': yaml })
      const run = await bed.run(dir, { mode: 'stacks' }, { event: { name: 'workflow_dispatch' } })
      expect(run.exitCode).toBe(1)
      expect(run.errors).toEqual([line])
      expect(run.outputs.matrix).toBeUndefined()
    }
  })

  it('a shallow checkout: one error saying fetch-depth: 0', async () => {
    const { dir, base } = makeStacksRepo()
    const head = commit(dir, { 'data/extra.tf': '\n' }, 'data')
    const shallow = fs.mkdtempSync(path.join(os.tmpdir(), 'revive-shallow-'))
    git(shallow, 'clone', '-q', '--depth', '1', `file://${dir}`, '.')
    const run = await bed.run(shallow, { mode: 'stacks' }, pullRequest(2, base, head))
    expect(run.exitCode).toBe(1)
    expect(run.errors).toHaveLength(1)
    expect(run.errors[0]).toContain(
      `commit ${base.slice(0, 12)} (the pull request's base) is not in the checkout`
    )
    expect(run.errors[0]).toContain('fetch-depth: 0')
  })

  it('the matrix in sequence: each stack its own comment and state; the overview lists them all', async () => {
    const pr = 31
    bed.standins.github.addPullRequest(GITHUB_REPO, { number: pr, headSha: 'unused' })
    const { dir, base } = makeStacksRepo()
    const head = commit(
      dir,
      { 'modules/shared/main.tf': 'resource "terraform_data" "shared" {\n  input = "v2"\n}\n' },
      'shared v2'
    )
    const event = pullRequest(pr, base, head)
    const stacks = await bed.run(dir, { mode: 'stacks' }, event)
    const { names } = stacksOf(stacks)
    for (const stack of names) {
      const run = await bed.run(dir, { mode: 'plan', stack }, event)
      expect([stack, run.exitCode, explain(run)]).toEqual([stack, 0, explain(run)])
    }
    const ours = () =>
      bed.standins.github.comments(GITHUB_REPO, pr).filter(c => c.user.login === GITHUB_BOT)
    expect(ours()).toHaveLength(3)
    for (const stack of names) {
      expect(ours().filter(c => c.body.includes(`### Terraform plan: \`${stack}\``))).toHaveLength(
        1
      )
    }

    const overview = await bed.run(dir, { mode: 'overview' }, event)
    expect([overview.exitCode, explain(overview)]).toEqual([0, explain(overview)])
    const comments = ours()
    expect(comments).toHaveLength(4)
    const body =
      comments.find(c => c.body.startsWith('<!-- revive-deploy:overview -->'))?.body ?? ''
    expect(body).toContain('**3 of 3 stacks planned** for this change')
    for (const stack of names) {
      const own = comments.find(c => c.body.includes(`### Terraform plan: \`${stack}\``))
      // The headline is shown as escaped text: compare it without the escapes.
      const row = (body.split('\n').find(l => l.startsWith(`| \`${stack}\``)) ?? '').replace(
        /\\([.:])/g,
        '$1'
      )
      expect(row).toContain(
        `Plan: ${RESOURCES[stack]} to add, 0 to change, 0 to destroy, 0 to replace.`
      )
      expect(row).toContain(`[plan](${own?.html_url})`)
    }
    // Run again: the overview comment is updated in place.
    await bed.run(dir, { mode: 'overview' }, event)
    expect(ours()).toHaveLength(4)

    // Deployed after the merge, each stack has a state of its own.
    for (const stack of names) {
      const run = await bed.run(dir, { mode: 'apply', stack }, push(base, head, '3001'))
      expect([stack, run.exitCode, explain(run)]).toEqual([stack, 0, explain(run)])
    }
    for (const stack of names)
      expect([stack, instanceCount(await bed.state(bucket, keyOf(stack)))]).toEqual([
        stack,
        RESOURCES[stack]
      ])
  })

  it('a failed upstream apply stops the stacks downstream of it', async () => {
    // Its own environment: state keys apart from the other tests'.
    const { dir, base } = makeStacksRepo({
      ...STACK_FILES,
      'revive-deploy.yml': `defaults:\n  environment: broken\n${STACKS_FILE}`
    })
    const head = commit(
      dir,
      {
        'network/fail.tf':
          'resource "terraform_data" "boom" {\n  provisioner "local-exec" {\n    command = "echo network is broken; exit 1"\n  }\n}\n'
      },
      'break network'
    )
    const event = push(base, head, '4001')
    const { waves } = stacksOf(await bed.run(dir, { mode: 'stacks' }, event))
    expect(waves).toEqual([['network'], ['data'], ['app']])
    const runs: Record<string, ActionRun> = {}
    for (const wave of waves)
      for (const stack of wave) runs[stack] = await bed.run(dir, { mode: 'apply', stack }, event)
    expect(runs.network?.exitCode).toBe(1)
    expect(runs.data?.errors).toEqual([
      'Stack data was not applied: its dependency network failed in this workflow run. Fix network and re-run the failed jobs; data applies after it.'
    ])
    expect(runs.app?.errors).toEqual([
      'Stack app was not applied: its dependency data was not applied either in this workflow run. Fix data and re-run the failed jobs; app applies after it.'
    ])
    expect(runs.data?.log).not.toMatch(/Terraform init/)
    expect(await bed.state(bucket, keyOf('data', 'broken'))).toBeUndefined()
    expect(await bed.state(bucket, keyOf('app', 'broken'))).toBeUndefined()

    // The fix, re-run in the same workflow run: network applies, then data and app.
    const fixed = commit(dir, { 'network/fail.tf': '' }, 'fix network')
    const rerun = push(base, fixed, '4001')
    for (const wave of waves) {
      for (const stack of wave) {
        const run = await bed.run(dir, { mode: 'apply', stack }, rerun)
        expect([stack, run.exitCode, explain(run)]).toEqual([stack, 0, explain(run)])
      }
    }
    expect(instanceCount(await bed.state(bucket, keyOf('app', 'broken')))).toBe(3)
  })
})
