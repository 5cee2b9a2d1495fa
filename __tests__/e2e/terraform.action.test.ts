import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb'
import {
  explain,
  instanceCount,
  makeWorkspace,
  startTestbed,
  type Testbed
} from '../helpers/testbed'

// The Terraform runner through the bundled action: the real binary against the stand-ins.
const bucket = 'shop-terraform-state-123456789012'
const table = 'shop-terraform-locks'
const key = 'production/terraform.tfstate'
const SECRET_VARIABLE = 'demo-api-key-value-123'
const SECRET_OUTPUT = `sk-${SECRET_VARIABLE}`

/** The titles of the log's `::group::` lines, and the ones opened while another was still open. */
function logGroups(stdout: string): { titles: string[]; nested: string[] } {
  const titles: string[] = []
  const nested: string[] = []
  let open = false
  for (const line of stdout.split(/\r?\n/)) {
    if (line.startsWith('::group::')) {
      if (open) nested.push(line)
      titles.push(line.slice('::group::'.length))
      open = true
    } else if (line === '::endgroup::') open = false
  }
  return { titles, nested }
}

/** The phases the job summary's timing table shows as run (a skipped phase opens no group). */
function phasesRun(summary: string): string[] {
  const lines = summary.split(/\r?\n/)
  const header = lines.findIndex(l => /^\| Phase \| Result \| Time \|$/.test(l))
  expect(header).toBeGreaterThanOrEqual(0)
  const rows: string[] = []
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break
    rows.push(line)
  }
  return rows
    .map(row => row.split(' | ').map(cell => cell.replace(/^\| |\s*\|$/g, '')))
    .filter(([, result]) => result !== 'skipped')
    .map(([name]) => (name ?? '').replace(/\\(.)/g, '$1'))
}

