/**
 * Object listings as S3 answers them (ListObjectsV2, ListObjects v1), for the S3 stand-in's front
 * server: keys in ascending UTF-8 byte order, at most 1,000 per page, `prefix`, `delimiter`
 * (CommonPrefixes), `start-after` / `marker`, opaque continuation tokens, `encoding-type=url`.
 *
 * s3rver walks its directory tree and lists keys in walk order (`a/b` before `a-b`), so its pages
 * over 1,000 keys skip and repeat keys. Here the keys come from s3rver's files on disk, kept per
 * bucket in a sorted array that the front server updates after each write and delete it forwards
 * (read-after-write), with each object's ETag, size, LastModified and storage class read once
 * from s3rver's files and cached until the key is written again.
 */
import fs from 'node:fs'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { escapeXml, xmlFields } from './common'
import { S3Error, S3_NS } from './s3-config'

/** One current object, as a listing shows it. */
export interface ObjectSummary {
  key: string
  /** Quoted, as S3 returns it: `"<md5>"` or `"<md5>-<parts>"`. */
  etag: string
  size: number
  /** ISO 8601, whole seconds (S3 keeps Last-Modified to the second). */
  lastModified: string
  storageClass: string
}

/** s3rver's file layout: `<bucket>/<key dirs>/<last part>._S3rver_object` (+ `.md5`, metadata). */
const OBJECT_SUFFIX = '._S3rver_object'
const UPLOADS_DIR = '._S3rver_uploads'

/** A UTF-16 code unit remapped so that code unit order equals UTF-8 byte (code point) order. */
function rank(unit: number): number {
  if (unit < 0xd800) return unit
  if (unit < 0xe000) return unit + 0x2000 // surrogates: code points above U+FFFF sort last
  return unit - 0x800
}

/** Compare two keys in S3's order: ascending UTF-8 bytes (JavaScript's `<` compares UTF-16). */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) return rank(x) - rank(y)
  }
  return a.length - b.length
}

/** First index whose key is >= `key` (`after`: > `key`). */
function lowerBound(sorted: readonly string[], key: string, after = false): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const c = compareKeys(sorted[mid] as string, key)
    if (c < 0 || (after && c === 0)) lo = mid + 1
    else hi = mid
  }
  return lo
}

const UNRESERVED = /[A-Za-z0-9\-_.~/]/

/**
 * `encoding-type=url` as S3 applies it to keys, prefixes, delimiters and markers: UTF-8 bytes
 * percent-encoded except letters, digits, `-_.~/`, and a space as `+`.
 */
