/**
 * Headers that follow their rules, removed assets kept for open tabs, invalidations that wait
 * their turn: the frontend phase against the S3 and CloudFront stand-ins through the real SDK, with
 * the site manifest next to the state in a state bucket. The tests of a describe run in order,
 * each on what the previous one left (as successive deploys do). Time is injected by editing the
 * dates the manifest records, never waited for.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client
} from '@aws-sdk/client-s3'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { createClients } from '../../../src/aws/clients'
import { deployFrontend } from '../../../src/frontend/deploy'
import { SITE_MANIFEST_SUFFIX, type SiteManifest } from '../../../src/frontend/site-manifest'
import { startStandIns, type StandIns } from '../../../standins/index'
import {
  collectingLog,
  frontendConfig,
  generateSite,
  makeWorkspace,
  writeSite,
  type CollectingLog,
  type SiteFile,
  type Workspace
} from '../../helpers/frontend-site'
import { renderFrontendSection } from '../../../src/report/frontend'
import {
  FrontendError,
  type DeployFrontendOptions,
  type FrontendResult
} from '../../../src/frontend/result'

const BUCKET = 'day-two-site'
const STATE = 'day-two-state'
const STATE_KEY = 'production/terraform.tfstate'
const MANIFEST_KEY = `${STATE_KEY}${SITE_MANIFEST_SUFFIX}`
const PREFIX = 'site/'
const DAY = 86_400_000
let standins: StandIns
let s3: S3Client
let clients: ReturnType<typeof createClients>
let ws: Workspace
let distributionId: string
let site: SiteFile[]
let runs = 0

beforeAll(async () => {
  standins = await startStandIns({ invalidationMs: 200 })
  Object.assign(process.env, standins.env)
  clients = createClients('eu-west-1')
  s3 = clients.s3
  for (const Bucket of [BUCKET, STATE]) {
    await s3.send(
      new CreateBucketCommand({
        Bucket,
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' }
      })
    )
  }
  distributionId = standins.cloud.addDistribution()
  ws = makeWorkspace()
  site = generateSite(1500, 0)
  writeSite(ws.source, site)
})

afterAll(async () => {
  ws.remove()
  await standins.stop()
})

async function deploy(
  inputs: Record<string, string> = {},
  opts: DeployFrontendOptions = {}
): Promise<{ result: FrontendResult; log: CollectingLog }> {
  const log = collectingLog()
  // Each deploy is another workflow run (its own run id, so its own CallerReference).
  runs++
  const config = frontendConfig(
    ws,
    { 'site-prefix': PREFIX, ...inputs },
    { GITHUB_RUN_ID: String(2000 + runs) }
  )
  const result = await deployFrontend(
    config,
    { frontend_bucket: BUCKET, cloudfront_distribution_id: distributionId },
    clients,
    { log, manifest: { s3, bucket: STATE, stateKey: STATE_KEY }, ...opts }
  )
  return { result, log }
}

/** S3 operations since the last clearRequests, as `bucket operation`, counted. */
function operations(): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const r of standins.s3.requests) {
    const bucket = r.path.split('/')[1] ?? ''
    const name = `${bucket} ${r.operation}`
    counts[name] = (counts[name] ?? 0) + 1
  }
  return counts
}

async function readManifest(): Promise<SiteManifest> {
  const got = await s3.send(new GetObjectCommand({ Bucket: STATE, Key: MANIFEST_KEY }))
  return JSON.parse((await got.Body?.transformToString()) ?? '{}') as SiteManifest
}

/** Moves the recorded "first found removed" dates of `keys` to `daysAgo` days ago. */
async function backdate(keys: readonly string[], daysAgo: number): Promise<void> {
  const manifest = await readManifest()
  const record = manifest.sites[`s3://${BUCKET}/${PREFIX}`]
  if (!record) throw new Error('no site record')
  for (const key of keys) record.removed[key] = new Date(Date.now() - daysAgo * DAY).toISOString()
  await s3.send(
    new PutObjectCommand({ Bucket: STATE, Key: MANIFEST_KEY, Body: JSON.stringify(manifest) })
  )
}

