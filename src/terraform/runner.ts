/**
 * The Terraform phase: init against the state backend, plan to a saved plan file, apply exactly that
 * file, read the outputs (masking the sensitive ones before anything can print them). Failures become
 * one-line TerraformErrors; the diagnostics go to the log.
 */
import * as core from '@actions/core'
import { randomUUID } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { DeployError } from '../errors'
import type { Config, KeyValue, LockKind } from '../inputs'
import { TerraformCli, type CommandResult, type LogSink } from './cli'
import {
  alreadyExistsExplanation,
  alreadyExistsMessage,
  errorDiagnostics,
  failureLine,
  findAlreadyExists,
  lockMessage,
  parseLockInfo,
  type AlreadyExists,
  type Diagnostic,
  type LockInfo
} from './diagnostics'
import type { Fingerprint, FingerprintRequest } from './fingerprint'
import type { PlanSummary } from './plan'
import { readPlanFile, type PlanEffect, type ReadPlan } from './plan-json'
import { readOutputs, type TerraformOutputs } from './runner-outputs'
import { redact } from './sensitive'

export {
  readOutputs,
  secretStrings,
  type TerraformOutput,
  type TerraformOutputs
} from './runner-outputs'

/** The S3 backend the state-backend step made sure of. */
export interface BackendSettings {
  bucket: string
  key: string
  region: string
  /** The DynamoDB lock table (not passed with lock s3). */
  table: string
  /** How Terraform locks: the table, the S3 lock file (use_lockfile), or both; default dynamodb. */
  lock?: LockKind
  kmsKeyId?: string
  /** The `backend-config` lines (and anything else to pass as -backend-config). */
  extra?: KeyValue[]
}

export interface TerraformOptions {
  /** Path of the terraform binary (see locateTerraform). */
  bin: string
  /** The root module (absolute). */
  cwd: string
  /** Extra environment for every command (e.g. AWS endpoint variables). */
  env?: Record<string, string>
  /** Terraform duration, e.g. `5m`. */
  lockTimeout: string
  /** false: `plan` reads the state without taking the lock (`-lock=false`); default true. */
  planLock?: boolean
  variables?: KeyValue[]
  /** Absolute paths (or relative to cwd). */
  varFiles?: string[]
  /** Where `plan -out` writes; default a fresh file in RUNNER_TEMP (or the OS temp dir). */
  planFile?: string
  /** How the working directory is named in messages (default: cwd). */
  workingDirectoryLabel?: string
  /** Where streamed output goes (default: the step log). */
  log?: LogSink
}

export interface PlanResult {
  /** Applying the plan would change something (from the saved plan's JSON, not the exit code). */
  changes: boolean
  summary: PlanSummary
  /** `terraform show -no-color <planfile>`: the plan as people read it. */
  text: string
  /**
   * The changes of `terraform show -json <planfile>` as data, the fingerprint's input (sensitive
   * values included: never print it). Neither the JSON text nor its objects are kept: the
   * resource changes are read again, one at a time, from the unlinked file Terraform wrote.
   */
  effect: PlanEffect
  /** With PlanOptions.fingerprint: planFingerprint of the effect. */
  fingerprint?: Fingerprint
  planFile: string
  /** What `terraform plan` printed (sensitive strings of the plan blanked out). */
  log: string
  /**
   * The strings the plan marks sensitive (already masked with core.setSecret); blank them out of
   * anything Terraform prints later, e.g. with `redact` from ./plan.
   */
  secrets: string[]
}

export interface ApplyResult {
  outputs: TerraformOutputs
  /** What `terraform apply` printed. */
  log: string
}

