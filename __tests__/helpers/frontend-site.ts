/**
 * Test helpers for the frontend phase: a generated static site (nested, several file types, one
 * file above the multipart threshold), a workspace whose build command copies it into `dist`, a
 * Config read the way the action reads it, and a log that collects lines.
 */
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { readConfig, type Config } from '../../src/inputs'
import type { Log } from '../../src/log'

const MiB = 1024 * 1024
export const IMMUTABLE = 'public, max-age=31536000, immutable'
export const SHORT = 'public, max-age=300'

export interface SiteFile {
  relPath: string
  content: Buffer
  /** What the object's headers must say, written out by hand per kind of file. */
  contentType: string
  cacheControl: string
}

/** A deterministic pseudo-random byte source (same seed, same bytes). */
function bytes(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length)
  let filled = 0
  let counter = 0
  while (filled < length) {
    const block = createHash('sha256').update(`${seed}:${counter++}`).digest()
    filled += block.copy(out, filled)
  }
  return out
}

function text(seed: string, length: number): Buffer {
  return Buffer.from(
    bytes(seed, Math.ceil(length / 2))
      .toString('hex')
      .slice(0, length)
  )
}

/** A content hash as bundlers put in names: 8 hex characters with a letter and a digit. */
function hash8(content: Buffer): string {
  return `a1${createHash('md5').update(content).digest('hex').slice(0, 6)}`
}

/**
 * The site: `count` files (at least ~50) in nested directories, of these kinds: HTML pages (also
 * `x/index.html`), JS and CSS under `assets/`, CRA-style fingerprinted chunks outside it, SVG and
 * PNG images, JSON data, WOFF2 fonts, robots.txt, a web manifest, and `media/intro.mp4` of
 * `largeBytes` (above the 8 MiB multipart threshold; 0 leaves it out).
 */
export function generateSite(count = 1500, largeBytes = 9 * MiB + 12345): SiteFile[] {
  const files: SiteFile[] = []
  const add = (relPath: string, content: Buffer, contentType: string, cacheControl: string) =>
    files.push({ relPath, content, contentType, cacheControl })
  const html = 'text/html; charset=utf-8'
  add('index.html', text('index', 900), html, 'no-cache')
  add('about/index.html', text('about', 700), html, 'no-cache')
  add('robots.txt', Buffer.from('User-agent: *\nAllow: /\n'), 'text/plain; charset=utf-8', SHORT)
  add(
    'manifest.webmanifest',
    Buffer.from('{"name":"shop"}'),
    'application/manifest+json; charset=utf-8',
    'no-cache'
  )
  if (largeBytes > 0) add('media/intro.mp4', bytes('video', largeBytes), 'video/mp4', SHORT)
  const kinds = [
    'page',
    'js',
    'css',
    'chunk',
    'svg',
    'png',
    'json',
    'font',
    'js',
    'js',
    'svg',
    'json'
  ] as const
  for (let i = 0; files.length < count; i++) {
    const kind = kinds[i % kinds.length] ?? 'js'
    const n = Math.floor(i / kinds.length)
    const section = `s${n % 7}`
    const size = 80 + ((i * 7919) % 1900)
    switch (kind) {
      case 'page':
        add(`docs/${section}/p${n}/index.html`, text(`page${i}`, size), html, 'no-cache')
        break
      case 'js': {
        const c = text(`js${i}`, size)
        add(
          `assets/${section}/mod${i}-${hash8(c)}.js`,
          c,
          'text/javascript; charset=utf-8',
          IMMUTABLE
        )
        break
      }
      case 'css': {
        const c = text(`css${i}`, size)
        add(`assets/css/style${i}-${hash8(c)}.css`, c, 'text/css; charset=utf-8', IMMUTABLE)
        break
      }
      case 'chunk': {
        const c = text(`chunk${i}`, size)
        add(`static/js/${i}.${hash8(c)}.chunk.js`, c, 'text/javascript; charset=utf-8', IMMUTABLE)
        break
      }
      case 'svg':
        add(
          `images/icons/${section}/icon${i}.svg`,
          text(`svg${i}`, size),
          'image/svg+xml; charset=utf-8',
          SHORT
        )
        break
      case 'png':
        add(`images/photos/photo${i}.png`, bytes(`png${i}`, size), 'image/png', SHORT)
        break
      case 'json':
        add(
          `data/${section}/item${i}.json`,
          text(`json${i}`, size),
          'application/json; charset=utf-8',
          SHORT
        )
        break
      case 'font':
        add(`fonts/font${i}.woff2`, bytes(`font${i}`, size), 'font/woff2', SHORT)
        break
    }
  }
  return files
}

export function writeSite(dir: string, files: readonly SiteFile[]): void {
  fs.rmSync(dir, { recursive: true, force: true })
  for (const file of files) {
    const target = path.join(dir, ...file.relPath.split('/'))
    fs.mkdirSync(path.dirname(target), { recursive: true })
    fs.writeFileSync(target, file.content)
  }
}

/** Every file's timestamps set to now + `offsetSeconds` (a fresh checkout). */
export function touchAll(dir: string, offsetSeconds = 3600): void {
  const when = new Date(Date.now() + offsetSeconds * 1000)
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) fs.utimesSync(path.join(entry.parentPath, entry.name), when, when)
  }
}

export interface Workspace {
  root: string
  frontend: string
  /** The site source the build command copies into dist/. */
  source: string
  remove(): void
}

/** A workspace with `terraform/` and `frontend/site/`; the default build copies site/ to dist/. */
export function makeWorkspace(): Workspace {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'frontend-ws-')))
  fs.mkdirSync(path.join(root, 'terraform'))
  const frontend = path.join(root, 'frontend')
  const source = path.join(frontend, 'site')
  fs.mkdirSync(source, { recursive: true })
  return {
    root,
    frontend,
    source,
    remove: () => fs.rmSync(root, { recursive: true, force: true })
  }
}

/** The build command the tests use: a fresh copy of site/ in dist/ (new timestamps every time). */
export const COPY_BUILD = 'rm -rf dist && cp -R site dist'

/** A Config read from inputs the way the action reads them. */
export function frontendConfig(
  ws: Workspace,
  inputs: Record<string, string>,
  env: Record<string, string> = {}
): Config {
  const all: Record<string, string> = {
    'frontend-directory': 'frontend',
    'build-command': COPY_BUILD,
    'aws-region': 'eu-west-1',
    ...inputs
  }
  return readConfig(name => (all[name] ?? '').trim(), {
    GITHUB_WORKSPACE: ws.root,
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_RUN_ID: '1000',
    GITHUB_RUN_ATTEMPT: '1',
    ...env
  })
}

export interface CollectingLog extends Log {
  lines: string[]
  warnings: string[]
  notices: string[]
  groups: string[]
}

/** A log that keeps every line (and prints nothing). */
export function collectingLog(): CollectingLog {
  const log: CollectingLog = {
    lines: [],
    warnings: [],
    notices: [],
    groups: [],
    debug: () => undefined,
    info: message => void log.lines.push(message),
    warning: message => void log.warnings.push(message),
    notice: message => void log.notices.push(message),
    group: async (name, fn) => {
      log.groups.push(name)
      return fn()
    }
  }
  return log
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}
