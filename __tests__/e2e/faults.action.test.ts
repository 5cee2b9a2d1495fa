import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import {
  byAction,
  COPY_BUILD,
  explain,
  instanceCount,
  makeWorkspace,
  SMALL_SITE,
  writeSite,
  type Testbed,
  APP_SITE,
  startSiteTestbed
} from '../helpers/testbed'

// Transient faults from every service are retried; a fault that outlasts the retries fails the run
// at its phase with a clear message, and the next run completes the deploy.
const bucket = 'shop-terraform-state-123456789012'
const SITE_BUCKET = APP_SITE.bucket
const deploy = { mode: 'deploy', ...COPY_BUILD }

describe('faults', () => {
  let bed: Testbed
  beforeAll(async () => {
    bed = await startSiteTestbed()
  })
  afterAll(async () => bed.stop())

  it('throttling and 5xx from S3, DynamoDB, CloudFront and GitHub are retried and the run succeeds', async () => {
    const { s3, dynamodb, cloud, github } = bed.standins
    const workspace = makeWorkspace('app')
    writeSite(workspace, SMALL_SITE)
    s3.failNext(3, { operation: 'HeadBucket' }, 'throttle')
    s3.failNext(3, { operation: 'PutObject', path: /^\/app-site\// }, '5xx')
    dynamodb.failNext(2, { operation: 'DescribeTable' }, 'throttle')
    dynamodb.failNext(2, { operation: 'CreateTable' }, '5xx')
    cloud.failNext(2, { operation: 'CreateInvalidation' }, '5xx')
    cloud.failNext(2, { operation: 'GetCallerIdentity' }, 'throttle')
    const run = await bed.run(workspace, deploy)
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(run.outputs.uploaded).toBe('5')
    expect(run.outputs['invalidation-id']).not.toBe('')
    const faults = [...s3.requests, ...dynamodb.requests, ...cloud.requests].filter(r => r.fault)
    console.log(
      `faults injected and retried: ${faults.map(r => `${r.operation}:${r.fault}`).join(', ')}`
    )
    expect(faults.length).toBe(14)

    const pr = github.addPullRequest('acme/shop', { number: 31 }).number
    github.failNext(2, { method: 'POST' }, '5xx')
    const planned = await bed.run(
      workspace,
      { variables: 'app_version=2' },
      {
        event: { name: 'pull_request', payload: { pull_request: { number: pr } } },
        env: { GITHUB_TOKEN: 'ghs_standin_write' }
      }
    )
    expect(planned.exitCode).toBe(0)
    expect(
      github.comments('acme/shop', pr).filter(c => c.user.login === 'github-actions[bot]')
    ).toHaveLength(1)
    expect(github.requests.filter(r => r.fault).length).toBe(2)
  })

  it('a DynamoDB fault outlasting the retries fails the backend phase clearly; the next run deploys', async () => {
    const workspace = makeWorkspace('app')
    writeSite(workspace, SMALL_SITE)
    const inputs = { ...deploy, 'state-key': 'faults/terraform.tfstate' }
    // The SDK makes 6 attempts: 6 failures outlast them.
    bed.standins.dynamodb.failNext(6, { operation: 'DescribeTable' }, '5xx')
    const failed = await bed.run(workspace, inputs)
    expect(failed.exitCode).toBe(1)
    expect(failed.errors).toHaveLength(1)
    expect(failed.errors[0]).toMatch(
      /Could not check the lock table shop-terraform-locks: InternalServerError/
    )
    expect(failed.log).not.toContain('terraform init')
    expect(failed.summary).toMatch(/State backend \| failed/)
    const next = await bed.run(workspace, inputs)
    expect([next.exitCode, explain(next)]).toEqual([0, explain(next)])
    expect(instanceCount(await bed.state(bucket, 'faults/terraform.tfstate'))).toBe(6)
  })

  it('a reset outlasting the upload retries deletes nothing; the next run completes the sync', async () => {
    const workspace = makeWorkspace('app')
    writeSite(workspace, { ...SMALL_SITE, 'extra.txt': 'extra' })
    const inputs = { ...deploy, 'state-key': 'faults/terraform.tfstate', 'site-prefix': 'reset' }
    expect((await bed.run(workspace, inputs)).exitCode).toBe(0)
    writeSite(workspace, { 'assets/app.1a2b3c4d.js': 'console.log("v2")!' })
    const { rmSync } = await import('node:fs')
    rmSync(`${workspace}/frontend/src/extra.txt`)
    bed.standins.s3.clearRequests()
    bed.standins.s3.failNext(6, { operation: 'PutObject', path: /app\.1a2b3c4d\.js$/ }, 'reset')
    const failed = await bed.run(workspace, inputs)
    expect(failed.exitCode).toBe(1)
    expect(failed.errors.at(-1)).toMatch(/nothing was deleted/i)
    expect(byAction(bed.standins.s3.requests).some(r => /^Delete/.test(r.operation))).toBe(false)
    const next = await bed.run(workspace, inputs)
    expect([next.exitCode, explain(next)]).toEqual([0, explain(next)])
    expect(next.outputs.uploaded).toBe('1')
    expect(next.outputs.deleted).toBe('1')
  })

  it('a failed apply leaves the site untouched', async () => {
    const workspace = makeWorkspace('already-exists')
    writeSite(workspace, SMALL_SITE)
    bed.standins.s3.clearRequests()
    const run = await bed.run(workspace, {
      ...deploy,
      'state-key': 'exists/terraform.tfstate',
      'site-bucket': SITE_BUCKET
    })
    expect(run.exitCode).toBe(1)
    expect(run.errors.at(-1)).toMatch(/terraform apply failed/)
    expect(bed.standins.s3.requests.filter(r => r.path.startsWith(`/${SITE_BUCKET}`))).toEqual([])
    expect(run.outputs.uploaded).toBeUndefined()
  })
})
