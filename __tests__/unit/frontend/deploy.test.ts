/**
 * The frontend sync against the S3 and CloudFront stand-ins, through the real SDK clients. The
 * tests of the first describe run in order on one bucket: each starts from the state the previous
 * one left (as successive deploys do).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client
} from '@aws-sdk/client-s3'
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto'
import pLimit from 'p-limit'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { createClients } from '../../../src/aws/clients'
import { DeployError } from '../../../src/errors'
import { deployFrontend } from '../../../src/frontend/deploy'
import {
  CLOUDFRONT_MAX_FILE_PATHS,
  CLOUDFRONT_MAX_WILDCARD_PATHS
} from '../../../src/frontend/invalidation'
import { addSha256, scanBuildDirectory } from '../../../src/frontend/local-files'
import { uploadItems } from '../../../src/frontend/s3-sync'
import { planSync } from '../../../src/frontend/sync-plan'
import { startStandIns, type StandIns } from '../../../standins/index'
import {
  collectingLog,
  frontendConfig,
  generateSite,
  makeWorkspace,
  sha256,
  touchAll,
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

const BUCKET = 'shop-site'
const PREFIX = 'site/'
let standins: StandIns
let s3: S3Client
let clients: ReturnType<typeof createClients>
let ws: Workspace
let distributionId: string
let site: SiteFile[]

beforeAll(async () => {
  standins = await startStandIns({ invalidationMs: 300 })
  Object.assign(process.env, standins.env)
  clients = createClients('eu-west-1')
  s3 = clients.s3
  await s3.send(
    new CreateBucketCommand({
      Bucket: BUCKET,
      CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' }
    })
  )
  // Objects outside the site prefix (one whose name merely starts like it).
  for (const Key of ['other/keep.txt', 'site-old.txt']) {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: `keep ${Key}` }))
  }
  distributionId = standins.cloud.addDistribution()
  ws = makeWorkspace()
  site = generateSite(1500)
  writeSite(ws.source, site)
})

afterAll(async () => {
  ws.remove()
  await standins.stop()
})

function outputs(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    frontend_bucket: BUCKET,
    cloudfront_distribution_id: distributionId,
    api_url: 'https://api.example.test/prod',
    ...extra
  }
}

async function deploy(
  inputs: Record<string, string> = {},
  opts: DeployFrontendOptions & {
    env?: Record<string, string>
    outputs?: Record<string, unknown>
  } = {}
): Promise<{ result: FrontendResult; log: CollectingLog }> {
  const log = collectingLog()
  const { env, outputs: out, ...rest } = opts
  const config = frontendConfig(ws, { 'site-prefix': PREFIX, ...inputs }, env)
  const result = await deployFrontend(config, out ?? outputs(), clients, { log, ...rest })
  return { result, log }
}

async function failure(p: Promise<unknown>): Promise<FrontendError> {
  try {
    await p
  } catch (error) {
    if (error instanceof FrontendError) return error
    throw error
  }
  throw new Error('expected the deploy to fail')
}

async function body(key: string): Promise<Buffer> {
  const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
  return Buffer.from(
    await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()
  )
}

async function allKeys(prefix = ''): Promise<string[]> {
  const keys: string[] = []
  let token: string | undefined
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token })
    )
    for (const item of page.Contents ?? []) if (item.Key) keys.push(item.Key)
    token = page.NextContinuationToken
  } while (token)
  return keys.sort()
}

/** S3 operations since the last clearRequests, in the order they arrived. */
function operations(): string[] {
  return standins.s3.requests.map(r => r.operation)
}

/** Change one byte of a site file in the source (same size). */
function changeOneByte(relPath: string): SiteFile {
  const file = site.find(f => f.relPath === relPath)
  if (!file) throw new Error(`no ${relPath}`)
  const content = Buffer.from(file.content)
  content[0] = content[0] === 0x41 ? 0x42 : 0x41
  file.content = content
  fs.writeFileSync(path.join(ws.source, relPath), content)
  return file
}

