import { describe, expect, it } from '@jest/globals'
import { contentTypeFor, isTextualType } from '../../../src/frontend/content-type'

describe('contentTypeFor', () => {
  it.each([
    ['index.html', 'text/html; charset=utf-8'],
    ['docs/page.htm', 'text/html; charset=utf-8'],
    ['assets/index-BwXc12Ab.js', 'text/javascript; charset=utf-8'],
    ['module.mjs', 'text/javascript; charset=utf-8'],
    ['legacy.cjs', 'text/javascript; charset=utf-8'],
    ['assets/index-3f2a9c1b.css', 'text/css; charset=utf-8'],
    ['logo.svg', 'image/svg+xml; charset=utf-8'],
    ['config.json', 'application/json; charset=utf-8'],
    ['assets/index-BwXc12Ab.js.map', 'application/json; charset=utf-8'],
    ['manifest.webmanifest', 'application/manifest+json; charset=utf-8'],
    ['app.wasm', 'application/wasm'],
    ['fonts/inter.woff2', 'font/woff2'],
    ['favicon.ico', 'image/vnd.microsoft.icon'],
    ['robots.txt', 'text/plain; charset=utf-8'],
    ['sitemap.xml', 'application/xml; charset=utf-8'],
    ['feed.rss', 'application/rss+xml; charset=utf-8'],
    ['photo.JPG', 'image/jpeg'],
    ['image.png', 'image/png'],
    ['doc.pdf', 'application/pdf']
  ])('%s -> %s', (relPath, expected) => {
    expect(contentTypeFor(relPath)).toBe(expected)
  })

  it('falls back to application/octet-stream for unknown or missing extensions', () => {
    expect(contentTypeFor('data.unknownext')).toBe('application/octet-stream')
    expect(contentTypeFor('LICENSE')).toBe('application/octet-stream')
    // A file named like an extension is not that type, nor is a dotfile.
    expect(contentTypeFor('dir/json')).toBe('application/octet-stream')
    expect(contentTypeFor('.htaccess')).toBe('application/octet-stream')
    expect(contentTypeFor('.json')).toBe('application/octet-stream')
  })

  it('looks at the extension of the file name only, not at directory names', () => {
    expect(contentTypeFor('v1.2/readme')).toBe('application/octet-stream')
    expect(contentTypeFor('styles.css/main.js')).toBe('text/javascript; charset=utf-8')
  })
})

describe('isTextualType', () => {
  it('recognises text, JavaScript, JSON and XML families and nothing binary', () => {
    for (const type of [
      'text/plain',
      'text/html',
      'application/javascript',
      'application/json',
      'application/ld+json',
      'image/svg+xml',
      'application/xhtml+xml',
      'application/xml'
    ]) {
      expect([type, isTextualType(type)]).toEqual([type, true])
    }
    for (const type of ['image/png', 'application/wasm', 'font/woff2', 'application/pdf']) {
      expect([type, isTextualType(type)]).toEqual([type, false])
    }
  })
})
