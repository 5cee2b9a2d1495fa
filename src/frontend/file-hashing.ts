/**
 * Hashing the files of a scan (see `local-files.ts`): each file is read with blocking calls into one
 * reused buffer, in one read for a file up to the chunk size, in chunks for a larger one
 * ({@link hashJobs}); shared between the calling thread and worker threads running the same code
 * ({@link hashShared}), the calling thread in short slices, so it lists the bucket meanwhile.
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
  /** A file larger than this is not hashed but answered with `deferred` (default: none). */
  deferAbove?: number
}

/** What {@link hashJobs} answers for a file left for a worker thread (`deferAbove`). */
export type Deferred = 'deferred'

/**
 * Hashes `jobs` in order with blocking reads. Self-contained (no imports, no closures: built-in
 * modules through `process.getBuiltinModule`, {@link hashChunks} passed in), because its source is
 * also the worker's: see {@link hashShared}.
 */
export function hashJobs(
  jobs: readonly HashJob[],
  settings: HashSettings,
  chunked: typeof hashChunks = hashChunks,
  buffer: Buffer = Buffer.allocUnsafe(settings.chunkSize + 1)
): Array<HashOutcome | Deferred> {
  const { withSha256, chunkSize, deferAbove = Infinity } = settings
  const crypto = process.getBuiltinModule('node:crypto')
  const fs = process.getBuiltinModule('node:fs')
  const outcomes: Array<HashOutcome | Deferred> = []
  for (const job of jobs) {
    let fd = -1
    try {
      fd = fs.openSync(job.absPath, 'r')
      const info = fs.fstatSync(fd)
      if (!info.isFile()) {
        outcomes.push({ error: `${job.relPath} is not a regular file`, build: true })
        continue
      }
      if (info.size > deferAbove) {
        outcomes.push('deferred')
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

/**
 * The state a {@link hashShared} shares with its workers, an Int32Array over a SharedArrayBuffer:
 * [0] the cursor (the next file nobody took), [1] the next deferred file to take, [2] how many the
 * calling thread deferred, [3] 1 once the calling thread took its last file, then the indexes of
 * the deferred files. Only the calling thread appends; workers take with compare-and-swap, so each
 * file is hashed once. (Plain indexes: {@link workerLoop} runs in the worker from its source.)
 */
const STATE_FIELDS = 4

/** Files a worker takes at a time, and posts the hashes of at once (at least). */
const WORKER_STEP = 8
const WORKER_POST = 64

/**
 * A worker's loop (self-contained like {@link hashJobs}; `hash` is hashJobs with its buffer): the
 * large files the calling thread left first, else `step` files from the cursor; the hashes are
 * posted every `post` files, so a worker never waits for the calling thread (busy parsing a
 * listing page, say). Past the end of the list it waits for deferred files until the calling
 * thread is done.
 */
export function workerLoop(
  count: number,
  state: Int32Array,
  { step, post }: { step: number; post: number },
  hash: (start: number, end: number) => unknown[],
  send: (parts: Array<{ start: number; done: unknown[] }>) => void
): void {
  let parts: Array<{ start: number; done: unknown[] }> = []
  let pending = 0
  for (;;) {
    const head = Atomics.load(state, 1)
    let start = -1
    let end = -1
    if (head < Atomics.load(state, 2)) {
      if (Atomics.compareExchange(state, 1, head, head + 1) === head) {
        start = Atomics.load(state, 4 + head)
        end = start + 1
      }
    } else if (Atomics.load(state, 0) < count) {
      start = Atomics.add(state, 0, step)
      end = Math.min(count, start + step)
    } else {
      if (pending > 0) send(parts)
      parts = []
      pending = 0
      if (Atomics.load(state, 3) === 1 && Atomics.load(state, 1) >= Atomics.load(state, 2)) return
      Atomics.wait(state, 2, Atomics.load(state, 2), 20)
    }
    if (start >= 0 && start < end) {
      const done = hash(start, end)
      parts.push({ start, done })
      pending += done.length
      if (pending >= post) {
        send(parts)
        parts = []
        pending = 0
      }
    }
  }
}

/** The worker: {@link workerLoop} over the list it is sent once. */
const WORKER_SOURCE = `'use strict'
const { parentPort } = process.getBuiltinModule('node:worker_threads')
const hashChunks = ${hashChunks.toString()}
const hashJobs = ${hashJobs.toString()}
const workerLoop = ${workerLoop.toString()}
parentPort.once('message', ({ jobs, settings, shared, options }) => {
  const buffer = Buffer.allocUnsafe(settings.chunkSize + 1)
  workerLoop(jobs.length, new Int32Array(shared), options,
    (start, end) => hashJobs(jobs.slice(start, end), settings, hashChunks, buffer),
    parts => parentPort.postMessage(parts))
})
`

/** How each hashing thread ended: watched from its start, so a thread that dies idle is known. */
const threadEnds = new WeakMap<Worker, Promise<{ code: number; error?: unknown }>>()

/**
 * A hashing thread, starting (it waits for the list of files {@link hashShared} sends it). Unref'd:
 * one started ahead that is never used does not keep the process alive. Its end is watched from
 * the start: an error of a thread started ahead and still idle (during the build) is kept for the
 * scan that uses it, not thrown as an uncaught exception, and a thread that has already ended is
 * not waited for.
 */
export function hashingThread(): Worker {
  const worker = new Worker(WORKER_SOURCE, { eval: true })
  worker.unref()
  let error: unknown
  worker.on('error', e => (error ??= e))
  threadEnds.set(
    worker,
    new Promise(resolve =>
      worker.once('exit', code => {
        endedThreads.add(worker)
        resolve({ code, error })
      })
    )
  )
  return worker
}

/** Threads that have ended: one started ahead that ended idle is not given work (a new one is). */
const endedThreads = new WeakSet<Worker>()

/** How {@link hashShared} uses the calling thread, and threads started ahead. */
export interface SharedOptions {
  /** False: the workers hash every file. */
  callingThread?: boolean
  /**
   * With workers, the calling thread joins the hashing once this settles (the bucket listing):
   * until then the workers hash and it keeps its event loop to the listing's responses, which
   * slices of hashing between them would delay.
   */
  joinAfter?: PromiseLike<unknown> | undefined
  /** Threads started ahead ({@link hashingThread}) to use first; all are ended afterwards. */
  started?: Worker[]
}

/** Files the calling thread takes at a time, and how long it hashes before it lets the event loop
 * run (milliseconds). */
const CALLING_STEP = 4
const SLICE_MS = 4

/**
 * {@link hashJobs} shared between the calling thread and `threads` worker threads (0: the calling
 * thread alone). The files are taken in order from one shared cursor: a worker, once started,
 * takes a few at a time without waiting for the calling thread; the calling thread takes a few at
 * a time and lets the event loop run every {@link SLICE_MS} ms, so whatever runs beside the scan
 * (the bucket listing: requests sent, responses parsed) goes on, and hashing fills the time the
 * thread would otherwise wait. With workers, the calling thread leaves files larger than one read
 * chunk to them (they take those first), so it never ends the scan with a large file while the
 * workers wait. Both cores of a runner stay busy until the last file. See {@link SharedOptions}.
 */
export async function hashShared(
  jobs: readonly HashJob[],
  settings: HashSettings,
  threads: number,
  { callingThread = true, started = [], joinAfter }: SharedOptions = {}
): Promise<HashOutcome[]> {
  const outcomes = new Array<HashOutcome>(jobs.length)
  const shared = new SharedArrayBuffer(4 * (STATE_FIELDS + jobs.length))
  const state = new Int32Array(shared)
  const plain = jobs.map(({ relPath, absPath }) => ({ relPath, absPath }))
  const workers: Worker[] = []
  let hashed = 0
  const store = (start: number, done: ReadonlyArray<HashOutcome | Deferred>): void => {
    done.forEach((outcome, index) => {
      if (outcome !== 'deferred') {
        outcomes[start + index] = outcome
        hashed++
      } else {
        Atomics.store(state, STATE_FIELDS + Atomics.load(state, 2), start + index)
        Atomics.add(state, 2, 1)
        Atomics.notify(state, 2)
      }
    })
  }
  const own = { ...settings, ...(threads > 0 && { deferAbove: settings.chunkSize }) }
  try {
    await new Promise<void>((resolve, reject) => {
      let ended = false
      const end = (error?: unknown): void => {
        if (ended) return
        ended = true
        Atomics.store(state, 3, 1)
        if (error === undefined) resolve()
        else reject(error instanceof Error ? error : new Error(String(error)))
      }
      const settled = (): void => void (hashed === jobs.length && end())
      const buffer = Buffer.allocUnsafe(settings.chunkSize + 1)
      const slice = (): void => {
        const until = performance.now() + SLICE_MS
        while (!ended && callingThread && performance.now() < until) {
          const start = Atomics.add(state, 0, CALLING_STEP)
          if (start >= jobs.length) break
          store(start, hashJobs(plain.slice(start, start + CALLING_STEP), own, hashChunks, buffer))
        }
        if (ended) return
        if (callingThread && Atomics.load(state, 0) < jobs.length) return void setImmediate(slice)
        Atomics.store(state, 3, 1)
        Atomics.notify(state, 2)
        settled()
      }
      const alive = started.filter(worker => !endedThreads.has(worker))
      for (let i = 0; i < threads; i++) {
        const worker = alive[i] ?? hashingThread()
        worker.ref()
        workers.push(worker)
        const options = { step: WORKER_STEP, post: WORKER_POST }
        worker.postMessage({ jobs: plain, settings, shared, options })
        worker.on('message', (parts: Array<{ start: number; done: HashOutcome[] }>) => {
          for (const { start, done } of parts) store(start, done)
          settled()
        })
        // A worker ends by itself (code 0) once it posted its last hashes and nothing is left;
        // one that failed or stopped, even before this scan, fails the scan (never a hang).
        void threadEnds.get(worker)?.then(({ code, error }) => {
          if (error !== undefined) end(error)
          else if (code !== 0) end(new Error(`A hashing thread stopped (exit code ${code})`))
        })
      }
      if (joinAfter && threads > 0) joinAfter.then(slice, slice)
      else slice()
    })
  } finally {
    for (const worker of [...workers, ...started]) void worker.terminate()
  }
  return outcomes
}
