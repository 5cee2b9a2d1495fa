import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import {
  hashJobs,
  hashShared,
  hashingThread,
  type HashJob,
  type HashOutcome,
  type HashSettings
} from '../../../src/frontend/file-hashing'
import {
  multipartEtagOf,
  scanBuildDirectory,
  startHashingThreads,
  stopHashingThreads
} from '../../../src/frontend/local-files'

// Small part and chunk sizes, so that files of a few KiB take the chunked and multipart paths.
const settings: HashSettings = { withSha256: true, partSize: 8192, chunkSize: 2048 }

let dir: string
const jobs: HashJob[] = []

/** Deterministic content of `size` bytes, different per `seed`. */
function content(size: number, seed: number): Buffer {
  const data = Buffer.alloc(size)
  for (let i = 0; i < size; i++) data[i] = (i * 31 + seed) % 251
  return data
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hash-test-'))
  // 300 files: most one read, every 25th read in chunks (some of those multipart), one missing.
  for (let i = 0; i < 300; i++) {
    const relPath = `f${String(i).padStart(3, '0')}.bin`
    const absPath = path.join(dir, relPath)
    jobs.push({ relPath, absPath })
    if (i === 150) continue
    const size = i % 25 === 0 ? 2048 * (i % 7) + 8192 * (i % 3) + 5 : (i * 37) % 2048
    await writeFile(absPath, content(size, i))
  }
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('hashShared', () => {
  it('gives what hashJobs gives on the calling thread, whoever hashes each file', async () => {
    const reference = hashJobs(jobs, settings) as HashOutcome[]
    expect(reference[150]).toMatchObject({ build: false, code: 'ENOENT' })
    const large = reference[25]
    if (!large || 'error' in large) throw new Error('f025 was not hashed')
    const data = content(2048 * 4 + 8192 + 5, 25)
    expect(large).toEqual({
      size: data.length,
      md5: createHash('md5').update(data).digest('hex'),
      sha256: createHash('sha256').update(data).digest('hex'),
      multipartEtag: multipartEtagOf(data, 8192)
    })

    expect(await hashShared(jobs, settings, 0)).toEqual(reference)
    expect(await hashShared(jobs, settings, 1, { callingThread: false })).toEqual(reference)
    expect(await hashShared(jobs, settings, 2, { callingThread: false })).toEqual(reference)
    expect(await hashShared(jobs, settings, 1)).toEqual(reference)
    expect(await hashShared(jobs, settings, 2)).toEqual(reference)
  })

  it('leaves a file above deferAbove unhashed (for a worker), and hashes the others', () => {
    const answers = hashJobs(jobs.slice(24, 27), { ...settings, deferAbove: 2048 })
    expect(answers.map(a => (a === 'deferred' ? a : 'size' in a && a.size))).toEqual([
      (24 * 37) % 2048,
      'deferred',
      (26 * 37) % 2048
    ])
  })

  it('with workers, the calling thread joins only once joinAfter settles', async () => {
    const reference = hashJobs(jobs, settings)
    const never = new Promise<void>(() => undefined)
    // The workers hash every file while the calling thread waits (here for ever).
    expect(await hashShared(jobs, settings, 1, { joinAfter: never })).toEqual(reference)
    // Without workers the calling thread hashes at once.
    expect(await hashShared(jobs, settings, 0, { joinAfter: never })).toEqual(reference)
    // A failed listing lets it join too.
    const failed = Promise.reject(new Error('listing failed'))
    failed.catch(() => undefined)
    expect(await hashShared(jobs, settings, 1, { joinAfter: failed })).toEqual(reference)
  })

  it('hashes an empty list', async () => {
    expect(await hashShared([], settings, 0)).toEqual([])
    expect(await hashShared([], settings, 1)).toEqual([])
  })
})

describe('hashing threads started ahead', () => {
  it('a thread started ahead that ended idle is replaced, not waited for', async () => {
    const dead = hashingThread()
    await dead.terminate()
    // with a worker, the calling thread leaves files above one chunk to it: nobody would take them
    // if the ended thread were given the list (the scan never settled before)
    const files = jobs.slice(0, 60)
    const outcomes = await hashShared(files, settings, 1, { started: [dead] })
    expect(outcomes).toEqual(hashJobs(files, settings))
  })

  it('the next scan uses them and gives the same result; unused ones can be stopped', async () => {
    const scanDir = await mkdtemp(path.join(tmpdir(), 'hash-ahead-'))
    try {
      for (let i = 0; i < 40; i++) {
        await writeFile(path.join(scanDir, `a${i}.js`), content(100 + i * 50_000, i))
      }
      const alone = await scanBuildDirectory(scanDir, { threads: 0 })
      startHashingThreads(2)
      expect(await scanBuildDirectory(scanDir)).toEqual(alone)
      startHashingThreads(1)
      stopHashingThreads()
      expect(await scanBuildDirectory(scanDir)).toEqual(alone)
    } finally {
      await rm(scanDir, { recursive: true, force: true })
    }
  })
})
