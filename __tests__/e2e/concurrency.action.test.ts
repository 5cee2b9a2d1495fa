import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import * as path from 'node:path'
import { ListBucketsCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3'
import { ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb'
import {
  COPY_BUILD,
  runKilledMidApply,
  explain,
  instanceCount,
  makeWorkspace,
  SMALL_SITE,
  writeSite,
  type Testbed,
  APP_SITE,
  startSiteTestbed
} from '../helpers/testbed'

// "Deploy ten times, same resources as once; two deploys at once, no conflicts" — through the
// bundled action, the real Terraform binary and the stand-ins.
const bucket = 'shop-terraform-state-123456789012'
const table = 'shop-terraform-locks'
const SITE_BUCKET = APP_SITE.bucket
const DISTRIBUTION = APP_SITE.distribution
const deployInputs = { mode: 'deploy', 'lock-timeout': '3m', ...COPY_BUILD }

async function lockItems(bed: Testbed): Promise<string[]> {
  const out = await bed.dynamodb().send(new ScanCommand({ TableName: table }))
  return (out.Items ?? []).map(i => i.LockID?.S ?? '')
}

async function stateVersions(bed: Testbed, key: string): Promise<number> {
  const out = await bed.s3().send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }))
  return (out.Versions ?? []).filter(v => v.Key === key).length
}

describe('concurrency and repetition', () => {
  let bed: Testbed
  beforeAll(async () => {
    bed = await startSiteTestbed()
  })
  afterAll(async () => bed.stop())

  it('five deploys at once against a backend that does not exist yet all succeed, with one of everything', async () => {
    const workspaces = Array.from({ length: 5 }, () => {
      const ws = makeWorkspace('app')
      writeSite(ws, SMALL_SITE)
      return ws
    })
    const started = Date.now()
    const runs = await Promise.all(workspaces.map(ws => bed.run(ws, deployInputs)))
    console.log(
      `5 concurrent first deploys: ${((Date.now() - started) / 1000).toFixed(1)} s in all`
    )
    for (const run of runs) expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])

    expect(
      (await bed.s3().send(new ListBucketsCommand({}))).Buckets?.map(b => b.Name).sort()
    ).toEqual([SITE_BUCKET, bucket])
    expect((await bed.dynamodb().send(new ListTablesCommand({}))).TableNames).toEqual([table])
    expect(instanceCount(await bed.state(bucket))).toBe(6)
    // Only Terraform's state digest is left in the table: no lock outlived its run.
    expect(await lockItems(bed)).toEqual([`${bucket}/production/terraform.tfstate-md5`])

    // Coherent reports: together the runs created the 6 resources exactly once.
    const added = runs.map(r => Number(r.outputs['to-add']))
    console.log(`to-add per run (after any re-plan): ${added.join(', ')}`)
    expect(added.reduce((a, b) => a + b, 0)).toBe(6)
    for (const run of runs) {
      expect(run.outputs['state-bucket']).toBe(bucket)
      expect(Number(run.outputs.uploaded) + Number(run.outputs.unchanged)).toBe(5)
    }
    expect(runs.filter(r => r.outputs['backend-created'] === 'true').length).toBeGreaterThanOrEqual(
      1
    )
  })

  it('ten deploys in a row with no change: nothing planned, uploaded or invalidated, no new state version', async () => {
    const workspace = makeWorkspace('app')
    writeSite(workspace, SMALL_SITE)
    const first = await bed.run(workspace, deployInputs)
    expect(first.exitCode).toBe(0)
    const key = 'production/terraform.tfstate'
    const versionsBefore = await stateVersions(bed, key)
    const invalidationsBefore = bed.standins.cloud.invalidations(DISTRIBUTION).length
    const rows: string[] = []
    for (let i = 2; i <= 10; i++) {
      const run = await bed.run(workspace, deployInputs)
      expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
      const o = run.outputs
      rows.push(
        `run ${i}: ${o['plan-summary']} uploaded ${o.uploaded} invalidation '${o['invalidation-id']}'`
      )
      expect([o['to-add'], o['to-change'], o['to-destroy'], o['to-replace']]).toEqual([
        '0',
        '0',
        '0',
        '0'
      ])
      expect([o.uploaded, o.deleted, o['invalidation-id']]).toEqual(['0', '0', ''])
    }
    console.log(rows.join('\n'))
    expect(instanceCount(await bed.state(bucket))).toBe(6)
    expect(await stateVersions(bed, key)).toBe(versionsBefore)
    expect(bed.standins.cloud.invalidations(DISTRIBUTION).length).toBe(invalidationsBefore)
    console.log(`state versions after 10 deploys: ${versionsBefore} (no growth without a change)`)
  })

  it('a run killed mid-apply leaves a lock that is reported with force-unlock; after unlocking the deploy converges', async () => {
    const workspace = makeWorkspace('slow')
    const inputs = { mode: 'apply', 'state-key': 'slow/terraform.tfstate', 'lock-timeout': '2s' }
    const killed = await runKilledMidApply(bed, workspace, inputs)
    expect(killed.signal).toBe('SIGKILL')

    const blocked = await bed.run(workspace, inputs)
    expect(blocked.exitCode).toBe(1)
    const message = blocked.errors.at(-1) ?? ''
    expect(message).toMatch(/terraform force-unlock [0-9a-f-]{36}/)
    const lockId = /force-unlock ([0-9a-f-]{36})/.exec(message)?.[1] ?? ''

    // What the message says to do: terraform init with the same backend settings in the working
    // directory (the action keeps its own .terraform/ private and removes it), then force-unlock.
    // (asynchronously: the stand-ins answer from this very process)
    expect(message).toMatch(/after terraform init with the same backend settings/)
    const terraform = (args: string[]) =>
      promisify(execFile)('terraform', args, {
        cwd: path.join(workspace, 'terraform'),
        env: { ...process.env, ...bed.standins.env }
      })
    await terraform([
      'init',
      '-input=false',
      `-backend-config=bucket=${bucket}`,
      '-backend-config=key=slow/terraform.tfstate',
      `-backend-config=region=${bed.region}`,
      `-backend-config=dynamodb_table=${table}`,
      ...bed.backendConfig.split('\n').map(line => `-backend-config=${line}`)
    ])
    await terraform(['force-unlock', '-force', lockId])
    const converged = await bed.run(workspace, { ...inputs, 'lock-timeout': '30s' })
    expect([converged.exitCode, explain(converged)]).toEqual([0, explain(converged)])
    expect(instanceCount(await bed.state(bucket, 'slow/terraform.tfstate'))).toBe(3)
    const again = await bed.run(workspace, inputs)
    expect(again.outputs.changes).toBe('false')
  }, 240_000)
})
