import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

/** bench/ */
export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const REPO_ROOT = path.resolve(BENCH_DIR, '..')
/** Git-ignored: latest.json and the built bench client. */
export const RESULTS_DIR = path.join(BENCH_DIR, 'results')

/** A fresh scratch directory in memory (/dev/shm) when there is one, else in the temp dir. */
export function scratchDir(prefix: string): string {
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir()
  return fs.realpathSync(fs.mkdtempSync(path.join(base, prefix)))
}
