import { spawn, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

/** The repository root (this file lives in <root>/standins/). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

export interface RunActionOptions {
  /** Inputs by their action.yml names; every other input gets action.yml's default, as the runner does. */
  inputs?: Record<string, string>
  /** Event name (GITHUB_EVENT_NAME) and payload (written to GITHUB_EVENT_PATH). */
  event?: { name: string; payload?: Record<string, unknown> }
  /** GITHUB_WORKSPACE. */
  workspace: string
  /** Extra environment (stand-in endpoints, credentials, GITHUB_REPOSITORY, ...). */
  env?: Record<string, string>
  /** Node binary; default ACTION_NODE from the environment, else this process's node. */
  node?: string
  /** Entry point; default the committed bundle dist/index.js. */
  entry?: string
  /** Kill the run after this long (default 5 minutes). */
  timeoutMs?: number
  /** Called with each chunk of output as it arrives. */
  onOutput?: (chunk: string) => void
  /**
   * Called with the child once it started. The child leads its own process group, so a test can
   * stop the action and the Terraform it runs at once, as a runner that dies would
   * (`process.kill(-child.pid, 'SIGKILL')`).
   */
  onSpawn?: (child: ChildProcess) => void
}

export interface ActionRun {
  exitCode: number | null
  signal: NodeJS.Signals | null
  outputs: Record<string, string>
  summary: string
  /** stdout and stderr interleaved as they arrived. */
  log: string
  stdout: string
  stderr: string
  /** Lines the action failed with (`::error::` commands the runner would act on). */
  errors: string[]
  /** Values registered with `::add-mask::` that the runner would act on. */
  masks: string[]
  durationMs: number
  /** The temporary directory holding the runner files (output file, summary, event, RUNNER_TEMP). */
  runnerDir: string
}

interface ActionInput {
  default?: string
}

let cachedDefaults: Record<string, string> | undefined

/** action.yml's inputs and their defaults. */
export function actionDefaults(): Record<string, string> {
  if (!cachedDefaults) {
    const doc = parse(fs.readFileSync(path.join(repoRoot, 'action.yml'), 'utf8')) as {
      inputs: Record<string, ActionInput>
    }
    cachedDefaults = Object.fromEntries(
      Object.entries(doc.inputs).map(([name, spec]) => [name, String(spec.default ?? '')])
    )
  }
  return cachedDefaults
}

/** Environment variable name the runner uses for an input. */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`
}

/** Parse the GITHUB_OUTPUT file format (name=value lines and name<<DELIM heredocs). */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ''
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line)
    if (heredoc) {
      const [, name = '', delimiter = ''] = heredoc
      const value: string[] = []
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i] ?? '')
      outputs[name] = value.join('\n')
    } else if (line.includes('=')) {
      const at = line.indexOf('=')
      outputs[line.slice(0, at)] = line.slice(at + 1)
    }
  }
  return outputs
}

/**
 * Run the bundled action the way the GitHub runner does: `node dist/index.js` with every input as
 * INPUT_*, the event file, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and RUNNER_TEMP set.
 */
export async function runAction(options: RunActionOptions): Promise<ActionRun> {
  const runnerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'revive-run-'))
  const outputFile = path.join(runnerDir, 'output')
  const summaryFile = path.join(runnerDir, 'summary')
  const eventFile = path.join(runnerDir, 'event.json')
  const runnerTemp = path.join(runnerDir, 'temp')
  fs.mkdirSync(runnerTemp)
  fs.writeFileSync(outputFile, '')
  fs.writeFileSync(summaryFile, '')
  const event = options.event ?? { name: 'push', payload: {} }
  // GitHub's push payload always names the ref pushed and the repository's default branch; a test
  // that gives neither pushes to the default branch (main).
  const payload: Record<string, unknown> = { ...(event.payload ?? {}) }
  if (event.name === 'push') {
    payload.ref ??= 'refs/heads/main'
    payload.repository = {
      default_branch: 'main',
      ...((payload.repository as Record<string, unknown> | undefined) ?? {})
    }
  }
  fs.writeFileSync(eventFile, JSON.stringify(payload))

  const extra = options.env ?? {}
  const inputs: Record<string, string> = { ...actionDefaults() }
  // The runner evaluates the `${{ github.token }}` default; here it is whatever token the test provides.
  inputs['github-token'] = extra.GITHUB_TOKEN ?? ''
  Object.assign(inputs, options.inputs ?? {})

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? runnerDir,
    LANG: 'C.UTF-8',
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_EVENT_NAME: event.name,
    GITHUB_EVENT_PATH: eventFile,
    ...(typeof payload.ref === 'string' && { GITHUB_REF: payload.ref }),
    GITHUB_WORKSPACE: options.workspace,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ATTEMPT: '1',
    RUNNER_TEMP: runnerTemp,
    RUNNER_TOOL_CACHE: path.join(runnerDir, 'tool-cache'),
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64'
  }
  if (process.env.TF_CLI_CONFIG_FILE) env.TF_CLI_CONFIG_FILE = process.env.TF_CLI_CONFIG_FILE
  for (const [name, value] of Object.entries(inputs)) env[inputEnvName(name)] = value
  Object.assign(env, extra)

  const node = options.node ?? process.env.ACTION_NODE ?? process.execPath
  const entry = options.entry ?? path.join(repoRoot, 'dist', 'index.js')
  const started = Date.now()
  const child = spawn(node, [entry], {
    cwd: options.workspace,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.onSpawn !== undefined
  })
  options.onSpawn?.(child)
  let log = ''
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8')
  child.stderr.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk
    log += chunk
    options.onOutput?.(chunk)
  })
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk
    log += chunk
    options.onOutput?.(chunk)
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 5 * 60_000)
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(
    (resolve, reject) => {
      child.on('error', reject)
      child.on('close', (code, sig) => resolve([code, sig]))
    }
  )
  clearTimeout(timer)
  const { errors, masks } = runnerCommands(stdout)
  return {
    exitCode,
    signal,
    outputs: parseOutputFile(fs.readFileSync(outputFile, 'utf8')),
    summary: fs.readFileSync(summaryFile, 'utf8'),
    log,
    stdout,
    stderr,
    errors,
    masks,
    durationMs: Date.now() - started,
    runnerDir
  }
}

/**
 * The workflow commands in a step's stdout as the runner processes them: a command is a line that
 * starts with `::` after leading whitespace; `::stop-commands::<token>` turns processing off until
 * a line `::<token>::`. Returns the `::error` messages and the `::add-mask::` values acted on.
 */
export function runnerCommands(stdout: string): { errors: string[]; masks: string[] } {
  const errors: string[] = []
  const masks: string[] = []
  const unescape = (v: string): string =>
    v.replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%')
  let stopToken: string | undefined
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/\r$/, '').trimStart()
    if (stopToken !== undefined) {
      if (line === `::${stopToken}::`) stopToken = undefined
      continue
    }
    const m = /^::([A-Za-z-]+)(?: [^:]*)?::(.*)$/.exec(line)
    if (!m) continue
    const [, command, data = ''] = m
    if (command === 'stop-commands' && data !== '') stopToken = data
    else if (command === 'error') errors.push(unescape(data))
    else if (command === 'add-mask') masks.push(unescape(data))
  }
  return { errors, masks }
}
