import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import { ScanCommand } from '@aws-sdk/client-dynamodb'
import * as os from 'node:os'
import * as path from 'node:path'
import {
  explain,
  instanceCount,
  makeWorkspace,
  startSiteTestbed,
  startTestbed,
  type Testbed
} from '../helpers/testbed'
import {
  setupTerraformWrapper,
  versionManagerShim,
  type TerraformDouble
} from '../helpers/terraform-doubles'
import { runAction } from '../../standins/run-action'
import { shownText } from '../helpers/markdown'

// The action in the environments real workflows give it: a `terraform` on PATH that is
// setup-terraform's wrapper or a version manager's shim, the workflow's Terraform variables, every
// event `mode: auto` can meet, and the runner's own variables kept from the processes it starts.
const bucket = 'shop-terraform-state-123456789012'
const SECRET_VARIABLE = 'demo-api-key-value-123'
const PR = { event: { name: 'pull_request', payload: { pull_request: { number: 5 } } } }

function noSecretsInOutputs(outputs: Record<string, string>): void {
  for (const [name, value] of Object.entries(outputs)) {
    expect([name, value.includes(SECRET_VARIABLE)]).toEqual([name, false])
  }
  // setup-terraform's wrapper adds these to the calling step's outputs.
  expect(Object.keys(outputs).filter(n => ['stdout', 'stderr', 'exitcode'].includes(n))).toEqual([])
}

function underDouble(name: string, make: () => TerraformDouble, expectLog: RegExp): void {
  describe(`under ${name}`, () => {
    let bed: Testbed
    let workspace: string
    let double: TerraformDouble
    beforeAll(async () => {
      bed = await startTestbed('eu-west-1')
      workspace = makeWorkspace('app')
      double = make()
    })
    afterAll(async () => bed.stop())

    const run = (inputs: Record<string, string>, options = {}): ReturnType<Testbed['run']> =>
      bed.run(workspace, inputs, { ...options, env: double.env })

    it('a PR plan reports the changes and the right counts', async () => {
      const plan = await run({}, PR)
      expect([plan.exitCode, explain(plan)]).toEqual([0, explain(plan)])
      expect(plan.outputs.changes).toBe('true')
      expect(plan.outputs['to-add']).toBe('6')
      expect(plan.log).toMatch(expectLog)
      noSecretsInOutputs(plan.outputs)
    })

    it('a first deploy applies every resource', async () => {
      const apply = await run({ mode: 'apply' })
      expect([apply.exitCode, explain(apply)]).toEqual([0, explain(apply)])
      expect(apply.outputs['to-add']).toBe('6')
      expect(instanceCount(await bed.state(bucket))).toBe(6)
      noSecretsInOutputs(apply.outputs)
    })

    it('an in-place change is applied (the state serial grows), and a re-run has no changes', async () => {
      const before = (await bed.state(bucket))?.serial ?? 0
      const update = await run({ mode: 'apply', variables: 'app_version=2.0.0' })
      expect([update.exitCode, explain(update)]).toEqual([0, explain(update)])
      expect(update.outputs['to-change']).toBe('3')
      expect((await bed.state(bucket))?.serial).toBeGreaterThan(before)
      expect(JSON.parse(update.outputs['terraform-outputs'] ?? '{}')).toMatchObject({
        api_url: 'https://api.example.test/2.0.0'
      })

      const again = await run({ mode: 'apply', variables: 'app_version=2.0.0' })
      expect([again.exitCode, again.outputs.changes]).toEqual([0, 'false'])
      noSecretsInOutputs(again.outputs)
    })
  })
}

describe('real runners: terraform on PATH', () => {
  underDouble(
    "hashicorp/setup-terraform's wrapper",
    setupTerraformWrapper,
    /setup-terraform's wrapper; running the real binary .*terraform-bin/
  )
  underDouble('a version manager shim', versionManagerShim, /Using Terraform 1\.\d+\.\d+ from PATH/)
})

const ENV_STACK = `terraform {
  backend "s3" {}
}

resource "terraform_data" "probe" {
  provisioner "local-exec" {
    command = "env > \${path.module}/terraform-child.env"
  }
}

output "frontend_bucket" {
  value = "app-site"
}
`