function firstOf(pattern: RegExp, skip = 0): SiteFile {
  const found = site.filter(f => pattern.test(f.relPath))[skip]
  if (!found) throw new Error(`no site file matches ${pattern}`)
  return found
}

describe('syncing a generated site (successive deploys)', () => {
  it('first sync uploads every file with its Content-Type, Cache-Control and SHA-256, assets before entry files', async () => {
    standins.s3.clearRequests()
    const start = performance.now()
    const { result, log } = await deploy({}, { progressIntervalMs: 500 })
    const seconds = (performance.now() - start) / 1000
    console.log(`first sync of ${site.length} files: ${seconds.toFixed(1)} s`)

    expect(result.uploaded).toBe(site.length)
    expect(result.deleted).toBe(0)
    expect(result.unchanged).toBe(0)
    expect(result.bytesUploaded).toBe(site.reduce((sum, f) => sum + f.content.length, 0))
    expect(await allKeys(PREFIX)).toEqual(site.map(f => `${PREFIX}${f.relPath}`).sort())

    const limit = pLimit(32)
    const mismatches: string[] = []
    await Promise.all(
      site.map(file =>
        limit(async () => {
          const head = await s3.send(
            new HeadObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}${file.relPath}` })
          )
          const got = `${head.ContentType} | ${head.CacheControl} | ${head.Metadata?.sha256} | ${head.ContentLength}`
          const want = `${file.contentType} | ${file.cacheControl} | ${sha256(file.content)} | ${file.content.length}`
          if (got !== want) mismatches.push(`${file.relPath}: got ${got}, want ${want}`)
        })
      )
    )
    expect(mismatches).toEqual([])

    // The large file went up in 8 MiB parts and arrived intact.
    const large = firstOf(/intro\.mp4$/)
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}${large.relPath}` })
    )
    expect(head.ETag).toMatch(/-2"$/)
    expect(sha256(await body(`${PREFIX}${large.relPath}`))).toBe(sha256(large.content))
    expect(operations().filter(op => op === 'UploadPart')).toHaveLength(2)

    // Every asset request arrived before the first entry file's.
    const writes = standins.s3.requests.filter(r =>
      ['PutObject', 'UploadPart', 'CompleteMultipartUpload', 'CreateMultipartUpload'].includes(
        r.operation
      )
    )
    const isEntry = (p: string): boolean => /\.html$|\.webmanifest$/.test(p)
    const firstEntry = writes.findIndex(r => isEntry(r.path))
    const lastAsset = writes.map(r => isEntry(r.path)).lastIndexOf(false)
    expect(firstEntry).toBeGreaterThan(lastAsset)

    // Progress lines with files, bytes and rate.
    expect(
      log.lines.some(l =>
        /^Uploaded [\d,]+\/1,500 files, .* of .* \(\d+%\), .*\/s, \d+ files\/s$/.test(l)
      )
    ).toBe(true)

    // 1,500 new files: invalidated within CloudFront's limits.
    expect(result.invalidation?.id).toBeDefined()
    const paths = result.invalidation?.paths ?? []
    expect(paths.filter(p => p.endsWith('*')).length).toBeLessThanOrEqual(
      CLOUDFRONT_MAX_WILDCARD_PATHS
    )
    expect(paths.length).toBeLessThanOrEqual(CLOUDFRONT_MAX_FILE_PATHS)
    expect(standins.cloud.invalidations(distributionId)[0]?.paths).toEqual(paths)
  })

  it('a fresh copy with new timestamps uploads nothing, invalidates nothing, and only lists', async () => {
    touchAll(ws.source)
    standins.s3.clearRequests()
    standins.cloud.clearRequests()
    const before = standins.cloud.invalidations(distributionId).length
    const { result } = await deploy()
    expect(result).toMatchObject({ uploaded: 0, deleted: 0, unchanged: site.length })
    expect(result.invalidation).toBeUndefined()
    expect(result.invalidationNote).toBe('nothing changed: no invalidation')
    const ops = operations()
    console.log(
      `no-change deploy of ${site.length} files: ${ops.length} S3 requests (${[...new Set(ops)].join(', ')})`
    )
    expect(new Set(ops)).toEqual(new Set(['ListObjectsV2']))
    expect(ops).toHaveLength(2) // 1,000 keys a page
    expect(standins.cloud.requests).toHaveLength(0)
    expect(standins.cloud.invalidations(distributionId)).toHaveLength(before)
  })

  it('one changed byte in a same-size file uploads exactly that file and invalidates exactly its path', async () => {
    const file = changeOneByte(firstOf(/^assets\/s3\/.*\.js$/).relPath)
    standins.s3.clearRequests()
    const { result } = await deploy()
    expect(result.uploadedKeys).toEqual([`${PREFIX}${file.relPath}`])
    expect(result).toMatchObject({ uploaded: 1, deleted: 0, unchanged: site.length - 1 })
    expect(operations().filter(op => op === 'PutObject')).toHaveLength(1)
    expect(sha256(await body(`${PREFIX}${file.relPath}`))).toBe(sha256(file.content))
    expect(result.invalidation?.paths).toEqual([`/${file.relPath}`])
    expect(standins.cloud.invalidations(distributionId)[0]).toMatchObject({
      id: result.invalidation?.id,
      paths: [`/${file.relPath}`]
    })
  })

  it('removing files deletes exactly those objects, after the uploads; objects outside the prefix survive', async () => {
    const removed = [
      firstOf(/^docs\/s1\/.*index\.html$/),
      firstOf(/^images\/photos\//),
      firstOf(/^data\/s2\//),
      firstOf(/^fonts\//)
    ]
    for (const file of removed) fs.rmSync(path.join(ws.source, file.relPath))
    site = site.filter(f => !removed.includes(f))
    const changed = [changeOneByte(firstOf(/^assets\/css\//).relPath), changeOneByte('index.html')]
    standins.s3.clearRequests()
    const { result } = await deploy()

    const removedKeys = removed.map(f => `${PREFIX}${f.relPath}`).sort()
    expect(result.deletedKeys).toEqual(removedKeys)
    expect(result.deleted).toBe(removed.length)
    expect(result.uploadedKeys.sort()).toEqual(changed.map(f => `${PREFIX}${f.relPath}`).sort())
    const ops = operations()
    expect(ops.filter(op => op === 'DeleteObjects')).toHaveLength(1)
    expect(ops.lastIndexOf('PutObject')).toBeLessThan(ops.indexOf('DeleteObjects'))
    // The HTML page went up after the stylesheet.
    const puts = standins.s3.requests.filter(r => r.operation === 'PutObject').map(r => r.path)
    expect(puts[puts.length - 1]).toMatch(/index\.html$/)

    const keys = await allKeys(PREFIX)
    for (const key of removedKeys) expect(keys).not.toContain(key)
    expect(keys).toHaveLength(site.length)
    // The whole bucket (over 1,000 keys): `site-old.txt` sorts just before `site/`.
    const everything = await allKeys()
    expect(everything).toEqual(expect.arrayContaining(['other/keep.txt', 'site-old.txt']))
    expect(everything).toHaveLength(site.length + 2)
    for (const Key of ['other/keep.txt', 'site-old.txt']) {
      expect(await body(Key)).toEqual(Buffer.from(`keep ${Key}`))
    }
    // Deleted paths are invalidated too; a deleted x/index.html also as /x/ and /x.
    const page = removed[0]?.relPath.replace(/\/index\.html$/, '') ?? ''
    expect(result.invalidation?.paths).toEqual(
      expect.arrayContaining([`/${page}/index.html`, `/${page}/`, `/${page}`, '/index.html', '/'])
    )
  })

  it('three injected 503s on uploads are retried and the sync succeeds with intact bodies', async () => {
    const changed = [
      changeOneByte(firstOf(/^assets\/s4\//).relPath),
      changeOneByte(firstOf(/^images\/icons\//).relPath),
      changeOneByte(firstOf(/^static\/js\//).relPath)
    ]
    standins.s3.clearRequests()
    standins.s3.failNext(3, { operation: 'PutObject' }, 'throttle')
    const { result } = await deploy()
    expect(result.uploaded).toBe(3)
    const puts = standins.s3.requests.filter(r => r.operation === 'PutObject')
    expect(puts.filter(r => r.status === 503)).toHaveLength(3)
    expect(puts.filter(r => r.status === 200)).toHaveLength(3)
    for (const file of changed) {
      expect(sha256(await body(`${PREFIX}${file.relPath}`))).toBe(sha256(file.content))
    }
  })

  it('a connection reset that exhausts the retries fails the sync with nothing deleted; the next run completes it', async () => {
    const asset = changeOneByte(firstOf(/^assets\/s5\//).relPath)
    const page = changeOneByte('about/index.html')
    const gone = firstOf(/^images\/icons\/s6\//)
    fs.rmSync(path.join(ws.source, gone.relPath))
    site = site.filter(f => f !== gone)
    const assetKey = `${PREFIX}${asset.relPath}`
    const escaped = asset.relPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    standins.s3.clearRequests()
    standins.s3.failNext(6, { operation: 'PutObject', path: new RegExp(`${escaped}$`) }, 'reset')

    const error = await failure(deploy())
    expect(error).toBeInstanceOf(DeployError)
    expect(error.message).toContain(
      `Uploading ${asset.relPath} to s3://${BUCKET}/${assetKey} failed after 6 attempts`
    )
    expect(error.message).toContain('nothing was deleted')
    expect(error.result.uploaded).toBe(0)
    expect(error.result.invalidation).toBeUndefined()
    const ops = operations()
    expect(ops).not.toContain('DeleteObjects')
    expect(standins.s3.requests.filter(r => r.fault === 'reset')).toHaveLength(6)
    // The entry file was not uploaded either, and the removed object is still there.
    expect(
      standins.s3.requests.some(
        r => r.operation === 'PutObject' && r.path.endsWith('about/index.html')
      )
    ).toBe(false)
    expect(await allKeys(PREFIX)).toContain(`${PREFIX}${gone.relPath}`)

    standins.s3.clearRequests()
    const { result } = await deploy()
    expect(result.uploadedKeys).toEqual([assetKey, `${PREFIX}${page.relPath}`])
    expect(result.deletedKeys).toEqual([`${PREFIX}${gone.relPath}`])
    expect(sha256(await body(assetKey))).toBe(sha256(asset.content))
  })

  it('a changed large file goes up in parts again; failed parts are retried with their bytes', async () => {
    const large = changeOneByte('media/intro.mp4')
    standins.s3.clearRequests()
    standins.s3.failNext(2, { operation: 'UploadPart' }, '5xx')
    const { result } = await deploy()
    expect(result.uploadedKeys).toEqual([`${PREFIX}${large.relPath}`])
    const parts = standins.s3.requests.filter(r => r.operation === 'UploadPart')
    expect(parts.filter(r => r.status === 500)).toHaveLength(2)
    expect(parts.filter(r => r.status === 200)).toHaveLength(2)
    expect(sha256(await body(`${PREFIX}${large.relPath}`))).toBe(sha256(large.content))
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}${large.relPath}` })
    )
    expect(head.Metadata?.sha256).toBe(sha256(large.content))
    expect(head.ETag).toMatch(/-2"$/)
  })

  it('a body that is not what was scanned is refused by S3 (SHA-256 checksum)', async () => {
    // The file changes between the scan and the upload (same size): simulated by uploading
    // straight from a plan whose hash no longer matches the file.
    const file = firstOf(/^assets\/s5\//, 1)
    const dir = fs.mkdtempSync(path.join(ws.root, 'scan-'))
    fs.writeFileSync(path.join(dir, 'f.js'), file.content)
    const [scanned] = await scanBuildDirectory(dir)
    if (!scanned) throw new Error('scan found nothing')
    const tampered = Buffer.from(file.content)
    tampered[1] = tampered[1] === 0x30 ? 0x31 : 0x30
    fs.writeFileSync(path.join(dir, 'f.js'), tampered)
    const plan = planSync([scanned], [], { prefix: 'tamper/', deleteRemoved: false })
    const outcome = await uploadItems(s3, BUCKET, plan.uploads)
    expect(outcome.uploaded).toEqual([])
    expect(outcome.failure?.error).toMatchObject({ name: 'BadDigest' })
    expect(await allKeys('tamper/')).toEqual([])
  })

  it('a file changed after a scan without SHA-256 is refused before it is sent', async () => {
    // The sync scans MD5s only; a small upload hashes the body it reads, after checking its MD5.
    const file = firstOf(/^assets\/s5\//, 2)
    const dir = fs.mkdtempSync(path.join(ws.root, 'scan-'))
    fs.writeFileSync(path.join(dir, 'f.js'), file.content)
    const [scanned] = await scanBuildDirectory(dir, { sha256: false })
    if (!scanned) throw new Error('scan found nothing')
    expect(scanned.sha256).toBeUndefined()
    const tampered = Buffer.from(file.content)
    tampered[1] = tampered[1] === 0x30 ? 0x31 : 0x30
    fs.writeFileSync(path.join(dir, 'f.js'), tampered)
    const plan = planSync([scanned], [], { prefix: 'tamper2/', deleteRemoved: false })
    const outcome = await uploadItems(s3, BUCKET, plan.uploads)
    expect(outcome.uploaded).toEqual([])
    expect(String(outcome.failure?.error)).toMatch(/f\.js changed since it was scanned/)
    expect(await allKeys('tamper2/')).toEqual([])
    await expect(addSha256([scanned])).rejects.toThrow(
      /f\.js changed since the build output was scanned/
    )
  })

  it('a PutObject is signed with the SHA-256 it carries: the signer hashes no body byte again', async () => {
    let hashed = 0
    class CountingSha256 {
      private readonly hash: Hash | Hmac
      constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
        if (secret === undefined) this.hash = createHash('sha256')
        else if (typeof secret === 'string') this.hash = createHmac('sha256', secret)
        else if (ArrayBuffer.isView(secret)) {
          this.hash = createHmac(
            'sha256',
            Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength)
          )
        } else this.hash = createHmac('sha256', Buffer.from(secret))
      }
      update(data: string | Uint8Array): void {
        hashed += typeof data === 'string' ? Buffer.byteLength(data) : data.length
        this.hash.update(data)
      }
      async digest(): Promise<Uint8Array> {
        return new Uint8Array(this.hash.digest())
      }
    }
    const counting = new S3Client({
      region: 'eu-west-1',
      forcePathStyle: true,
      sha256: CountingSha256
    })
    const dir = fs.mkdtempSync(path.join(ws.root, 'sign-'))
    const content = Buffer.alloc(256 * 1024, 'revive')
    fs.writeFileSync(path.join(dir, 'big.js'), content)
    const plan = planSync(await scanBuildDirectory(dir, { sha256: false }), [], {
      prefix: 'signed/',
      deleteRemoved: false
    })
    const outcome = await uploadItems(counting, BUCKET, plan.uploads)
    counting.destroy()
    expect(outcome.failure).toBeUndefined()
    expect(sha256(await body('signed/big.js'))).toBe(sha256(content))
    // The canonical request, the string to sign and the signing key: a few hundred bytes.
    expect(hashed).toBeGreaterThan(0)
    expect(hashed).toBeLessThan(4096)
  })

  it('a dry run reports the plan and changes nothing', async () => {
    const file = changeOneByte(firstOf(/^data\/s3\//).relPath)
    standins.s3.clearRequests()
    standins.cloud.clearRequests()
    const { result, log } = await deploy({ 'dry-run': 'true' })
    expect(result).toMatchObject({ dryRun: true, uploaded: 1, deleted: 0 })
    expect(result.uploadedKeys).toEqual([`${PREFIX}${file.relPath}`])
    expect(result.invalidation).toMatchObject({ status: 'dry-run', paths: [`/${file.relPath}`] })
    // Reads only (the same-size change needs a HEAD for its metadata hash).
    expect(new Set(operations())).toEqual(new Set(['ListObjectsV2', 'HeadObject']))
    // CloudFront: only the read of the origin path the would-be invalidation is built from.
    expect(standins.cloud.requests.map(r => r.operation)).toEqual(['GetDistributionConfig'])
    expect(log.lines).toContain(
      `would upload ${PREFIX}${file.relPath} (changed, application/json; charset=utf-8, public, max-age=300)`
    )
    expect(renderFrontendSection(result)).toContain('**Dry run**')
    // The real deploy afterwards uploads it.
    const { result: real } = await deploy()
    expect(real.uploadedKeys).toEqual([`${PREFIX}${file.relPath}`])
  })

  it('a retried run with the same run id and attempt does not create a second invalidation', async () => {
    const file = changeOneByte(firstOf(/^assets\/s0\//).relPath)
    const key = `${PREFIX}${file.relPath}`
    const previous = await body(key)
    const env = { GITHUB_RUN_ID: '777', GITHUB_RUN_ATTEMPT: '2' }
    const first = (await deploy({}, { env })).result
    const count = standins.cloud.invalidations(distributionId).length
    // The bucket as it was before the first try (say the step failed after its upload and
    // something restored the object): the retry uploads the same file again.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: previous }))
    standins.cloud.clearRequests()
    const retry = (await deploy({}, { env })).result
    expect(retry.uploadedKeys).toEqual([key])
    expect(retry.invalidation?.callerReference).toBe(first.invalidation?.callerReference)
    expect(retry.invalidation?.id).toBe(first.invalidation?.id)
    expect(standins.cloud.requests.map(r => r.operation)).toEqual([
      'GetDistributionConfig',
      'CreateInvalidation'
    ])
    expect(standins.cloud.invalidations(distributionId)).toHaveLength(count)
    // Another attempt of the run is another invalidation.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: previous }))
    const third = (await deploy({}, { env: { ...env, GITHUB_RUN_ATTEMPT: '3' } })).result
    expect(third.invalidation?.id).not.toBe(first.invalidation?.id)
    expect(standins.cloud.invalidations(distributionId)).toHaveLength(count + 1)
  })

  it('wait-for-invalidation waits until Completed; a timeout is a warning, not a failure', async () => {
    changeOneByte(firstOf(/^assets\/s1\//).relPath)
    const { result } = await deploy(
      { 'wait-for-invalidation': 'true' },
      { wait: { initialDelayMs: 100, maxDelayMs: 200 } }
    )
    expect(result.invalidation?.status).toBe('Completed')
    expect(standins.cloud.requests.some(r => r.operation === 'GetInvalidation')).toBe(true)

    changeOneByte(firstOf(/^assets\/s2\//).relPath)
    const { result: late, log } = await deploy(
      { 'wait-for-invalidation': 'true' },
      { wait: { timeoutMs: 50, initialDelayMs: 20 } }
    )
    expect(late.invalidation?.status).toBe('timed out')
    expect(late.warnings).toHaveLength(1)
    expect(log.warnings[0]).toMatch(
      /^wait-for-invalidation: invalidation I[A-Z0-9]+ still InProgress after 0\.05 s/
    )
  })

  it('a failed invalidation after a successful upload fails with the upload recorded', async () => {
    const file = changeOneByte(firstOf(/^assets\/s6\//).relPath)
    const error = await failure(deploy({ 'distribution-id': 'EUNKNOWNDIST1' }))
    expect(error.message).toMatch(
      /^CloudFront invalidation of distribution EUNKNOWNDIST1 failed: NoSuchDistribution: .*distribution-id.*invalidate: all/
    )
    expect(error.result.uploadedKeys).toEqual([`${PREFIX}${file.relPath}`])
    expect(error.result.invalidation?.status).toBe('failed')
    expect(sha256(await body(`${PREFIX}${file.relPath}`))).toBe(sha256(file.content))
  })

  it('without a distribution, syncs and says there is no invalidation', async () => {
    changeOneByte(firstOf(/^assets\/s2\//, 1).relPath)
    const { result, log } = await deploy({}, { outputs: { frontend_bucket: BUCKET } })
    expect(result.uploaded).toBe(1)
    expect(result.invalidation).toBeUndefined()
    expect(log.notices.join('\n')).toContain('no invalidation')
  })

  it('invalidate: all sends /* ; none sends nothing', async () => {
    changeOneByte(firstOf(/^assets\/s3\//, 1).relPath)
    const all = (await deploy({ invalidate: 'all' })).result
    expect(all.invalidation?.paths).toEqual(['/*'])
    changeOneByte(firstOf(/^assets\/s3\//, 2).relPath)
    standins.cloud.clearRequests()
    const none = (await deploy({ invalidate: 'none' })).result
    expect(none.uploaded).toBe(1)
    expect(none.invalidation).toBeUndefined()
    expect(standins.cloud.requests).toHaveLength(0)
  })

  it('renders the result for the job summary', async () => {
    changeOneByte(firstOf(/^assets\/s4\//, 1).relPath)
    const { result } = await deploy()
    const md = renderFrontendSection(result)
    expect(md).not.toMatch(/^#/m) // the report adds the section heading
    expect(md).toContain('`s3://shop-site/site/`')
    expect(md).toMatch(/\| Uploaded \| 1 \| [\d.]+ (B|KiB) \|/)
    expect(md).toContain(`CloudFront invalidation \`${result.invalidation?.id}\``)
    expect(md).toContain('<summary>Uploaded files (1)</summary>')
  })
})

describe('4,000 changed files', () => {
  it('are invalidated with paths collapsed within CloudFront limits, accepted by the stand-in', async () => {
    const big = makeWorkspace()
    try {
      writeSite(big.source, generateSite(4000, 0))
      const dist = standins.cloud.addDistribution()
      const config = frontendConfig(big, { 'site-prefix': 'big/' })
      const start = performance.now()
      const result = await deployFrontend(
        config,
        { frontend_bucket: BUCKET, cloudfront_distribution_id: dist },
        clients,
        { log: collectingLog() }
      )
      console.log(`sync of 4,000 new files: ${((performance.now() - start) / 1000).toFixed(1)} s`)
      expect(result.uploaded).toBe(4000)
      const paths = result.invalidation?.paths ?? []
      const wildcards = paths.filter(p => p.endsWith('*'))
      expect(wildcards.length).toBeGreaterThan(0)
      expect(wildcards.length).toBeLessThanOrEqual(CLOUDFRONT_MAX_WILDCARD_PATHS)
      expect(paths.length - wildcards.length).toBeLessThanOrEqual(CLOUDFRONT_MAX_FILE_PATHS)
      expect(standins.cloud.invalidations(dist)).toHaveLength(1)
      // Every uploaded key is covered by a path.
      const uncovered = result.uploadedKeys
        .map(k => `/${k.slice('big/'.length)}`)
        .filter(p => !paths.some(q => (q.endsWith('*') ? p.startsWith(q.slice(0, -1)) : p === q)))
      expect(uncovered).toEqual([])
    } finally {
      big.remove()
    }
  })
})
