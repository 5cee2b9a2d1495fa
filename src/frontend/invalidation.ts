/**
 * CloudFront invalidation paths for a sync (SPEC §5).
 *
 * URL paths: CloudFront asks its S3 origin for the origin path followed by the URL path, so a key
 * is served as `/` + the key without the origin path. The roots (origin paths as key prefixes)
 * come from the distribution's config (`originRoots`); without them the site prefix is taken as
 * the origin path. With origin path `/site`, `site/app.js` is `/app.js`; with none and
 * `site-prefix: site`, it is `/site/app.js`. A key under no root is not served and gets no path.
 *
 * Every changed or deleted key becomes its URL path; an `index.html` also becomes its directory
 * path with and without the trailing slash (`x/index.html` -> `/x/index.html`, `/x/`, `/x`; the root
 * `index.html` -> `/index.html`, `/`). Characters CloudFront wants encoded (non-ASCII, controls,
 * and RFC 1738's unsafe characters, plus `?` which would start a query) are percent-encoded as
 * UTF-8; nothing else is, as CloudFront asks. A `*` inside a key cannot be sent (wildcards only at
 * the end), so such a key is invalidated by a wildcard ending where its `*` is.
 *
 * Limits: CloudFront allows 3,000 file paths and 15 wildcard paths in progress per distribution.
 * Up to {@link DEFAULT_COLLAPSE_ABOVE} paths are sent as they are (exact, and cheap: the first
 * 1,000 paths a month are free). Above that, directories are collapsed to `/dir/*` greedily - the
 * directory covering the most paths first, the deeper one on a tie - until the list is short enough
 * or the wildcard budget is spent; when the file paths still exceed the limit, `/*`.
 */
import { createHash } from 'node:crypto'
import { normalizePrefix } from './sync-plan'

/** CloudFront: file invalidation paths in progress per distribution. */
export const CLOUDFRONT_MAX_FILE_PATHS = 3000
/** CloudFront: wildcard invalidation paths in progress per distribution. */
export const CLOUDFRONT_MAX_WILDCARD_PATHS = 15
/** Length limit used for CallerReference (CloudFront's caller references are at most 128). */
export const CALLER_REFERENCE_MAX_LENGTH = 128
/** More paths than this are collapsed to directory wildcards. */
export const DEFAULT_COLLAPSE_ABOVE = 100

export type InvalidateMode = 'changed' | 'all' | 'none'

export interface InvalidationOptions {
  /** The site prefix (as in the sync plan); every key must be under it. */
  prefix: string
  /** Key prefixes the distribution serves as `/` (its origin paths); default: the site prefix. */
  roots?: readonly string[] | undefined
  mode: InvalidateMode
  /** Collapse when there are more paths than this (default {@link DEFAULT_COLLAPSE_ABOVE}). */
  collapseAbove?: number
  /** Default {@link CLOUDFRONT_MAX_FILE_PATHS}. */
  maxFilePaths?: number
  /** Default {@link CLOUDFRONT_MAX_WILDCARD_PATHS}. */
  maxWildcards?: number
  /** Invalidation paths to add (an earlier run's that were not invalidated). */
  extraPaths?: readonly string[]
}

/**
 * Paths to invalidate after a sync that uploaded `changedKeys` and deleted `deletedKeys` (object
 * keys, under the prefix). `all` gives `['/*']` (also when nothing changed: that is what the user
 * asked for); `none`, or `changed` with nothing changed, gives `[]`. The result is sorted, without
 * duplicates, and within the limits.
 */
