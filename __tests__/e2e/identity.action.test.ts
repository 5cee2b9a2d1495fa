import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { DeleteObjectCommand, HeadBucketCommand } from '@aws-sdk/client-s3'
import {
  explain,
  instanceCount,
  makeWorkspace,
  startTestbed,
  type Testbed,
  type TerraformState
} from '../helpers/testbed'

// State identity through the bundled action, the real Terraform binary and the stand-ins: a stack is
// never planned against empty state while its state exists somewhere, nor against another stack's.
const OWNER = '.revive-deploy-owner.json'
const DEFAULT_BUCKET = 'shop-terraform-state-123456789012'

const PR = { event: { name: 'pull_request', payload: { pull_request: { number: 3 } } } }

/** Replace the `backend "s3" {}` line of a workspace's root module. */
function setBackend(dir: string, block: string): void {
  const file = path.join(dir, 'main.tf')
  const text = fs.readFileSync(file, 'utf8')
  fs.writeFileSync(file, text.replace(/backend "s3" \{[^}]*\}/, block))
}

async function bucketExists(bed: Testbed, bucket: string): Promise<boolean> {
  try {
    await bed.s3().send(new HeadBucketCommand({ Bucket: bucket }))
    return true
  } catch {
    return false
  }
}

/** The run planned nothing: no plan line, no init, no add/destroy counts. */
function plannedNothing(log: string): void {
  expect(log).not.toContain('[command]terraform plan')
  expect(log).not.toMatch(/\d+ to add/)
}

describe('state identity: adopting a backend block that names existing state', () => {
  let bed: Testbed
  let workspace: string
  beforeAll(async () => {
    bed = await startTestbed('eu-west-1')
    workspace = makeWorkspace('app')
    // The team's state: made with their own bucket, key and table (here by a first deploy naming
    // them), without this action's ownership record (as state made by hand would be).
    const first = await bed.run(workspace, {
      mode: 'apply',
      'state-bucket': 'team-tfstate',
      'state-key': 'prod/app.tfstate',
      'lock-table': 'team-locks'
    })
    expect([first.exitCode, explain(first)]).toEqual([0, explain(first)])
    await bed
      .s3()
      .send(new DeleteObjectCommand({ Bucket: 'team-tfstate', Key: `prod/app.tfstate${OWNER}` }))
    setBackend(
      path.join(workspace, 'terraform'),
      [
        'backend "s3" {',
        '    bucket         = "team-tfstate"',
        '    key            = "prod/app.tfstate" # the team\'s key',
        '    region         = "eu-west-1"',
        '    dynamodb_table = "team-locks"',
        '  }'
      ].join('\n')
    )
  }, 300_000)
  afterAll(async () => bed.stop())

  it("with default inputs, plans against the block's bucket and key: no changes", async () => {
    const run = await bed.run(workspace, {}, PR)
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(run.outputs.changes).toBe('false')
    expect(run.outputs['to-add']).toBe('0')
    expect(run.outputs['state-bucket']).toBe('team-tfstate')
    expect(run.outputs['lock-table']).toBe('team-locks')
    expect(run.summary).toContain('`team-tfstate`')
    expect(run.summary).toContain('`prod/app.tfstate`')
    expect(run.log).toContain('bucket team-tfstate from the backend block in terraform/main.tf')
    // No second bucket beside the team's.
    expect(await bucketExists(bed, DEFAULT_BUCKET)).toBe(false)
  })

  it('a deploy with default inputs applies nothing new and keeps one state', async () => {
    const run = await bed.run(workspace, { mode: 'apply' })
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(run.outputs.changes).toBe('false')
    expect(run.outputs['to-add']).toBe('0')
    expect(instanceCount(await bed.state('team-tfstate', 'prod/app.tfstate'))).toBe(6)
  })

  it('an input naming another bucket fails before init, naming both', async () => {
    const run = await bed.run(workspace, { 'state-bucket': 'other-tfstate' }, PR)
    expect(run.exitCode).not.toBe(0)
    expect(run.errors).toHaveLength(1)
    expect(run.errors[0]).toContain('"other-tfstate"')
    expect(run.errors[0]).toContain('"team-tfstate"')
    expect(run.errors[0]).toContain('terraform/main.tf line')
    expect(run.log).not.toContain('[command]terraform init')
    expect(await bucketExists(bed, 'other-tfstate')).toBe(false)
  })

  it('an input naming another key fails the same way', async () => {
    const run = await bed.run(workspace, { 'state-key': 'production/terraform.tfstate' }, PR)
    expect(run.exitCode).not.toBe(0)
    expect(run.errors[0]).toMatch(
      /Input 'state-key' is "production\/terraform.tfstate" but the backend block .* sets key = "prod\/app.tfstate"/
    )
    plannedNothing(run.log)
  })

  it('a backend other than s3 is refused, not overridden', async () => {
    const other = makeWorkspace('app')
    setBackend(path.join(other, 'terraform'), 'backend "remote" {\n    organization = "acme"\n  }')
    const run = await bed.run(other, {}, PR)
    expect(run.exitCode).not.toBe(0)
    expect(run.errors).toHaveLength(1)
    expect(run.errors[0]).toContain('declares backend "remote"')
    plannedNothing(run.log)
  })

  it('a root module without a backend block is refused (its state would stay on the runner)', async () => {
    const other = makeWorkspace('app')
    setBackend(path.join(other, 'terraform'), '')
    const run = await bed.run(other, { mode: 'apply' })
    expect(run.exitCode).not.toBe(0)
    expect(run.errors[0]).toContain('has no backend block')
    expect(run.errors[0]).toContain('backend "s3" {}')
    plannedNothing(run.log)
  })
})