describe('real runners: what the processes the action starts get', () => {
  let bed: Testbed
  beforeAll(async () => {
    bed = await startSiteTestbed('eu-west-1')
  })
  afterAll(async () => bed.stop())

  it("neither Terraform nor the build gets the step's files, inputs or runtime tokens", async () => {
    const workspace = makeWorkspace('app', {
      'terraform/main.tf': ENV_STACK,
      'frontend/src/index.html': '<h1>hi</h1>'
    })
    const files = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-files-'))
    const runnerEnv: Record<string, string> = {
      ACTIONS_RUNTIME_TOKEN: 'runtime-token-value',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc-request-token-value',
      ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token.actions.example/oidc',
      ACTIONS_CACHE_URL: 'https://cache.actions.example/',
      ACTIONS_RESULTS_URL: 'https://results.actions.example/',
      GITHUB_ENV: path.join(files, 'env'),
      GITHUB_PATH: path.join(files, 'path'),
      GITHUB_STATE: path.join(files, 'state'),
      GITHUB_TOKEN: 'ghs_job_token_value',
      TF_VAR_from_workflow: 'kept'
    }
    const run = await bed.run(
      workspace,
      {
        mode: 'deploy',
        'site-bucket': 'app-site',
        'build-command': 'env > child.env && mkdir -p dist && cp src/index.html dist/',
        'build-env': 'SITE_BUCKET=frontend_bucket'
      },
      { env: runnerEnv }
    )
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    const terraformEnv = fs.readFileSync(
      path.join(workspace, 'terraform', 'terraform-child.env'),
      'utf8'
    )
    const buildEnv = fs.readFileSync(path.join(workspace, 'frontend', 'child.env'), 'utf8')
    for (const [who, text] of [
      ['terraform', terraformEnv],
      ['build', buildEnv]
    ] as const) {
      const names = text
        .split('\n')
        .map(l => l.slice(0, l.indexOf('=')))
        .filter(Boolean)
      const leaked = names.filter(
        n =>
          n.startsWith('INPUT_') ||
          [
            'GITHUB_OUTPUT',
            'GITHUB_ENV',
            'GITHUB_PATH',
            'GITHUB_STATE',
            'GITHUB_STEP_SUMMARY',
            'ACTIONS_RUNTIME_TOKEN',
            'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
            'ACTIONS_ID_TOKEN_REQUEST_URL',
            'ACTIONS_CACHE_URL',
            'ACTIONS_RESULTS_URL'
          ].includes(n)
      )
      expect([who, leaked]).toEqual([who, []])
      expect([who, text.includes('runtime-token-value')]).toEqual([who, false])
      // What a plain run: step of the job has stays (the job's env, AWS credentials).
      expect([who, names.includes('AWS_ACCESS_KEY_ID')]).toEqual([who, true])
      expect([who, names.includes('GITHUB_TOKEN')]).toEqual([who, true])
    }
    expect(terraformEnv).toContain('TF_VAR_from_workflow=kept')
    expect(buildEnv).toContain('SITE_BUCKET=app-site')
    // Nothing wrote the step's files.
    for (const file of ['env', 'path', 'state'])
      expect(fs.existsSync(path.join(files, file))).toBe(false)
  })
})

describe("real runners: the workflow's Terraform variables", () => {
  let bed: Testbed
  let workspace: string
  beforeAll(async () => {
    bed = await startTestbed('eu-west-1')
    workspace = makeWorkspace('app')
  })
  afterAll(async () => bed.stop())

  it('TF_CLI_ARGS_plan=-refresh=false and TF_LOG=DEBUG: the plan parses and the counts are right', async () => {
    const run = await bed.run(
      workspace,
      {},
      {
        ...PR,
        env: { TF_CLI_ARGS_plan: '-refresh=false', TF_LOG: 'DEBUG' }
      }
    )
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect([run.outputs.changes, run.outputs['to-add']]).toEqual(['true', '6'])
  })

  it.each([
    ['TF_CLI_ARGS', '-no-color', 'TF_CLI_ARGS is set'],
    ['TF_CLI_ARGS_show', '-no-color', 'TF_CLI_ARGS_show is set'],
    [
      'TF_CLI_ARGS_init',
      '-backend-config=bucket=elsewhere',
      'TF_CLI_ARGS_init changes the backend'
    ],
    ['TF_WORKSPACE', 'staging', 'TF_WORKSPACE is "staging"']
  ])('%s=%s is refused before anything runs, in one line', async (name, value, message) => {
    const run = await bed.run(workspace, { mode: 'apply' }, { env: { [name]: value } })
    expect(run.exitCode).not.toBe(0)
    expect(run.errors).toHaveLength(1)
    expect(run.errors[0]).toContain(message)
    expect(run.log).not.toContain('[command]terraform')
  })
})