async function exists(key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))
    return true
  } catch {
    return false
  }
}

/** The distribution's origin is not the bucket: the site prefix is taken as its origin path. */
function invalidated(paths: readonly string[], key: string): boolean {
  const url = `/${key.slice(PREFIX.length)}`
  return paths.some(p => p === url || (p.endsWith('*') && url.startsWith(p.slice(0, -1))))
}

const SVG_RULE = '*.svg=public, max-age=600'

describe('headers follow their rules (1,500-file site)', () => {
  it('the first deploy uploads everything and records the headers in the manifest', async () => {
    const { result } = await deploy()
    expect(result.uploaded).toBe(1500)
    const manifest = await readManifest()
    expect(Object.keys(manifest.sites[`s3://${BUCKET}/${PREFIX}`]?.headers ?? {})).toHaveLength(
      1500
    )
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}index.html` })
    )
    expect(head.Metadata?.headers).toMatch(/^[0-9a-f]{16}$/)
  })

  it('a no-change redeploy costs the manifest GET and the listing, nothing per object', async () => {
    standins.s3.clearRequests()
    const { result } = await deploy()
    expect([result.uploaded, result.headersUpdated, result.unchanged]).toEqual([0, 0, 1500])
    expect(operations()).toEqual({
      [`${STATE} GetObject`]: 1,
      [`${BUCKET} ListObjectsV2`]: 2
    })
  })

  it('one changed cache-control rule: exactly the matching objects are copied with new headers, 0 PUTs of content, their paths invalidated', async () => {
    const svgs = site.filter(f => f.relPath.endsWith('.svg')).map(f => `${PREFIX}${f.relPath}`)
    expect(svgs.length).toBeGreaterThan(100)
    standins.s3.clearRequests()
    const { result } = await deploy({ 'cache-control': SVG_RULE })
    expect(result.headersUpdated).toBe(svgs.length)
    expect([...result.headersUpdatedKeys].sort()).toEqual([...svgs].sort())
    expect(result.uploaded).toBe(0)
    const ops = operations()
    expect(ops[`${BUCKET} CopyObject`]).toBe(svgs.length)
    expect(ops[`${BUCKET} PutObject`]).toBeUndefined()
    expect(ops[`${BUCKET} HeadObject`]).toBeUndefined()
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: svgs[0] }))
    const file = site.find(f => `${PREFIX}${f.relPath}` === svgs[0])
    expect(head.CacheControl).toBe('public, max-age=600')
    expect(head.ContentType).toBe('image/svg+xml; charset=utf-8')
    expect(head.Metadata?.sha256).toBe(
      (await import('../../helpers/frontend-site')).sha256(file?.content ?? Buffer.alloc(0))
    )
    const paths = result.invalidation?.paths ?? []
    expect(paths).not.toEqual(['/*'])
    for (const key of svgs) expect([key, invalidated(paths, key)]).toEqual([key, true])
    expect(invalidated(paths, `${PREFIX}index.html`)).toBe(false)
    expect(renderFrontendSection(result)).toMatch(/\| Headers updated +\| +\d+/)
  })

  it('a second run with the same rule does nothing', async () => {
    standins.s3.clearRequests()
    standins.cloud.clearRequests()
    const { result } = await deploy({ 'cache-control': SVG_RULE })
    expect([result.uploaded, result.headersUpdated, result.deleted]).toEqual([0, 0, 0])
    expect(result.invalidation).toBeUndefined()
    expect(operations()).toEqual({ [`${STATE} GetObject`]: 1, [`${BUCKET} ListObjectsV2`]: 2 })
  })

  it('without a manifest (first deploy after upgrading): HEADs each object once, updates what differs, then records', async () => {
    await s3.send(new DeleteObjectCommand({ Bucket: STATE, Key: MANIFEST_KEY }))
    // One object whose headers someone changed by hand.
    const robots = `${PREFIX}robots.txt`
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: robots,
        Body: 'User-agent: *\nAllow: /\n',
        ContentType: 'text/plain',
        CacheControl: 'no-store',
        Metadata: {
          sha256: (await import('../../helpers/frontend-site')).sha256(
            Buffer.from('User-agent: *\nAllow: /\n')
          )
        }
      })
    )
    standins.s3.clearRequests()
    const { result, log } = await deploy({ 'cache-control': SVG_RULE })
    expect(log.notices.join('\n')).toMatch(/has no record of the headers .* read once \(HEAD\)/)
    expect(result.headersUpdatedKeys).toEqual([robots])
    expect(operations()[`${BUCKET} HeadObject`]).toBe(1500)
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: robots }))
    expect([head.ContentType, head.CacheControl]).toEqual([
      'text/plain; charset=utf-8',
      'public, max-age=300'
    ])
    standins.s3.clearRequests()
    await deploy({ 'cache-control': SVG_RULE })
    expect(operations()).toEqual({ [`${STATE} GetObject`]: 1, [`${BUCKET} ListObjectsV2`]: 2 })
  })
})

describe('keep-removed', () => {
  const chunk = (): SiteFile => {
    const found = site.find(f => /^static\/js\/.*\.chunk\.js$/.test(f.relPath))
    if (!found) throw new Error('no chunk')
    return found
  }
  let removedChunk: SiteFile
  let removedPage: SiteFile

  it('a removed chunk stays, a removed page goes at once; the summary says how old', async () => {
    removedChunk = chunk()
    removedPage = site.find(f => f.relPath.startsWith('docs/')) ?? site[0]!
    for (const f of [removedChunk, removedPage]) fs.rmSync(path.join(ws.source, f.relPath))
    const { result } = await deploy({ 'cache-control': SVG_RULE })
    expect(result.deletedKeys).toEqual([`${PREFIX}${removedPage.relPath}`])
    expect(result.keptRemoved.map(k => k.key)).toEqual([`${PREFIX}${removedChunk.relPath}`])
    expect(await exists(`${PREFIX}${removedChunk.relPath}`)).toBe(true)
    expect(renderFrontendSection(result).replace(/\\/g, '')).toMatch(
      /Kept 1 removed asset \(oldest removed just now\)/
    )
  })

  it('three days later it is still kept; the dry run lists when a later deploy deletes it', async () => {
    const key = `${PREFIX}${removedChunk.relPath}`
    await backdate([key], 3)
    const { result } = await deploy({ 'cache-control': SVG_RULE })
    expect(result.keptRemoved.map(k => k.key)).toEqual([key])
    expect(renderFrontendSection(result)).toMatch(/oldest removed 3 days ago/)
    const dry = await deploy({ 'cache-control': SVG_RULE, 'dry-run': 'true' })
    expect(dry.log.lines.join('\n')).toMatch(
      new RegExp(`would keep ${key.replace(/\./g, '\\.')} .*the first deploy after .* deletes it`)
    )
  })

  it('the first deploy after the period deletes it', async () => {
    const key = `${PREFIX}${removedChunk.relPath}`
    await backdate([key], 8)
    const { result } = await deploy({ 'cache-control': SVG_RULE })
    expect(result.deletedKeys).toEqual([key])
    expect(result.keptRemoved).toEqual([])
    expect(await exists(key)).toBe(false)
    const record = (await readManifest()).sites[`s3://${BUCKET}/${PREFIX}`]
    expect(record?.removed).toEqual({})
  })

  it('never deleted while a deploy still produces it, whatever the manifest says', async () => {
    const again = site.filter(f => /\.chunk\.js$/.test(f.relPath))[1]!
    const key = `${PREFIX}${again.relPath}`
    await backdate([key], 30)
    const { result } = await deploy({ 'cache-control': SVG_RULE })
    expect(result.deletedKeys).toEqual([])
    expect(await exists(key)).toBe(true)
    expect((await readManifest()).sites[`s3://${BUCKET}/${PREFIX}`]?.removed).toEqual({})
  })

  it('keep-removed: 0 deletes a removed chunk at once, as before', async () => {
    const gone = site.filter(f => /\.chunk\.js$/.test(f.relPath))[2]!
    fs.rmSync(path.join(ws.source, gone.relPath))
    const { result } = await deploy({ 'cache-control': SVG_RULE, 'keep-removed': '0' })
    expect(result.deletedKeys).toEqual([`${PREFIX}${gone.relPath}`])
    expect(result.keptRemoved).toEqual([])
  })
})

