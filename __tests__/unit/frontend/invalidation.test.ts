import { describe, expect, it } from '@jest/globals'
import {
  CALLER_REFERENCE_MAX_LENGTH,
  CLOUDFRONT_MAX_FILE_PATHS,
  CLOUDFRONT_MAX_WILDCARD_PATHS,
  DEFAULT_COLLAPSE_ABOVE,
  callerReference,
  invalidationPaths,
  toInvalidationPath,
  urlPathsForRelPath
} from '../../../src/frontend/invalidation'

/** Checks a result against CloudFront's rules and that it covers every wanted path. */
function expectValidCovering(result: string[], wanted: string[]): void {
  const wildcards = result.filter(p => p.endsWith('*'))
  const files = result.filter(p => !p.endsWith('*'))
  expect(files.length).toBeLessThanOrEqual(CLOUDFRONT_MAX_FILE_PATHS)
  expect(wildcards.length).toBeLessThanOrEqual(CLOUDFRONT_MAX_WILDCARD_PATHS)
  for (const p of result) {
    expect(p.startsWith('/')).toBe(true)
    expect(p.indexOf('*')).toBeGreaterThanOrEqual(p.endsWith('*') ? p.length - 1 : -1)
  }
  const uncovered = wanted.filter(
    p => !files.includes(p) && !wildcards.some(w => p.startsWith(w.slice(0, -1)))
  )
  expect(uncovered).toEqual([])
}