export function s3UrlEncode(s: string): string {
  let out = ''
  for (const ch of s) {
    if (UNRESERVED.test(ch)) out += ch
    else if (ch === ' ') out += '+'
    else
      for (const byte of Buffer.from(ch, 'utf8'))
        out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

interface BucketIndex {
  /** Every current key, in S3 order. */
  keys: string[]
  /** Listing fields per key, read from disk on first use. */
  summaries: Map<string, ObjectSummary>
}

/**
 * The current keys of each bucket in s3rver's store, sorted as S3 sorts them. Built from disk on
 * a bucket's first listing; `refresh(bucket, key)` after every forwarded write or delete keeps it
 * exact.
 */
export class ObjectIndex {
  private readonly buckets = new Map<string, BucketIndex>()

  /** `root`: s3rver's data directory (one sub-directory per bucket). */
  constructor(private readonly root: string) {}

  private objectPath(bucket: string, key: string): string {
    const parts = key.split('/')
    const last = parts.pop() ?? ''
    return path.join(this.root, bucket, ...parts, `${last}${OBJECT_SUFFIX}`)
  }

  private index(bucket: string): BucketIndex {
    let index = this.buckets.get(bucket)
    if (!index) {
      const keys: string[] = []
      const walk = (dir: string, keyPrefix: string): void => {
        let entries: fs.Dirent[]
        try {
          entries = fs.readdirSync(dir, { withFileTypes: true })
        } catch {
          return
        }
        for (const e of entries) {
          if (e.isDirectory()) {
            if (keyPrefix === '' && e.name === UPLOADS_DIR) continue
            walk(path.join(dir, e.name), `${keyPrefix}${e.name}/`)
          } else if (e.name.endsWith(OBJECT_SUFFIX)) {
            keys.push(keyPrefix + e.name.slice(0, -OBJECT_SUFFIX.length))
          }
        }
      }
      walk(path.join(this.root, bucket), '')
      index = { keys: keys.sort(compareKeys), summaries: new Map() }
      this.buckets.set(bucket, index)
    }
    return index
  }

  /** The bucket's current keys in S3 order (do not modify). */
  keys(bucket: string): readonly string[] {
    return this.index(bucket).keys
  }

  /** Listing fields of a current object; undefined when it is gone from disk. */
  summary(bucket: string, key: string): ObjectSummary | undefined {
    const index = this.index(bucket)
    const cached = index.summaries.get(key)
    if (cached) return cached
    const file = this.objectPath(bucket, key)
    let stat: fs.Stats
    try {
      stat = fs.statSync(file)
    } catch {
      return undefined
    }
    let md5: string
    try {
      md5 = fs.readFileSync(`${file}.md5`, 'utf8')
    } catch {
      md5 = createHash('md5').update(fs.readFileSync(file)).digest('hex')
    }
    let storageClass = 'STANDARD'
    try {
      const meta = JSON.parse(
        fs.readFileSync(file.replace(/object$/, 'metadata.json'), 'utf8')
      ) as Record<string, unknown>
      if (typeof meta['x-amz-storage-class'] === 'string')
        storageClass = meta['x-amz-storage-class']
    } catch {
      // no metadata file: s3rver's defaults
    }
    const summary: ObjectSummary = {
      key,
      etag: JSON.stringify(md5),
      size: stat.size,
      lastModified: new Date(Math.floor(stat.mtimeMs / 1000) * 1000).toISOString(),
      storageClass
    }
    index.summaries.set(key, summary)
    return summary
  }

  /** Every current object under `prefix`, in S3 order. */
  objects(bucket: string, prefix: string): ObjectSummary[] {
    const keys = this.keys(bucket)
    const out: ObjectSummary[] = []
    for (let i = lowerBound(keys, prefix); i < keys.length; i++) {
      const key = keys[i] as string
      if (!key.startsWith(prefix)) break
      const s = this.summary(bucket, key)
      if (s) out.push(s)
    }
    return out
  }

  /** Re-read one key from disk after it was written or deleted (no-op before the first listing). */
  refresh(bucket: string, key: string): void {
    const index = this.buckets.get(bucket)
    if (!index) return
    index.summaries.delete(key)
    const exists = fs.existsSync(this.objectPath(bucket, key))
    const i = lowerBound(index.keys, key)
    const present = index.keys[i] === key
    if (exists && !present) index.keys.splice(i, 0, key)
    else if (!exists && present) index.keys.splice(i, 1)
  }

  /** Forget a bucket (created or deleted): the next listing reads it from disk. */
  drop(bucket: string): void {
    this.buckets.delete(bucket)
  }
}

/** One page of a listing: items after `marker`, under `prefix`, rolled up at `delimiter`. */
export interface ListPage {
  contents: ObjectSummary[]
  commonPrefixes: string[]
  truncated: boolean
  /** The last key or common prefix on the page (where the next page starts after). */
  last: string | undefined
}

/**
 * S3's listing walk: keys under `prefix` in byte order; with a delimiter, keys that contain it
 * after the prefix roll up into one common prefix each; every item (key or common prefix) counts
 * against `maxKeys`; an item at or before `marker` is left out, so a common prefix given as the
 * marker (v1 NextMarker, or the last item behind a continuation token) is not repeated.
 */
export function listPage(
  index: ObjectIndex,
  bucket: string,
  opts: { prefix: string; delimiter: string; marker: string; maxKeys: number }
): ListPage {
  const { prefix, delimiter, marker, maxKeys } = opts
  const keys = index.keys(bucket)
  const page: ListPage = { contents: [], commonPrefixes: [], truncated: false, last: undefined }
  if (maxKeys === 0) return page
  let i =
    marker !== '' && compareKeys(marker, prefix) >= 0
      ? lowerBound(keys, marker, true)
      : lowerBound(keys, prefix)
  let count = 0
  while (i < keys.length) {
    const key = keys[i] as string
    if (!key.startsWith(prefix)) break
    const d = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length)
    if (d >= 0) {
      const cp = key.slice(0, d + delimiter.length)
      let end = i + 1
      while (end < keys.length && (keys[end] as string).startsWith(cp)) end++
      if (compareKeys(cp, marker) > 0) {
        if (count === maxKeys) {
          page.truncated = true
          break
        }
        page.commonPrefixes.push(cp)
        page.last = cp
        count++
      }
      i = end
      continue
    }
    const summary = index.summary(bucket, key)
    i++
    if (!summary) continue
    if (count === maxKeys) {
      page.truncated = true
      break
    }
    page.contents.push(summary)
    page.last = key
    count++
  }
  return page
}

function invalidArgument(message: string, name: string, value?: string): S3Error {
  const fields: Record<string, string> = { ArgumentName: name }
  if (value !== undefined) fields.ArgumentValue = value
  return new S3Error('InvalidArgument', message, 400, fields)
}

/** `max-keys` as S3 reads it: the page size (at most 1,000) and the value echoed in MaxKeys. */
function readMaxKeys(q: URLSearchParams): { maxKeys: number; echo: number } {
  const raw = q.get('max-keys')
  if (raw === null || raw === '') return { maxKeys: 1000, echo: 1000 }
  if (!/^-?\d+$/.test(raw))
    throw invalidArgument(
      'Provided max-keys not an integer or within integer range',
      'max-keys',
      raw
    )
  const n = Number(raw)
  if (n < 0 || n > 2147483647)
    throw invalidArgument(
      'Argument maxKeys must be an integer between 0 and 2147483647',
      'maxKeys',
      raw
    )
  return { maxKeys: Math.min(1000, n), echo: n }
}

function readEncoding(q: URLSearchParams): boolean {
  const e = q.get('encoding-type')
  if (e === null) return false
  if (e.toLowerCase() !== 'url')
    throw invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', e)
  return true
}

const TOKEN_VERSION = 1

/** An opaque continuation token: where the next page starts after, bound to the bucket. */
export function continuationToken(bucket: string, after: string): string {
  return Buffer.from(JSON.stringify([TOKEN_VERSION, bucket, after]), 'utf8').toString('base64')
}

function readToken(bucket: string, token: string): string {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as unknown
    if (
      Array.isArray(v) &&
      v.length === 3 &&
      v[0] === TOKEN_VERSION &&
      v[1] === bucket &&
      typeof v[2] === 'string'
    )
      return v[2]
  } catch {
    // not one of ours
  }
  throw invalidArgument('The continuation token provided is incorrect', 'continuation-token')
}