/** How to plan: the normal plan (the default), or a refresh-only one; with or without the lock. */
export interface PlanOptions {
  /** `-refresh-only`: only what changed outside Terraform, nothing Terraform would do. */
  refreshOnly?: boolean
  /** false: `-lock=false`, the state is read without writing a lock (default true). */
  lock?: boolean
  /** Where this plan is saved (default: the run's plan file). */
  planFile?: string
  /**
   * Make the reviewed-plan fingerprint with this key while the plan is read (its resource changes
   * are then parsed once less than by planFingerprint on the effect afterwards).
   */
  fingerprint?: FingerprintRequest
}

/** A Terraform command failed; `message` is the one line to fail with. */
export class TerraformError extends DeployError {
  constructor(
    message: string,
    readonly command: string,
    readonly result: CommandResult,
    readonly diagnostics: Diagnostic[],
    readonly lock?: LockInfo,
    readonly alreadyExists?: AlreadyExists
  ) {
    super(message)
    this.name = 'TerraformError'
  }
}

/** The backend settings from the configuration and the bucket/table the backend step settled on. */
export function backendSettings(
  config: Pick<Config, 'stateKmsKeyId' | 'backendConfig'> & Partial<Pick<Config, 'lock'>>,
  backend: { bucket: string; table: string; key: string; region: string }
): BackendSettings {
  return {
    bucket: backend.bucket,
    key: backend.key,
    region: backend.region,
    table: backend.table,
    ...(config.lock !== undefined && { lock: config.lock }),
    ...(config.stateKmsKeyId !== undefined && { kmsKeyId: config.stateKmsKeyId }),
    extra: config.backendConfig
  }
}

/**
 * `init` arguments: the managed backend settings first, then the user's backend-config lines.
 * `migrate`: carry the state of the backend Terraform used before (a local terraform.tfstate, or the
 * one its data directory records) into this one, without a prompt.
 */
export function initArgs(backend: BackendSettings, migrate = false): string[] {
  const lock = backend.lock ?? 'dynamodb'
  const settings: [string, string][] = [
    ['bucket', backend.bucket],
    ['key', backend.key],
    ['region', backend.region],
    ...(lock !== 's3' ? [['dynamodb_table', backend.table] as [string, string]] : []),
    // Terraform's S3-native lock: a <key>.tflock object written with If-None-Match.
    ...(lock !== 'dynamodb' ? [['use_lockfile', 'true'] as [string, string]] : []),
    ['encrypt', 'true']
  ]
  if (backend.kmsKeyId) settings.push(['kms_key_id', backend.kmsKeyId])
  for (const { key, value } of backend.extra ?? []) settings.push([key, value])
  return [
    'init',
    '-input=false',
    '-no-color',
    // The action owns the backend settings: a changed bucket/key/table must not prompt for a state
    // migration (impossible with -input=false); the state-loss guard and the search for state
    // elsewhere have already looked at the state. A migration is asked for explicitly.
    ...(migrate ? ['-migrate-state', '-force-copy'] : ['-reconfigure']),
    ...settings.map(([key, value]) => `-backend-config=${key}=${value}`)
  ]
}

/** Tries for a command whose lock attempt found the lock gone before it could read its holder. */
const LOCK_RACE_ATTEMPTS = 6

export class Terraform {
  readonly cli: TerraformCli
  readonly planFile: string
  private readonly options: TerraformOptions

  constructor(options: TerraformOptions) {
    this.options = options
    this.cli = new TerraformCli({
      bin: options.bin,
      cwd: options.cwd,
      ...(options.env !== undefined && { env: options.env }),
      ...(options.log !== undefined && { log: options.log })
    })
    this.planFile =
      options.planFile ??
      path.join(process.env.RUNNER_TEMP || os.tmpdir(), `revive-deploy-${randomUUID()}.tfplan`)
  }

  /** Options from the action's configuration. */
  static fromConfig(
    config: Config,
    bin: string,
    extra: Pick<TerraformOptions, 'env' | 'log' | 'planFile'> = {}
  ): Terraform {
    return new Terraform({
      bin,
      cwd: config.workingDirectory,
      lockTimeout: config.lockTimeout,
      // Only a plan-only run may skip the lock: an apply's plan must see the state it will change.
      planLock: config.planLock || config.mode !== 'plan',
      variables: config.variables,
      varFiles: config.varFiles,
      workingDirectoryLabel: config.workingDirectoryInput,
      ...extra
    })
  }

