/**
 * Running one Terraform command: arguments as an array (no shell), the automation environment, the
 * output streamed to the log while it runs and captured for the report and for parsing.
 */
import * as fs from 'node:fs'
import { childEnv } from '../child-env'
import { readAll } from './json-file'
import { DeployError, errorMessage } from '../errors'
import { group } from '../log'
import { runProcess, withCommandsOff } from '../process'

/** Where streamed output goes; the default writes to the step log (process.stdout). */
export type LogSink = (text: string) => void

export const writeToLog: LogSink = text => {
  process.stdout.write(text)
}

export interface CliOptions {
  /** Path of the terraform binary (or `terraform` to take it from PATH). */
  bin: string
  /** The Terraform root module. */
  cwd: string
  /** Added to the process environment (e.g. AWS endpoint variables). */
  env?: Record<string, string>
  /** Where streamed output goes (default: the step log). */
  log?: LogSink
}

export interface RunOptions {
  /**
   * Stream the output to the log inside a log group with this title (a marker line when a group,
   * a phase's, is open). Without it nothing is streamed: use that for commands whose stdout holds
   * values (show -json, output -json).
   */
  group?: string
  /** Shown instead of the arguments in the log line (to hide variable values). */
  display?: string[]
}

export interface CommandResult {
  args: string[]
  exitCode: number
  stdout: string
  stderr: string
  /** stdout and stderr interleaved in the order they arrived (for the report). */
  output: string
  /** Wall-clock milliseconds. */
  durationMs: number
}

/** The environment every Terraform command runs with. */
export function terraformEnv(extra: Record<string, string> = {}): Record<string, string> {
  return childEnv({ ...extra, TF_IN_AUTOMATION: '1', TF_INPUT: '0' })
}

/**
 * Terraform settings from the workflow's environment that would make the action parse the wrong
 * output, plan against another state, or apply something other than its saved plan: one line naming
 * the variable and the fix, before anything runs. Others (TF_CLI_ARGS_plan, TF_CLI_ARGS_apply,
 * TF_LOG, TF_VAR_*) are passed to Terraform as they are; TF_INPUT is always 0, and TF_DATA_DIR is the
 * run's private data directory (a TF_DATA_DIR of the workflow is only read, to find earlier state).
 */
export function terraformEnvProblem(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const set = (name: string): string | undefined => {
    const value = env[name]
    return value !== undefined && value.trim() !== '' ? value : undefined
  }
  for (const name of ['TF_CLI_ARGS', 'TF_CLI_ARGS_show', 'TF_CLI_ARGS_output']) {
    if (set(name) !== undefined) {
      return `${name} is set in the environment: it adds arguments to terraform show/output, whose JSON the action reads. Unset it; use TF_CLI_ARGS_plan or TF_CLI_ARGS_apply for plan or apply flags, and the variables input for variables.`
    }
  }
  const init = set('TF_CLI_ARGS_init')
  if (
    init !== undefined &&
    /(^|\s)-(backend-config|backend|reconfigure|migrate-state|force-copy)\b/.test(init)
  ) {
    return 'TF_CLI_ARGS_init changes the backend settings the action passes to terraform init; unset it, and use the backend-config, state-bucket, state-key and lock-table inputs instead.'
  }
  const workspace = set('TF_WORKSPACE')
  if (workspace !== undefined && workspace !== 'default') {
    return `TF_WORKSPACE is ${JSON.stringify(workspace)}: the action keeps one state per key and guards that key, not Terraform workspaces. Unset it and give each environment its own state-key (e.g. ${workspace}/terraform.tfstate) or environment input.`
  }
  return undefined
}

/**
 * Arguments as they may appear in the log: `-var name=value` shows the name only, and so does every
 * `-backend-config` setting (the user's lines may hold credentials or role ARNs) except the ones the
 * action sets itself and reports anyway (bucket, key, region, lock table, encrypt).
 */
const SHOWN_BACKEND_SETTINGS = new Set(['bucket', 'key', 'region', 'dynamodb_table', 'encrypt'])

export function displayArgs(args: string[]): string[] {
  const shown: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ''
    const previous = args[i - 1]
    if (previous === '-var' && arg.includes('=')) {
      shown.push(`${arg.slice(0, arg.indexOf('='))}=…`)
    } else if (arg.startsWith('-var=')) {
      const rest = arg.slice('-var='.length)
      shown.push(`-var=${rest.includes('=') ? `${rest.slice(0, rest.indexOf('='))}=…` : rest}`)
    } else if (arg.startsWith('-backend-config=')) {
      const setting = arg.slice('-backend-config='.length)
      const at = setting.indexOf('=')
      const key = at > 0 ? setting.slice(0, at) : ''
      shown.push(at <= 0 || SHOWN_BACKEND_SETTINGS.has(key) ? arg : `-backend-config=${key}=…`)
    } else {
      shown.push(arg)
    }
  }
  return shown
}

