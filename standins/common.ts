/**
 * Shared pieces of the local stand-ins: the request log every stand-in keeps, fault injection,
 * and small HTTP/XML helpers.
 */
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'

export type ServiceName = 's3' | 'dynamodb' | 'cloudfront' | 'sts' | 'github'

export type FaultKind = 'throttle' | '5xx' | 'reset'

/** One request as a stand-in saw it. `status` is 0 until answered, and stays 0 for a reset. */
export interface RecordedRequest {
  service: ServiceName
  /** AWS API operation name (GitHub: e.g. 'GET /repos/{owner}/{repo}/issues/{issue_number}/comments'). */
  operation: string
  method: string
  /** URL path as received (still percent-encoded). */
  path: string
  /** Raw query string without the leading '?'. */
  query: string
  status: number
  /** Date.now() when the request arrived. */
  at: number
  /** Set when the request was failed on purpose by failNext. */
  fault?: FaultKind
  /** The User-Agent header: tells the action's SDK calls from Terraform's own. */
  userAgent: string
}

export interface FaultMatch {
  operation?: string | RegExp
  method?: string
  path?: RegExp
  service?: ServiceName
}

/** What every stand-in offers to tests. */
export interface StandIn {
  readonly url: string
  readonly requests: RecordedRequest[]
  clearRequests(): void
  /** The next `count` requests matching `match` fail with `kind` (see each service for the exact answer). */
  failNext(count: number, match?: FaultMatch, kind?: FaultKind): void
  stop(): Promise<void>
}

interface FaultRule {
  remaining: number
  match: FaultMatch
  kind: FaultKind
}

export class RequestLog {
  /** Stays the same array for the life of the stand-in (clearRequests empties it in place). */
  readonly requests: RecordedRequest[] = []
  private readonly faults: FaultRule[] = []

  clearRequests(): void {
    this.requests.length = 0
  }

  failNext(count: number, match: FaultMatch = {}, kind: FaultKind = '5xx'): void {
    if (!Number.isInteger(count) || count < 1) throw new Error(`failNext: count must be >= 1`)
    this.faults.push({ remaining: count, match, kind })
  }

  record(
    service: ServiceName,
    operation: string,
    req: http.IncomingMessage
  ): { record: RecordedRequest; fault: FaultKind | undefined } {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const record: RecordedRequest = {
      service,
      operation,
      method: req.method ?? 'GET',
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? '' : url.slice(q + 1),
      status: 0,
      at: Date.now(),
      userAgent: String(req.headers['user-agent'] ?? '')
    }
    this.requests.push(record)
    const fault = this.takeFault(record)
    if (fault) record.fault = fault
    return { record, fault }
  }

  private takeFault(r: RecordedRequest): FaultKind | undefined {
    const rule = this.faults.find(f => f.remaining > 0 && matches(f.match, r))
    if (!rule) return undefined
    rule.remaining -= 1
    if (rule.remaining === 0) this.faults.splice(this.faults.indexOf(rule), 1)
    return rule.kind
  }
}

function matches(m: FaultMatch, r: RecordedRequest): boolean {
  if (m.service !== undefined && m.service !== r.service) return false
  if (m.method !== undefined && m.method.toUpperCase() !== r.method) return false
  if (m.path !== undefined && !m.path.test(r.path)) return false
  if (m.operation !== undefined) {
    if (
      typeof m.operation === 'string' ? m.operation !== r.operation : !m.operation.test(r.operation)
    )
      return false
  }
  return true
}

/** Answer a request and note the status in its record. */
export function send(
  res: http.ServerResponse,
  record: RecordedRequest | undefined,
  status: number,
  headers: http.OutgoingHttpHeaders,
  body?: string | Buffer
): void {
  if (record) record.status = status
  const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body)
  const all: http.OutgoingHttpHeaders = { ...headers }
  if (payload !== undefined && all['content-length'] === undefined)
    all['content-length'] = payload.length
  if (payload === undefined && all['content-length'] === undefined) all['content-length'] = 0
  res.writeHead(status, all)
  res.end(res.req.method === 'HEAD' ? undefined : payload)
}

