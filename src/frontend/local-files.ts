/**
 * The build output as a list of files with their content hashes.
 *
 * Every file is read once, feeding MD5 and SHA-256 (and, for files at or above the multipart
 * threshold, the per-part MD5s of S3's multipart ETag) from the same chunks: a file up to 1 MiB in
 * one blocking read, a larger one as a stream, a bounded number of those at a time. Symbolic links are followed when their real path is inside the
 * build directory and refused when it is not, so nothing outside the build directory can be
 * uploaded (SPEC §5). A link cycle, a dangling link, or anything that is neither a file nor a
 * directory (a socket, a FIFO) is an error too.
 */
import { createHash, type Hash } from 'node:crypto'
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs'
import { open, readdir, readlink, realpath, stat } from 'node:fs/promises'
import * as path from 'node:path'
import { errorMessage } from '../errors'

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

/** Files up to this size are read with one call instead of a stream. */
const SMALL_FILE_SIZE = MiB

/**
 * Small files are read with blocking calls (see hashFile); after this long the scan lets the event
 * loop run (timers, network: a listing running beside the scan) before it goes on.
 */
const YIELD_EVERY_MS = 10

/** Files hashed at the same time by default. */
export const DEFAULT_SCAN_CONCURRENCY = 16

export interface LocalFile {
  /** Path relative to the build directory, `/`-separated. */
  relPath: string
  /** Absolute path to read the content from (for a followed symlink, its real target). */
  absPath: string
  size: number
  /** MD5 of the content, lowercase hex: the ETag of a single-part, non-KMS upload. */
  md5: string
  /** SHA-256 of the content, lowercase hex: the identity kept in the object's metadata. */
  sha256: string
  /** S3 multipart ETag for {@link MULTIPART_PART_SIZE}; set when size >= MULTIPART_THRESHOLD. */
  multipartEtag?: string
}

export interface ScanOptions {
  /** Files hashed at the same time (default {@link DEFAULT_SCAN_CONCURRENCY}). */
  concurrency?: number
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
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? DEFAULT_SCAN_CONCURRENCY))
  let root: string
  try {
    root = await realpath(dir)
  } catch (error) {
    throw new BuildDirectoryError(`Build directory ${dir} cannot be read: ${errorMessage(error)}`)
  }
  if (!(await stat(root)).isDirectory()) {
    throw new BuildDirectoryError(`Build directory ${dir} is not a directory`)
  }

  const found: { relPath: string; absPath: string }[] = []
  await walk(root, '', [root])
  found.sort((a, b) => compareStrings(a.relPath, b.relPath))

  const pause = yielder(YIELD_EVERY_MS)
  return mapLimit(found, concurrency, async file => {
    const hashes = await hashFile(file.absPath, file.relPath)
    await pause()
    return { relPath: file.relPath, absPath: file.absPath, ...hashes }
  })

  async function walk(realDir: string, relDir: string, ancestors: string[]): Promise<void> {
    const entries = await readdir(realDir, { withFileTypes: true })
    for (const entry of entries) {
      const absPath = path.join(realDir, entry.name)
      const relPath = relDir ? `${relDir}/${entry.name}` : entry.name
      if (entry.isDirectory()) {
        await walk(absPath, relPath, [...ancestors, absPath])
      } else if (entry.isFile()) {
        found.push({ relPath, absPath })
      } else if (entry.isSymbolicLink()) {
        await followLink(absPath, relPath, ancestors)
      } else {
        throw new BuildDirectoryError(
          `${path.join(dir, relPath)} is neither a file nor a directory; remove it from the build output`
        )
      }
    }
  }

  async function followLink(linkPath: string, relPath: string, ancestors: string[]): Promise<void> {
    const shown = path.join(dir, relPath)
    const written = await readlink(linkPath)
    let target: string
    try {
      target = await realpath(linkPath)
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
    const info = await stat(target)
    if (info.isDirectory()) {
      if (ancestors.includes(target)) {
        throw new BuildDirectoryError(
          `Symlink ${shown} -> ${written} points to a directory containing it (a loop)`
        )
      }
      await walk(target, relPath, [...ancestors, target])
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

type FileHashes = Pick<LocalFile, 'size' | 'md5' | 'sha256' | 'multipartEtag'>

/**
 * Most of a build is small files: those are read with blocking calls, in one read each (open,
 * fstat, read, close cost four thread-pool round trips and promise settlements per file when done
 * asynchronously, which for 10,000 files took about 3 times the CPU of the blocking calls, the
 * hashing included; nothing else runs while the build output is scanned). Larger files are
 * streamed.
 */
async function hashFile(absPath: string, relPath: string): Promise<FileHashes> {
  return hashSmallFile(absPath, relPath) ?? (await hashLargeFile(absPath, relPath))
}

/** Hashes of a file up to SMALL_FILE_SIZE, or undefined when the file is larger. */
function hashSmallFile(absPath: string, relPath: string): FileHashes | undefined {
  const fd = openSync(absPath, 'r')
  try {
    const info = fstatSync(fd)
    if (!info.isFile()) throw new BuildDirectoryError(`${relPath} is not a regular file`)
    if (info.size > SMALL_FILE_SIZE) return undefined
    // One byte more than expected, so a file that grew is noticed below.
    const buffer = Buffer.allocUnsafe(info.size + 1)
    let filled = 0
    for (;;) {
      const wanted = buffer.length - filled
      const bytesRead = readSync(fd, buffer, filled, wanted, filled)
      filled += bytesRead
      // A short read of a regular file is its end; it saves a read per file.
      if (bytesRead < wanted || filled === buffer.length) break
    }
    checkSize(relPath, info.size, filled)
    const data = buffer.subarray(0, filled)
    return {
      size: filled,
      md5: createHash('md5').update(data).digest('hex'),
      sha256: createHash('sha256').update(data).digest('hex')
    }
  } finally {
    closeSync(fd)
  }
}

async function hashLargeFile(absPath: string, relPath: string): Promise<FileHashes> {
  const handle = await open(absPath, 'r')
  try {
    const info = await handle.stat()
    if (!info.isFile()) throw new BuildDirectoryError(`${relPath} is not a regular file`)
    const md5 = createHash('md5')
    const sha256 = createHash('sha256')
    const parts = info.size >= MULTIPART_THRESHOLD ? new PartHasher(MULTIPART_PART_SIZE) : undefined
    let size = 0
    for await (const data of handle.createReadStream({ autoClose: false, highWaterMark: MiB })) {
      const chunk = data as Buffer
      md5.update(chunk)
      sha256.update(chunk)
      parts?.update(chunk)
      size += chunk.length
    }
    checkSize(relPath, info.size, size)
    const result = { size, md5: md5.digest('hex'), sha256: sha256.digest('hex') }
    return parts ? { ...result, multipartEtag: parts.etag() } : result
  } finally {
    await handle.close()
  }
}

function checkSize(relPath: string, expected: number, read: number): void {
  if (read !== expected) {
    throw new BuildDirectoryError(
      `${relPath} changed while it was being read (${expected} bytes, then ${read}); ` +
        'is the build still running?'
    )
  }
}

function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target)
  return !(rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel))
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** A function that waits for the event loop's next turn when `everyMs` have passed since the last. */
function yielder(everyMs: number): () => Promise<void> {
  let last = performance.now()
  return async () => {
    if (performance.now() - last < everyMs) return
    await new Promise(resolve => setImmediate(resolve))
    last = performance.now()
  }
}

async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>
): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  async function worker(): Promise<void> {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}
