/**
 * A JSON text read piece by piece from a file, never held in memory whole: `terraform show -json`
 * of 10,000 resources is tens of MB, and a buffer that size, once the garbage collector has moved
 * it to the old generation, stays resident until a full collection. The file's pages stay in the
 * kernel's page cache, which is not the process's memory.
 *
 * One pass over the file (in windows of {@link WINDOW} bytes) notes where every object and array
 * ends; the pieces are then found with that index and read back with positioned reads.
 */
import * as fs from 'node:fs'
import {
  BACKSLASH,
  CLOSE_ARRAY,
  CLOSE_OBJECT,
  closingQuote,
  JsonScanError,
  JsonSource,
  OPEN_ARRAY,
  OPEN_OBJECT,
  QUOTE,
  type Span
} from './json-scan'

/** Bytes read at a time. */
const WINDOW = 1 << 20

/** Each file is closed once nothing reads from it any more. */
const closeWhenUnused = new FinalizationRegistry<number>(fd => {
  try {
    fs.closeSync(fd)
  } catch {
    // already closed
  }
})

export class JsonFile extends JsonSource {
  /** One buffer for every read (allocated once: no churn of MB-sized buffers). */
  private buffer = Buffer.allocUnsafeSlow(WINDOW)
  /** The bytes read last, in `buffer`, and where in the file they are. */
  private window: Buffer = this.buffer.subarray(0, 0)
  private windowStart = 0
  /** Where each object or array starts (ascending) and ends (just past its closing bracket). */
  private opens = new Uint32Array(1024)
  private closes = new Uint32Array(1024)
  private containers = 0

  /**
   * `fd`: open for reading, `length` bytes; this JsonFile owns it and closes it once it is
   * garbage (until then the pieces can be read, e.g. by the fingerprint).
   */
  constructor(
    private readonly fd: number,
    readonly length: number
  ) {
    super()
    closeWhenUnused.register(this, fd)
    if (length >= 2 ** 32) throw new JsonScanError('too large to index')
    this.index()
  }

  protected byteAt(at: number): number | undefined {
    if (at < 0 || at >= this.length) return undefined
    const offset = at - this.windowStart
    if (offset >= 0 && offset < this.window.length) return this.window[offset]
    this.load(at, WINDOW)
    return this.window[0]
  }

  protected text(span: Span): string {
    const from = span.start - this.windowStart
    const to = span.end - this.windowStart
    if (from >= 0 && to <= this.window.length) return this.window.toString('utf8', from, to)
    const size = span.end - span.start
    // Reading on (the summary, in document order): the next window; elsewhere (the fingerprint,
    // in id order): just the piece.
    if (from >= 0 && size <= WINDOW && from <= this.window.length + WINDOW) {
      this.load(span.start, WINDOW)
      return this.window.toString('utf8', 0, size)
    }
    if (size > this.buffer.length) this.buffer = Buffer.allocUnsafeSlow(size)
    this.window = this.buffer.subarray(0, size)
    this.windowStart = span.start
    this.read(this.window, span.start)
    return this.window.toString('utf8')
  }

  protected skipValue(at: number): number {
    const first = this.byteAt(at)
    if (first === OPEN_OBJECT || first === OPEN_ARRAY) return this.endOf(at)
    if (first === QUOTE) {
      for (let i = at + 1; ; i++) {
        const byte = this.byteAt(i)
        if (byte === undefined) throw new JsonScanError(`unterminated string at ${at}`)
        if (byte === QUOTE) return i + 1
        if (byte === BACKSLASH) i++
      }
    }
    return this.scalarEnd(at)
  }

  /** The end of the object or array that starts at `at`, from the index. */
  private endOf(at: number): number {
    let low = 0
    let high = this.containers - 1
    while (low <= high) {
      const middle = (low + high) >>> 1
      const open = this.opens[middle] as number
      if (open === at) return this.closes[middle] as number
      if (open < at) low = middle + 1
      else high = middle - 1
    }
    throw new JsonScanError(`no object or array at ${at}`)
  }

  /**
   * Notes where every object and array ends: one pass over the file, strings followed so that
   * their brackets do not count. Brackets that do not match are left for JSON.parse and the
   * checks of JsonSource to find.
   */
  private index(): void {
    const open: number[] = []
    let inString = false
    let escaped = false
    for (let start = 0; start < this.length; start += WINDOW) {
      this.load(start, WINDOW)
      const bytes = this.window
      const n = bytes.length
      for (let i = 0; i < n; i++) {
        const byte = bytes[i]
        if (inString) {
          if (escaped) escaped = false
          else if (byte === BACKSLASH) escaped = true
          else if (byte === QUOTE) inString = false
        } else if (byte === QUOTE) {
          // Most of a plan is strings: their end found natively, byte by byte only past the window.
          const end = closingQuote(bytes, i + 1)
          if (end === -1) inString = true
          else i = end
        } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
          open.push(this.containers)
          this.add(start + i)
        } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
          const index = open.pop()
          if (index === undefined) throw new JsonScanError(`unmatched bracket at ${start + i}`)
          this.closes[index] = start + i + 1
        }
      }
    }
    if (inString || open.length > 0) throw new JsonScanError('unterminated text')
  }

  private add(at: number): void {
    if (this.containers === this.opens.length) {
      const opens = new Uint32Array(this.opens.length * 2)
      opens.set(this.opens)
      this.opens = opens
      const closes = new Uint32Array(this.closes.length * 2)
      closes.set(this.closes)
      this.closes = closes
    }
    this.opens[this.containers++] = at
  }

  private load(at: number, size: number): void {
    this.window = this.buffer.subarray(0, Math.min(size, this.length - at))
    this.windowStart = at
    this.read(this.window, at)
  }

  private read(into: Buffer, at: number): void {
    let done = 0
    while (done < into.length) {
      const n = fs.readSync(this.fd, into, done, into.length - done, at + done)
      if (n === 0) throw new JsonScanError(`the file ended at ${at + done}`)
      done += n
    }
  }
}

/**
 * Everything in the file, read from its start (the file position is past the end: the child
 * wrote through the same open file).
 */
export function readAll(fd: number): Buffer {
  const bytes = Buffer.allocUnsafe(fs.fstatSync(fd).size)
  let done = 0
  while (done < bytes.length) {
    const n = fs.readSync(fd, bytes, done, bytes.length - done, done)
    if (n === 0) break
    done += n
  }
  return bytes.subarray(0, done)
}
