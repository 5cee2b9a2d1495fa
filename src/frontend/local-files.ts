/**
 * The build output as a list of files with their content hashes.
 *
 * The scan computes what the sync compares with the bucket listing: the MD5 (a single-part ETag)
 * and, for files at or above the multipart threshold, the multipart ETag. The SHA-256 (the identity
 * kept in the object's metadata) is computed by the scan only when asked (`sha256: true`, the
 * default); the sync asks for it afterwards with {@link addSha256}, for the few files it uploads or
 * must compare by metadata, so an unchanged site is hashed once.
 *
 * The directory is walked with blocking calls (milliseconds for thousands of files), then hashed by
 * the calling thread and worker threads together (`file-hashing.ts`): the calling thread hashes in
 * short slices between whatever else its event loop runs (the bucket listing), the workers take
 * files from the same list without waiting for it, so both cores of a runner stay busy. A build
 * below a thousand files is hashed on the calling thread alone, unless threads were started ahead
 * ({@link startHashingThreads}, while the build runs).
 *
 * Symbolic links are followed when their real path is inside the build directory and refused when
 * it is not, so nothing outside the build directory can be uploaded (SPEC §5). A link cycle, a
 * dangling link, or anything that is neither a file nor a directory (a socket, a FIFO) is an error
 * too.
 */
