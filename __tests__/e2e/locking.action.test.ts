import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import {
  CreateTableCommand,
  ListTablesCommand,
  PutItemCommand,
  ScanCommand
} from '@aws-sdk/client-dynamodb'
import { DeleteObjectCommand, ListBucketsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { repoRoot } from '../../standins/run-action'
import { iamActions } from '../helpers/iam'
import {
  runKilledMidApply,
  explain,
  instanceCount,
  GITHUB_REPO,
  makeWorkspace,
  pullRequestEvent,
  startTestbed,
  type Testbed
} from '../helpers/testbed'

// Locking through the bundled action, the real Terraform and the stand-ins: plans without the lock,
// the lock holder report, mode unlock, and the lock choice (dynamodb, s3, both).
const bucket = 'shop-terraform-state-123456789012'
const table = 'shop-terraform-locks'
const documented = JSON.parse(
  fs.readFileSync(path.join(repoRoot, 'docs', 'iam-permissions.json'), 'utf8')
) as Record<string, string[]>

/** Terraform's lock item (as its S3 backend writes it) for a run that holds `key`. */
export function lockInfo(key: string, id: string, who = 'runner@fv-az123') {
  return {
    ID: id,
    Operation: 'OperationTypeApply',
    Info: '',
    Who: who,
    Version: '1.11.0',
    Created: '2026-12-06T02:10:00.123456789Z',
    Path: `${bucket}/${key}`
  }
}

async function lockTableItems(bed: Testbed): Promise<Array<Record<string, string>>> {
  const out = await bed.dynamodb().send(new ScanCommand({ TableName: table }))
  return (out.Items ?? [])
    .map(i => Object.fromEntries(Object.entries(i).map(([k, v]) => [k, v.S ?? ''])))
    .sort((a, b) => (a.LockID ?? '').localeCompare(b.LockID ?? ''))
}

async function holdLock(bed: Testbed, key: string, id: string): Promise<void> {
  await bed.dynamodb().send(
    new PutItemCommand({
      TableName: table,
      Item: {
        LockID: { S: `${bucket}/${key}` },
        Info: { S: JSON.stringify(lockInfo(key, id)) }
      }
    })
  )
}

describe('locking', () => {
  let bed: Testbed
  beforeAll(async () => {
    bed = await startTestbed()
  })
  afterAll(async () => bed.stop())

  it('plan-lock false: a pull-request plan while another run holds the lock succeeds and writes nothing to the lock table', async () => {
    const workspace = makeWorkspace('app')
    const key = 'unlocked-plan/terraform.tfstate'
    const applied = await bed.run(workspace, { mode: 'apply', 'state-key': key })
    expect([applied.exitCode, explain(applied)]).toEqual([0, explain(applied)])
    const id = '6f1c0c1e-5b0a-4d59-9a53-2f0d3c1b7e11'
    await holdLock(bed, key, id)
    const before = await lockTableItems(bed)
    bed.standins.github.addPullRequest(GITHUB_REPO, { number: 41 })

    // With the lock (the default), the plan waits for it and fails.
    const locked = await bed.run(
      workspace,
      { mode: 'plan', 'state-key': key, 'lock-timeout': '1s', variables: 'app_version=2' },
      pullRequestEvent(41)
    )
    expect(locked.exitCode).toBe(1)
    expect(locked.errors.at(-1)).toMatch(/The Terraform state is locked/)
    expect(locked.errors.at(-1)).toContain(`mode: unlock and lock-id: ${id}`)
    expect(JSON.parse(locked.outputs['lock-holder'] ?? '{}')).toEqual({
      id,
      who: 'runner@fv-az123',
      created: '2026-12-06T02:10:00.123Z',
      operation: 'apply'
    })

    for (const s of [bed.standins.s3, bed.standins.dynamodb, bed.standins.cloud]) s.clearRequests()
    const run = await bed.run(
      workspace,
      { mode: 'plan', 'state-key': key, 'plan-lock': 'false', variables: 'app_version=2' },
      pullRequestEvent(41)
    )
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(run.outputs.changes).toBe('true')
    expect(run.log).toMatch(/-lock=false/)
    // Nothing written to the table by anyone (the action's SDK or Terraform): only reads.
    const writes = bed.standins.dynamodb.requests.filter(
      r => !/^(Get|Describe|Scan|Query|List)/.test(r.operation)
    )
    expect(writes.map(r => r.operation)).toEqual([])
    // The README's read-only list covers every call (the fingerprint key's one-time write aside).
    const used = [
      ...bed.standins.s3.requests,
      ...bed.standins.dynamodb.requests,
      ...bed.standins.cloud.requests
    ]
      .filter(r => !(r.operation === 'PutObject' && r.path.endsWith('.revive-deploy-hmac-key')))
      .flatMap(iamActions)
    expect([...new Set(used)].filter(a => !documented['plan-read-only']?.includes(a))).toEqual([])
    expect(await lockTableItems(bed)).toEqual(before)
  }, 120_000)

  it('mode unlock: a lock left by a killed apply is shown, kept for a wrong id, released for its id; then a deploy succeeds', async () => {
    const workspace = makeWorkspace('slow')
    const key = 'killed/terraform.tfstate'
    const inputs = { mode: 'apply', 'state-key': key, 'lock-timeout': '2s' }
    const dispatch = { event: { name: 'workflow_dispatch', payload: {} } }
    const killed = await runKilledMidApply(bed, workspace, inputs)
    expect(killed.signal).toBe('SIGKILL')

    const blocked = await bed.run(workspace, inputs)
    expect(blocked.exitCode).toBe(1)
    const holder = JSON.parse(blocked.outputs['lock-holder'] ?? '{}') as Record<string, string>
    expect(holder.operation).toBe('apply')
    expect(holder.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(holder.who).toMatch(/@/)
    expect(Date.now() - Date.parse(holder.created ?? '')).toBeLessThan(120_000)
    const lockItem = async () =>
      (await lockTableItems(bed)).find(i => i.LockID === `${bucket}/${key}`)
    const held = await lockItem()
    expect(held).toBeDefined()

    // A wrong id changes nothing and says what holds the lock.
    const wrong = await bed.run(
      workspace,
      { mode: 'unlock', 'state-key': key, 'lock-id': '00000000-0000-4000-8000-000000000000' },
      dispatch
    )
    expect(wrong.exitCode).toBe(1)
    expect(wrong.errors).toHaveLength(1)
    expect(wrong.errors[0]).toMatch(/is not the lock that holds the state .*nothing was changed/)
    expect(wrong.errors[0]).toContain(`lock-id: ${holder.id}`)
    expect(wrong.errors[0]).toContain('for a terraform apply')
    expect(wrong.log).not.toMatch(/force-unlock/)
    expect(await lockItem()).toEqual(held)

    // The right id releases it, with Terraform's force-unlock.
    const released = await bed.run(
      workspace,
      { mode: 'unlock', 'state-key': key, 'lock-id': holder.id ?? '' },
      dispatch
    )
    expect([released.exitCode, explain(released)]).toEqual([0, explain(released)])
    expect(released.log).toMatch(/\[command\]terraform force-unlock -force/)
    expect(released.log).toMatch(/Released the state lock/)
    expect(JSON.parse(released.outputs['lock-holder'] ?? '{}')).toEqual(holder)
    expect(await lockItem()).toBeUndefined()

    // No lock: says so, changes nothing.
    bed.standins.dynamodb.clearRequests()
    const none = await bed.run(
      workspace,
      { mode: 'unlock', 'state-key': key, 'lock-id': holder.id ?? '' },
      dispatch
    )
    expect([none.exitCode, explain(none)]).toEqual([0, explain(none)])
    expect(none.log).toMatch(/No lock holds the state/)
    expect(none.outputs['lock-holder']).toBeUndefined()
    expect(bed.standins.dynamodb.requests.map(r => r.operation)).toEqual(['GetItem'])

    const converged = await bed.run(workspace, { ...inputs, 'lock-timeout': '30s' })
    expect([converged.exitCode, explain(converged)]).toEqual([0, explain(converged)])
    expect(instanceCount(await bed.state(bucket, key))).toBe(3)
  }, 240_000)

  it('mode unlock without lock-id: one error naming the input, no AWS call', async () => {
    const workspace = makeWorkspace('app')
    for (const s of [bed.standins.s3, bed.standins.dynamodb, bed.standins.cloud]) s.clearRequests()
    const run = await bed.run(workspace, { mode: 'unlock' })
    expect(run.exitCode).toBe(1)
    expect(run.errors).toEqual([
      "Input 'lock-id': mode unlock needs the ID of the lock to release: take it from the locked run's message or its lock-holder output"
    ])
    const calls = [bed.standins.s3, bed.standins.dynamodb, bed.standins.cloud].flatMap(
      s => s.requests
    )
    expect(calls).toEqual([])
  })
})

describe('lock: s3 (Terraform use_lockfile) and lock: both', () => {
  let bed: Testbed
  beforeAll(async () => {
    bed = await startTestbed()
  })
  afterAll(async () => bed.stop())
  const s3Lock = { lock: 's3' }

  const tflocks = async (): Promise<string[]> =>
    ((await bed.s3().send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? [])
      .map(o => o.Key ?? '')
      .filter(k => k.endsWith('.tflock'))

  it('on an empty account: bucket only, no table; three applies at once take the S3 lock in turn and converge', async () => {
    const workspaces = Array.from({ length: 3 }, () => makeWorkspace('app'))
    const runs = await Promise.all(
      workspaces.map(ws => bed.run(ws, { mode: 'apply', 'lock-timeout': '3m', ...s3Lock }))
    )
    for (const run of runs) expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect((await bed.s3().send(new ListBucketsCommand({}))).Buckets?.map(b => b.Name)).toEqual([
      bucket
    ])
    expect(bed.standins.dynamodb.requests).toEqual([])
    expect((await bed.dynamodb().send(new ListTablesCommand({}))).TableNames).toEqual([])
    expect(runs.map(r => r.outputs['lock-table'])).toEqual(['', '', ''])
    expect(instanceCount(await bed.state(bucket))).toBe(6)
    expect(runs.map(r => Number(r.outputs['to-add'])).reduce((a, b) => a + b, 0)).toBe(6)
    // Terraform's lock file was written with If-None-Match and removed: none is left behind.
    const lockWrites = bed.standins.s3.requests.filter(
      r => r.operation === 'PutObject' && r.path.endsWith('.tflock')
    )
    expect(lockWrites.length).toBeGreaterThanOrEqual(3)
    expect(await tflocks()).toEqual([])
    expect(runs[0]?.summary).toMatch(/S3 lock file/)
  }, 240_000)

  it('the state-loss guard: with no digest, the versions of the state object are the evidence', async () => {
    const key = 'production/terraform.tfstate'
    const workspace = makeWorkspace('app')
    await bed.s3().send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))
    const run = await bed.run(workspace, { mode: 'apply', ...s3Lock })
    expect(run.exitCode).toBe(1)
    expect(run.errors).toHaveLength(1)
    expect(run.errors[0]).toMatch(
      /State-loss guard: .* is missing, but the bucket holds \d+ earlier version/
    )
    expect(run.errors[0]).not.toMatch(/digest/)
    expect(run.errors[0]).toContain('set allow-fresh-state: true')
    expect(run.log).not.toContain('terraform plan')
    const fresh = await bed.run(workspace, { mode: 'plan', 'allow-fresh-state': 'true', ...s3Lock })
    expect([fresh.exitCode, explain(fresh)]).toEqual([0, explain(fresh)])
    expect(fresh.outputs['to-add']).toBe('6')
  })

  it('a killed apply leaves the S3 lock file: the next run reports its holder, mode unlock releases it', async () => {
    const workspace = makeWorkspace('slow')
    const key = 'slow-s3/terraform.tfstate'
    const inputs = { mode: 'apply', 'state-key': key, 'lock-timeout': '2s', ...s3Lock }
    const killed = await runKilledMidApply(bed, workspace, inputs)
    expect(killed.signal).toBe('SIGKILL')
    expect(await tflocks()).toEqual([`${key}.tflock`])
    const blocked = await bed.run(workspace, inputs)
    expect(blocked.exitCode).toBe(1)
    const holder = JSON.parse(blocked.outputs['lock-holder'] ?? '{}') as Record<string, string>
    expect(holder.operation).toBe('apply')
    const released = await bed.run(
      workspace,
      { mode: 'unlock', 'state-key': key, 'lock-id': holder.id ?? '', ...s3Lock },
      { event: { name: 'workflow_dispatch', payload: {} } }
    )
    expect([released.exitCode, explain(released)]).toEqual([0, explain(released)])
    expect(released.log).toContain(`s3://${bucket}/${key}.tflock`)
    expect(await tflocks()).toEqual([])
    const converged = await bed.run(workspace, { ...inputs, 'lock-timeout': '30s' })
    expect([converged.exitCode, explain(converged)]).toEqual([0, explain(converged)])
    expect(instanceCount(await bed.state(bucket, key))).toBe(3)
  }, 240_000)

  it('lock: both with an existing table takes both locks (the migration path)', async () => {
    await bed.dynamodb().send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'LockID', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'LockID', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST'
      })
    )
    bed.standins.s3.clearRequests()
    bed.standins.dynamodb.clearRequests()
    const workspace = makeWorkspace('app')
    const run = await bed.run(workspace, {
      mode: 'apply',
      lock: 'both',
      'state-key': 'both/terraform.tfstate'
    })
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(run.outputs['lock-table']).toBe(table)
    expect(run.outputs['backend-created']).toBe('false')
    const tableLocks = bed.standins.dynamodb.requests.filter(
      r => r.operation === 'PutItem' && !/aws-sdk-js/i.test(r.userAgent)
    )
    const fileLocks = bed.standins.s3.requests.filter(
      r => r.operation === 'PutObject' && r.path.endsWith('.tflock')
    )
    expect(tableLocks.length).toBeGreaterThan(0)
    expect(fileLocks.length).toBeGreaterThan(0)
    expect(await tflocks()).toEqual([])
    // Only Terraform's digest stays in the table, as with lock: dynamodb.
    expect((await lockTableItems(bed)).map(i => i.LockID)).toEqual([
      `${bucket}/both/terraform.tfstate-md5`
    ])
  })

  it('use_lockfile = true in the backend block: lock dynamodb (the default) works as both; lock s3 drops the table', async () => {
    const workspace = makeWorkspace('app', {
      'terraform/backend_override.tf':
        'terraform {\n  backend "s3" {\n    use_lockfile = true\n  }\n}\n'
    })
    const inputs = { mode: 'apply', 'state-key': 'block/terraform.tfstate' }
    const run = await bed.run(workspace, inputs)
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(run.log).toMatch(
      /lock both: the backend block in terraform\/backend_override.tf line \d+ sets use_lockfile = true/
    )
    expect(run.outputs['lock-table']).toBe(table)
    bed.standins.dynamodb.clearRequests()
    bed.standins.s3.clearRequests()
    const s3Only = await bed.run(workspace, { ...inputs, lock: 's3', variables: 'app_version=3' })
    expect([s3Only.exitCode, explain(s3Only)]).toEqual([0, explain(s3Only)])
    expect(bed.standins.dynamodb.requests).toEqual([])
    expect(
      bed.standins.s3.requests.some(
        r => r.operation === 'PutObject' && r.path.endsWith('block/terraform.tfstate.tflock')
      )
    ).toBe(true)
  })
})
