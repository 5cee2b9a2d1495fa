/**
 * Content-Type of a file in the build output.
 *
 * The type comes from the `mime-types` database (the one Express and most Node servers use), with
 * a few overrides where its answer is wrong for a web site. Textual types get `; charset=utf-8`:
 * every `text/*` type, JavaScript, JSON and XML and their `+json`/`+xml` relatives (SVG, web
 * manifest, RSS, Atom, JSON-LD, GeoJSON...), and anything else the database marks as UTF-8.
 * Unknown extensions are `application/octet-stream`.
 */
import { posix } from 'node:path'
import mime from 'mime-types'

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream'

/** Extensions whose database answer is not what a browser should get from a static site. */
const OVERRIDES: Readonly<Record<string, string>> = {
  // mime-db says application/node; a .cjs file on a web site is JavaScript.
  cjs: 'text/javascript',
  // Source maps are JSON (mime-db agrees today; pinned so a database change cannot break them).
  map: 'application/json'
}

/** Types outside text/* that are text and take a charset. */
const TEXTUAL_TYPES = new Set([
  'application/javascript',
  'application/ecmascript',
  'application/x-javascript',
  'application/json',
  'application/xml',
  'application/xml-dtd',
  'application/x-sh',
  'application/toml',
  'application/yaml',
  'application/x-yaml',
  'application/graphql',
  'application/sql'
])

/** True for a type that is text and therefore gets `charset=utf-8`. */
export function isTextualType(type: string): boolean {
  const base = type.split(';')[0]?.trim().toLowerCase() ?? ''
  if (base.startsWith('text/')) return true
  if (TEXTUAL_TYPES.has(base)) return true
  if (base.endsWith('+json') || base.endsWith('+xml')) return true
  return mime.charset(base) === 'UTF-8'
}

/** `Content-Type` header value for a path relative to the build directory. */
export function contentTypeFor(relPath: string): string {
  // Node's rule: `.htaccess` and `LICENSE` have no extension (mime-types alone would read `json`
  // as the extension of a file named `json`).
  const ext = posix.extname(relPath).slice(1).toLowerCase()
  if (!ext) return DEFAULT_CONTENT_TYPE
  const type = OVERRIDES[ext] ?? mime.lookup(ext)
  if (!type) return DEFAULT_CONTENT_TYPE
  return isTextualType(type) ? `${type}; charset=utf-8` : type
}