export function invalidationPaths(
  changedKeys: readonly string[],
  deletedKeys: readonly string[],
  opts: InvalidationOptions
): string[] {
  if (opts.mode === 'none') return []
  if (opts.mode === 'all') return ['/*']
  const prefix = normalizePrefix(opts.prefix)
  const maxFiles = opts.maxFilePaths ?? CLOUDFRONT_MAX_FILE_PATHS
  const maxWildcards = opts.maxWildcards ?? CLOUDFRONT_MAX_WILDCARD_PATHS
  const collapseAbove = opts.collapseAbove ?? DEFAULT_COLLAPSE_ABOVE

  const roots = (opts.roots ?? [prefix]).map(normalizePrefix)
  const paths = new Set<string>()
  for (const key of [...changedKeys, ...deletedKeys]) {
    if (!key.startsWith(prefix) || key.length === prefix.length) {
      throw new Error(`Key "${key}" is not under the site prefix "${prefix}"`)
    }
    for (const root of roots) {
      if (!key.startsWith(root) || key.length === root.length) continue
      for (const p of urlPathsForRelPath(key.slice(root.length))) paths.add(p)
    }
  }
  for (const p of opts.extraPaths ?? []) paths.add(p)
  if (paths.size === 0) return []

  // S3 keys are at most 1,024 bytes, so even fully encoded (3,073 characters) a path stays
  // within CloudFront's 4,000-character limit.
  let wildcards = new Set([...paths].filter(isWildcard))
  if (wildcards.has('/*')) return ['/*']
  let files = [...paths].filter(p => !isWildcard(p) && !coveredBy(p, wildcards))

  const fits = (): boolean => files.length <= maxFiles && wildcards.size <= maxWildcards
  const shortEnough = (): boolean => files.length + wildcards.size <= collapseAbove

  while (!(fits() && shortEnough())) {
    const best = bestDirectory(files)
    if (!best || best.count < 2) break
    const wildcard = `${best.dir}*`
    const next = new Set([...wildcards].filter(w => !w.startsWith(best.dir)))
    next.add(wildcard)
    if (next.size > maxWildcards) break
    wildcards = next
    files = files.filter(p => !p.startsWith(best.dir))
  }
  if (!fits()) return ['/*']
  return [...files, ...wildcards].sort(compareStrings)
}

/**
 * The URL paths of one file relative to the site root: its own path, and for an `index.html` its
 * directory with and without the trailing slash (the root's just `/`).
 */
export function urlPathsForRelPath(relPath: string): string[] {
  const own = toInvalidationPath(`/${relPath}`)
  const slash = relPath.lastIndexOf('/')
  const name = relPath.slice(slash + 1)
  if (name !== 'index.html') return [own]
  if (slash < 0) return [own, '/']
  const dir = toInvalidationPath(`/${relPath.slice(0, slash)}`)
  if (isWildcard(dir)) return [own, dir]
  return [own, `${dir}/`, dir]
}

/**
 * A CallerReference for CreateInvalidation that is the same for the same run id, attempt and set
 * of paths (so a retried call does not create a second invalidation) and different otherwise:
 * `<runId>-<attempt>-<sha256 of the sorted paths, 32 hex>`, at most 128 characters.
 */
export function callerReference(
  runId: string | number,
  attempt: string | number,
  paths: readonly string[]
): string {
  const digest = createHash('sha256')
    .update([...new Set(paths)].sort(compareStrings).join('\n'))
    .digest('hex')
    .slice(0, 32)
  const clean = (value: string | number): string =>
    String(value).replace(/[^A-Za-z0-9._-]/g, '_') || '0'
  const head = `${clean(runId)}-${clean(attempt)}`
  const room = CALLER_REFERENCE_MAX_LENGTH - digest.length - 1
  return `${head.length > room ? head.slice(0, room) : head}-${digest}`
}

/**
 * Percent-encodes what CloudFront wants encoded in an invalidation path: non-ASCII (as UTF-8),
 * control characters, space, RFC 1738's unsafe `<>"#%{}|\^~[]\``, and `?`. A `*` before the end
 * cuts the path there (a wildcard covering the file).
 */
export function toInvalidationPath(urlPath: string): string {
  let out = ''
  for (const char of urlPath) {
    if (char === '*') return `${out}*`
    out += needsEncoding(char) ? encodeUtf8(char) : char
  }
  return out
}

function needsEncoding(char: string): boolean {
  const code = char.codePointAt(0) ?? 0
  return code <= 0x20 || code >= 0x7f || '<>"#%{}|\\^~[]`?'.includes(char)
}

function encodeUtf8(char: string): string {
  return [...Buffer.from(char, 'utf8')]
    .map(byte => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)
    .join('')
}

function isWildcard(path: string): boolean {
  return path.endsWith('*')
}

function coveredBy(path: string, wildcards: ReadonlySet<string>): boolean {
  for (const w of wildcards) if (path.startsWith(w.slice(0, -1))) return true
  return false
}

/** The directory (`/a/b/`, never the root) under which most paths lie; deeper wins a tie. */
function bestDirectory(paths: readonly string[]): { dir: string; count: number } | undefined {
  const counts = new Map<string, number>()
  for (const p of paths) {
    for (let i = p.indexOf('/', 1); i > 0; i = p.indexOf('/', i + 1)) {
      const dir = p.slice(0, i + 1)
      counts.set(dir, (counts.get(dir) ?? 0) + 1)
    }
  }
  let best: { dir: string; count: number } | undefined
  for (const [dir, count] of counts) {
    if (
      !best ||
      count > best.count ||
      (count === best.count && dir.length > best.dir.length) ||
      (count === best.count && dir.length === best.dir.length && dir < best.dir)
    ) {
      best = { dir, count }
    }
  }
  return best
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