describe('real runners: mode auto, event by event', () => {
  // A root module without a backend block fails right after the mode is resolved: no AWS, no
  // Terraform, so each event costs a fraction of a second.
  const workspace = makeWorkspace('app', {
    'terraform/main.tf': 'resource "terraform_data" "x" {}\n'
  })
  const env = { GITHUB_REPOSITORY: 'acme/shop', AWS_REGION: 'eu-west-1' }

  it.each([
    ['pull_request', { pull_request: { number: 1 } }, 'plan'],
    ['pull_request_target', { pull_request: { number: 1 } }, 'plan'],
    ['merge_group', {}, 'plan'],
    ['push', { ref: 'refs/heads/main', repository: { default_branch: 'main' } }, 'deploy'],
    ['push', { ref: 'refs/heads/trunk', repository: { default_branch: 'trunk' } }, 'deploy'],
    ['push', { ref: 'refs/heads/feature/x', repository: { default_branch: 'main' } }, 'plan'],
    ['push', { ref: 'refs/tags/v1.2.0', repository: { default_branch: 'main' } }, 'plan'],
    ['workflow_dispatch', {}, 'deploy'],
    ['schedule', {}, 'drift']
  ])('%s %j → %s', async (name, payload, mode) => {
    const run = await runAction({ workspace, event: { name, payload }, env })
    expect(run.outputs.mode).toBe(mode)
    expect(run.log).toContain(`mode ${mode} (auto, event ${name})`)
  })

  it('any other event asks for an explicit mode', async () => {
    const run = await runAction({ workspace, event: { name: 'release', payload: {} }, env })
    expect(run.exitCode).not.toBe(0)
    expect(run.errors).toEqual([expect.stringContaining("Input 'mode'") as unknown as string])
    expect(run.errors[0]).toContain('release')
    expect(run.outputs.mode).toBeUndefined()
  })
})

describe('real runners: a run cancelled half-way', () => {
  let bed: Testbed
  beforeAll(async () => {
    bed = await startTestbed('eu-west-1')
  })
  afterAll(async () => bed.stop())

  async function lockItems(): Promise<string[]> {
    const out = await bed.dynamodb().send(new ScanCommand({ TableName: 'shop-terraform-locks' }))
    return (out.Items ?? []).map(i => i.LockID?.S ?? '').filter(id => !id.endsWith('-md5'))
  }

  it.each([
    ['to the action only (as the runner sends it)', false],
    ['to its whole process group', true]
  ])(
    'SIGINT %s mid-apply: cancelled within 10 s, no lock left, the next deploy converges',
    async (_how, group) => {
      const workspace = makeWorkspace('slow')
      const key = `cancel-${group ? 'group' : 'action'}/terraform.tfstate`
      const inputs = { mode: 'apply', 'state-key': key, variables: 'pause=30' }
      let child: ChildProcess | undefined
      let signalledAt = 0
      const run = await bed.run(workspace, inputs, {
        onSpawn: c => (child = c),
        onOutput: chunk => {
          if (!signalledAt && /Creating\.\.\./.test(chunk) && child?.pid) {
            signalledAt = Date.now()
            const pid = child.pid
            setTimeout(() => process.kill(group ? -pid : pid, 'SIGINT'), 500)
          }
        }
      })
      const seconds = (Date.now() - signalledAt) / 1000
      console.log(`cancelled ${_how}: the run ended ${seconds.toFixed(1)} s after SIGINT`)
      expect(signalledAt).toBeGreaterThan(0)
      expect(seconds).toBeLessThan(10)
      expect(run.exitCode).toBe(1)
      expect(run.errors).toHaveLength(1)
      expect(run.errors[0]).toContain('cancelled (SIGINT) during Terraform apply')
      expect(shownText(run.summary)).toContain('Cancelled during Terraform apply (SIGINT).')
      expect(run.summary).toMatch(/Terraform apply \| cancelled/)
      // One interrupt only: Terraform stopped gracefully (two make it exit without unlocking).
      expect(run.log).not.toContain('Two interrupts received')
      expect(await lockItems()).toEqual([])
      // The run's private Terraform directory (saved plan, backend settings) is gone as well.
      expect(fs.readdirSync(path.join(run.runnerDir, 'temp'))).toEqual([])
      expect(fs.existsSync(path.join(workspace, 'terraform', '.terraform'))).toBe(false)

      const next = await bed.run(workspace, { ...inputs, variables: 'pause=0' })
      expect([next.exitCode, explain(next)]).toEqual([0, explain(next)])
      expect(instanceCount(await bed.state(bucket, key))).toBe(3)
    },
    120_000
  )
})
