/** Plain-text figures for log lines and reports: counts, sizes, durations. */

/** 1234567 -> "1,234,567" */
export function formatCount(n: number): string {
  // Integers without Intl: its first use costs a process about 50-120 ms of CPU (ICU's set-up).
  if (Number.isSafeInteger(n)) return String(n).replace(/\B(?=(\d{3})+$)/g, ',')
  return n.toLocaleString('en-US')
}

/** "s" when n is not 1. */
export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${formatCount(n)} ${n === 1 ? word : pluralWord}`
}

/** 42 -> "42 s", 125 -> "2 min 5 s", 3725 -> "1 h 2 min" */
export function formatDuration(seconds: number): string {
  if (seconds < 9.95) return `${Math.max(0, seconds).toFixed(1)} s`
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
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