import { createHash, type Hash } from 'node:crypto'
import { createReadStream, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import * as path from 'node:path'
import { errorMessage } from '../errors'
import { type Worker } from 'node:worker_threads'
import { hashShared, hashingThread, type FileHashes, type HashJob } from './file-hashing'

const MiB = 1024 * 1024

/**
 * Part size of our multipart uploads: 8 MiB, the AWS CLI's `multipart_chunksize` default. Pass it
 * to lib-storage's `Upload` as `partSize` so the ETags of our uploads are the ones computed here.
 */
export const MULTIPART_PART_SIZE = 8 * MiB

/**
 * Files of at least this size get a {@link LocalFile.multipartEtag}. It equals the part size
 * (the AWS CLI's `multipart_threshold` default): lib-storage switches to multipart above one part,
 * the AWS CLI from exactly one part, and the sync planner accepts either ETag form.
 */
export const MULTIPART_THRESHOLD = MULTIPART_PART_SIZE

/** Files up to this size are read with one call; larger ones in chunks of this size. */
const READ_CHUNK_SIZE = MiB

/**
 * Below this many files a scan without threads started ahead ({@link startHashingThreads}) hashes
 * on the calling thread alone: a worker takes 40-60 ms of CPU to start, about what hashing a few
 * hundred typical files costs.
 */
const MIN_FILES_FOR_THREADS = 1000

/** At most one hashing thread per this many files. */
const FILES_PER_THREAD = 64

/** Hashing threads started ahead by {@link startHashingThreads}, for the next scan. */
const started: Worker[] = []

/**
 * Hashing threads by default: one core fewer than the machine has (the main thread lists the bucket
 * meanwhile), at least one, at most two: one on a 2-core runner, where a second worker's start-up
 * cost more CPU than it saved in the bench.
 */
export const DEFAULT_HASH_THREADS = Math.max(1, Math.min(2, availableParallelism() - 1))

export interface LocalFile {
  /** Path relative to the build directory, `/`-separated. */
  relPath: string
  /** Absolute path to read the content from (for a followed symlink, its real target). */
  absPath: string
  size: number
  /** MD5 of the content, lowercase hex: the ETag of a single-part, non-KMS upload. */
  md5: string
  /**
   * SHA-256 of the content, lowercase hex: the identity kept in the object's metadata. Undefined
   * until computed (a scan with `sha256: false`; see {@link addSha256}).
   */
  sha256?: string
  /** S3 multipart ETag for {@link MULTIPART_PART_SIZE}; set when size >= MULTIPART_THRESHOLD. */
  multipartEtag?: string
}

export interface ScanOptions {
  /** Compute every file's SHA-256 too (default true). */
  sha256?: boolean
  /**
   * Worker threads hashing (default {@link DEFAULT_HASH_THREADS}, used from
   * {@link MIN_FILES_FOR_THREADS} files); 0 hashes on the calling thread.
   */
  threads?: number
  /**
   * With hashing threads, the calling thread hashes too only once this settles (the bucket
   * listing running beside the scan): until then its event loop serves the listing.
   */
  joinAfter?: PromiseLike<unknown>
}

/** An error about the build directory's content (escaping symlink, loop, special file). */
export class BuildDirectoryError extends Error {
  override name = 'BuildDirectoryError'
}

/**
 * Lists every file under `dir` with size and hashes, sorted by `relPath` (plain string order).
 * Throws {@link BuildDirectoryError} for a symlink leaving the build directory, a symlink loop, a
 * dangling symlink or a special file.
 */
export async function scanBuildDirectory(
  dir: string,
  opts: ScanOptions = {}
): Promise<LocalFile[]> {
  let root: string
  try {
    root = realpathSync.native(dir)
  } catch (error) {
    throw new BuildDirectoryError(`Build directory ${dir} cannot be read: ${errorMessage(error)}`)
  }
  if (!statSync(root).isDirectory()) {
    throw new BuildDirectoryError(`Build directory ${dir} is not a directory`)
  }

  const found: HashJob[] = []
  // Blocking calls: a few milliseconds for thousands of files, and the hashing (which waits for
  // the whole list) starts at once instead of after a readdir round trip per directory, each of
  // which would wait behind whatever else the event loop runs (the listing's XML parsing).
  walk(root, '', [root])
  found.sort((a, b) => compareStrings(a.relPath, b.relPath))

  const hashes = await hashAll(found, opts.sha256 ?? true, opts.threads, opts.joinAfter)
  return found.map((file, index) => ({ ...file, ...(hashes[index] as FileHashes) }))

  function walk(realDir: string, relDir: string, ancestors: string[]): void {
    for (const entry of readdirSync(realDir, { withFileTypes: true })) {
      const absPath = path.join(realDir, entry.name)
      const relPath = relDir ? `${relDir}/${entry.name}` : entry.name
      if (entry.isDirectory()) {
        walk(absPath, relPath, [...ancestors, absPath])
      } else if (entry.isFile()) {
        found.push({ relPath, absPath })
      } else if (entry.isSymbolicLink()) {
        followLink(absPath, relPath, ancestors)
      } else {
        throw new BuildDirectoryError(
          `${path.join(dir, relPath)} is neither a file nor a directory; remove it from the build output`
        )
      }
    }
  }

  function followLink(linkPath: string, relPath: string, ancestors: string[]): void {
    const shown = path.join(dir, relPath)
    const written = readlinkSync(linkPath)
    let target: string
    try {
      target = realpathSync.native(linkPath)
    } catch (error) {
      throw new BuildDirectoryError(
        `Symlink ${shown} -> ${written} cannot be followed: ${errorMessage(error)}`
      )
    }
    if (!isInside(root, target)) {
      throw new BuildDirectoryError(
        `Symlink ${shown} -> ${written} points outside the build directory (to ${target}); ` +
          'refusing to upload it. Copy the file into the build output instead of linking it.'
      )
    }
    const info = statSync(target)
    if (info.isDirectory()) {
      if (ancestors.includes(target)) {
        throw new BuildDirectoryError(
          `Symlink ${shown} -> ${written} points to a directory containing it (a loop)`
        )
      }
      walk(target, relPath, [...ancestors, target])
    } else if (info.isFile()) {
      found.push({ relPath, absPath: target })
    } else {
      throw new BuildDirectoryError(
        `Symlink ${shown} -> ${written} points to something that is neither a file nor a directory`
      )
    }
  }
}

/**
 * Computes the SHA-256 of each of `files` that has none yet (in place), reading them again. Throws
 * {@link BuildDirectoryError} when a file's size or MD5 is no longer what the scan found: the build
 * output changed since, and the plan made from the scan would be wrong.
 */
export async function addSha256(
  files: readonly LocalFile[],
  opts: ScanOptions = {}
): Promise<void> {
  const missing = files.filter(file => file.sha256 === undefined)
  // No part MD5s: the scan computed the multipart ETag already (one MD5 pass less over large files).
  const hashes = await hashAll(missing, true, opts.threads, undefined, Number.POSITIVE_INFINITY)
  missing.forEach((file, index) => {
    const now = hashes[index] as FileHashes
    if (now.size !== file.size || now.md5 !== file.md5) {
      throw new BuildDirectoryError(
        `${file.relPath} changed since the build output was scanned; is the build still running?`
      )
    }
    file.sha256 = now.sha256 as string
  })
}

/**
 * S3 multipart ETag of a file's content for a part size: the MD5 of the concatenated binary MD5s of
 * the parts, then `-` and the number of parts (an empty file counts as one empty part).
 */
export async function multipartEtag(
  absPath: string,
  partSize: number = MULTIPART_PART_SIZE
): Promise<string> {
  const parts = new PartHasher(partSize)
  for await (const chunk of createReadStream(absPath, { highWaterMark: MiB })) {
    parts.update(chunk as Buffer)
  }
  return parts.etag()
}

/** {@link multipartEtag} for content in memory. */
export function multipartEtagOf(data: Uint8Array, partSize: number = MULTIPART_PART_SIZE): string {
  const parts = new PartHasher(partSize)
  parts.update(data)
  return parts.etag()
}

/** Splits a byte stream into parts of `partSize` and keeps each part's MD5. */
class PartHasher {
  private current: Hash = createHash('md5')
  private filled = 0
  private readonly digests: Buffer[] = []

  constructor(private readonly partSize: number) {
    if (!Number.isInteger(partSize) || partSize <= 0) {
      throw new RangeError(`Multipart part size must be a positive integer, got ${partSize}`)
    }
  }

  update(chunk: Uint8Array): void {
    let offset = 0
    while (offset < chunk.length) {
      const take = Math.min(this.partSize - this.filled, chunk.length - offset)
      this.current.update(chunk.subarray(offset, offset + take))
      this.filled += take
      offset += take
      if (this.filled === this.partSize) {
        this.digests.push(this.current.digest())
        this.current = createHash('md5')
        this.filled = 0
      }
    }
  }

  etag(): string {
    const digests = [...this.digests]
    if (this.filled > 0 || digests.length === 0) digests.push(this.current.digest())
    return `${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${digests.length}`
  }
}

/**
 * Starts the hashing threads of the next scan now, e.g. before the build: a thread takes tens of
 * milliseconds to start, which the build's time hides. The next {@link scanBuildDirectory} (or
 * {@link addSha256}) uses them whatever its size, and ends them; {@link stopHashingThreads} ends
 * them when no scan follows. Started threads do not keep the process alive.
 */
export function startHashingThreads(count: number = DEFAULT_HASH_THREADS): void {
  stopHashingThreads()
  try {
    for (let i = 0; i < count; i++) started.push(hashingThread())
  } catch {
    // no thread could start (thread limits of a self-hosted runner): the scan hashes as it can
    stopHashingThreads()
  }
}

/** Ends the threads {@link startHashingThreads} started that no scan used. */
export function stopHashingThreads(): void {
  for (const worker of started.splice(0)) void worker.terminate()
}

/** The hashes of `jobs`, in order; throws the first file's error. */
async function hashAll(
  jobs: readonly HashJob[],
  withSha256: boolean,
  threads?: number,
  joinAfter?: PromiseLike<unknown>,
  partSize = MULTIPART_PART_SIZE
): Promise<FileHashes[]> {
  const ready = threads === undefined ? started.splice(0) : []
  stopHashingThreads()
  const wanted =
    threads ??
    (ready.length > 0
      ? ready.length
      : jobs.length >= MIN_FILES_FOR_THREADS
        ? DEFAULT_HASH_THREADS
        : 0)
  const settings = { withSha256, partSize, chunkSize: READ_CHUNK_SIZE }
  const threadCount = Math.min(wanted, Math.ceil(jobs.length / FILES_PER_THREAD))
  const outcomes = await hashShared(jobs, settings, threadCount, { started: ready, joinAfter })
  for (const outcome of outcomes) {
    if ('error' in outcome) {
      if (outcome.build) throw new BuildDirectoryError(outcome.error)
      throw Object.assign(new Error(outcome.error), outcome.code && { code: outcome.code })
    }
  }
  return outcomes as FileHashes[]
}

function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target)
  return !(rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel))
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
