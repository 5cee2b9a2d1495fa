import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3'
import {
  byAction,
  explain,
  makeWorkspace,
  type Testbed,
  APP_SITE,
  startSiteTestbed
} from '../helpers/testbed'

// The whole deploy through the bundled action: Terraform, then the frontend build, the sync by
// content and the invalidation, then the health check.
const SITE_BUCKET = APP_SITE.bucket
const DISTRIBUTION = APP_SITE.distribution

function siteFiles(workspace: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(workspace, 'frontend', 'src', rel)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, content)
  }
}

describe('deploy with a frontend', () => {
  let bed: Testbed
  let workspace: string
  const inputs = {
    mode: 'deploy',
    'build-command':
      'rm -rf dist && mkdir -p dist && cp -R src/. dist/ && printf "%s" "$API_URL" > dist/api.txt',
    'build-env': 'API_URL=api_url',
    'config-file': 'config.json'
  }
  beforeAll(async () => {
    bed = await startSiteTestbed()
    workspace = makeWorkspace('app')
    siteFiles(workspace, {
      'index.html':
        '<!doctype html><title>shop</title><script src="/assets/app.1a2b3c4d.js"></script>',
      'assets/app.1a2b3c4d.js': 'console.log("shop")',
      'assets/style.9f8e7d6c.css': 'body{margin:0}',
      'about/index.html': '<h1>about</h1>',
      'logo.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>'
    })
  })
  afterAll(async () => bed.stop())

  it('applies, builds with the outputs, uploads everything and invalidates', async () => {
    const run = await bed.run(workspace, inputs)
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(run.outputs.uploaded).toBe('7') // 5 files, api.txt, config.json
    expect(run.outputs.deleted).toBe('0')
    expect(run.outputs['invalidation-id']).not.toBe('')
    const s3 = bed.s3()
    const api = await s3.send(new GetObjectCommand({ Bucket: SITE_BUCKET, Key: 'api.txt' }))
    expect(await api.Body?.transformToString()).toBe('https://api.example.test/1.0.0')
    const config = await s3.send(new GetObjectCommand({ Bucket: SITE_BUCKET, Key: 'config.json' }))
    expect(JSON.parse((await config.Body?.transformToString()) ?? '{}')).toEqual({
      API_URL: 'https://api.example.test/1.0.0'
    })
    expect(config.CacheControl).toBe('no-cache')
    const html = await s3.send(new HeadObjectCommand({ Bucket: SITE_BUCKET, Key: 'index.html' }))
    expect(html.ContentType).toBe('text/html; charset=utf-8')
    expect(html.CacheControl).toBe('no-cache')
    const js = await s3.send(
      new HeadObjectCommand({ Bucket: SITE_BUCKET, Key: 'assets/app.1a2b3c4d.js' })
    )
    expect(js.CacheControl).toBe('public, max-age=31536000, immutable')
    expect(run.summary).toMatch(/#### Frontend/)
  })

  it('a redeploy with nothing changed uploads nothing and invalidates nothing', async () => {
    bed.standins.s3.clearRequests()
    bed.standins.cloud.clearRequests()
    const run = await bed.run(workspace, inputs)
    expect(run.exitCode).toBe(0)
    expect([run.outputs.uploaded, run.outputs.deleted, run.outputs.unchanged]).toEqual([
      '0',
      '0',
      '7'
    ])
    expect(run.outputs['invalidation-id']).toBe('')
    const siteCalls = byAction(bed.standins.s3.requests).filter(r =>
      r.path.startsWith(`/${SITE_BUCKET}`)
    )
    expect(siteCalls.map(r => r.operation)).toEqual(['ListObjectsV2'])
    expect(bed.standins.cloud.requests.filter(r => r.service === 'cloudfront')).toEqual([])
  })

  it('frontend mode after a one-file change: one upload, one path', async () => {
    siteFiles(workspace, { 'about/index.html': '<h1>about us</h1>' })
    const run = await bed.run(
      workspace,
      { ...inputs, mode: 'frontend' },
      { event: { name: 'workflow_dispatch', payload: {} } }
    )
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(run.outputs.uploaded).toBe('1')
    expect(run.log).not.toContain('terraform plan')
    const id = run.outputs['invalidation-id'] ?? ''
    const paths = bed.standins.cloud.invalidations(DISTRIBUTION).find(i => i.id === id)?.paths
    expect(paths?.sort()).toEqual(['/about', '/about/', '/about/index.html'])
  })

  it('a failing health check fails the step and says which URL answered what', async () => {
    const run = await bed.run(workspace, {
      ...inputs,
      'health-check': `${bed.standins.github.url}/no-such-page`
    })
    expect(run.exitCode).toBe(1)
    expect(run.errors.at(-1)).toMatch(/health-check .*no-such-page.* answered 40\d/)
    expect(run.summary).toMatch(/Health checks/)
  }, 180_000)
})

describe("invalidation paths are the ones the distribution serves (its origin path, not site-prefix's)", () => {
  let bed: Testbed
  let workspace: string
  const deploy = (prefix: string): ReturnType<Testbed['run']> =>
    bed.run(workspace, {
      mode: 'deploy',
      'build-command': 'rm -rf dist && mkdir -p dist && cp -R src/. dist/',
      'site-prefix': prefix
    })
  const pathsOf = (run: Awaited<ReturnType<Testbed['run']>>): string[] | undefined =>
    bed.standins.cloud
      .invalidations(DISTRIBUTION)
      .find(i => i.id === run.outputs['invalidation-id'])
      ?.paths.sort()
  beforeAll(async () => {
    bed = await startSiteTestbed()
    workspace = makeWorkspace('app')
    siteFiles(workspace, { 'index.html': '<h1>shop</h1>', 'assets/app.1a2b3c4d.js': '1' })
  })
  afterAll(async () => bed.stop())

  it('origin at the bucket root, site-prefix shop: the prefix is part of every path', async () => {
    const run = await deploy('shop')
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(run.log).toContain(`Distribution ${DISTRIBUTION} serves s3://${SITE_BUCKET}/ as /`)
    expect(pathsOf(run)).toEqual([
      '/shop',
      '/shop/',
      '/shop/assets/app.1a2b3c4d.js',
      '/shop/index.html'
    ])
  })

  it('origin path /shop, site-prefix shop/v2: the paths are under /v2', async () => {
    bed.standins.cloud.addDistribution(DISTRIBUTION, [
      { domainName: `${SITE_BUCKET}.s3.eu-west-1.amazonaws.com`, originPath: '/shop' }
    ])
    const run = await deploy('shop/v2')
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(pathsOf(run)).toEqual(['/v2', '/v2/', '/v2/assets/app.1a2b3c4d.js', '/v2/index.html'])
  })

  it('without cloudfront:GetDistributionConfig: says so, and assumes the prefix is the origin path', async () => {
    bed.standins.cloud.deny('GetDistributionConfig')
    try {
      siteFiles(workspace, { 'index.html': '<h1>shop, again</h1>' })
      const run = await deploy('shop/v2')
      expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
      expect(run.log).toMatch(
        /::notice::Could not read the origins of distribution EAPPDIST0001 \(AccessDenied; grant cloudfront:GetDistributionConfig on the distribution\): invalidation paths assume it serves s3:\/\/app-site\/shop\/v2\/ as \//
      )
      expect(pathsOf(run)).toEqual(['/', '/index.html'])
    } finally {
      bed.standins.cloud.allow()
    }
  })
})

describe('day two through the action: headers follow rules, removed assets kept, invalidations carried over', () => {
  let bed: Testbed
  let workspace: string
  const base = {
    mode: 'frontend',
    'build-command': 'rm -rf dist && mkdir -p dist && cp -R src/. dist/'
  }
  const run = (inputs: Record<string, string> = {}): ReturnType<Testbed['run']> =>
    bed.run(
      workspace,
      { ...base, ...inputs },
      { event: { name: 'workflow_dispatch', payload: {} } }
    )
  beforeAll(async () => {
    bed = await startSiteTestbed()
    workspace = makeWorkspace('app')
    siteFiles(workspace, {
      'index.html': '<script src="/assets/app.1a2b3c4d.js"></script>',
      'assets/app.1a2b3c4d.js': 'console.log(1)',
      'assets/lazy.5e6f7a8b.js': 'console.log("lazy")',
      'logo.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>'
    })
    // The stack first (its outputs name the site bucket and the distribution).
    const first = await run({ mode: 'deploy' })
    expect([first.exitCode, explain(first)]).toEqual([0, explain(first)])
  })
  afterAll(async () => bed.stop())

  it('a changed cache-control rule updates the headers of the matching object only, once', async () => {
    const rule = { 'cache-control': '*.svg=public, max-age=60' }
    bed.standins.s3.clearRequests()
    const changed = await run(rule)
    expect([changed.exitCode, explain(changed)]).toEqual([0, explain(changed)])
    expect([changed.outputs['headers-updated'], changed.outputs.uploaded]).toEqual(['1', '0'])
    const site = byAction(bed.standins.s3.requests).filter(r =>
      r.path.startsWith(`/${SITE_BUCKET}`)
    )
    expect(site.map(r => r.operation).sort()).toEqual(['CopyObject', 'ListObjectsV2'])
    const head = await bed
      .s3()
      .send(new HeadObjectCommand({ Bucket: SITE_BUCKET, Key: 'logo.svg' }))
    expect(head.CacheControl).toBe('public, max-age=60')
    expect(changed.summary).toMatch(/Headers updated/)
    const again = await run(rule)
    expect([again.outputs['headers-updated'], again.outputs['invalidation-id']]).toEqual(['0', ''])
  })

  it('a removed chunk is kept (kept-removed output, summary); keep-removed: 0 deletes it', async () => {
    fs.rmSync(path.join(workspace, 'frontend', 'src', 'assets', 'lazy.5e6f7a8b.js'))
    const kept = await run()
    expect([kept.exitCode, explain(kept)]).toEqual([0, explain(kept)])
    expect([kept.outputs['kept-removed'], kept.outputs.deleted]).toEqual(['1', '0'])
    expect(kept.summary.replace(/\\/g, '')).toMatch(
      /Kept 1 removed asset \(oldest removed just now\)/
    )
    const now = await run({ 'keep-removed': '0' })
    expect([now.outputs['kept-removed'], now.outputs.deleted]).toEqual(['0', '1'])
  })

  it('a bad keep-removed fails with one line naming the input', async () => {
    const bad = await run({ 'keep-removed': '7' })
    expect(bad.exitCode).toBe(1)
    expect(bad.errors).toEqual([
      'Input \'keep-removed\' has an invalid value "7": use a duration such as 12h, 7d or 2w (units s, m, h, d, w), or 0 to delete removed assets at once'
    ])
  })

  it('held invalidations: the deploy waits for room and succeeds', async () => {
    bed.standins.cloud.holdInvalidations(
      DISTRIBUTION,
      [0, 1, 2].map(b => Array.from({ length: 1000 }, (_, i) => `/busy${b}/${i}`)),
      { refusals: 1 }
    )
    siteFiles(workspace, { 'index.html': '<h1>waited</h1>' })
    const waited = await run()
    expect([waited.exitCode, explain(waited)]).toEqual([0, explain(waited)])
    expect(waited.log).toMatch(/CloudFront answered TooManyInvalidationsInProgress; trying again/)
    expect(waited.outputs['invalidation-id']).not.toBe('')
  })

  it('an invalidation that fails leaves a marker; the next run uploads nothing and invalidates those paths', async () => {
    siteFiles(workspace, { 'index.html': '<h1>denied</h1>' })
    bed.standins.cloud.deny('CreateInvalidation')
    let failed
    try {
      failed = await run()
    } finally {
      bed.standins.cloud.allow()
    }
    expect(failed.exitCode).toBe(1)
    expect(failed.errors.at(-1)).toMatch(
      /Not invalidated: \/ \/index\.html\. The files are uploaded; the paths are recorded in s3:\/\/.*\.revive-deploy-site\.json, and the next deploy invalidates them/
    )
    const next = await run()
    expect([next.exitCode, explain(next)]).toEqual([0, explain(next)])
    expect(next.outputs.uploaded).toBe('0')
    const id = next.outputs['invalidation-id'] ?? ''
    const paths = bed.standins.cloud.invalidations(DISTRIBUTION).find(i => i.id === id)?.paths
    expect(paths?.sort()).toEqual(['/', '/index.html'])
    const after = await run()
    expect(after.outputs['invalidation-id']).toBe('')
  })
})
