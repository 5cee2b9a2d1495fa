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

/**
 * An empty home directory for the measured processes. Bash reads ~/.bashrc even for `bash -c`
 * when its stdin is a socket (Node's pipes are), and a developer machine's .bashrc (pyenv, nvm)
 * costs hundreds of milliseconds per shell; a hosted runner's does nothing.
 */
export function emptyHome(scratch: string): string {
  const home = path.join(scratch, 'home')
  fs.mkdirSync(home, { recursive: true })
  return home
}

/**
 * The Node that runs the measured processes (the bench client, the bundle, the action): ACTION_NODE
 * when set (as for standins/run-action.ts, e.g. Node 24, the action's runtime), else this one.
 */
export function measuredNode(): string {
  return process.env.ACTION_NODE || process.execPath
}
