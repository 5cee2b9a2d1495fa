/**
 * Bundles bench/client.ts with ncc (the bundler of dist/index.js), transpile-only, into a scratch
 * directory: the measured processes run the current src/ as one bundled file, like the action.
 */
import * as path from 'node:path'
import { runProcess } from './proc'
import { BENCH_DIR, REPO_ROOT } from './paths'

export async function buildClient(outDir: string): Promise<string> {
  const ncc = path.join(REPO_ROOT, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js')
  const run = await runProcess(
    process.execPath,
    [ncc, 'build', path.join(BENCH_DIR, 'client.ts'), '-o', outDir, '-q', '-t'],
    { cwd: REPO_ROOT }
  )
  if (run.code !== 0) {
    throw new Error(`ncc could not bundle bench/client.ts:\n${run.stderr}\n${run.stdout}`)
  }
  return path.join(outDir, 'index.js')
}
