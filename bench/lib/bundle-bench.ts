/**
 * The committed bundle: its size, and the time from starting `node dist/index.js` (as the runner
 * does, every input in the environment) to its first log line: the first line on stdout the runner
 * shows (`::add-mask::` and `::debug::` commands are consumed, not shown). Each run is killed once
 * that line has arrived. For scale, the same for `node -e` printing one line (Node's own start).
 */
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { gzipSync } from 'node:zlib'
import { inputEnvName } from '../../standins/run-action'
import { runnerInputs } from './inputs'
import { emptyHome, REPO_ROOT, measuredNode } from './paths'
import { median } from './proc'

export interface BundleResult {
  bytes: number
  gzipBytes: number
  /** Median spawn → first stdout line, ms. */
  firstLineMs: number
  nodeFirstLineMs: number
  firstLine: string
  runsMs: number[]
}

async function timeToFirstLine(
  args: string[],
  env: Record<string, string>,
  cwd: string
): Promise<{ ms: number; line: string }> {
  const started = performance.now()
  const child = spawn(measuredNode(), args, { cwd, env, stdio: ['ignore', 'pipe', 'ignore'] })
  let buffered = ''
  const result = await new Promise<{ ms: number; line: string }>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk
      const lines = buffered.split('\n').slice(0, -1)
      const shown = lines.find(line => !/^::(add-mask|debug)::/.test(line))
      if (shown !== undefined) resolve({ ms: performance.now() - started, line: shown })
    })
    child.once('error', reject)
    child.once('close', code => reject(new Error(`exited (${code}) before printing a line`)))
  })
  child.kill('SIGKILL')
  await new Promise(resolve => child.once('close', resolve))
  return result
}

export async function bundleBench(opts: {
  repeat: number
  scratch: string
  env: Record<string, string>
}): Promise<BundleResult> {
  const bundle = path.join(REPO_ROOT, 'dist', 'index.js')
  const content = fs.readFileSync(bundle)
  const workspace = path.join(opts.scratch, 'bundle-ws')
  fs.mkdirSync(path.join(workspace, 'terraform'), { recursive: true })
  const runner = path.join(opts.scratch, 'bundle-runner')
  fs.mkdirSync(runner, { recursive: true })
  for (const file of ['output', 'summary']) fs.writeFileSync(path.join(runner, file), '')
  fs.writeFileSync(path.join(runner, 'event.json'), '{}')
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: emptyHome(opts.scratch),
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_EVENT_PATH: path.join(runner, 'event.json'),
    GITHUB_WORKSPACE: workspace,
    GITHUB_OUTPUT: path.join(runner, 'output'),
    GITHUB_STEP_SUMMARY: path.join(runner, 'summary'),
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_RUN_ID: '3001',
    GITHUB_RUN_ATTEMPT: '1',
    RUNNER_TEMP: runner,
    ...opts.env
  }
  const inputs = runnerInputs({ mode: 'deploy', 'aws-region': 'eu-west-1' })
  for (const [name, value] of Object.entries(inputs)) env[inputEnvName(name)] = value

  const runs: number[] = []
  const nodeRuns: number[] = []
  let firstLine = ''
  for (let i = 0; i < opts.repeat; i++) {
    const run = await timeToFirstLine([bundle], env, workspace)
    runs.push(run.ms)
    firstLine = run.line
    nodeRuns.push((await timeToFirstLine(['-e', 'console.log("x")'], env, workspace)).ms)
  }
  fs.rmSync(workspace, { recursive: true, force: true })
  return {
    bytes: content.length,
    gzipBytes: gzipSync(content).length,
    firstLineMs: median(runs),
    nodeFirstLineMs: median(nodeRuns),
    firstLine: firstLine.slice(0, 120),
    runsMs: runs
  }
}