/** Drop the connection without an answer (what a client sees as ECONNRESET / socket hang up). */
export function resetConnection(req: http.IncomingMessage): void {
  req.socket.destroy()
}

export function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

/**
 * An HTTP server on 127.0.0.1 whose handler errors become a 500 (and a message on stderr) rather
 * than a hung request.
 */
export function createServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>
): http.Server {
  return http.createServer((req, res) => {
    handler(req, res).catch((error: unknown) => {
      process.stderr.write(`stand-in error on ${req.method} ${req.url}: ${String(error)}\n`)
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' })
        res.end(`stand-in error: ${String(error)}`)
      } else res.destroy()
    })
  })
}

export async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  return `http://127.0.0.1:${port}`
}

export async function closeServer(server: http.Server): Promise<void> {
  if (!server.listening) return
  await new Promise<void>((resolve, reject) => {
    server.close(err => (err ? reject(err) : resolve()))
    server.closeAllConnections()
  })
}

export function requestId(): string {
  return randomBytes(8).toString('hex').toUpperCase()
}

/** The region of a SigV4-signed request (credential scope), from the header or a presigned URL. */
export function signingRegion(req: http.IncomingMessage): string | undefined {
  const auth = req.headers.authorization ?? ''
  const m = /Credential=[^/,\s]+\/\d{8}\/([^/]+)\//.exec(auth)
  if (m) return m[1]
  const q = new URL(req.url ?? '/', 'http://x').searchParams.get('X-Amz-Credential')
  return q?.split('/')[2]
}

export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}

export function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16))
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10))
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e] ?? ''
  })
}

/**
 * Minimal reader for the small, fixed-shape XML documents the AWS SDKs send (no attributes needed,
 * no mixed content). Returns the inner text of every `<tag>...</tag>` (or `<tag/>`) in order.
 */
export function xmlAll(xml: string, tag: string): string[] {
  const out: string[] = []
  const re = new RegExp(`<${tag}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${tag}>)`, 'g')
  for (let m = re.exec(xml); m; m = re.exec(xml)) out.push(m[1] ?? '')
  return out
}

/** First `<tag>` text, unescaped and trimmed; undefined when absent. */
export function xmlText(xml: string, tag: string): string | undefined {
  const v = xmlAll(xml, tag)[0]
  return v === undefined ? undefined : unescapeXml(v.trim())
}

/** Build `<Name>value</Name>` for each defined entry (values escaped). */
export function xmlFields(fields: Record<string, string | number | boolean | undefined>): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`)
    .join('')
}

export const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'

/** Wait for `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/**
 * A fresh temporary directory for stand-in data: in /dev/shm (memory) where there is one, since
 * s3rver creates three files per object and file creation on a disk-backed /tmp can cost a
 * millisecond or more each; otherwise in the OS temp dir.
 */
export function makeTempDir(prefix: string): string {
  let root = os.tmpdir()
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK)
    if (fs.statSync('/dev/shm').isDirectory()) root = '/dev/shm'
  } catch {
    // no /dev/shm here
  }
  return fs.mkdtempSync(path.join(root, prefix))
}

/**
 * What every stand-in server shares: the HTTP server on a free loopback port, the request log and
 * fault injection. A stand-in answers requests in `handle`.
 */
export abstract class HttpStandIn implements StandIn {
  url = ''
  protected readonly log = new RequestLog()
  readonly requests: RecordedRequest[] = this.log.requests
  protected readonly server: http.Server = createServer((req, res) => this.handle(req, res))

  protected abstract handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void>

  async start(): Promise<this> {
    this.url = await listen(this.server)
    return this
  }

  async stop(): Promise<void> {
    await closeServer(this.server)
  }

  clearRequests(): void {
    this.log.clearRequests()
  }

  /** The next `count` requests matching `match` fail with `kind` (each service answers as AWS/GitHub do). */
  failNext(count: number, match?: FaultMatch, kind?: FaultKind): void {
    this.log.failNext(count, match, kind)
  }
}
