/**
 * Cache-Control of a file in the build output.
 *
 * The `cache-control` input is a list of `glob=value` rules; the first rule whose glob matches the
 * path (relative to the build directory, `/`-separated) wins. Globs are picomatch globs with
 * `dot: true` (so `**` also reaches `.well-known/`); a glob without a `/` matches the file name
 * at any depth, as in `.gitignore` (`*.html` matches `docs/a.html`); a glob with a `/` is matched against the whole relative path (`assets/**`). A leading `/` or `./` on a
 * glob is dropped, since every path is relative to the build directory.
 *
 * When no rule matches, the defaults of SPEC §5, in this order:
 * 1. Entry files, which keep their name from build to build and so must be revalidated on every
 *    visit: `no-cache`. These are HTML (`*.html`, `*.htm`), service workers (`sw.js`,
 *    `service-worker.js`, `*-sw.js`, Angular's `ngsw-worker.js`/`ngsw.json`, vite-plugin-pwa's
 *    `registerSW.js`), manifests (`manifest.json`, `*.webmanifest`, CRA's `asset-manifest.json`) and
 *    runtime configuration (`config.json`, `config.js`, `env.js`, `env.json`, `env-config.js`,
 *    `runtime-config.js(on)`). They win over rule 2 even under `assets/`, because `no-cache` is
 *    never wrong, only slower. (A `config-file` with another name should be given a rule by the
 *    caller.)
 * 2. Fingerprinted assets: `public, max-age=31536000, immutable`. That is everything under the
 *    top-level `assets/` (Vite's output directory; the spec names it) and `_next/static/` (Next.js
 *    documents it as immutable), and any file whose name carries a content hash (see
 *    {@link isFingerprinted}).
 * 3. Everything else (images with stable names, `favicon.ico`, `robots.txt`, `sitemap.xml`...): a
 *    short `public, max-age=300`, so a change shows within five minutes even without invalidation.
 *
 * A false "fingerprinted" would pin a changing file in browsers for a year, so the hash heuristic
 * leans towards missing a hash rather than inventing one: a missed hash only costs a revalidation
 * after five minutes. Users override any of this with a rule.
 */
import picomatch from 'picomatch'
import { errorMessage } from '../errors'

export const NO_CACHE = 'no-cache'
export const IMMUTABLE = 'public, max-age=31536000, immutable'
export const SHORT_MAX_AGE = 'public, max-age=300'

/** One line of the `cache-control` input: `pattern=value`. */
export interface CacheRule {
  pattern: string
  value: string
}

/** Rules checked once, ready to match many paths. */
export interface CompiledCacheRules {
  readonly rules: readonly CacheRule[]
  /** The first rule matching `relPath`, if any. */
  match(relPath: string): CacheRule | undefined
}

const ENTRY_NAMES = new Set([
  'sw.js',
  'service-worker.js',
  'ngsw-worker.js',
  'ngsw.json',
  'registersw.js',
  'manifest.json',
  'asset-manifest.json',
  'config.json',
  'config.js',
  'env.js',
  'env.json',
  'env-config.js',
  'runtime-config.js',
  'runtime-config.json'
])

const IMMUTABLE_DIRECTORIES = ['assets/', '_next/static/']

/**
 * True for files that keep their name from build to build and that a page or the browser loads by
 * that name: HTML, service workers, manifests, runtime configuration. They get `no-cache` by
 * default and are uploaded after the other files.
 */
export function isEntryFile(relPath: string): boolean {
  const name = baseName(relPath).toLowerCase()
  if (name.endsWith('.html') || name.endsWith('.htm')) return true
  if (name.endsWith('.webmanifest')) return true
  if (name.endsWith('-sw.js')) return true
  return ENTRY_NAMES.has(name)
}

/** True for an HTML page (`.html`, `.htm`). */
export function isHtml(relPath: string): boolean {
  const name = baseName(relPath).toLowerCase()
  return name.endsWith('.html') || name.endsWith('.htm')
}

/**
 * True when the file name carries a content hash as bundlers write it: `name.<hash>.ext`
 * (webpack, CRA's `main.3f2a9c1b.chunk.js`, Angular, Parcel), `name-<hash>.ext` (Vite/Rollup's
 * `index-BwXc12Ab.js`, esbuild's `chunk-7ZQKJ3WX.js`, Gatsby), also before a second extension
 * (`main.3f2a9c1b.js.map`). A hash is at least 8 characters and contains a digit, and is either
 * hex with at least one letter (so `20240101` is a date, not a hash), uppercase base32 (esbuild),
 * or base64url with both cases (Rollup; 8 characters when it contains `-` or `_`). So
 * `logo-dark2024.svg`, `jquery-3.7.1.min.js` and `photo-20240101.jpg` are not fingerprinted.
 */
