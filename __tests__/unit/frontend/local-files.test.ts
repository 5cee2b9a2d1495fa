import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import {
  BuildDirectoryError,
  MULTIPART_PART_SIZE,
  addSha256,
  MULTIPART_THRESHOLD,
  multipartEtag,
  multipartEtagOf,
  scanBuildDirectory
} from '../../../src/frontend/local-files'

const MiB = 1024 * 1024

/** Deterministic content: byte i is i % 251. */
function pattern(size: number): Buffer {
  const data = Buffer.alloc(size)
  for (let i = 0; i < size; i++) data[i] = i % 251
  return data
}

const md5 = (data: Uint8Array): string => createHash('md5').update(data).digest('hex')
const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex')

/** The S3 multipart ETag written out directly from its definition, as an independent reference. */
function referenceEtag(data: Buffer, partSize: number): string {
  const digests: Buffer[] = []
  for (let offset = 0; offset < data.length; offset += partSize) {
    digests.push(
      createHash('md5')
        .update(data.subarray(offset, offset + partSize))
        .digest()
    )
  }
  return `${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${digests.length}`
}

let work: string

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'scan-test-'))
})

afterAll(async () => {
  await rm(work, { recursive: true, force: true })
})

async function makeDir(name: string): Promise<string> {
  const dir = path.join(work, name)
  await mkdir(dir, { recursive: true })
  return dir
}

