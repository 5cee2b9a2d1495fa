/** Child processes timed from spawn to exit. */
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

export interface ProcessRun {
  code: number | null
  stdout: string
  stderr: string
  /** Spawn to exit (the 'close' event), milliseconds. */
  wallMs: number
  /** User + system CPU time of the command and its children (with `cpu: true`). */
  cpuMs?: number
}

export interface RunOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  timeoutMs?: number
  /**
   * Measure the command's CPU time: it runs under `sh -c`, whose `times` builtin reports its
   * children's user and system time (POSIX, so no /usr/bin/time needed).
   */
  cpu?: boolean
}

export async function runProcess(
  command: string,
  args: string[],
  opts: RunOptions = {}
): Promise<ProcessRun> {
  let timesFile: string | undefined
  if (opts.cpu) {
    timesFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-times-')), 'times')
    args = [
      '-c',
      'f=$1; shift; "$@"; c=$?; times > "$f"; exit $c',
      'sh',
      timesFile,
      command,
      ...args
    ]
    command = 'sh'
  }
  const started = performance.now()
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15 * 60_000)
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', exitCode => resolve(exitCode))
  })
  const wallMs = performance.now() - started
  clearTimeout(timer)
  const result: ProcessRun = { code, stdout, stderr, wallMs }
  if (timesFile) {
    const cpuMs = childrenCpuMs(fs.existsSync(timesFile) ? fs.readFileSync(timesFile, 'utf8') : '')
    if (cpuMs !== undefined) result.cpuMs = cpuMs
    fs.rmSync(path.dirname(timesFile), { recursive: true, force: true })
  }
  return result
}

/** The second line of `times` (children's user and system time), e.g. `0m1.230s 0m0.120s`. */
function childrenCpuMs(times: string): number | undefined {
  const line = times.trim().split('\n')[1] ?? ''
  const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(line)
  if (!m) return undefined
  const [, um = '0', us = '0', sm = '0', ss = '0'] = m
  return (Number(um) * 60 + Number(us) + Number(sm) * 60 + Number(ss)) * 1000
}

/** The last line of stdout as JSON; throws with the output when the process failed. */
export function lastJson<T>(run: ProcessRun, what: string): T {
  const line = run.stdout.trimEnd().split('\n').at(-1) ?? ''
  if (run.code !== 0 || !line.startsWith('{')) {
    throw new Error(
      `${what} failed (exit ${run.code}):\n${run.stderr.slice(-3000)}\n${run.stdout.slice(-2000)}`
    )
  }
  return JSON.parse(line) as T
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  if (sorted.length === 0) return NaN
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

export function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}