describe('state identity: a local terraform.tfstate', () => {
  let bed: Testbed
  let workspace: string
  let localState: string
  beforeAll(async () => {
    bed = await startTestbed('eu-west-1')
    workspace = makeWorkspace('app')
    // The stack so far lived in a local state file: apply it without the backend block.
    const dir = path.join(workspace, 'terraform')
    const original = fs.readFileSync(path.join(dir, 'main.tf'), 'utf8')
    setBackend(dir, '')
    const env = { ...process.env, TF_IN_AUTOMATION: '1' }
    execFileSync('terraform', ['init', '-input=false', '-no-color'], {
      cwd: dir,
      env,
      stdio: 'pipe'
    })
    execFileSync('terraform', ['apply', '-auto-approve', '-input=false', '-no-color'], {
      cwd: dir,
      env,
      stdio: 'pipe'
    })
    fs.rmSync(path.join(dir, '.terraform'), { recursive: true, force: true })
    fs.writeFileSync(path.join(dir, 'main.tf'), original)
    const file = path.join(dir, 'terraform.tfstate')
    localState = fs.readFileSync(file, 'utf8')
    expect((JSON.parse(localState) as { resources: unknown[] }).resources.length).toBeGreaterThan(0)
  }, 300_000)
  afterAll(async () => bed.stop())

  it('without migrate-state the run refuses, naming the file and the input', async () => {
    const run = await bed.run(workspace, { mode: 'apply' })
    expect(run.exitCode).not.toBe(0)
    expect(run.errors).toHaveLength(1)
    expect(run.errors[0]).toContain('terraform/terraform.tfstate')
    expect(run.errors[0]).toContain('migrate-state: true')
    plannedNothing(run.log)
    expect(await bed.state(DEFAULT_BUCKET)).toBeUndefined()
  })

  it('with migrate-state the remote state has the same resources, and nothing to add', async () => {
    const local = JSON.parse(localState) as TerraformState
    const run = await bed.run(workspace, { mode: 'apply', 'migrate-state': 'true' })
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    const remote = await bed.state(DEFAULT_BUCKET)
    // Terraform 1.11 gives the migrated state a new lineage; the resources are what must arrive.
    expect(remote?.resources).toEqual(local.resources)
    expect(instanceCount(remote)).toBe(6)
    expect(run.outputs.changes).toBe('false')
    expect(run.outputs['to-add']).toBe('0')
    expect(run.log).toContain('Migrated the state of terraform/terraform.tfstate')
  })

  it('a second run (fresh checkout, the local file still committed) needs no flag', async () => {
    fs.writeFileSync(path.join(workspace, 'terraform', 'terraform.tfstate'), localState)
    fs.rmSync(path.join(workspace, 'terraform', '.terraform'), { recursive: true, force: true })
    const run = await bed.run(workspace, { mode: 'apply' })
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(run.outputs.changes).toBe('false')
    expect(instanceCount(await bed.state(DEFAULT_BUCKET))).toBe(6)
    expect(run.log).toContain('terraform/terraform.tfstate is in the checkout')
    // The checkout is left as it was.
    expect(fs.readFileSync(path.join(workspace, 'terraform', 'terraform.tfstate'), 'utf8')).toBe(
      localState
    )
  })
})

