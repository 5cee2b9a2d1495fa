import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { cp, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { IMMUTABLE, NO_CACHE } from '../../../src/frontend/cache-control'
import { headersDigest } from '../../../src/frontend/site-manifest'
import {
  MULTIPART_PART_SIZE,
  scanBuildDirectory,
  type LocalFile
} from '../../../src/frontend/local-files'
import {
  SHA256_METADATA_KEY,
  keyFor,
  normalizePrefix,
  planSync,
  sha256FromMetadata,
  syncPhases,
  type RemoteObject
} from '../../../src/frontend/sync-plan'

const hex = (algorithm: string, data: string): string =>
  createHash(algorithm).update(data).digest('hex')

/** A LocalFile for in-memory content (as scanBuildDirectory would report it). */
function local(relPath: string, content: string): LocalFile {
  return {
    relPath,
    absPath: `/build/${relPath}`,
    size: Buffer.byteLength(content),
    md5: hex('md5', content),
    sha256: hex('sha256', content)
  }
}

/** What ListObjectsV2 shows after a plain single-part upload of the file (ETag quoted). */
function uploaded(prefix: string, file: LocalFile): RemoteObject {
  return { key: keyFor(prefix, file.relPath), etag: `"${file.md5}"`, size: file.size }
}

/** What ListObjectsV2 shows for an SSE-KMS object: the ETag is not the MD5. */
function uploadedWithKms(prefix: string, file: LocalFile): RemoteObject {
  return {
    key: keyFor(prefix, file.relPath),
    etag: `"${hex('md5', 'kms' + file.relPath)}"`,
    size: file.size
  }
}

let work: string

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'sync-plan-test-'))
})

afterAll(async () => {
  await rm(work, { recursive: true, force: true })
})