  /** `terraform init` against the S3 backend; safe to run again with other settings. */
  async init(backend: BackendSettings, migrate = false): Promise<CommandResult> {
    const result = await this.cli.run(initArgs(backend, migrate), {
      group: migrate ? 'terraform init -migrate-state' : 'terraform init'
    })
    if (result.exitCode !== 0) throw this.failure('init', result)
    return result
  }

  /** `terraform plan` to the saved plan file, then its JSON summary and its text. */
  async plan(options: PlanOptions = {}): Promise<PlanResult> {
    const planFile = options.planFile ?? this.planFile
    const args = [
      'plan',
      '-input=false',
      '-no-color',
      ...(options.refreshOnly ? ['-refresh-only'] : []),
      // Without the lock a plan writes nothing to the backend (drift, plan-lock: false).
      ...(options.lock === false || this.options.planLock === false
        ? ['-lock=false']
        : [`-lock-timeout=${this.options.lockTimeout}`]),
      '-detailed-exitcode',
      `-out=${planFile}`
    ]
    for (const { key, value } of this.options.variables ?? []) args.push('-var', `${key}=${value}`)
    for (const file of this.options.varFiles ?? []) args.push(`-var-file=${file}`)
    const group = `terraform plan${options.refreshOnly ? ' -refresh-only' : ''}`
    const result = await this.runLocking(args, group, code => code === 0 || code === 2)
    if (result.exitCode !== 0 && result.exitCode !== 2) throw this.failure('plan', result)

    const { summary, secrets, effect, fingerprint } = await this.showJson(planFile, options)
    const text = await this.cli.runToText(['show', '-no-color', planFile], `${planFile}.txt`)
    if (text.exitCode !== 0) throw this.failure('show', text)
    // Whether the plan changes anything comes from the plan itself: a wrapper around Terraform (or
    // TF_CLI_ARGS) can change the exit code; the JSON cannot be wrong about what it holds. (A
    // refresh-only plan exits 2 for drift, which is not a change the plan would make.)
    const byExitCode = result.exitCode === 2
    if (byExitCode !== summary.hasChanges && !options.refreshOnly) {
      core.info(
        `terraform plan exited ${result.exitCode} (${byExitCode ? 'changes' : 'no changes'}), but the saved plan ${summary.hasChanges ? 'has changes' : 'has none'}; going by the saved plan`
      )
    }
    return {
      changes: summary.hasChanges,
      summary,
      text: redact(text.stdout, secrets),
      effect,
      ...(fingerprint && { fingerprint }),
      planFile,
      log: redact(result.output, secrets),
      secrets
    }
  }

  /**
   * `terraform show -json <planfile>` read once: the secrets (masked), the summary and the
   * fingerprint's input (and the fingerprint when asked for). The JSON (tens of MB for 10,000
   * resources) is read piece by piece from the file Terraform wrote, never whole (readPlanFile).
   */
  private async showJson(planFile: string, options: PlanOptions): Promise<ReadPlan> {
    const { fd, ...json } = await this.cli.runToFile(
      ['show', '-json', planFile],
      `${planFile}.json`
    )
    if (json.exitCode !== 0) {
      fs.closeSync(fd)
      throw this.failure('show', json, false)
    }
    return readPlanFile(fd, {
      refreshOnly: options.refreshOnly === true,
      mask: secret => core.setSecret(secret),
      ...(options.fingerprint && { fingerprint: options.fingerprint })
    })
  }