describe('invalidationPaths', () => {
  it('follows the mode', () => {
    expect(invalidationPaths(['a.js'], [], { prefix: '', mode: 'none' })).toEqual([])
    expect(invalidationPaths(['a.js'], [], { prefix: '', mode: 'all' })).toEqual(['/*'])
    expect(invalidationPaths([], [], { prefix: '', mode: 'all' })).toEqual(['/*'])
    expect(invalidationPaths([], [], { prefix: '', mode: 'changed' })).toEqual([])
  })

  it('lists changed and deleted paths, index.html also as its directory', () => {
    const paths = invalidationPaths(
      ['index.html', 'docs/index.html', 'assets/app.js'],
      ['assets/old.js'],
      { prefix: '', mode: 'changed' }
    )
    expect(paths).toEqual([
      '/',
      '/assets/app.js',
      '/assets/old.js',
      '/docs',
      '/docs/',
      '/docs/index.html',
      '/index.html'
    ])
  })

  it('strips the site prefix (the distribution origin path is the prefix)', () => {
    expect(
      invalidationPaths(['site/index.html', 'site/a/index.html'], ['site/x.js'], {
        prefix: '/site',
        mode: 'changed'
      })
    ).toEqual(['/', '/a', '/a/', '/a/index.html', '/index.html', '/x.js'])
    expect(() =>
      invalidationPaths(['site-old/x.js'], [], { prefix: 'site', mode: 'changed' })
    ).toThrow(/not under the site prefix "site\/"/)
  })

  it('builds paths from the origin paths the distribution serves, not from the prefix', () => {
    const keys = ['site/v2/index.html', 'site/v2/app.js']
    // Origin at the bucket root: the prefix is part of the URL.
    expect(
      invalidationPaths(keys, [], { prefix: 'site/v2', roots: [''], mode: 'changed' })
    ).toEqual(['/site/v2', '/site/v2/', '/site/v2/app.js', '/site/v2/index.html'])
    // Origin path /site, site under site/v2/: served under /v2/.
    expect(
      invalidationPaths(keys, [], { prefix: 'site/v2', roots: ['site/'], mode: 'changed' })
    ).toEqual(['/v2', '/v2/', '/v2/app.js', '/v2/index.html'])
    // Two origins on the bucket: both ways it is served. A root the key is not under serves none.
    expect(
      invalidationPaths(['site/v2/app.js'], [], {
        prefix: 'site/v2',
        roots: ['', 'site/v2/', 'other/'],
        mode: 'changed'
      })
    ).toEqual(['/app.js', '/site/v2/app.js'])
    expect(
      invalidationPaths(['site/a.js'], [], { prefix: 'site', roots: ['site/v3/'], mode: 'changed' })
    ).toEqual([])
  })

  it('removes duplicates between changed and deleted', () => {
    expect(invalidationPaths(['a.js'], ['a.js'], { prefix: '', mode: 'changed' })).toEqual([
      '/a.js'
    ])
  })

  it('percent-encodes what CloudFront wants encoded and nothing else', () => {
    expect(toInvalidationPath('/a b/ünï.txt')).toBe('/a%20b/%C3%BCn%C3%AF.txt')
    expect(toInvalidationPath('/日本.html')).toBe('/%E6%97%A5%E6%9C%AC.html')
    expect(toInvalidationPath('/q?x#y%z.txt')).toBe('/q%3Fx%23y%25z.txt')
    expect(toInvalidationPath('/<>"{}|\\^~[]`.txt')).toBe(
      '/%3C%3E%22%7B%7D%7C%5C%5E%7E%5B%5D%60.txt'
    )
    expect(toInvalidationPath("/a+b&c=d;e,f@g$h!i'j(k)l:m.txt")).toBe(
      "/a+b&c=d;e,f@g$h!i'j(k)l:m.txt"
    )
    expect(toInvalidationPath('/emoji-😀.png')).toBe('/emoji-%F0%9F%98%80.png')
  })

  it('turns a key with * into a wildcard ending at the *', () => {
    expect(urlPathsForRelPath('img/a*b.png')).toEqual(['/img/a*'])
    const paths = invalidationPaths(['img/a*b.png', 'img/abc.png', 'img/x.png'], [], {
      prefix: '',
      mode: 'changed'
    })
    expect(paths).toEqual(['/img/a*', '/img/x.png'])
  })

  it('keeps up to the collapse threshold of paths exact', () => {
    const keys = Array.from({ length: DEFAULT_COLLAPSE_ABOVE }, (_, i) => `assets/f${i}.js`)
    const paths = invalidationPaths(keys, [], { prefix: '', mode: 'changed' })
    expect(paths).toHaveLength(DEFAULT_COLLAPSE_ABOVE)
    expect(paths.some(p => p.includes('*'))).toBe(false)
  })

  it('collapses many paths in a directory to its wildcard', () => {
    const changed = Array.from({ length: 150 }, (_, i) => `assets/app-${i}.js`)
    const deleted = Array.from({ length: 150 }, (_, i) => `assets/old-${i}.js`)
    const paths = invalidationPaths([...changed, 'index.html'], deleted, {
      prefix: '',
      mode: 'changed'
    })
    expect(paths).toEqual(['/', '/assets/*', '/index.html'])
  })

  it('prefers the deeper directory when it covers as many paths', () => {
    const keys = Array.from({ length: 120 }, (_, i) => `static/js/c${i}.js`)
    const paths = invalidationPaths([...keys, 'logo.png'], [], {
      prefix: '',
      mode: 'changed'
    })
    expect(paths).toEqual(['/logo.png', '/static/js/*'])
  })

  it('collapses 4,000 changed files within CloudFront limits', () => {
    const keys = [
      ...Array.from({ length: 3000 }, (_, i) => `assets/js/chunk-${i}.js`),
      ...Array.from({ length: 990 }, (_, i) => `assets/css/style-${i}.css`),
      ...Array.from({ length: 10 }, (_, i) => `page${i}/index.html`)
    ]
    const paths = invalidationPaths(keys, [], { prefix: '', mode: 'changed' })
    const wanted = keys.flatMap(urlPathsForRelPath)
    expectValidCovering(paths, wanted)
    expect(paths).toContain('/assets/*')
    expect(paths.length).toBeLessThanOrEqual(DEFAULT_COLLAPSE_ABOVE)
  })

  it('uses at most 15 wildcards when changes are spread over many directories', () => {
    const keys = Array.from({ length: 4000 }, (_, i) => `d${i % 20}/file-${i}.js`)
    const paths = invalidationPaths(keys, [], { prefix: '', mode: 'changed' })
    expectValidCovering(paths, keys.flatMap(urlPathsForRelPath))
    expect(paths.filter(p => p.endsWith('*'))).toHaveLength(CLOUDFRONT_MAX_WILDCARD_PATHS)
    expect(paths).toHaveLength(CLOUDFRONT_MAX_WILDCARD_PATHS + 5 * 200)
  })

  it('falls back to /* when nothing else fits', () => {
    const atRoot = Array.from({ length: 4000 }, (_, i) => `file-${i}.js`)
    expect(invalidationPaths(atRoot, [], { prefix: '', mode: 'changed' })).toEqual(['/*'])
    const ownDirs = Array.from({ length: 4000 }, (_, i) => `d${i}/file.js`)
    expect(invalidationPaths(ownDirs, [], { prefix: '', mode: 'changed' })).toEqual(['/*'])
  })

  it('honours smaller limits passed as options', () => {
    const keys = Array.from({ length: 50 }, (_, i) => `d${i % 5}/f${i}.js`)
    const paths = invalidationPaths(keys, [], {
      prefix: '',
      mode: 'changed',
      collapseAbove: 10,
      maxWildcards: 3,
      maxFilePaths: 30
    })
    expect(paths.filter(p => p.endsWith('*'))).toHaveLength(3)
    expect(paths.filter(p => !p.endsWith('*'))).toHaveLength(20)
    expect(
      invalidationPaths(keys, [], {
        prefix: '',
        mode: 'changed',
        maxWildcards: 3,
        maxFilePaths: 10
      })
    ).toEqual(['/*'])
  })
})

describe('callerReference', () => {
  const paths = ['/index.html', '/', '/assets/*']

  it('is stable for the same run, attempt and set of paths', () => {
    const ref = callerReference('123456789', '1', paths)
    expect(callerReference('123456789', 1, [...paths].reverse())).toBe(ref)
    expect(callerReference(123456789, '1', [...paths, '/'])).toBe(ref)
    expect(ref).toMatch(/^123456789-1-[0-9a-f]{32}$/)
  })

  it('differs for another attempt, run or set of paths', () => {
    const ref = callerReference('100', '1', paths)
    expect(callerReference('100', '2', paths)).not.toBe(ref)
    expect(callerReference('101', '1', paths)).not.toBe(ref)
    expect(callerReference('100', '1', [...paths, '/x.js'])).not.toBe(ref)
  })

  it('stays within the length limit and a safe character set', () => {
    const ref = callerReference('r'.repeat(500), 'attempt #3', paths)
    expect(ref.length).toBeLessThanOrEqual(CALLER_REFERENCE_MAX_LENGTH)
    expect(ref).toMatch(/^[A-Za-z0-9._-]+$/)
    expect(callerReference('', '', [])).toMatch(/^0-0-[0-9a-f]{32}$/)
  })
})