export function isFingerprinted(relPath: string): boolean {
  const name = baseName(relPath)
  const segments = name.split('.')
  if (segments.length < 2) return false
  segments.pop() // the extension
  return segments.some((segment, index) => hashCandidates(segment, index).some(looksLikeHash))
}

/**
 * True for a fingerprinted asset: not an entry file, and under `assets/` or `_next/static/` or
 * named with a content hash. A page of an earlier build may still load it by that name, so
 * `keep-removed` keeps it for a while after the build stops producing it.
 */
export function isFingerprintedAsset(relPath: string): boolean {
  if (isEntryFile(relPath)) return false
  return IMMUTABLE_DIRECTORIES.some(dir => relPath.startsWith(dir)) || isFingerprinted(relPath)
}

/** The default Cache-Control for a path when no user rule matches (see the module comment). */
export function defaultCacheControl(relPath: string): string {
  if (isEntryFile(relPath)) return NO_CACHE
  return isFingerprintedAsset(relPath) ? IMMUTABLE : SHORT_MAX_AGE
}

/**
 * Checks and compiles `cache-control` rules. Throws an Error naming the rule for an empty or
 * invalid glob (unbalanced `[`, `{`, `(`) or an empty value or one with control characters (which
 * could inject headers).
 */
export function compileCacheRules(rules: readonly CacheRule[]): CompiledCacheRules {
  const matchers = rules.map(rule => {
    const pattern = rule.pattern.trim().replace(/^(\.\/|\/)+/, '')
    const value = rule.value.trim()
    const where = `cache-control rule "${rule.pattern}=${rule.value}"`
    if (!pattern) throw new Error(`${where}: the glob is empty`)
    if (!value) throw new Error(`${where}: the value is empty`)
    if (/[\x00-\x1f\x7f]/.test(value)) {
      throw new Error(`${where}: the value contains a control character`)
    }
    let isMatch: (path: string) => boolean
    try {
      // picomatch's `basename` applies to every glob, so only slash-less globs get it.
      const basename = !pattern.includes('/')
      isMatch = picomatch(pattern, { dot: true, basename, strictBrackets: true })
    } catch (error) {
      const reason = errorMessage(error)
      throw new Error(`${where}: invalid glob: ${reason}`, { cause: error })
    }
    return { rule: { pattern, value }, isMatch }
  })
  return {
    rules: matchers.map(m => m.rule),
    match(relPath) {
      return matchers.find(m => m.isMatch(relPath))?.rule
    }
  }
}

const compiledCache = new WeakMap<readonly CacheRule[], CompiledCacheRules>()

/**
 * `Cache-Control` header value for a path relative to the build directory: the first matching
 * rule's value, else the default. Raw rule arrays are compiled once and remembered.
 */
export function cacheControlFor(
  relPath: string,
  rules: readonly CacheRule[] | CompiledCacheRules = []
): string {
  let compiled: CompiledCacheRules
  if (isCompiled(rules)) {
    compiled = rules
  } else {
    compiled = compiledCache.get(rules) ?? compileCacheRules(rules)
    compiledCache.set(rules, compiled)
  }
  return compiled.match(relPath)?.value ?? defaultCacheControl(relPath)
}

function isCompiled(rules: readonly CacheRule[] | CompiledCacheRules): rules is CompiledCacheRules {
  return !Array.isArray(rules)
}

function baseName(relPath: string): string {
  return relPath.slice(relPath.lastIndexOf('/') + 1)
}

/** Parts of a dot-separated name segment that could be a hash. */
function hashCandidates(segment: string, index: number): string[] {
  const candidates: string[] = []
  // `main.3f2a9c1b.js`: a whole segment after the first one.
  if (index > 0) candidates.push(segment)
  // `index-BwXc12Ab.js`: after the last dash.
  const dash = segment.lastIndexOf('-')
  if (dash > 0) candidates.push(segment.slice(dash + 1))
  // `index-B-x_12Ab.js`: a Rollup hash may itself contain `-` or `_`; it is 8 characters long.
  if (segment.length > 9 && segment[segment.length - 9] === '-') {
    candidates.push(segment.slice(-8))
  }
  return candidates
}

function looksLikeHash(token: string): boolean {
  if (token.length < 8 || !/\d/.test(token)) return false
  if (/^[0-9a-f]+$/.test(token)) return /[a-f]/.test(token)
  if (/^[0-9A-F]+$/.test(token)) return /[A-F]/.test(token)
  if (/^[A-Z2-7]{8}$/.test(token)) return /[A-Z]/.test(token)
  if (/^[A-Za-z0-9]+$/.test(token)) return /[a-z]/.test(token) && /[A-Z]/.test(token)
  if (/^[A-Za-z0-9_-]{8}$/.test(token)) return /[a-z]/.test(token) && /[A-Z]/.test(token)
  return false
}
