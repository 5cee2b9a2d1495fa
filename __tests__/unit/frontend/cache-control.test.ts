import { describe, expect, it } from '@jest/globals'
import {
  IMMUTABLE,
  NO_CACHE,
  SHORT_MAX_AGE,
  cacheControlFor,
  compileCacheRules,
  isEntryFile,
  isFingerprinted,
  type CacheRule
} from '../../../src/frontend/cache-control'

describe('cacheControlFor defaults', () => {
  it.each([
    'index.html',
    'docs/guide/index.html',
    'page.htm',
    'sw.js',
    'service-worker.js',
    'firebase-messaging-sw.js',
    'ngsw-worker.js',
    'registerSW.js',
    'manifest.json',
    'site.webmanifest',
    'asset-manifest.json',
    'config.json',
    'env.js',
    // Entry files stay no-cache even under assets/.
    'assets/manifest.json'
  ])('entry file %s is no-cache', relPath => {
    expect(cacheControlFor(relPath, [])).toBe(NO_CACHE)
    expect(isEntryFile(relPath)).toBe(true)
  })

  it.each([
    'main.3f2a9c1b.js',
    'static/js/main.3f2a9c1b.chunk.js',
    'static/js/2.a1b2c3d4.chunk.js',
    'static/css/main.3f2a9c1b.css.map',
    'main.3f2a9c1b4d5e6f70.js',
    'index-BwXc12Ab.js',
    'index-B-x_12Ab.js',
    'app-7ZQKJ3WX.js',
    'component---src-pages-index-js-5c9b2e2d1f0a3b4c7e8d.js',
    'assets/logo.png',
    'assets/fonts/inter.woff2',
    '_next/static/chunks/main.js'
  ])('fingerprinted or assets/ file %s is immutable', relPath => {
    expect(cacheControlFor(relPath, [])).toBe(IMMUTABLE)
  })

  it.each([
    'favicon.ico',
    'robots.txt',
    'images/logo.png',
    'jquery-3.7.1.min.js',
    'logo-dark2024.svg',
    'photo-20240101.jpg',
    'IMG_20240101_123456.jpg',
    'fonts/roboto-v30-latin-regular.woff2',
    'deadbeef.js',
    'my-component-name.js',
    'static/assets/x.js'
  ])('plain file %s gets the short max-age', relPath => {
    expect(cacheControlFor(relPath, [])).toBe(SHORT_MAX_AGE)
    expect(isFingerprinted(relPath)).toBe(false)
  })

  it('uses public, max-age=31536000, immutable and public, max-age=300 exactly', () => {
    expect(IMMUTABLE).toBe('public, max-age=31536000, immutable')
    expect(SHORT_MAX_AGE).toBe('public, max-age=300')
    expect(NO_CACHE).toBe('no-cache')
  })
})

describe('cacheControlFor with rules', () => {
  const rules: CacheRule[] = [
    { pattern: 'assets/legacy/**', value: 'public, max-age=60' },
    { pattern: '*.html', value: 'public, max-age=30' },
    { pattern: 'assets/**', value: 'public, max-age=999' },
    { pattern: '**', value: 'private' }
  ]

  it('lets the first matching rule win', () => {
    expect(cacheControlFor('assets/legacy/app.js', rules)).toBe('public, max-age=60')
    expect(cacheControlFor('assets/app.js', rules)).toBe('public, max-age=999')
    expect(cacheControlFor('robots.txt', rules)).toBe('private')
  })

  it('matches a glob without a slash against the file name at any depth', () => {
    expect(cacheControlFor('index.html', rules)).toBe('public, max-age=30')
    expect(cacheControlFor('docs/deep/page.html', rules)).toBe('public, max-age=30')
  })

  it('matches dot directories', () => {
    expect(cacheControlFor('.well-known/security.txt', rules)).toBe('private')
  })

  it('falls back to the defaults when no rule matches', () => {
    const some: CacheRule[] = [{ pattern: 'images/**', value: 'public, max-age=86400' }]
    expect(cacheControlFor('images/a/b.png', some)).toBe('public, max-age=86400')
    expect(cacheControlFor('index.html', some)).toBe(NO_CACHE)
    expect(cacheControlFor('main.3f2a9c1b.js', some)).toBe(IMMUTABLE)
    expect(cacheControlFor('x.png', some)).toBe(SHORT_MAX_AGE)
  })

  it('drops a leading / or ./ from a glob and accepts compiled rules', () => {
    const compiled = compileCacheRules([
      { pattern: '/static/**', value: 'public, max-age=1' },
      { pattern: './docs/*.txt', value: 'public, max-age=2' }
    ])
    expect(compiled.rules.map(r => r.pattern)).toEqual(['static/**', 'docs/*.txt'])
    expect(cacheControlFor('static/js/a.js', compiled)).toBe('public, max-age=1')
    expect(cacheControlFor('docs/a.txt', compiled)).toBe('public, max-age=2')
    expect(compiled.match('other.txt')).toBeUndefined()
  })
})

describe('compileCacheRules', () => {
  it.each([
    [{ pattern: 'assets/[abc', value: 'no-cache' }, /assets\/\[abc.*invalid glob/],
    [{ pattern: '{a,b', value: 'no-cache' }, /invalid glob/],
    [{ pattern: '   ', value: 'no-cache' }, /glob is empty/],
    [{ pattern: '*.js', value: '' }, /value is empty/],
    [{ pattern: '*.js', value: 'no-cache\r\nX-Evil: 1' }, /control character/]
  ])('rejects %j', (rule, message) => {
    expect(() => compileCacheRules([rule])).toThrow(message)
    expect(() => compileCacheRules([rule])).toThrow(/cache-control rule/)
  })

  it('accepts valid globs and trims values', () => {
    const compiled = compileCacheRules([{ pattern: ' **/*.{js,css} ', value: '  no-store ' }])
    expect(compiled.rules).toEqual([{ pattern: '**/*.{js,css}', value: 'no-store' }])
    expect(compiled.match('a/b.css')?.value).toBe('no-store')
  })
})