describe('terraform runner through the action', () => {
  let bed: Testbed
  let workspace: string
  beforeAll(async () => {
    bed = await startTestbed('eu-west-1')
    workspace = makeWorkspace('app')
  })
  afterAll(async () => bed.stop())

  it('a pull_request event in auto mode plans and never applies', async () => {
    const run = await bed.run(
      workspace,
      {},
      { event: { name: 'pull_request', payload: { pull_request: { number: 7 } } } }
    )
    expect([run.exitCode, run.outputs.mode]).toEqual([0, 'plan'])
    expect(run.outputs['to-add']).toBe('6')
    expect(run.outputs.changes).toBe('true')
    expect(run.log).not.toContain('terraform apply')
    expect(await bed.state(bucket)).toBeUndefined()
  })

  it('first deploy creates the 6 resources; the next one has no changes and the state still holds 6', async () => {
    const first = await bed.run(workspace, { mode: 'apply' })
    expect([first.exitCode, explain(first)]).toEqual([0, explain(first)])
    expect(first.outputs['plan-summary']).toBe('6 to add, 0 to change, 0 to destroy, 0 to replace')
    expect(instanceCount(await bed.state(bucket))).toBe(6)
    const serial = (await bed.state(bucket))?.serial
    // One log group per phase, titled as the phase's row in the summary; never one inside another.
    const groups = logGroups(first.stdout)
    expect(groups.nested).toEqual([])
    expect(groups.titles).toEqual(phasesRun(first.summary))
    expect(groups.titles).toEqual(expect.arrayContaining(['Terraform plan', 'Terraform apply']))
    expect(first.stdout).toContain('── terraform apply')

    const second = await bed.run(workspace, { mode: 'apply' })
    expect(second.exitCode).toBe(0)
    expect(second.outputs.changes).toBe('false')
    expect([
      second.outputs['to-add'],
      second.outputs['to-change'],
      second.outputs['to-destroy']
    ]).toEqual(['0', '0', '0'])
    expect(instanceCount(await bed.state(bucket))).toBe(6)
    expect((await bed.state(bucket))?.serial).toBe(serial)
    expect(JSON.parse(second.outputs['terraform-outputs'] ?? '{}')).toEqual({
      api_url: 'https://api.example.test/1.0.0',
      cloudfront_distribution_id: 'EAPPDIST0001',
      frontend_bucket: 'app-site'
    })
  })

  it('changing an input updates in place; adding one creates one; a triggers_replace change is a replacement', async () => {
    const update = await bed.run(workspace, { mode: 'apply', variables: 'app_version=1.0.1' })
    expect(update.exitCode).toBe(0)
    expect(update.outputs['plan-summary']).toBe('0 to add, 3 to change, 0 to destroy, 0 to replace')

    const add = await bed.run(workspace, {
      mode: 'apply',
      variables: 'app_version=1.0.1\nfunctions=["orders","payments","users","search"]'
    })
    expect(add.exitCode).toBe(0)
    expect(add.outputs['to-add']).toBe('1')
    expect(add.outputs['to-change']).toBe('1') // the API's input counts the routes
    expect(instanceCount(await bed.state(bucket))).toBe(7)

    const replace = await bed.run(workspace, {
      mode: 'apply',
      variables:
        'app_version=1.0.1\nfunctions=["orders","payments","users","search"]\napi_revision=2'
    })
    expect(replace.exitCode).toBe(0)
    expect(replace.outputs['to-replace']).toBe('1')
    expect([replace.outputs['to-add'], replace.outputs['to-destroy']]).toEqual(['0', '0'])
    expect(instanceCount(await bed.state(bucket))).toBe(7)
  })

  it('never shows a sensitive output or variable; the mask comes before any mention', async () => {
    const run = await bed.run(workspace, {
      mode: 'apply',
      variables: `api_key=${SECRET_VARIABLE}\napp_version=2.0.0`
    })
    expect(run.exitCode).toBe(0)
    const lines = run.stdout.split('\n')
    const firstMask = lines.findIndex(l => l === `::add-mask::${SECRET_OUTPUT}`)
    expect(firstMask).toBeGreaterThanOrEqual(0)
    const mentions = lines
      .map((l, i) => ({ l, i }))
      .filter(({ l }) => l.includes(SECRET_VARIABLE) && !l.startsWith('::add-mask::'))
    // The runner replaces masked values with *** before anything reaches the log; the raw value can
    // only appear in lines the mask already covers, and none may come before the mask.
    for (const m of mentions) expect(m.i).toBeGreaterThan(firstMask)
    expect(JSON.stringify(run.outputs)).not.toContain(SECRET_VARIABLE)
    expect(run.summary).not.toContain(SECRET_VARIABLE)
    expect(run.stderr).not.toContain(SECRET_VARIABLE)
  })

  it('a lock held past lock-timeout fails with who holds it, since when, the operation and the ID', async () => {
    const lockId = 'f4c1b0de-0000-4000-8000-00000000beef'
    const created = new Date().toISOString()
    await bed.dynamodb().send(
      new PutItemCommand({
        TableName: table,
        Item: {
          LockID: { S: `${bucket}/${key}` },
          Info: {
            S: JSON.stringify({
              ID: lockId,
              Operation: 'OperationTypeApply',
              Info: '',
              Who: 'alice@deploy-runner-7',
              Version: '1.11.4',
              Created: created,
              Path: `${bucket}/${key}`
            })
          }
        }
      })
    )
    const before = await bed.state(bucket)
    const started = Date.now()
    const run = await bed.run(workspace, {
      mode: 'apply',
      'lock-timeout': '3s',
      variables: 'app_version=3.0.0'
    })
    const seconds = (Date.now() - started) / 1000
    console.log(`lock held: the run failed after ${seconds.toFixed(1)} s with lock-timeout 3s`)
    expect(run.exitCode).toBe(1)
    const message = run.errors.at(-1) ?? ''
    expect(message).toContain('alice@deploy-runner-7')
    expect(message).toContain(lockId)
    expect(message).toMatch(/OperationTypeApply|apply/)
    expect(message).toContain(created.slice(0, 10))
    expect(message).toContain(`terraform force-unlock ${lockId}`)
    expect(run.summary).toContain('alice@deploy-runner-7')
    expect((await bed.state(bucket))?.serial).toBe(before?.serial)

    // Released within the timeout: the run waits and succeeds.
    setTimeout(() => {
      void bed
        .dynamodb()
        .send(
          new DeleteItemCommand({ TableName: table, Key: { LockID: { S: `${bucket}/${key}` } } })
        )
    }, 3000)
    const waited = await bed.run(workspace, { mode: 'apply', 'lock-timeout': '60s' })
    expect([waited.exitCode, explain(waited)]).toEqual([0, explain(waited)])
  })

  it('an apply failing on a resource that already exists explains how to import it', async () => {
    const ws = makeWorkspace('already-exists')
    const run = await bed.run(ws, { mode: 'apply', environment: 'exists' })
    expect(run.exitCode).toBe(1)
    const message = run.errors.at(-1) ?? ''
    expect(message).toMatch(/already exists/i)
    expect(message).toMatch(/import/)
    expect(run.log).toMatch(/import \{/)
  })
})