function contentsXml(
  s: ObjectSummary,
  enc: (v: string) => string,
  owner: string | undefined
): string {
  return (
    `<Contents>${xmlFields({ Key: enc(s.key), LastModified: s.lastModified, ETag: s.etag, Size: s.size })}` +
    `${owner ?? ''}<StorageClass>${escapeXml(s.storageClass)}</StorageClass></Contents>`
  )
}

/**
 * The ListBucketResult document for a GET Bucket request: ListObjectsV2 when `list-type=2`,
 * ListObjects (v1) otherwise. `ownerXml` is the `<Owner>` element (v1 always, v2 with
 * `fetch-owner=true`).
 */
export function listObjectsXml(
  index: ObjectIndex,
  bucket: string,
  q: URLSearchParams,
  ownerXml: string
): string {
  const v2 = q.get('list-type') === '2'
  if (v2 && q.has('marker'))
    throw invalidArgument('Marker unsupported with REST.GET.BUCKET in list-type=2', 'marker')
  if (!v2 && q.has('continuation-token'))
    throw invalidArgument(
      'continuation-token only supported in REST.GET.BUCKET with list-type=2',
      'continuation-token'
    )
  if (!v2 && q.has('start-after'))
    throw invalidArgument(
      'startAfter only supported in REST.GET.BUCKET with list-type=2',
      'start-after'
    )
  const { maxKeys, echo } = readMaxKeys(q)
  const urlEncode = readEncoding(q)
  const enc = (s: string): string => (urlEncode ? s3UrlEncode(s) : s)
  const prefix = q.get('prefix') ?? ''
  const delimiter = q.get('delimiter') ?? ''
  const token = q.get('continuation-token')
  const startAfter = q.get('start-after') ?? ''
  const marker = v2
    ? token !== null
      ? readToken(bucket, token)
      : startAfter
    : (q.get('marker') ?? '')
  const page = listPage(index, bucket, { prefix, delimiter, marker, maxKeys })
  const owner = !v2 || q.get('fetch-owner') === 'true' ? ownerXml : undefined
  const head = v2
    ? xmlFields({
        Name: bucket,
        Prefix: enc(prefix),
        StartAfter: startAfter !== '' ? enc(startAfter) : undefined,
        ContinuationToken: token ?? undefined,
        NextContinuationToken:
          page.truncated && page.last !== undefined
            ? continuationToken(bucket, page.last)
            : undefined,
        KeyCount: page.contents.length + page.commonPrefixes.length,
        MaxKeys: echo,
        Delimiter: delimiter !== '' ? enc(delimiter) : undefined,
        EncodingType: urlEncode ? 'url' : undefined,
        IsTruncated: page.truncated
      })
    : xmlFields({
        Name: bucket,
        Prefix: enc(prefix),
        Marker: enc(marker),
        NextMarker:
          page.truncated && delimiter !== '' && page.last !== undefined
            ? enc(page.last)
            : undefined,
        MaxKeys: echo,
        Delimiter: delimiter !== '' ? enc(delimiter) : undefined,
        EncodingType: urlEncode ? 'url' : undefined,
        IsTruncated: page.truncated
      })
  const contents = page.contents.map(s => contentsXml(s, enc, owner)).join('')
  const prefixes = page.commonPrefixes
    .map(p => `<CommonPrefixes><Prefix>${escapeXml(enc(p))}</Prefix></CommonPrefixes>`)
    .join('')
  return `<ListBucketResult xmlns="${S3_NS}">${head}${contents}${prefixes}</ListBucketResult>`
}
