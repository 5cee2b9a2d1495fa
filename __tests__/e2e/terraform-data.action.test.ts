import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { promisify } from 'node:util'
import { CreateBucketCommand } from '@aws-sdk/client-s3'
import { STANDIN_CREDENTIALS } from '../../standins/index'
import type { ActionRun } from '../../standins/run-action'
import {
  explain,
  instanceCount,
  makeWorkspace,
  startTestbed,
  type Testbed
} from '../helpers/testbed'

// Terraform's data directory (where `init` records every -backend-config value) and the saved plan
// (which holds sensitive values) live in a private directory of the run, never in the checkout, and
// are gone when the run ends. Through the bundled action, the real Terraform and the stand-ins.
const exec = promisify(execFile)
const DEFAULT_BUCKET = 'shop-terraform-state-123456789012'
// Backend settings with a secret value (the stand-ins' own credentials, so the backend still works).
const BACKEND_SECRET = STANDIN_CREDENTIALS.secretAccessKey

// A module call (installed into the data directory) and a provisioner that records, while the apply
// runs, the mode and path of the data directory Terraform was given (.terraform when none was).
const PROBE = `
module "child" {
  source = "./child"
}

resource "terraform_data" "probe" {
  input = module.child.name
  provisioner "local-exec" {
    command = "stat -c '%a %n' \\"$\${TF_DATA_DIR:-.terraform}\\" > \\"$\${DATA_DIR_PROBE}\\""
  }
}
`
const CHILD = `
output "name" {
  value = "child"
}
`

/** Every file below `dir` (relative paths), directories included when `withDirs`. */
function walk(dir: string, withDirs = false): string[] {
  const found: string[] = []
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name)
    if (withDirs || !entry.isDirectory()) found.push(path.relative(dir, full))
  }
  return found.sort()
}

function filesHolding(dir: string, text: string): string[] {
  return walk(dir).filter(rel => {
    const full = path.join(dir, rel)
    return fs.statSync(full).isFile() && fs.readFileSync(full).includes(text)
  })
}

/** Nothing of Terraform's data directory or plan is in the checkout or left under RUNNER_TEMP. */
function nothingLeft(run: ActionRun, workspace: string): void {
  const inCheckout = walk(workspace, true)
  expect(inCheckout.filter(rel => rel.split(path.sep).includes('.terraform'))).toEqual([])
  expect(filesHolding(workspace, BACKEND_SECRET)).toEqual([])
  const runnerTemp = path.join(run.runnerDir, 'temp')
  expect(walk(runnerTemp, true)).toEqual([])
}

describe("Terraform's data directory and the saved plan", () => {
  let bed: Testbed
  let workspace: string
  let probeDir: string
  let probe: string
  beforeAll(async () => {
    bed = await startTestbed('eu-west-1')
    workspace = makeWorkspace('app', {
      'terraform/probe.tf': PROBE,
      'terraform/child/main.tf': CHILD
    })
    probeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'data-dir-probe-'))
    probe = path.join(probeDir, 'stat.txt')
  })
  afterAll(async () => {
    await bed.stop()
    fs.rmSync(workspace, { recursive: true, force: true })
    fs.rmSync(probeDir, { recursive: true, force: true })
  })

  const run = (inputs: Record<string, string>): Promise<ActionRun> =>
    bed.run(
      workspace,
      {
        'backend-config': [
          bed.backendConfig,
          `access_key=${STANDIN_CREDENTIALS.accessKeyId}`,
          `secret_key=${BACKEND_SECRET}`
        ].join('\n'),
        ...inputs
      },
      { env: { DATA_DIR_PROBE: probe } }
    )

  it('a deploy runs Terraform with a 0700 data directory under RUNNER_TEMP, and leaves nothing', async () => {
    const deployed = await run({ mode: 'apply' })
    expect([deployed.exitCode, explain(deployed)]).toEqual([0, explain(deployed)])
    expect(instanceCount(await bed.state(DEFAULT_BUCKET))).toBe(7)
    const [mode, dataDir = ''] = fs.readFileSync(probe, 'utf8').trim().split(' ')
    expect(mode).toBe('700')
    const runnerTemp = fs.realpathSync(path.join(deployed.runnerDir, 'temp'))
    expect(path.relative(runnerTemp, path.resolve(workspace, 'terraform', dataDir))).toMatch(
      /^revive-deploy-[^/]+\/[^/]+$/
    )
    expect(fs.existsSync(dataDir)).toBe(false)
    nothingLeft(deployed, workspace)
    // The lock file stays with the root module (none here: terraform_data is built in).
    expect(walk(path.join(workspace, 'terraform'))).toEqual([
      'child/main.tf',
      'main.tf',
      'probe.tf'
    ])
  })

  it('a failed plan leaves nothing either', async () => {
    const failed = await run({ mode: 'apply', variables: 'not_declared=1' })
    expect(failed.exitCode).toBe(1)
    expect(failed.errors[0]).toMatch(/^terraform plan failed/)
    nothingLeft(failed, workspace)
  })
})