describe('scanBuildDirectory', () => {
  it('lists nested files sorted by posix relPath with correct size, MD5 and SHA-256', async () => {
    const dir = await makeDir('nested')
    const files: Record<string, Buffer> = {
      'index.html': Buffer.from('<!doctype html><title>x</title>'),
      'assets/app.3f2a9c1b.js': Buffer.from('console.log(1)\n'),
      'assets/img/deep/logo.svg': Buffer.from('<svg/>'),
      'empty.txt': Buffer.alloc(0),
      '.well-known/security.txt': Buffer.from('Contact: x@example.com\n'),
      'a b/ünïcode.txt': Buffer.from('hello')
    }
    for (const [rel, data] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, rel)), { recursive: true })
      await writeFile(path.join(dir, rel), data)
    }

    const scanned = await scanBuildDirectory(dir)

    const expectedOrder = Object.keys(files).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    expect(scanned.map(f => f.relPath)).toEqual(expectedOrder)
    for (const file of scanned) {
      const data = files[file.relPath]
      if (!data) throw new Error(`unexpected ${file.relPath}`)
      expect(file.size).toBe(data.length)
      expect(file.md5).toBe(md5(data))
      expect(file.sha256).toBe(sha256(data))
      expect(file.multipartEtag).toBeUndefined()
      expect(await readFile(file.absPath)).toEqual(data)
    }
    const empty = scanned.find(f => f.relPath === 'empty.txt')
    expect(empty?.md5).toBe('d41d8cd98f00b204e9800998ecf8427e')
    expect(empty?.size).toBe(0)
  })

  it('gives the same result on the calling thread and in hashing threads', async () => {
    const dir = await makeDir('concurrency')
    for (let i = 0; i < 40; i++) {
      await writeFile(path.join(dir, `f${String(i).padStart(2, '0')}.txt`), `file ${i}`)
    }
    const one = await scanBuildDirectory(dir, { threads: 0 })
    const many = await scanBuildDirectory(dir, { threads: 2 })
    expect(many).toEqual(one)
    expect(one).toHaveLength(40)
  })

  it('hashes a file read in chunks (multipart ETag) the same in a hashing thread', async () => {
    const dir = await makeDir('chunked-threads')
    const data = Buffer.alloc(MULTIPART_PART_SIZE + 3 * 1024 * 1024 + 5, 7)
    await writeFile(path.join(dir, 'video.mp4'), data)
    const [inThread] = await scanBuildDirectory(dir, { threads: 1 })
    expect(inThread).toMatchObject({
      size: data.length,
      md5: createHash('md5').update(data).digest('hex'),
      sha256: createHash('sha256').update(data).digest('hex'),
      multipartEtag: multipartEtagOf(data)
    })
    expect(await scanBuildDirectory(dir, { threads: 0 })).toEqual([inThread])
  })

  it('computes the SHA-256 only when asked, and later only for the files given', async () => {
    const dir = await makeDir('sha-later')
    const data = pattern(3 * MiB + 7)
    await writeFile(path.join(dir, 'a.js'), 'a')
    await writeFile(path.join(dir, 'large.bin'), data)
    const scanned = await scanBuildDirectory(dir, { sha256: false })
    expect(scanned.map(f => [f.relPath, f.md5, f.sha256])).toEqual([
      ['a.js', md5(Buffer.from('a')), undefined],
      ['large.bin', md5(data), undefined]
    ])
    const [small, large] = scanned
    if (!small || !large) throw new Error('scan found too little')
    await addSha256([large])
    expect(large.sha256).toBe(sha256(data))
    expect(small.sha256).toBeUndefined()
    // Same size, other content: the plan made from the scan no longer holds.
    await writeFile(path.join(dir, 'a.js'), 'b')
    const error = await addSha256([small]).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BuildDirectoryError)
    expect(String(error)).toMatch(/a\.js changed since the build output was scanned/)
    expect(small.sha256).toBeUndefined()
  })

  it('reports a file it cannot read, from a hashing thread too', async () => {
    const dir = await makeDir('unreadable')
    await writeFile(path.join(dir, 'a.js'), 'a')
    const [file] = await scanBuildDirectory(dir, { sha256: false, threads: 1 })
    if (!file) throw new Error('scan found nothing')
    await rm(path.join(dir, 'a.js'))
    await expect(addSha256([file], { threads: 1 })).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(addSha256([file], { threads: 0 })).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('returns an empty list for an empty directory and fails for a missing one', async () => {
    const dir = await makeDir('empty-dir')
    expect(await scanBuildDirectory(dir)).toEqual([])
    await expect(scanBuildDirectory(path.join(work, 'does-not-exist'))).rejects.toThrow(
      /Build directory .*does-not-exist cannot be read/
    )
  })

  it('follows symlinks (file and directory) whose target is inside the build directory', async () => {
    const dir = await makeDir('links-inside')
    await mkdir(path.join(dir, 'real'), { recursive: true })
    await writeFile(path.join(dir, 'real', 'a.txt'), 'AAA')
    await symlink('real/a.txt', path.join(dir, 'alias.txt'))
    await symlink('real', path.join(dir, 'linked-dir'))

    const scanned = await scanBuildDirectory(dir)

    expect(scanned.map(f => f.relPath)).toEqual(['alias.txt', 'linked-dir/a.txt', 'real/a.txt'])
    for (const file of scanned) {
      expect(file.sha256).toBe(sha256(Buffer.from('AAA')))
      expect(file.absPath).toBe(path.join(await realDir(dir), 'real', 'a.txt'))
    }
  })

  it('accepts a build directory that is itself a symlink', async () => {
    const target = await makeDir('real-build')
    await writeFile(path.join(target, 'index.html'), 'hi')
    const link = path.join(work, 'build-link')
    await symlink(target, link)
    const scanned = await scanBuildDirectory(link)
    expect(scanned.map(f => f.relPath)).toEqual(['index.html'])
  })

  it('refuses a file symlink escaping the build directory, naming the link and its target', async () => {
    const outside = await makeDir('outside')
    await writeFile(path.join(outside, 'secret.env'), 'AWS_SECRET=x')
    const dir = await makeDir('escape-file')
    await writeFile(path.join(dir, 'index.html'), 'ok')
    await symlink(path.join(outside, 'secret.env'), path.join(dir, 'leak.txt'))

    const error = await scanBuildDirectory(dir).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BuildDirectoryError)
    const message = (error as Error).message
    expect(message).toContain(path.join(dir, 'leak.txt'))
    expect(message).toContain(path.join(outside, 'secret.env'))
    expect(message).toMatch(/outside the build directory/)
  })

  it('refuses a relative directory symlink escaping through ..', async () => {
    const dir = await makeDir('escape-dir/build')
    await mkdir(path.join(work, 'escape-dir', 'src'), { recursive: true })
    await writeFile(path.join(work, 'escape-dir', 'src', 'code.ts'), 'x')
    await mkdir(path.join(dir, 'sub'))
    await symlink('../../src', path.join(dir, 'sub', 'up'))
    await expect(scanBuildDirectory(dir)).rejects.toThrow(
      /Symlink .*sub\/up -> \.\.\/\.\.\/src points outside the build directory/
    )
  })

  it('refuses a sibling directory whose name starts like the build directory', async () => {
    const dir = await makeDir('site')
    const sibling = await makeDir('site-old')
    await writeFile(path.join(sibling, 'old.html'), 'old')
    await symlink(sibling, path.join(dir, 'old'))
    await expect(scanBuildDirectory(dir)).rejects.toThrow(/points outside the build directory/)
  })

  it('refuses a symlink loop and a dangling symlink', async () => {
    const loop = await makeDir('loop')
    await mkdir(path.join(loop, 'a'))
    await symlink('..', path.join(loop, 'a', 'back'))
    await expect(scanBuildDirectory(loop)).rejects.toThrow(/a\/back -> \.\. .*loop/)

    const dangling = await makeDir('dangling')
    await symlink('nowhere.js', path.join(dangling, 'app.js'))
    await expect(scanBuildDirectory(dangling)).rejects.toThrow(
      /Symlink .*app\.js -> nowhere\.js cannot be followed/
    )
  })

  it('computes the multipart ETag of a file over the part size', async () => {
    const dir = await makeDir('large')
    const data = pattern(2 * MULTIPART_PART_SIZE + 12345)
    await writeFile(path.join(dir, 'video.mp4'), data)
    await writeFile(path.join(dir, 'exact.bin'), data.subarray(0, MULTIPART_THRESHOLD))
    await writeFile(path.join(dir, 'below.bin'), data.subarray(0, MULTIPART_THRESHOLD - 1))

    const scanned = await scanBuildDirectory(dir)
    const byPath = new Map(scanned.map(f => [f.relPath, f]))

    // Known-good value from the shell recipe for S3 multipart ETags:
    // split -b 8388608 data.bin part. && md5sum part.* | cut -d' ' -f1 | xxd -r -p | md5sum
    const video = byPath.get('video.mp4')
    expect(video?.multipartEtag).toBe('5997b3ffeff0238138296d425877e2d9-3')
    expect(video?.multipartEtag).toBe(referenceEtag(data, MULTIPART_PART_SIZE))
    expect(video?.md5).toBe('6547af393be5ba50cdd8eda9c2de2ef7')
    expect(video?.sha256).toBe('33a109a74f9704028d6132cca21938fb934261c25a632f8720352df5617863de')
    expect(video?.size).toBe(data.length)

    const exact = byPath.get('exact.bin')
    expect(exact?.multipartEtag).toBe(
      referenceEtag(data.subarray(0, MULTIPART_THRESHOLD), MULTIPART_PART_SIZE)
    )
    expect(exact?.multipartEtag).toMatch(/-1$/)
    expect(byPath.get('below.bin')?.multipartEtag).toBeUndefined()

    // The separate function, for another part size (5 MiB, the S3 minimum), from file and memory.
    expect(await multipartEtag(path.join(dir, 'video.mp4'), 5 * MiB)).toBe(
      '9fcf47f5af0820a04ac544b7ad0437db-4'
    )
    expect(multipartEtagOf(data, 5 * MiB)).toBe(referenceEtag(data, 5 * MiB))
    expect(multipartEtagOf(new Uint8Array(0))).toBe('59adb24ef3cdbe0297f05b395827453f-1')
    expect(() => multipartEtagOf(data, 0)).toThrow(RangeError)
  })

  it('scans a generated 10,000-file tree', async () => {
    const dir = await makeDir('ten-thousand')
    const count = 10_000
    const writes: Promise<void>[] = []
    for (let d = 0; d < 100; d++) {
      await mkdir(path.join(dir, `dir${d}`, 'sub'), { recursive: true })
    }
    for (let i = 0; i < count; i++) {
      const rel = path.join(`dir${i % 100}`, i % 2 ? 'sub' : '', `file${i}.js`)
      writes.push(writeFile(path.join(dir, rel), `export const n = ${i}\n`.repeat((i % 50) + 1)))
      if (writes.length >= 256) await Promise.all(writes.splice(0))
    }
    await Promise.all(writes)

    const started = process.hrtime.bigint()
    const scanned = await scanBuildDirectory(dir)
    const ms = Number(process.hrtime.bigint() - started) / 1e6

    expect(scanned).toHaveLength(count)
    const sample = scanned.find(f => f.relPath === 'dir7/sub/file7107.js')
    const content = Buffer.from(`export const n = 7107\n`.repeat((7107 % 50) + 1))
    expect(sample?.sha256).toBe(sha256(content))
    expect(sample?.size).toBe(content.length)
    process.stdout.write(
      `scanBuildDirectory: ${count} files in ${ms.toFixed(0)} ms (${Math.round((count / ms) * 1000)} files/s)\n`
    )
  })
})

async function realDir(dir: string): Promise<string> {
  const { realpath } = await import('node:fs/promises')
  return realpath(dir)
}