describe('invalidations held in progress', () => {
  const held = (): string[][] =>
    [0, 1, 2].map(b => Array.from({ length: 1000 }, (_, i) => `/busy${b}/${i}.js`))
  const changeRobots = (text: string): void =>
    fs.writeFileSync(path.join(ws.source, 'robots.txt'), text)

  it('the deploy waits for room and succeeds within the bound', async () => {
    standins.cloud.holdInvalidations(distributionId, held(), { refusals: 1 })
    changeRobots('User-agent: *\nDisallow: /a\n')
    const { result, log } = await deploy(
      { 'cache-control': SVG_RULE },
      { invalidationRetry: { initialDelayMs: 400, timeoutMs: 20_000 } }
    )
    expect(log.lines.join('\n')).toMatch(/CloudFront answered TooManyInvalidationsInProgress/)
    expect(result.invalidation?.paths).toEqual(['/robots.txt'])
    expect(result.invalidation?.id).toMatch(/^I/)
  })

  it('past the bound it fails naming the paths, and leaves a marker next to the state', async () => {
    standins.cloud.holdInvalidations(distributionId, held())
    changeRobots('User-agent: *\nDisallow: /b\n')
    const error = await deploy(
      { 'cache-control': SVG_RULE },
      { invalidationRetry: { initialDelayMs: 200, timeoutMs: 800 } }
    ).then(
      () => undefined,
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(FrontendError)
    const message = (error as FrontendError).message
    expect(message).toMatch(/TooManyInvalidationsInProgress/)
    expect(message).toContain('Not invalidated: /robots.txt')
    expect(message).toContain(`s3://${STATE}/${MANIFEST_KEY}`)
    const pending = (await readManifest()).sites[`s3://${BUCKET}/${PREFIX}`]?.pendingInvalidation
    expect(pending?.paths).toEqual(['/robots.txt'])
  })

  it('the next run, with nothing to upload, invalidates those paths and removes the marker', async () => {
    standins.cloud.releaseInvalidations()
    const { result } = await deploy({ 'cache-control': SVG_RULE })
    expect(result.uploaded + result.headersUpdated + result.deleted).toBe(0)
    expect(result.invalidation?.paths).toEqual(['/robots.txt'])
    expect(result.carriedPaths).toEqual(['/robots.txt'])
    const record = (await readManifest()).sites[`s3://${BUCKET}/${PREFIX}`]
    expect(record?.pendingInvalidation).toBeUndefined()
    const again = await deploy({ 'cache-control': SVG_RULE })
    expect(again.result.invalidation).toBeUndefined()
  })

  it('an entry upload that fails after the assets went up records the asset paths; the re-run invalidates them with its own', async () => {
    const asset = site.find(f => f.relPath.startsWith('assets/s1/'))!
    fs.writeFileSync(path.join(ws.source, asset.relPath), 'changed()')
    fs.writeFileSync(path.join(ws.source, 'index.html'), '<h1>new home</h1>')
    standins.s3.failNext(6, { operation: 'PutObject', path: /\/site\/index\.html$/ }, 'reset')
    const error = await deploy({ 'cache-control': SVG_RULE }).then(
      () => undefined,
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(FrontendError)
    expect((error as FrontendError).message).toMatch(
      /The changed paths so far are recorded in .*; the next deploy invalidates them\.$/
    )
    const pending = (await readManifest()).sites[`s3://${BUCKET}/${PREFIX}`]?.pendingInvalidation
    expect(pending?.paths).toEqual([`/${asset.relPath}`])
    const { result } = await deploy({ 'cache-control': SVG_RULE })
    expect(result.uploadedKeys).toEqual([`${PREFIX}index.html`])
    expect(result.invalidation?.paths).toEqual(['/', `/${asset.relPath}`, '/index.html'])
    const record = (await readManifest()).sites[`s3://${BUCKET}/${PREFIX}`]
    expect(record?.pendingInvalidation).toBeUndefined()
  })
})