function quoteArg(arg: string): string {
  return /^[A-Za-z0-9_\-=./:,@+…]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`
}

/** Runs Terraform commands in one root module. */
export class TerraformCli {
  readonly bin: string
  readonly cwd: string
  private readonly env: Record<string, string>
  private readonly log: LogSink

  constructor(options: CliOptions) {
    this.bin = options.bin
    this.cwd = options.cwd
    this.env = options.env ?? {}
    this.log = options.log ?? writeToLog
  }

  /**
   * Run `terraform <args>`; never throws for a non-zero exit code (the caller decides what the code
   * means). Throws a DeployError when the binary cannot be started at all.
   */
  async run(args: string[], options: RunOptions = {}): Promise<CommandResult> {
    return this.runWith(args, options)
  }

  /**
   * Run `terraform <args>` with its stdout written straight to a file, never through this
   * process: `show -json` prints tens of MB. The file is created as `file` (new, mode 0600, so put
   * it where the plan file is: it holds what Terraform prints) and removed from the directory as
   * soon as Terraform is done; what it printed stays readable through `fd` (open for reading and
   * writing) until the caller closes it. `stdout` is empty and `output` is stderr's text. Nothing
   * is streamed.
   */
  async runToFile(args: string[], file: string): Promise<CommandResult & { fd: number }> {
    fs.rmSync(file, { force: true })
    const fd = fs.openSync(file, 'wx+', 0o600)
    try {
      return { ...(await this.runWith(args, {}, fd)), fd }
    } catch (error) {
      fs.closeSync(fd)
      throw error
    } finally {
      fs.rmSync(file, { force: true })
    }
  }

  /**
   * {@link runToFile}, with what Terraform printed read back in one piece as `stdout` and the file
   * closed: `show -no-color` prints 7.7 MB for 10,000 resources, decoded once, no chunks joined.
   */
  async runToText(args: string[], file: string): Promise<CommandResult> {
    const { fd, ...result } = await this.runToFile(args, file)
    try {
      return { ...result, stdout: readAll(fd).toString('utf8') }
    } finally {
      fs.closeSync(fd)
    }
  }

  private async runWith(
    args: string[],
    options: RunOptions,
    stdoutFd?: number
  ): Promise<CommandResult> {
    const stream = options.group !== undefined
    const started = Date.now()
    const parts = { out: [] as string[], err: [] as string[], all: [] as string[] }
    let atLineStart = true
    const take = (which: 'out' | 'err', text: string): void => {
      parts[which].push(text)
      parts.all.push(text)
      if (stream && text !== '') {
        this.log(text)
        atLineStart = text.endsWith('\n')
      }
    }
    const spawnTerraform = (): Promise<number> =>
      runProcess(this.bin, args, {
        cwd: this.cwd,
        env: terraformEnv(this.env),
        ...(stdoutFd !== undefined && { stdoutFd }),
        onStdout: text => take('out', text),
        onStderr: text => take('err', text),
        interruptedMark: /Interrupt received/
      })
    const execute = async (): Promise<number> => {
      if (stream) {
        const shown = (options.display ?? displayArgs(args)).map(quoteArg).join(' ')
        this.log(`[command]terraform ${shown}\n`)
      }
      try {
        if (!stream) return await spawnTerraform()
        // Terraform's text is data, never workflow commands (a multi-line value in a plan is a line
        // of its own).
        const write = (line: string): void => {
          this.log(`${atLineStart ? '' : '\n'}${line}\n`)
          atLineStart = true
        }
        return await withCommandsOff(write, spawnTerraform)
      } catch (error) {
        throw new DeployError(
          `Could not run Terraform (${this.bin}) in ${this.cwd}: ${errorMessage(error)}`,
          { cause: error }
        )
      }
    }
    const exitCode = stream ? await group(options.group ?? '', execute) : await execute()
    const stdout = parts.out.join('')
    const stderr = parts.err.join('')
    return {
      args,
      exitCode,
      stdout,
      stderr,
      // Nothing on stderr: the same string, not a second copy (`show -json` prints tens of MB).
      output: stderr === '' ? stdout : parts.all.join(''),
      durationMs: Date.now() - started
    }
  }
}
