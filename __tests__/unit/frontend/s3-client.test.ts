/**
 * The S3 client of createClients as uploads use it: which SDK middlewares it runs, and what one
 * small upload sends, seen by a plain HTTP server standing in for S3 (every header as received).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import {
  UNUSED_S3_MIDDLEWARE,
  createClients,
  expectBucketOwner,
  oneBucketClient
} from '../../../src/aws/clients'
import { scanBuildDirectory } from '../../../src/frontend/local-files'
import { uploadItems } from '../../../src/frontend/s3-sync'
import type { UploadItem } from '../../../src/frontend/sync-plan'

interface Received {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  body: Buffer
}

const received: Received[] = []
/** Status codes to answer the next PUTs with (then 200). */
const failures: number[] = []
let server: http.Server
let dir: string
const saved: Record<string, string | undefined> = {}
const env: Record<string, string> = {
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'secret',
  AWS_SESSION_TOKEN: '',
  // What a Lambda function has: the SDK's recursion detection would send X-Amzn-Trace-Id.
  AWS_LAMBDA_FUNCTION_NAME: 'not-a-runner',
  _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793'
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks)
      })
      const status = req.method === 'PUT' ? (failures.shift() ?? 200) : 200
      const body =
        status === 200
          ? ''
          : '<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>'
      res.writeHead(status, {
        etag: '"0123456789abcdef0123456789abcdef"',
        'content-length': Buffer.byteLength(body),
        ...(body && { 'content-type': 'application/xml' })
      })
      res.end(body)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  env.AWS_ENDPOINT_URL_S3 = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  for (const [name, value] of Object.entries(env)) {
    saved[name] = process.env[name]
    process.env[name] = value
  }
  delete process.env.AWS_SESSION_TOKEN
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3-client-'))
  fs.mkdirSync(path.join(dir, 'assets'))
  fs.writeFileSync(path.join(dir, 'assets', 'app.js'), 'console.log("hello")\n')
})

afterAll(async () => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
  fs.rmSync(dir, { recursive: true, force: true })
  await new Promise(resolve => server.close(resolve))
})

async function itemsOf(root: string): Promise<UploadItem[]> {
  return (await scanBuildDirectory(root, { sha256: false, threads: 0 })).map(file => ({
    file,
    key: `site/${file.relPath}`,
    reason: 'new',
    phase: 'assets',
    contentType: 'text/javascript; charset=utf-8',
    cacheControl: 'public, max-age=31536000, immutable',
    headersDigest: 'abcdef0123456789'
  }))
}

async function uploadApp(): Promise<{ item: UploadItem; error: unknown }> {
  const clients = createClients('eu-west-1', process.env, 3)
  const [item] = await itemsOf(dir)
  if (!item) throw new Error('the scan found nothing')
  const outcome = await uploadItems(clients.s3, 'shop-site', [item])
  clients.s3.destroy()
  return { item, error: outcome.failure?.error }
}

