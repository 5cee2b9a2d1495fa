// Builds src/ and public/ into dist/ with no dependencies, the way a bundler would for deployment:
//
// - src/assets/** and src/*.css, src/*.js get content-hashed names (`app.<8 hex>.js`), so they can be
//   cached for a year; references to them in the CSS, JS and HTML are rewritten to those names.
// - src/index.html keeps its name (it is the entry point, never cached for long); every
//   `%VITE_NAME%` placeholder in it is replaced by the environment variable VITE_NAME (HTML-escaped,
//   empty when unset), e.g. VITE_API_URL from revive-deploy's `build-env`.
// - public/** is copied unchanged.
//
// The output depends only on the input files and the VITE_* values: no timestamps, a fixed order, so
// building twice gives byte-identical files (and a redeploy uploads nothing).

import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = dirname(fileURLToPath(import.meta.url))
const srcDir = join(root, 'src')
const publicDir = join(root, 'public')
const outDir = join(root, 'dist')

/** Relative POSIX paths of every file under `dir`, sorted. Missing directory: none. */
async function listFiles(dir, prefix = '') {
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (error) {
    if (error.code === 'ENOENT' && prefix === '') return []
    throw error
  }
  const files = []
  for (const entry of entries) {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`
    if (entry.isDirectory()) files.push(...(await listFiles(join(dir, entry.name), path)))
    else if (entry.isFile()) files.push(path)
  }
  return files.sort()
}

function fingerprint(path, content) {
  const hash = createHash('sha256').update(content).digest('hex').slice(0, 8)
  const ext = posix.extname(path)
  return `${path.slice(0, path.length - ext.length)}.${hash}${ext}`
}

function escapeHtml(value) {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
}

/** Source path -> output path of every fingerprinted file emitted so far. */
const renamed = new Map()
/** Output path -> content. */
const output = new Map()

// A quoted or url()-wrapped relative reference such as "assets/logo.svg", './app.js' or (style.css).
const REFERENCE = /(["'(])(?:\.\/)?((?:[\w-]+\/)*[\w.-]+\.[A-Za-z0-9]+)(?=["')])/g

function rewriteReferences(text, from) {
  return text.replace(REFERENCE, (match, open, path) => {
    const target = renamed.get(path)
    if (target !== undefined) return open + target
    if (path.startsWith('assets/')) {
      throw new Error(`${from} refers to ${path}, which is not in src/assets`)
    }
    return match
  })
}

function emit(path, content) {
  if (output.has(path)) throw new Error(`two files would be written to dist/${path}`)
  output.set(path, content)
}

const sources = await listFiles(srcDir)
if (!sources.includes('index.html')) throw new Error('src/index.html is missing')

// 1. Assets, unchanged but renamed.
for (const path of sources.filter(p => p.startsWith('assets/'))) {
  const content = await readFile(join(srcDir, path))
  const target = fingerprint(path, content)
  renamed.set(path, target)
  emit(target, content)
}

// 2. Stylesheets, then scripts (either may refer to assets; the HTML refers to both).
for (const ext of ['.css', '.js']) {
  for (const path of sources.filter(p => !p.startsWith('assets/') && posix.extname(p) === ext)) {
    const text = rewriteReferences(await readFile(join(srcDir, path), 'utf8'), `src/${path}`)
    const content = Buffer.from(text, 'utf8')
    const target = fingerprint(path, content)
    renamed.set(path, target)
    emit(target, content)
  }
}

// 3. HTML entry points, with the build-time environment.
for (const path of sources.filter(p => posix.extname(p) === '.html')) {
  const text = rewriteReferences(await readFile(join(srcDir, path), 'utf8'), `src/${path}`)
  const html = text.replace(/%(VITE_[A-Z0-9_]+)%/g, (_, name) =>
    escapeHtml(process.env[name] ?? '')
  )
  emit(path, Buffer.from(html, 'utf8'))
}

for (const path of sources) {
  if (!path.startsWith('assets/') && !['.css', '.js', '.html'].includes(posix.extname(path))) {
    throw new Error(`src/${path}: put files that keep their name in public/`)
  }
}

// 4. Static files that keep their names.
for (const path of await listFiles(publicDir)) {
  emit(path, await readFile(join(publicDir, path)))
}

await rm(outDir, { recursive: true, force: true })
for (const [path, content] of output) {
  const file = join(outDir, ...path.split('/'))
  await mkdir(dirname(file), { recursive: true })
  await writeFile(file, content)
}

const width = Math.max(...[...output.keys()].map(p => p.length))
for (const path of [...output.keys()].sort()) {
  console.log(`dist/${path.padEnd(width)}  ${String(output.get(path).length).padStart(6)} B`)
}
const apiUrl = process.env.VITE_API_URL ?? ''
console.log(`VITE_API_URL: ${apiUrl === '' ? '(not set)' : apiUrl}`)
