import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import {
  COPY_BUILD,
  explain,
  makeWorkspace,
  SMALL_SITE,
  writeSite,
  type Testbed,
  APP_SITE,
  startSiteTestbed
} from './helpers/testbed'

// The second security review (issue 14): each defect it found, through the bundled action.

const STATE_BUCKET = 'shop-terraform-state-123456789012'
const SITE_BUCKET = APP_SITE.bucket

describe('the frontend sync deletes only what it uploaded', () => {
  let bed: Testbed
  beforeAll(async () => {
    bed = await startSiteTestbed()
  })
  afterAll(async () => bed.stop())

  const keys = async (bucket: string): Promise<string[]> =>
    ((await bed.s3().send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? [])
      .map(o => o.Key ?? '')
      .sort()

  const stateText = async (): Promise<string> => {
    const state = await bed
      .s3()
      .send(new GetObjectCommand({ Bucket: STATE_BUCKET, Key: 'production/terraform.tfstate' }))
    return (await state.Body?.transformToString()) ?? ''
  }

  it("keeps access logs, another team's files and state-like keys, and reports them", async () => {
    const workspace = makeWorkspace('app')
    writeSite(workspace, SMALL_SITE)
    const first = await bed.run(workspace, { mode: 'deploy', ...COPY_BUILD })
    expect([first.exitCode, explain(first)]).toEqual([0, explain(first)])
    const s3 = bed.s3()
    const foreign = {
      'logs/E2EXAMPLE.2026-12-04-10.abcd.gz': 'cloudfront access log',
      'reports/q4.pdf': "another team's file",
      'backup/terraform.tfstate': '{"version":4}'
    }
    for (const [Key, Body] of Object.entries(foreign)) {
      await s3.send(new PutObjectCommand({ Bucket: SITE_BUCKET, Key, Body }))
    }
    // A state-like key the action uploaded once (it carries the action's metadata) is kept too.
    const withState = { ...SMALL_SITE, 'old/app.tfstate.backup': '{}' }
    writeSite(workspace, withState)
    expect((await bed.run(workspace, { mode: 'deploy', ...COPY_BUILD })).exitCode).toBe(0)

    // The next build drops about/ and the state-like file.
    const { 'about/index.html': _about, ...smaller } = SMALL_SITE
    writeSite(workspace, smaller, { clean: true })
    const run = await bed.run(workspace, { mode: 'deploy', ...COPY_BUILD })
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(run.outputs.deleted).toBe('1')
    expect(await keys(SITE_BUCKET)).toEqual(
      [...Object.keys(foreign), ...Object.keys(smaller), 'old/app.tfstate.backup'].sort()
    )
    expect(run.log).toMatch(
      /::notice::Kept 4 objects under s3:\/\/app-site\/ not uploaded by revive-deploy \(or named like Terraform state\): backup\/terraform.tfstate logs\/E2EXAMPLE.2026-12-04-10.abcd.gz old\/app.tfstate.backup reports\/q4.pdf/
    )
    expect(run.summary).toMatch(/\| Kept \(not uploaded by revive-deploy\) \| 4 \|/)
  })

  it('refuses to sync into the state bucket, before building or uploading anything', async () => {
    const workspace = makeWorkspace('app')
    writeSite(workspace, SMALL_SITE)
    const first = await bed.run(workspace, { mode: 'apply' })
    expect([first.exitCode, explain(first)]).toEqual([0, explain(first)])
    const before = await keys(STATE_BUCKET)
    expect(before).toContain('production/terraform.tfstate')
    const stateBefore = await stateText()

    const run = await bed.run(workspace, {
      mode: 'frontend',
      ...COPY_BUILD,
      'site-bucket': STATE_BUCKET
    })
    expect(run.exitCode).toBe(1)
    expect(run.errors).toEqual([
      expect.stringMatching(
        /^The site bucket shop-terraform-state-123456789012 \(site-bucket input\) is the Terraform state bucket: refusing to sync a site into it .*nothing was built, uploaded or deleted\.$/
      )
    ])
    expect(await keys(STATE_BUCKET)).toEqual(before)
    expect(await stateText()).toBe(stateBefore)
    expect(JSON.parse(stateBefore).resources.length).toBeGreaterThan(0)
    expect(run.log).not.toMatch(/Uploading|Build finished/)
  })
})