describe('state recorded in the data directory of earlier Terraform runs', () => {
  let bed: Testbed
  let workspace: string
  let userDataDir: string
  let record: string
  beforeAll(async () => {
    bed = await startTestbed('eu-west-1')
    workspace = makeWorkspace('app')
    await bed.s3().send(new CreateBucketCommand({ Bucket: 'old-state' }))
    // The stack was applied by hand into another bucket: its checkout's .terraform/ records it.
    const dir = path.join(workspace, 'terraform')
    const env = { ...process.env, ...bed.standins.env, TF_IN_AUTOMATION: '1' }
    const backend = [...bed.backendConfig.split('\n'), 'region=eu-west-1']
    // Asynchronously: the stand-ins answer from this process.
    await exec(
      'terraform',
      [
        'init',
        '-input=false',
        '-no-color',
        '-backend-config=bucket=old-state',
        '-backend-config=key=old/terraform.tfstate',
        ...backend.map(line => `-backend-config=${line}`)
      ],
      { cwd: dir, env }
    )
    await exec('terraform', ['apply', '-auto-approve', '-input=false', '-no-color'], {
      cwd: dir,
      env
    })
    userDataDir = path.join(dir, '.terraform')
    record = fs.readFileSync(path.join(userDataDir, 'terraform.tfstate'), 'utf8')
    expect(record).toContain('old-state')
  }, 300_000)
  afterAll(async () => {
    await bed.stop()
    fs.rmSync(workspace, { recursive: true, force: true })
  })

  it('is found in the checkout’s .terraform/ and, without migrate-state, refused', async () => {
    const run = await bed.run(workspace, { mode: 'apply' })
    expect(run.exitCode).toBe(1)
    expect(run.errors[0]).toContain('s3://old-state/old/terraform.tfstate')
    expect(run.errors[0]).toContain('terraform/.terraform/terraform.tfstate')
    expect(run.log).not.toContain('[command]terraform plan')
  })

  it('in a TF_DATA_DIR of the workflow, is migrated with migrate-state, the user’s directory untouched', async () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'user-data-dir-'))
    fs.cpSync(userDataDir, elsewhere, { recursive: true })
    fs.rmSync(userDataDir, { recursive: true })
    const before = walk(elsewhere)
    try {
      const run = await bed.run(
        workspace,
        { mode: 'apply', 'migrate-state': 'true' },
        { env: { TF_DATA_DIR: elsewhere } }
      )
      expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
      expect(run.log).toContain('Migrated the state of s3://old-state/old/terraform.tfstate')
      expect(run.outputs.changes).toBe('false')
      expect(instanceCount(await bed.state(DEFAULT_BUCKET))).toBe(6)
      expect(fs.readFileSync(path.join(elsewhere, 'terraform.tfstate'), 'utf8')).toBe(record)
      expect(walk(elsewhere)).toEqual(before)
      expect(fs.existsSync(userDataDir)).toBe(false)
      expect(walk(path.join(run.runnerDir, 'temp'), true)).toEqual([])
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true })
    }
  })
})
