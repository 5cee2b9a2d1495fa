/**
 * Generated static sites for the sync benchmarks: the file mix of a bundler's output (many small
 * fingerprinted JS/CSS chunks and SVG icons, JSON data, some images and fonts, a few HTML pages) and
 * a few media files above the 8 MiB multipart threshold. Sizes come from a seeded generator, so a
 * site of N files has the same names and sizes on every run; contents are random bytes.
 */
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'

const KiB = 1024
const MiB = 1024 * KiB

export interface SiteStats {
  files: number
  bytes: number
  /** Files at or above the 8 MiB multipart threshold. */
  largeFiles: number
}

interface Kind {
  share: number
  /** Median size and spread (sigma of the log-normal). */
  median: number
  sigma: number
  min: number
  max: number
  name(i: number, hash: string): string
  text: boolean
}

const SECTIONS = 20

const KINDS: Kind[] = [
  {
    share: 0.38,
    median: 6 * KiB,
    sigma: 1.0,
    min: 200,
    max: 400 * KiB,
    name: (i, h) => `assets/js/chunk-${i}.${h}.js`,
    text: true
  },
  {
    share: 0.08,
    median: 3 * KiB,
    sigma: 1.0,
    min: 100,
    max: 100 * KiB,
    name: (i, h) => `assets/css/style-${i}.${h}.css`,
    text: true
  },
  {
    share: 0.25,
    median: 1.2 * KiB,
    sigma: 0.7,
    min: 150,
    max: 20 * KiB,
    name: i => `icons/set-${i % SECTIONS}/icon-${i}.svg`,
    text: true
  },
  {
    share: 0.1,
    median: 2 * KiB,
    sigma: 1.0,
    min: 50,
    max: 64 * KiB,
    name: i => `data/s${i % SECTIONS}/item-${i}.json`,
    text: true
  },
  {
    share: 0.12,
    median: 35 * KiB,
    sigma: 1.0,
    min: 2 * KiB,
    max: 1.5 * MiB,
    name: i => `images/s${i % SECTIONS}/photo-${i}.${['png', 'jpg', 'webp'][i % 3]}`,
    text: false
  },
  {
    share: 0.03,
    median: 30 * KiB,
    sigma: 0.4,
    min: 10 * KiB,
    max: 120 * KiB,
    name: (i, h) => `assets/fonts/font-${i}.${h}.woff2`,
    text: false
  },
  {
    share: 0.04,
    median: 8 * KiB,
    sigma: 0.8,
    min: 500,
    max: 200 * KiB,
    name: i => `docs/s${i % SECTIONS}/page-${i}/index.html`,
    text: true
  }
]

/** A small seeded PRNG (mulberry32), so sizes are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function logNormal(random: () => number, median: number, sigma: number): number {
  const u = Math.max(random(), 1e-12)
  const v = random()
  const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  return median * Math.exp(sigma * normal)
}

/** Number of files above the multipart threshold in a site of `count` files. */
export function largeFileCount(count: number): number {
  return count >= 10_000 ? 3 : count >= 2_000 ? 2 : 1
}

function content(size: number, text: boolean): Buffer {
  if (!text) return randomBytes(size)
  // Printable text of exactly `size` bytes.
  return Buffer.from(
    randomBytes(Math.ceil((size * 3) / 4) + 3)
      .toString('base64')
      .slice(0, size)
  )
}

/** Writes a site of `count` files into `dir` (created, must not exist). */
export function writeSite(dir: string, count: number): SiteStats {
  const random = prng(count)
  const files = new Map<string, Buffer>()
  const add = (rel: string, data: Buffer): void => void files.set(rel, data)
  add('index.html', content(12 * KiB, true))
  add('robots.txt', Buffer.from('User-agent: *\nAllow: /\n'))
  add('favicon.ico', content(15 * KiB, false))
  add('manifest.webmanifest', Buffer.from('{"name":"bench","start_url":"/"}'))
  add('sw.js', content(4 * KiB, true))
  const large = largeFileCount(count)
  for (let i = 0; i < large; i++) {
    add(`media/video-${i}.mp4`, content(8 * MiB + Math.floor(random() * 4 * MiB), false))
  }
  const totalShare = KINDS.reduce((sum, k) => sum + k.share, 0)
  for (let i = 0; files.size < count; i++) {
    // Pick a kind by share.
    let pick = random() * totalShare
    let kind = KINDS[0] as Kind
    for (const k of KINDS) {
      kind = k
      pick -= k.share
      if (pick <= 0) break
    }
    const size = Math.round(
      Math.min(kind.max, Math.max(kind.min, logNormal(random, kind.median, kind.sigma)))
    )
    const hash = Math.floor(random() * 0xffffffff)
      .toString(16)
      .padStart(8, '0')
    add(kind.name(i, hash), content(size, kind.text))
  }
  let bytes = 0
  for (const [rel, data] of files) {
    const target = path.join(dir, ...rel.split('/'))
    fs.mkdirSync(path.dirname(target), { recursive: true })
    fs.writeFileSync(target, data)
    bytes += data.length
  }
  return { files: files.size, bytes, largeFiles: large }
}

/** Every file under `dir`, relative, `/`-separated, sorted. */
export function listFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter(entry => entry.isFile())
    .map(entry =>
      path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/')
    )
    .sort()
}

/**
 * A fresh checkout: every file's timestamps set to `when` (whole seconds, so the AWS CLI's
 * comparison with LastModified is not thrown off by sub-second precision).
 */
export function touchAll(dir: string, when: Date): number {
  const files = listFiles(dir)
  for (const rel of files) fs.utimesSync(path.join(dir, rel), when, when)
  return files.length
}

/**
 * Changes 1% of the files (at least one): every 100th file in sorted order. Half keep their size
 * (new bytes, same length: only a content hash can tell), half grow by 100 bytes.
 */
export function changeOnePercent(dir: string): string[] {
  const files = listFiles(dir)
  const changed: string[] = []
  for (let i = 50 % files.length; i < files.length; i += 100) changed.push(files[i] as string)
  changed.forEach((rel, j) => {
    const file = path.join(dir, rel)
    const size = fs.statSync(file).size
    fs.writeFileSync(file, content(j % 2 === 0 ? size : size + 100, true))
  })
  return changed
}