describe('planSync', () => {
  it('uploads nothing for a fresh checkout of unchanged files (new timestamps, same content)', async () => {
    const first = path.join(work, 'checkout-1')
    await mkdir(path.join(first, 'assets'), { recursive: true })
    await writeFile(path.join(first, 'index.html'), '<!doctype html><script src="/assets/app.js">')
    await writeFile(path.join(first, 'assets', 'app.js'), 'console.log("v1")')
    await writeFile(
      path.join(first, 'assets', 'big.bin'),
      Buffer.alloc(MULTIPART_PART_SIZE + 10, 7)
    )
    const deployed = await scanBuildDirectory(first)
    // The bucket after the first deploy: the big file went up in parts, so its ETag is multipart.
    const remote = deployed.map(file => ({
      key: keyFor('site/', file.relPath),
      etag: `"${file.multipartEtag ?? file.md5}"`,
      size: file.size
    }))
    expect(remote.find(o => o.key === 'site/assets/big.bin')?.etag).toMatch(/-2"$/)

    const second = path.join(work, 'checkout-2')
    await cp(first, second, { recursive: true })
    const later = new Date(Date.now() + 3600_000)
    for (const file of deployed) await utimes(path.join(second, file.relPath), later, later)
    const fresh = await scanBuildDirectory(second)

    const plan = planSync(fresh, remote, { prefix: 'site', deleteRemoved: true })
    expect(plan.uploads).toEqual([])
    expect(plan.needsHead).toEqual([])
    expect(plan.deletions).toEqual([])
    expect(plan.unchanged.map(f => f.relPath)).toEqual(fresh.map(f => f.relPath))
    expect(syncPhases(plan)).toEqual([])
  })

  it('uploads new files with their Content-Type and Cache-Control', () => {
    const files = [local('index.html', '<html>'), local('assets/app-BwXc12Ab.js', 'x')]
    const plan = planSync(files, [], { prefix: '', deleteRemoved: true })
    expect(
      plan.uploads.map(u => [u.key, u.reason, u.phase, u.contentType, u.cacheControl])
    ).toEqual([
      ['assets/app-BwXc12Ab.js', 'new', 'assets', 'text/javascript; charset=utf-8', IMMUTABLE],
      ['index.html', 'new', 'entry', 'text/html; charset=utf-8', NO_CACHE]
    ])
    expect(plan.uploadBytes).toBe(7)
  })

  it('applies cache-control rules to uploads', () => {
    const plan = planSync([local('index.html', '<html>')], [], {
      prefix: '',
      deleteRemoved: false,
      cacheRules: [{ pattern: '*.html', value: 'public, max-age=60' }]
    })
    expect(plan.uploads[0]?.cacheControl).toBe('public, max-age=60')
  })

  it('detects a one-byte change of the same size: needs a HEAD, then the hash decides', () => {
    const before = local('app.js', 'console.log(1)')
    const after = local('app.js', 'console.log(2)')
    expect(after.size).toBe(before.size)
    const remote = [uploaded('', before)]

    const first = planSync([after], remote, { prefix: '', deleteRemoved: true })
    expect(first.needsHead).toEqual(['app.js'])
    expect(first.uploads).toEqual([])
    expect(first.unchanged).toEqual([])

    const heads = new Map([['app.js', { sha256: before.sha256 }]])
    const second = planSync([after], remote, { prefix: '', deleteRemoved: true, heads })
    expect(second.needsHead).toEqual([])
    expect(second.uploads.map(u => [u.key, u.reason])).toEqual([['app.js', 'changed']])
  })

  it('treats a different size as changed without a HEAD', () => {
    const before = local('app.js', 'short')
    const after = local('app.js', 'much longer')
    const plan = planSync([after], [uploaded('', before)], { prefix: '', deleteRemoved: true })
    expect(plan.needsHead).toEqual([])
    expect(plan.uploads.map(u => u.reason)).toEqual(['changed'])
  })

  it('decides KMS-encrypted objects by the metadata hash, re-uploading those without it', () => {
    const same = local('same.js', 'same')
    const noMeta = local('no-meta.js', 'old tool uploaded me')
    const remote = [uploadedWithKms('p/', same), uploadedWithKms('p/', noMeta)]

    const first = planSync([same, noMeta], remote, { prefix: 'p/', deleteRemoved: true })
    expect(first.needsHead).toEqual(['p/no-meta.js', 'p/same.js'])

    const heads = new Map([
      [
        'p/same.js',
        sha256FromMetadata({ [SHA256_METADATA_KEY]: String(same.sha256).toUpperCase() })
      ],
      ['p/no-meta.js', sha256FromMetadata({ other: 'x' })]
    ])
    const second = planSync([same, noMeta], remote, { prefix: 'p/', deleteRemoved: true, heads })
    expect(second.needsHead).toEqual([])
    expect(second.unchanged.map(f => f.relPath)).toEqual(['same.js'])
    expect(second.uploads.map(u => [u.key, u.reason])).toEqual([['p/no-meta.js', 'changed']])

    // After that upload the object carries the metadata: the next run uploads nothing.
    const heads2 = new Map([
      ['p/same.js', { sha256: same.sha256 }],
      ['p/no-meta.js', { sha256: noMeta.sha256 }]
    ])
    const third = planSync([same, noMeta], remote, {
      prefix: 'p/',
      deleteRemoved: true,
      heads: heads2
    })
    expect(third.uploads).toEqual([])
  })

  it('orders uploads: assets, then other entry files, then HTML; deletions come last', () => {
    const files = [
      local('index.html', 'i'),
      local('about/index.html', 'a'),
      local('sw.js', 's'),
      local('manifest.webmanifest', 'm'),
      local('assets/app-BwXc12Ab.js', 'j'),
      local('assets/app-BwXc12Ab.css', 'c'),
      local('favicon.ico', 'f')
    ]
    const remote: RemoteObject[] = [{ key: 'old.js', etag: '"x"', size: 1 }]
    const plan = planSync(files, remote, { prefix: '', deleteRemoved: true })
    expect(plan.uploads.map(u => u.key)).toEqual([
      'assets/app-BwXc12Ab.css',
      'assets/app-BwXc12Ab.js',
      'favicon.ico',
      'manifest.webmanifest',
      'sw.js',
      'about/index.html',
      'index.html'
    ])
    const phases = syncPhases(plan)
    expect(phases.map(p => p.name)).toEqual(['assets', 'entry', 'deletions'])
    expect(phases[2]).toEqual({ name: 'deletions', deletions: ['old.js'] })
  })

  it('deletes only under the prefix, with a / boundary, and only with deleteRemoved', () => {
    const files = [local('index.html', 'new')]
    const remote: RemoteObject[] = [
      { key: 'site/index.html', etag: `"${files[0]?.md5}"`, size: 3 },
      { key: 'site/old.js', etag: '"a"', size: 1 },
      { key: 'site/deep/old.css', etag: '"b"', size: 1 },
      { key: 'site/', etag: '"d41d8cd98f00b204e9800998ecf8427e"', size: 0 },
      { key: 'site/deep/', etag: '"d41d8cd98f00b204e9800998ecf8427e"', size: 0 },
      { key: 'site-old/index.html', etag: '"c"', size: 1 },
      { key: 'site', etag: '"e"', size: 1 },
      { key: 'other/app.js', etag: '"f"', size: 1 },
      { key: 'root.txt', etag: '"g"', size: 1 }
    ]
    for (const prefix of ['site', '/site/', 'site/']) {
      const plan = planSync(files, remote, { prefix, deleteRemoved: true })
      expect(plan.prefix).toBe('site/')
      expect(plan.deletions).toEqual(['site/deep/old.css', 'site/old.js'])
      expect(plan.uploads).toEqual([])
    }
    expect(planSync(files, remote, { prefix: 'site', deleteRemoved: false }).deletions).toEqual([])

    // No prefix: the whole bucket is the site, directory markers still left alone.
    const all = planSync(files, remote, { prefix: '', deleteRemoved: true })
    expect(all.deletions).toEqual([
      'other/app.js',
      'root.txt',
      'site',
      'site-old/index.html',
      'site/deep/old.css',
      'site/index.html',
      'site/old.js'
    ])
  })

  it('refuses an empty build output instead of deleting the site', () => {
    expect(() =>
      planSync([], [{ key: 'index.html', etag: '"x"', size: 1 }], {
        prefix: '',
        deleteRemoved: true
      })
    ).toThrow(/no files; refusing to sync/)
  })
})

describe('normalizePrefix', () => {
  it.each([
    ['', ''],
    ['  ', ''],
    ['/', ''],
    ['site', 'site/'],
    ['/site/', 'site/'],
    ['site//', 'site/'],
    ['a/b', 'a/b/']
  ])('%j -> %j', (input, expected) => {
    expect(normalizePrefix(input)).toBe(expected)
  })

  it.each(['a//b', '../x', 'a/./b', 'a/..'])('rejects %j', input => {
    expect(() => normalizePrefix(input)).toThrow(/site-prefix/)
  })
})

describe('planSync: headers and keep-removed', () => {
  const page = local('index.html', '<h1>x</h1>')
  const app = local('assets/app-BwXc12Ab.js', 'x()')
  const logo = local('logo.svg', '<svg/>')
  const files = [page, app, logo]
  const remote = files.map(f => uploaded('', f))
  const digest = (contentType: string, cacheControl: string): string =>
    headersDigest({ contentType, cacheControl })
  const recorded = new Map([
    ['index.html', digest('text/html; charset=utf-8', NO_CACHE)],
    ['assets/app-BwXc12Ab.js', digest('text/javascript; charset=utf-8', IMMUTABLE)],
    ['logo.svg', digest('image/svg+xml; charset=utf-8', 'public, max-age=300')]
  ])

  it('recorded digests that match: nothing to do, no HEAD', () => {
    const plan = planSync(files, remote, {
      prefix: '',
      deleteRemoved: true,
      headerDigests: recorded
    })
    expect([plan.unchanged.length, plan.headerUpdates, plan.needsHead]).toEqual([3, [], []])
  })

  it('a changed rule: exactly the matching file is a header update, not an upload', () => {
    const plan = planSync(files, remote, {
      prefix: '',
      deleteRemoved: true,
      headerDigests: recorded,
      cacheRules: [{ pattern: '*.svg', value: 'public, max-age=60' }]
    })
    expect(plan.uploads).toEqual([])
    expect(plan.headerUpdates.map(u => [u.key, u.reason, u.cacheControl])).toEqual([
      ['logo.svg', 'headers', 'public, max-age=60']
    ])
    expect(syncPhases(plan).map(p => p.name)).toEqual(['headers'])
  })

  it('a key the manifest does not know is HEADed, and its real headers decide', () => {
    const partial = new Map([...recorded].filter(([k]) => k !== 'logo.svg'))
    const first = planSync(files, remote, {
      prefix: '',
      deleteRemoved: true,
      headerDigests: partial
    })
    expect(first.needsHead).toEqual(['logo.svg'])
    const heads = new Map([
      ['logo.svg', { sha256: logo.sha256, contentType: 'image/svg+xml', cacheControl: 'no-store' }]
    ])
    const second = planSync(files, remote, {
      prefix: '',
      deleteRemoved: true,
      headerDigests: partial,
      heads
    })
    expect(second.headerUpdates.map(u => u.key)).toEqual(['logo.svg'])
  })

  it('removed: a fingerprinted asset is kept within keep-removed, an entry file goes at once', () => {
    const now = Date.parse('2026-12-06T00:00:00Z')
    const day = 86_400_000
    const gone = [
      { key: 'assets/old-Zz9Yy8Xx.js', size: 1 },
      { key: 'static/js/1.3f2a9c1b.chunk.js', size: 1 },
      { key: 'old.html', size: 1 },
      { key: 'robots.txt', size: 1 }
    ]
    const plan = planSync(files, [...remote, ...gone], {
      prefix: '',
      deleteRemoved: true,
      headerDigests: recorded,
      keepRemovedMs: 7 * day,
      removedSince: new Map([['static/js/1.3f2a9c1b.chunk.js', now - 8 * day]]),
      now
    })
    expect(plan.deletions).toEqual(['old.html', 'robots.txt', 'static/js/1.3f2a9c1b.chunk.js'])
    expect(plan.keptRemoved).toEqual([
      { key: 'assets/old-Zz9Yy8Xx.js', since: now, deleteAfter: now + 7 * day }
    ])
    const zero = planSync(files, [...remote, ...gone], { prefix: '', deleteRemoved: true, now })
    expect(zero.deletions).toHaveLength(4)
    expect(zero.keptRemoved).toEqual([])
  })
})