describe('the S3 client of createClients', () => {
  it('runs without the SDK middlewares that do nothing here, and keeps the ones that check requests', () => {
    const { s3 } = createClients('eu-west-1', process.env)
    const names = s3.middlewareStack.identify().map(entry => entry.split(' ')[0])
    for (const name of UNUSED_S3_MIDDLEWARE) expect(names).not.toContain(name)
    for (const name of [
      'validateBucketNameMiddleware',
      'regionRedirectMiddleware',
      's3ExpressMiddleware',
      'retryMiddleware',
      'httpSigningMiddleware'
    ]) {
      expect(names).toContain(name)
    }
    s3.destroy()
  })

  it('sends a small file with its SHA-256 as checksum and as signed payload hash, its headers and metadata, and no trace id', async () => {
    received.length = 0
    const { item, error } = await uploadApp()
    expect(error).toBeUndefined()
    const puts = received.filter(r => r.method === 'PUT')
    expect(puts).toHaveLength(1)
    const [put] = puts as [Received]
    const content = fs.readFileSync(path.join(dir, 'assets', 'app.js'))
    const digest = createHash('sha256').update(content).digest()
    expect(put.url.split('?')[0]).toBe('/shop-site/site/assets/app.js')
    expect(put.body.equals(content)).toBe(true)
    expect(put.headers).toMatchObject({
      'content-length': String(content.length),
      'content-type': item.contentType,
      'cache-control': item.cacheControl,
      'x-amz-checksum-sha256': digest.toString('base64'),
      'x-amz-content-sha256': digest.toString('hex'),
      'x-amz-meta-sha256': digest.toString('hex'),
      'x-amz-meta-headers': item.headersDigest
    })
    expect(put.headers.authorization).toMatch(/SignedHeaders=[^,]*x-amz-checksum-sha256/)
    expect(put.headers.authorization).toMatch(/SignedHeaders=[^,]*x-amz-content-sha256/)
    expect(put.headers['content-encoding']).toBeUndefined()
    expect(put.headers['transfer-encoding']).toBeUndefined()
    expect(put.headers['x-amzn-trace-id']).toBeUndefined()
  })

  it('still retries a throttled upload, sending the same body again', async () => {
    received.length = 0
    failures.push(503, 503)
    const { error } = await uploadApp()
    expect(error).toBeUndefined()
    const puts = received.filter(r => r.method === 'PUT')
    expect(puts).toHaveLength(3)
    const bodies = new Set(puts.map(p => p.body.toString('hex')))
    expect(bodies.size).toBe(1)
    expect(puts.map(p => p.headers['amz-sdk-request'])).toEqual([
      'attempt=1; max=3',
      'attempt=2; max=3',
      'attempt=3; max=3'
    ])
  })

  it('uploads through a client with the middleware cache, the connections and credentials of the main one', async () => {
    const { s3 } = createClients('eu-west-1', process.env, 3)
    const upload = oneBucketClient(s3)
    expect(upload).toBeDefined()
    expect(upload?.config.cacheMiddleware).toBe(true)
    expect(s3.config.cacheMiddleware).toBeUndefined()
    expect(upload?.config.requestHandler).toBe(s3.config.requestHandler)
    expect(await upload?.config.credentials()).toEqual(await s3.config.credentials())
    expect(await upload?.config.region()).toBe('eu-west-1')
    expect(upload?.config.forcePathStyle).toBe(true)
    expect(await upload?.config.maxAttempts()).toBe(3)
    const names = upload?.middlewareStack.identify().map(entry => entry.split(' ')[0])
    for (const name of UNUSED_S3_MIDDLEWARE) expect(names).not.toContain(name)
    s3.destroy()
  })

  it('sends concurrent uploads to several buckets, each PUT to its own bucket with its own expected owner', async () => {
    // Uploads go through a client whose middleware is resolved once (cacheMiddleware), with one
    // request context shared by its requests: one such client per bucket, never shared.
    const many = fs.mkdtempSync(path.join(os.tmpdir(), 's3-client-many-'))
    for (let i = 0; i < 40; i++)
      fs.writeFileSync(path.join(many, `f${i}.js`), `export const n = ${i}\n`)
    const items = await itemsOf(many)
    const first = createClients('eu-west-1', process.env, 3)
    const second = createClients('eu-west-1', process.env, 3)
    expectBucketOwner(first.s3, '111111111111')
    expectBucketOwner(second.s3, '222222222222')
    received.length = 0
    const outcomes = await Promise.all([
      uploadItems(first.s3, 'bucket-a', items, { concurrency: 8 }),
      uploadItems(first.s3, 'bucket-b', items, { concurrency: 8 }),
      uploadItems(second.s3, 'bucket-c', items, { concurrency: 8 })
    ])
    first.s3.destroy()
    second.s3.destroy()
    fs.rmSync(many, { recursive: true, force: true })
    for (const outcome of outcomes) expect(outcome.failure).toBeUndefined()
    const puts = received.filter(r => r.method === 'PUT')
    const seen = puts.map(p => `${p.url.split('?')[0]} ${p.headers['x-amz-expected-bucket-owner']}`)
    const expected = [
      ['bucket-a', '111111111111'],
      ['bucket-b', '111111111111'],
      ['bucket-c', '222222222222']
    ].flatMap(([bucket, owner]) => items.map(item => `/${bucket}/${item.key} ${owner}`))
    expect(seen.sort()).toEqual(expected.sort())
  })
})
