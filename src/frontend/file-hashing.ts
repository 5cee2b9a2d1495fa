/**
 * Hashing the files of a scan (see `local-files.ts`): each file is read with blocking calls into one
 * reused buffer, in one read for a file up to the chunk size, in chunks for a larger one; on the
 * calling thread ({@link hashJobs}) or in worker threads ({@link hashInThreads}) that run the same
 * code, so the calling thread stays free to list the bucket meanwhile.
 */
import { Worker } from 'node:worker_threads'

export interface HashJob {
  relPath: string
  absPath: string
}

/** A file's size and hashes (lowercase hex; `multipartEtag` as S3 writes it). */
export interface FileHashes {
  size: number
  md5: string
  sha256?: string
  multipartEtag?: string
}

/** A file's hashes, or why it could not be hashed (`build`: a BuildDirectoryError). */
export type HashOutcome = FileHashes | { error: string; build: boolean; code?: string }

/** What {@link hashJobs} needs besides the jobs: passed on to the workers as data. */
export interface HashSettings {
  withSha256: boolean
  partSize: number
  chunkSize: number
}

/**
 * Hashes `jobs` in order with blocking reads. Self-contained (no imports, no closures: built-in
 * modules through `process.getBuiltinModule`, {@link hashChunks} passed in), because its source is
 * also the worker's: see {@link hashInThreads}.
 */
export function hashJobs(
  jobs: readonly HashJob[],
  settings: HashSettings,
  chunked: typeof hashChunks = hashChunks
): HashOutcome[] {
  const { withSha256, chunkSize } = settings
  const crypto = process.getBuiltinModule('node:crypto')
  const fs = process.getBuiltinModule('node:fs')
  const buffer = Buffer.allocUnsafe(chunkSize + 1)
  const outcomes: HashOutcome[] = []
  for (const job of jobs) {
    let fd = -1
    try {
      fd = fs.openSync(job.absPath, 'r')
      const info = fs.fstatSync(fd)
      if (!info.isFile()) {
        outcomes.push({ error: `${job.relPath} is not a regular file`, build: true })
        continue
      }
      let size = 0
      let hashes: FileHashes
      if (info.size <= chunkSize) {
        // One read of one byte more than expected: a short read of a regular file is its end (no
        // second read to see 0 bytes), and a file that grew is noticed.
        for (;;) {
          const wanted = info.size + 1 - size
          const read = fs.readSync(fd, buffer, size, wanted, size)
          size += read
          if (read < wanted || size > info.size) break
        }
        const data = buffer.subarray(0, size)
        hashes = { size, md5: crypto.hash('md5', data, 'hex') }
        if (withSha256) hashes.sha256 = crypto.hash('sha256', data, 'hex')
      } else {
        hashes = chunked(fd, info.size, buffer, settings)
        size = hashes.size
      }
      if (size !== info.size) {
        outcomes.push({
          error:
            `${job.relPath} changed while it was being read (${info.size} bytes, then ${size}); ` +
            'is the build still running?',
          build: true
        })
        continue
      }
      outcomes.push(hashes)
    } catch (error) {
      const e = error as { message?: unknown; code?: unknown }
      outcomes.push({
        error: String(e?.message ?? error),
        build: false,
        ...(typeof e?.code === 'string' && { code: e.code })
      })
    } finally {
      if (fd >= 0) fs.closeSync(fd)
    }
  }
  return outcomes
}

/**
 * The hashes of an open file larger than one chunk, read in chunks into `buffer` (self-contained
 * like {@link hashJobs}). A chunk never crosses a part boundary, so the multipart ETag's part MD5s
 * come from the same reads.
 */
export function hashChunks(
  fd: number,
  statSize: number,
  buffer: Buffer,
  { withSha256, partSize, chunkSize }: HashSettings
): FileHashes {
  const crypto = process.getBuiltinModule('node:crypto')
  const fs = process.getBuiltinModule('node:fs')
  const md5 = crypto.createHash('md5')
  const sha256 = withSha256 ? crypto.createHash('sha256') : undefined
  const multipart = statSize >= partSize
  const partDigests: Buffer[] = []
  let part = crypto.createHash('md5')
  let partFilled = 0
  let size = 0
  for (;;) {
    const wanted = multipart ? Math.min(chunkSize, partSize - partFilled) : chunkSize
    const read = fs.readSync(fd, buffer, 0, wanted, size)
    if (read === 0) break
    const chunk = buffer.subarray(0, read)
    md5.update(chunk)
    sha256?.update(chunk)
    size += read
    if (multipart) {
      part.update(chunk)
      partFilled += read
      if (partFilled === partSize) {
        partDigests.push(part.digest())
        part = crypto.createHash('md5')
        partFilled = 0
      }
    }
  }
  const hashes: FileHashes = { size, md5: md5.digest('hex') }
  if (sha256) hashes.sha256 = sha256.digest('hex')
  if (multipart) {
    if (partFilled > 0 || partDigests.length === 0) partDigests.push(part.digest())
    const etag = crypto.hash('md5', Buffer.concat(partDigests), 'hex')
    hashes.multipartEtag = `${etag}-${partDigests.length}`
  }
  return hashes
}

/** The worker: {@link hashJobs} for each batch it is sent. */
const WORKER_SOURCE = `'use strict'
const { parentPort } = process.getBuiltinModule('node:worker_threads')
const hashChunks = ${hashChunks.toString()}
const hashJobs = ${hashJobs.toString()}
parentPort.on('message', ({ jobs, settings }) =>
  parentPort.postMessage(hashJobs(jobs, settings, hashChunks)))
`

/**
 * {@link hashJobs} in `threads` worker threads, batches of `batchSize` files handed to whichever is
 * free, so the calling thread stays free (the bucket listing runs meanwhile).
 */
export async function hashInThreads(
  jobs: readonly HashJob[],
  settings: HashSettings,
  threads: number,
  batchSize: number
): Promise<HashOutcome[]> {
  const outcomes = new Array<HashOutcome>(jobs.length)
  let next = 0
  const workers: Worker[] = []
  try {
    await Promise.all(
      Array.from({ length: threads }, async () => {
        const worker = new Worker(WORKER_SOURCE, { eval: true })
        workers.push(worker)
        await new Promise<void>((resolve, reject) => {
          let start = 0
          const send = (): void => {
            if (next >= jobs.length) return resolve()
            start = next
            next = Math.min(jobs.length, next + batchSize)
            const batch = jobs
              .slice(start, next)
              .map(({ relPath, absPath }) => ({ relPath, absPath }))
            worker.postMessage({ jobs: batch, settings })
          }
          worker.on('message', (done: HashOutcome[]) => {
            done.forEach((outcome, index) => (outcomes[start + index] = outcome))
            send()
          })
          worker.once('error', reject)
          worker.once('exit', code =>
            reject(new Error(`A hashing thread stopped (exit code ${code})`))
          )
          send()
        })
      })
    )
  } finally {
    for (const worker of workers) void worker.terminate()
  }
  return outcomes
}
