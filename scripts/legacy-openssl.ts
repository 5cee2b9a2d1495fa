// The S3 stand-in (s3rver) encrypts its list continuation tokens with DES, which Node 17+ offers only
// with OpenSSL's legacy provider. Scripts that host the stand-ins call `withLegacyOpenSsl()` first:
// when the provider is missing it runs the same script again with `--openssl-legacy-provider` added to
// NODE_OPTIONS (keeping whatever was there) and exits with that run's exit code.
import { spawn } from 'node:child_process'
import { createCipheriv } from 'node:crypto'

export function hasLegacyOpenSsl(): boolean {
  try {
    createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8)).final()
    return true
  } catch {
    return false
  }
}

/** Resolves when this process has the legacy provider; otherwise re-runs itself and never resolves. */
export async function withLegacyOpenSsl(): Promise<void> {
  if (hasLegacyOpenSsl()) return
  const nodeOptions = `${process.env.NODE_OPTIONS ?? ''} --openssl-legacy-provider`.trim()
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_OPTIONS: nodeOptions }
  })
  // Ctrl-C reaches the child from the terminal (same process group): the parent just waits for it.
  // SIGTERM is usually sent to one process (kill PID, a CI job cancelled): pass it on.
  process.on('SIGINT', () => undefined)
  process.on('SIGTERM', () => child.kill('SIGTERM'))
  const code = await new Promise<number>(resolve =>
    child.on('close', (status, signal) => resolve(status ?? (signal === 'SIGINT' ? 130 : 143)))
  )
  process.exit(code)
}
