/**
 * Where a phase writes its log: the step log through @actions/core by default; unit tests pass a
 * collecting one. (Terraform's own output streams through `terraform/cli.ts`'s line writer.)
 */
import * as core from '@actions/core'

export interface Log {
  debug(message: string): void
  info(message: string): void
  notice(message: string): void
  warning(message: string): void
  /** Runs `fn` with its output folded into one group of the log. */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>
}

export const coreLog: Log = {
  debug: message => core.debug(message),
  info: message => core.info(message),
  notice: message => core.notice(message),
  warning: message => core.warning(message),
  group: (name, fn) => core.group(name, fn)
}

/** 1536 -> "1.5 KiB" */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`
}

/** Seconds since `start` (a `performance.now()` value), to 0.1 s. */
export function secondsSince(start: number): number {
  return Math.round((performance.now() - start) / 100) / 10
}
