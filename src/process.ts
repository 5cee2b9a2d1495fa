/**
 * Child processes (Terraform, the frontend build) and what happens to them when the run is cancelled.
 *
 * When a run is cancelled or times out, the runner sends the action SIGINT, then SIGTERM a few
 * seconds later, then kills it. Terraform needs its SIGINT to stop cleanly: it stops what it is
 * doing, writes the state and releases the lock. A second SIGINT makes it exit at once, without
 * doing either. So the action forwards exactly one SIGINT to each running child, unless the child
 * has already shown that it got one (a runner that signals the whole process group), then waits for
 * it to finish and reports the run as cancelled.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { StringDecoder } from 'node:string_decoder'

export interface Cancellation {
  signal: NodeJS.Signals
  /** Date.now() when the first signal arrived. */
  at: number
}

interface Running {
  child: ChildProcess
  interrupted: boolean
  /** The child's own sign of having received SIGINT (Terraform prints "Interrupt received."). */
  sawInterrupt: () => boolean
}

let cancelled: Cancellation | undefined
const running = new Set<Running>()
let installed = false
/** How long to wait for the child's own sign of a group-wide SIGINT before forwarding one. */
const FORWARD_DELAY_MS = 500

/** The cancellation, once a SIGINT or SIGTERM has arrived. */
export function cancellation(): Cancellation | undefined {
  return cancelled
}

/**
 * Handle SIGINT and SIGTERM from now on: remember the cancellation, forward one SIGINT to every
 * running child, and let the run finish its report instead of dying. `onSignal` is told each signal.
 */
export function installCancellation(onSignal: (signal: NodeJS.Signals) => void = () => {}): void {
  if (installed) return
  installed = true
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      cancelled ??= { signal, at: Date.now() }
      onSignal(signal)
      for (const r of running) interrupt(r)
    })
  }
}

function interrupt(r: Running): void {
  setTimeout(() => {
    if (r.interrupted || r.sawInterrupt() || r.child.exitCode !== null) return
    r.interrupted = true
    r.child.kill('SIGINT')
  }, FORWARD_DELAY_MS).unref()
}

export interface RunProcessOptions {
  cwd: string
  env: Record<string, string>
  /** Decoded output as it arrives. */
  onStdout?: (text: string) => void
  /** A file descriptor the child writes its stdout to (instead of a pipe; onStdout is not called). */
  stdoutFd?: number
  onStderr?: (text: string) => void
  /** Output that shows the child received SIGINT itself (so none is forwarded). */
  interruptedMark?: RegExp
}

/**
 * Run `bin args` (no shell) to its end and resolve with its exit code (128 + signal number when a
 * signal ended it). Rejects only when it cannot be started.
 */
export function runProcess(
  bin: string,
  args: string[],
  options: RunProcessOptions
): Promise<number> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess
    try {
      child = spawn(bin, args, {
        cwd: options.cwd,
        env: options.env,
        stdio: ['ignore', options.stdoutFd ?? 'pipe', 'pipe']
      })
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)))
      return
    }
    let seen = ''
    const entry: Running = {
      child,
      interrupted: false,
      sawInterrupt: () => options.interruptedMark?.test(seen) ?? false
    }
    const watch = (text: string): void => {
      if (options.interruptedMark && cancelled) seen = (seen + text).slice(-4096)
    }
    const decoders = { out: new StringDecoder('utf8'), err: new StringDecoder('utf8') }
    child.stdout?.on('data', (data: Buffer) => {
      const text = decoders.out.write(data)
      if (!text) return
      watch(text)
      options.onStdout?.(text)
    })
    child.stderr?.on('data', (data: Buffer) => {
      const text = decoders.err.write(data)
      if (!text) return
      watch(text)
      options.onStderr?.(text)
    })
    child.once('error', error => {
      running.delete(entry)
      reject(error)
    })
    child.once('spawn', () => {
      running.add(entry)
      if (cancelled) interrupt(entry)
    })
    child.once('close', (code, signal) => {
      running.delete(entry)
      const restOut = decoders.out.end()
      if (restOut) options.onStdout?.(restOut)
      const restErr = decoders.err.end()
      if (restErr) options.onStderr?.(restErr)
      resolve(code ?? 128 + signalNumber(signal))
    })
  })
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGKILL: 9,
    SIGTERM: 15
  }
  return (signal && numbers[signal]) ?? 1
}

/**
 * Runs `fn` with the runner's command processing off: a child's output (Terraform's plan text,
 * whose multi-line values the runner would read as commands after trimming, or the build's output)
 * streamed while `fn` runs cannot issue `::stop-commands::`, `::add-mask::`, `::error::` or any
 * other workflow command. The token is random for each call, so no output can end the pause early.
 * Commands the action itself needs (masks included) are issued before or after, never inside.
 */
export async function withCommandsOff<T>(
  write: (line: string) => void,
  fn: () => Promise<T>
): Promise<T> {
  const token = `revive-${randomBytes(16).toString('hex')}`
  write(`::stop-commands::${token}`)
  try {
    return await fn()
  } finally {
    write(`::${token}::`)
  }
}