  /** `terraform apply <planfile>` (the saved plan only), then the outputs. */
  async apply(planFile: string = this.planFile): Promise<ApplyResult> {
    const args = [
      'apply',
      '-input=false',
      '-no-color',
      `-lock-timeout=${this.options.lockTimeout}`,
      planFile
    ]
    const result = await this.runLocking(args, 'terraform apply', code => code === 0)
    if (result.exitCode !== 0) throw this.failure('apply', result)
    const outputs = await this.outputs()
    return { outputs, log: result.output }
  }

  /** `terraform force-unlock -force <id>` (after init): Terraform releases the lock only if it is `id`. */
  async forceUnlock(id: string): Promise<CommandResult> {
    const result = await this.cli.run(['force-unlock', '-force', id], {
      group: 'terraform force-unlock'
    })
    if (result.exitCode !== 0) throw this.failure('force-unlock', result)
    return result
  }

  /**
   * `terraform output -json` from the current state (after init; no apply needed). Sensitive values
   * are masked before this returns; stdout is never streamed.
   */
  async outputs(): Promise<TerraformOutputs> {
    const result = await this.cli.run(['output', '-json', '-no-color'])
    if (result.exitCode !== 0) throw this.failure('output', result, false)
    const outputs = readOutputs(result.stdout)
    const names = Object.keys(outputs.all).sort()
    core.info(
      names.length === 0
        ? 'Terraform outputs: none'
        : `Terraform outputs: ${names.map(n => (outputs.all[n]?.sensitive ? `${n} (sensitive)` : n)).join(', ')}`
    )
    return outputs
  }

  /**
   * Run a command that takes the state lock. When several runs contend, Terraform can fail at once
   * instead of waiting: its lock write is refused, and the holder releases the lock before Terraform
   * reads who holds it, so it finds no lock info ("Error acquiring the state lock" without "Lock
   * Info"). Nothing ran then, so the command is tried again (bounded); a lock that is really held has
   * its info and fails as usual after lock-timeout.
   */
  private async runLocking(
    args: string[],
    group: string,
    ok: (code: number) => boolean
  ): Promise<CommandResult> {
    for (let attempt = 1; ; attempt++) {
      const result = await this.cli.run(args, { group })
      const vanished =
        !ok(result.exitCode) &&
        /Error acquiring the state lock/.test(result.output) &&
        parseLockInfo(result.stderr) === undefined &&
        parseLockInfo(result.stdout) === undefined
      if (!vanished || attempt >= LOCK_RACE_ATTEMPTS) return result
      const delay = 500 * attempt + Math.floor(Math.random() * 1000)
      core.info(
        `The state lock changed hands while Terraform read it; trying again in ${(delay / 1000).toFixed(1)} s`
      )
      await new Promise(resolve => setTimeout(resolve, delay))
    }
  }

  private failure(command: string, result: CommandResult, stdoutReadable = true): TerraformError {
    let diagnostics = errorDiagnostics(result.stderr)
    if (diagnostics.length === 0 && stdoutReadable) diagnostics = errorDiagnostics(result.stdout)
    const lock =
      parseLockInfo(result.stderr) ?? (stdoutReadable ? parseLockInfo(result.stdout) : undefined)
    // Terraform's diagnostics go to the log; the step fails with one line (the thrown message).
    for (const d of diagnostics) core.info(`terraform ${command}: ${d.text}`)

    const where = this.options.workingDirectoryLabel ?? this.options.cwd
    if (lock) {
      const message = lockMessage(lock, {
        lockTimeout: this.options.lockTimeout,
        workingDirectory: where
      })
      return new TerraformError(message, command, result, diagnostics, lock)
    }
    if (command === 'apply') {
      const found = findAlreadyExists(diagnostics)
      if (found) {
        core.info(alreadyExistsExplanation(found))
        return new TerraformError(
          alreadyExistsMessage(found),
          command,
          result,
          diagnostics,
          undefined,
          found
        )
      }
    }
    const message = failureLine(command, where, result.exitCode, diagnostics)
    return new TerraformError(message, command, result, diagnostics)
  }
}
