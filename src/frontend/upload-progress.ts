/** Progress of a sync's uploads, logged every few seconds on long syncs. */
import { formatBytes, formatCount } from '../format'
import { type Log } from '../log'

/** Counts files and bytes done and logs a progress line every `intervalMs` on long syncs. */
export class Progress {
  filesDone = 0
  bytesDone = 0
  private readonly partial = new Map<string, number>()
  private readonly start = performance.now()
  private timer: ReturnType<typeof setInterval> | undefined

  constructor(
    readonly totalFiles: number,
    readonly totalBytes: number,
    private readonly log: Log,
    intervalMs = 2000
  ) {
    if (totalFiles > 0) {
      this.timer = setInterval(() => this.log.info(this.line()), intervalMs)
      this.timer.unref()
    }
  }

  /** Bytes of a large file sent so far (from lib-storage's progress events). */
  partialBytes(key: string, loaded: number): void {
    this.partial.set(key, loaded)
  }

  fileDone(key: string, size: number): void {
    this.partial.delete(key)
    this.filesDone++
    this.bytesDone += size
  }

  /** `Uploaded 523/1,500 files, 1.2 MiB of 3.4 MiB (35%), 0.8 MiB/s, 350 files/s` */
  line(): string {
    let bytes = this.bytesDone
    for (const loaded of this.partial.values()) bytes += loaded
    const seconds = Math.max((performance.now() - this.start) / 1000, 0.001)
    const percent = this.totalBytes > 0 ? Math.floor((bytes / this.totalBytes) * 100) : 100
    return (
      `Uploaded ${formatCount(this.filesDone)}/${formatCount(this.totalFiles)} files, ` +
      `${formatBytes(bytes)} of ${formatBytes(this.totalBytes)} (${percent}%), ` +
      `${formatBytes(bytes / seconds)}/s, ${Math.round(this.filesDone / seconds)} files/s`
    )
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }
}