const NETWORK = `terraform {
  backend "s3" {}
}

resource "terraform_data" "vpc" {
  input = "10.0.0.0/16"
}

resource "terraform_data" "subnet" {
  for_each = toset(["a", "b"])
  input    = each.key
}
`

describe('state identity: two root modules in one repository', () => {
  let bed: Testbed
  let workspace: string
  beforeAll(async () => {
    bed = await startTestbed('eu-west-1')
    workspace = makeWorkspace('app', { 'network/main.tf': NETWORK })
  })
  afterAll(async () => bed.stop())

  it('with default inputs each gets its own state', async () => {
    const app = await bed.run(workspace, { mode: 'apply' })
    expect([app.exitCode, explain(app)]).toEqual([0, explain(app)])
    const network = await bed.run(workspace, { mode: 'apply', 'working-directory': 'network' })
    expect([network.exitCode, explain(network)]).toEqual([0, explain(network)])
    expect(network.outputs['to-add']).toBe('3')
    expect(network.outputs['to-destroy']).toBe('0')
    expect(instanceCount(await bed.state(DEFAULT_BUCKET, 'production/terraform.tfstate'))).toBe(6)
    expect(
      instanceCount(await bed.state(DEFAULT_BUCKET, 'production/network/terraform.tfstate'))
    ).toBe(3)
    // Each plans clean against its own state afterwards.
    for (const dir of ['terraform', 'network']) {
      const again = await bed.run(workspace, { 'working-directory': dir }, PR)
      expect([again.exitCode, again.outputs.changes]).toEqual([0, 'false'])
    }
  })

  it("pointing one at the other's key fails before planning, naming the owner and the input", async () => {
    const run = await bed.run(
      workspace,
      { 'working-directory': 'network', 'state-key': 'production/terraform.tfstate' },
      PR
    )
    expect(run.exitCode).not.toBe(0)
    expect(run.errors).toHaveLength(1)
    expect(run.errors[0]).toContain('belongs to working directory terraform of acme/shop')
    expect(run.errors[0]).toContain('state-key')
    plannedNothing(run.log)
    expect(run.log).not.toMatch(/to destroy/)
  })

  it('state written before ownership records existed is still told apart by its resources', async () => {
    await bed.s3().send(
      new DeleteObjectCommand({
        Bucket: DEFAULT_BUCKET,
        Key: `production/terraform.tfstate${OWNER}`
      })
    )
    const run = await bed.run(workspace, {
      mode: 'apply',
      'working-directory': 'network',
      'state-key': 'production/terraform.tfstate'
    })
    expect(run.exitCode).not.toBe(0)
    expect(run.errors[0]).toContain('holds none of the resources declared in network')
    plannedNothing(run.log)
    expect(instanceCount(await bed.state(DEFAULT_BUCKET, 'production/terraform.tfstate'))).toBe(6)
  })

  it("a stack's state under the first version's default key is found, not orphaned", async () => {
    // infra/ deployed by the first version kept its state at production/terraform.tfstate.
    const legacy = makeWorkspace('app')
    fs.renameSync(path.join(legacy, 'terraform'), path.join(legacy, 'infra'))
    const first = await bed.run(legacy, {
      mode: 'apply',
      project: 'legacy',
      'working-directory': 'infra',
      'state-key': 'production/terraform.tfstate'
    })
    expect([first.exitCode, explain(first)]).toEqual([0, explain(first)])
    await bed.s3().send(
      new DeleteObjectCommand({
        Bucket: 'legacy-terraform-state-123456789012',
        Key: `production/terraform.tfstate${OWNER}`
      })
    )
    const run = await bed.run(legacy, { project: 'legacy', 'working-directory': 'infra' }, PR)
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(run.outputs.changes).toBe('false')
    expect(run.outputs['to-add']).toBe('0')
    expect(run.log).toContain("the first version's default key")
  })
})
