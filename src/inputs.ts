import * as fs from 'node:fs'
import * as path from 'node:path'
import { InputError, InputLineError, errorMessage } from './errors'
import { checkBucketName, checkKmsKey, checkStateKey, checkTableName } from './aws/names'
import { checkRelativeFile, insideWorkspace, isDirectory } from './workspace-paths'
import { downloadUrlProblem } from './terraform/download-url'
import { compileCacheRules, type CacheRule } from './frontend/cache-control'
import { normalizePrefix } from './frontend/sync-plan'
import { readGuardConfig, type GuardConfig } from './terraform/protect'
import { withStackDefaults, type StackRun } from './stacks/stack-input'

export type { CacheRule }

export type Mode =
  'plan' | 'apply' | 'deploy' | 'frontend' | 'drift' | 'stacks' | 'overview' | 'unlock'
/** How Terraform locks the state: the DynamoDB table, the S3 lock file (use_lockfile), or both. */
export type LockKind = 'dynamodb' | 's3' | 'both'
export type InvalidateMode = 'changed' | 'all' | 'none'
export type CommentMode = 'always' | 'on-change' | 'never'

export interface KeyValue {
  key: string
  value: string
  /** The line of the input this pair comes from (1-based), for errors that may not quote the line. */
  line?: number
}
export interface BuildEnvMapping {
  env: string
  output: string
  /** The line of `build-env` this mapping comes from, for errors that may not quote the line. */
  line?: number
}
export type HealthCheckTarget = { kind: 'url'; url: string } | { kind: 'output'; output: string }

/** Where the run comes from: the event and the repository, read from the runner's environment. */
export interface RunContext {
  eventName: string
  /** Parsed event payload (empty object when there is none). */
  payload: Record<string, unknown>
  repository?: { owner: string; repo: string }
  /** Pull-request number for pull_request / pull_request_target events. */
  pullRequest?: number
  sha?: string
  ref?: string
  actor?: string
  runId?: string
  runAttempt: string
  serverUrl: string
  apiUrl: string
  /** Link to the workflow run, when the repository and run id are known. */
  runUrl?: string
}

/** The action's whole configuration, validated; everything downstream takes this, not raw inputs. */
export interface Config {
  /** The resolved mode (auto already applied). */
  mode: Mode
  requestedMode: Mode | 'auto'
  context: RunContext
  /** Absolute workspace root; every path input must stay inside it. */
  workspace: string
  /** Absolute path of the Terraform root module. */
  workingDirectory: string
  /** working-directory as given, relative to the workspace (used in the stack identity). */
  workingDirectoryInput: string
  region: string
  project: string
  environment: string
  /** Explicit state bucket; undefined: computed from the account id. */
  stateBucket?: string
  stateKey: string
  lockTable: string
  /** Region of the state backend: aws-region, unless the backend block names another one. */
  backendRegion: string
  /** Which of these the workflow set (an input an existing backend block may not contradict). */
  given: { stateKey: boolean; lockTable: boolean; region: boolean }
  /**
   * The first version's default key (`<environment>/terraform.tfstate`) when the default key of this
   * working directory differs from it: an existing state there is found, not orphaned.
   */
  legacyStateKey?: string
  migrateState: boolean
  createBackend: boolean
  stateKmsKeyId?: string
  allowFreshState: boolean
  backendConfig: KeyValue[]
  lockTimeout: string
  /** How Terraform locks the state (`lock`). */
  lock: LockKind
  /** `plan-lock`: false runs plan-only modes with `-lock=false`. */
  planLock: boolean
  /** `lock-id`: the lock `mode: unlock` releases (required in that mode). */
  lockId?: string
  terraformVersion?: string
  /** Base URL of the Terraform release mirror (for installs): https, or http to a loopback host. */
  terraformDownloadUrl: string
  /**
   * Armored public key that signs the mirror's SHA256SUMS (terraform-signing-key); undefined:
   * HashiCorp's release key.
   */
  terraformSigningKey?: string
  variables: KeyValue[]
  /** Absolute paths of the var files. */
  varFiles: string[]
  /** Absolute frontend directory; undefined: no frontend (skipped with a notice). */
  frontendDirectory?: string
  buildCommand: string
  /** Build output relative to the frontend directory; undefined: `dist`, else `build`. */
  buildDirectory?: string
  buildEnv: BuildEnvMapping[]
  configFile?: string
  siteBucket?: string
  /** Normalised site prefix: empty, or no leading slash and exactly one trailing slash. */
  sitePrefix: string
  distributionId?: string
  deleteRemoved: boolean
  /**
   * `keep-removed` in milliseconds: how long fingerprinted assets the build no longer has stay in
   * the bucket; 0 deletes them at once.
   */
  keepRemovedMs: number
  cacheControl: CacheRule[]
  invalidate: InvalidateMode
  waitForInvalidation: boolean
  healthChecks: HealthCheckTarget[]
  githubToken?: string
  comment: CommentMode
  requireReviewedPlan: boolean
  /** In drift mode: open, update and close one issue per stack (drift-issue). */
  driftIssue: boolean
  /** What a plan may not delete or replace without an allowance (protect, allow-destroy, label). */
  guard: GuardConfig
  dryRun: boolean
  /** The stack of the stacks file this run is (the `stack` input), with its dependencies. */
  stack?: StackRun
}

export type InputReader = (name: string) => string
type Env = Record<string, string | undefined>

const MODES = [
  'auto',
  'plan',
  'apply',
  'deploy',
  'frontend',
  'drift',
  'stacks',
  'overview',
  'unlock'
] as const
const LOCKS = ['dynamodb', 's3', 'both'] as const
const INVALIDATE = ['changed', 'all', 'none'] as const
const COMMENT = ['always', 'on-change', 'never'] as const
const MANAGED_BACKEND_KEYS = new Set([
  'bucket',
  'key',
  'region',
  'dynamodb_table',
  'encrypt',
  'use_lockfile'
])
const DEFAULT_TERRAFORM_DOWNLOAD_URL = 'https://releases.hashicorp.com/terraform'

/** Read the action's inputs the way the runner passes them (INPUT_<NAME> environment variables). */
export function inputsFromEnv(env: Env = process.env): InputReader {
  return name => (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim()
}

/**
 * Build and validate the configuration. Throws an InputError (one line naming the input, the value and
 * what is accepted) on the first bad value. Makes no network call.
 */
export function readConfig(given: InputReader, env: Env = process.env): Config {
  const context = readContext(env)
  const workspace = path.resolve(env.GITHUB_WORKSPACE || process.cwd())
  // A matrix job's stack: its stacks-file defaults apply under the explicit inputs.
  const { input, stack } = withStackDefaults(given, workspace)

  const requestedMode = oneOf(input, 'mode', MODES, 'auto')
  const mode: Mode = requestedMode === 'auto' ? autoMode(context) : requestedMode

  const workingDirectoryInput = input('working-directory') || 'terraform'
  const workingDirectory = insideWorkspace('working-directory', workingDirectoryInput, workspace)
  if (!isDirectory(workingDirectory)) {
    throw new InputError(
      'working-directory',
      workingDirectoryInput,
      `no such directory in the workspace (${workingDirectory}); point it at your Terraform root module`
    )
  }

  const region = readRegion(input, env)
  const project = readProject(input, context)
  const environment = input('environment') || 'production'
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(environment)) {
    throw new InputError(
      'environment',
      environment,
      'use 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit'
    )
  }

  const stateBucket = optional(input('state-bucket'))
  if (stateBucket !== undefined) checkBucketName('state-bucket', stateBucket)
  const stateKey = input('state-key') || defaultStateKey(environment, workspace, workingDirectory)
  checkStateKey(stateKey)
  const firstDefaultKey = `${environment}/terraform.tfstate`
  const lockTable = input('lock-table') || `${project}-terraform-locks`
  checkTableName('lock-table', lockTable)

  const stateKmsKeyId = optional(input('state-kms-key-id'))
  if (stateKmsKeyId !== undefined) checkKmsKey(stateKmsKeyId)

  const backendConfig = keyValueLines(
    input,
    'backend-config',
    /^[a-z_][a-z0-9_]*$/,
    'a backend setting'
  )
  for (const { key, line } of backendConfig) {
    if (MANAGED_BACKEND_KEYS.has(key)) {
      throw new InputLineError(
        'backend-config',
        line,
        key,
        'this setting is set by the action; use the state-bucket, state-key, lock-table, lock, aws-region or state-kms-key-id input instead'
      )
    }
  }

  const lockTimeout = input('lock-timeout') || '5m'
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(lockTimeout)) {
    throw new InputError(
      'lock-timeout',
      lockTimeout,
      'use a Terraform duration such as 30s, 5m or 1h'
    )
  }

  const lock = oneOf(input, 'lock', LOCKS, 'dynamodb')
  const lockId = optional(input('lock-id'))
  if (lockId !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(lockId)) {
    throw new InputError(
      'lock-id',
      lockId,
      "use the lock's ID as Terraform prints it (Lock Info: ID), e.g. 2b6a2f3e-8c1d-4e0f-9a7b-5c4d3e2f1a0b"
    )
  }
  if (mode === 'unlock' && lockId === undefined) {
    throw new InputError(
      'lock-id',
      undefined,
      "mode unlock needs the ID of the lock to release: take it from the locked run's message or its lock-holder output"
    )
  }

  const terraformVersion = optional(input('terraform-version'))
  if (
    terraformVersion !== undefined &&
    terraformVersion !== 'latest' &&
    !/^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/.test(terraformVersion)
  ) {
    throw new InputError(
      'terraform-version',
      terraformVersion,
      'use a release version such as 1.11.4, or latest, or leave it empty to use terraform on PATH'
    )
  }
  const terraformDownloadUrl = readDownloadUrl(input)
  const terraformSigningKey = readSigningKey(input)

  const variables = keyValueLines(
    input,
    'variables',
    /^[A-Za-z_][A-Za-z0-9_-]*$/,
    'a variable name'
  )
  const varFiles = lines(input('var-files')).map(file => {
    const absolute = insideWorkspace('var-files', file, workspace, workingDirectory)
    if (!fs.existsSync(absolute)) {
      throw new InputError('var-files', file, `no such file relative to ${workingDirectoryInput}`)
    }
    return absolute
  })

  const frontendDirectory = readFrontendDirectory(input, workspace)
  const buildCommand = input('build-command') || 'npm ci && npm run build'
  const buildDirectory = optional(input('build-directory'))
  if (buildDirectory !== undefined) {
    insideWorkspace('build-directory', buildDirectory, workspace, frontendDirectory ?? workspace)
  }
  const buildEnv = keyValueLines(
    input,
    'build-env',
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    'an environment variable name'
  ).map(({ key, value, line }) => {
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(value)) {
      throw new InputLineError(
        'build-env',
        line,
        key,
        'the value is not a Terraform output name; each line is ENV_NAME=terraform_output_name, e.g. VITE_API_URL=api_url'
      )
    }
    return { env: key, output: value, line }
  })
  const configFile = optional(input('config-file'))
  if (configFile !== undefined) checkRelativeFile('config-file', configFile)

  const siteBucket = optional(input('site-bucket'))
  if (siteBucket !== undefined) checkBucketName('site-bucket', siteBucket)
  const sitePrefix = normalisePrefix(input('site-prefix'))
  const distributionId = optional(input('distribution-id'))
  if (distributionId !== undefined && !/^[A-Z0-9]{8,32}$/.test(distributionId)) {
    throw new InputError(
      'distribution-id',
      distributionId,
      'use a CloudFront distribution id such as E2QWRUHAPOMQZL (upper-case letters and digits)'
    )
  }

  const cacheControl = readCacheRules(input)
  const invalidate = oneOf(input, 'invalidate', INVALIDATE, 'changed')
  const healthChecks = readHealthChecks(input)

  const githubToken = optional(input('github-token'))
  const comment = oneOf(input, 'comment', COMMENT, 'always')

  return {
    mode,
    requestedMode,
    context,
    workspace,
    workingDirectory,
    workingDirectoryInput,
    region,
    project,
    environment,
    ...(stateBucket !== undefined && { stateBucket }),
    stateKey,
    lockTable,
    backendRegion: region,
    given: {
      stateKey: input('state-key') !== '',
      lockTable: input('lock-table') !== '',
      region: input('aws-region') !== ''
    },
    ...(input('state-key') === '' &&
      stateKey !== firstDefaultKey && { legacyStateKey: firstDefaultKey }),
    migrateState: bool(input, 'migrate-state', false),
    createBackend: bool(input, 'create-backend', true),
    ...(stateKmsKeyId !== undefined && { stateKmsKeyId }),
    allowFreshState: bool(input, 'allow-fresh-state', false),
    backendConfig,
    lockTimeout,
    lock,
    planLock: bool(input, 'plan-lock', true),
    ...(lockId !== undefined && { lockId }),
    ...(terraformVersion !== undefined && { terraformVersion }),
    terraformDownloadUrl,
    ...(terraformSigningKey !== undefined && { terraformSigningKey }),
    variables,
    varFiles,
    ...(frontendDirectory !== undefined && { frontendDirectory }),
    buildCommand,
    ...(buildDirectory !== undefined && { buildDirectory }),
    buildEnv,
    ...(configFile !== undefined && { configFile }),
    ...(siteBucket !== undefined && { siteBucket }),
    sitePrefix,
    ...(distributionId !== undefined && { distributionId }),
    deleteRemoved: bool(input, 'delete-removed', true),
    keepRemovedMs: keepRemoved(input('keep-removed') || '7d'),
    cacheControl,
    invalidate,
    waitForInvalidation: bool(input, 'wait-for-invalidation', false),
    healthChecks,
    ...(githubToken !== undefined && { githubToken }),
    comment,
    requireReviewedPlan: bool(input, 'require-reviewed-plan', false),
    driftIssue: bool(input, 'drift-issue', true),
    guard: readGuardConfig(input),
    dryRun: bool(input, 'dry-run', false),
    ...(stack !== undefined && { stack })
  }
}

const DURATION_UNITS_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000
}

/**
 * `keep-removed` in milliseconds: `0`, or whole numbers with a unit, one or more (`12h`, `7d`,
 * `1d12h`, `2w`). A bare number other than 0 is refused: its unit would be a guess.
 */
export function keepRemoved(value: string): number {
  if (/^0+$/.test(value)) return 0
  const parts = /^(\d+[smhdw])+$/.test(value) ? value.match(/\d+[smhdw]/g) : null
  if (!parts) {
    throw new InputError(
      'keep-removed',
      value,
      'use a duration such as 12h, 7d or 2w (units s, m, h, d, w), or 0 to delete removed assets at once'
    )
  }
  return parts.reduce(
    (sum, part) => sum + Number(part.slice(0, -1)) * (DURATION_UNITS_MS[part.slice(-1)] ?? 0),
    0
  )
}

/**
 * What `mode: auto` runs for an event: pull requests and merge queues plan; a push to the default
 * branch and a manual dispatch deploy; a push to any other branch or a tag plans (a workflow written
 * `on: [push, pull_request]` must not deploy feature branches); a schedule looks for drift (never
 * applies on a timer); any other event needs an explicit mode.
 */
export function autoMode(context: RunContext): Mode {
  switch (context.eventName) {
    case 'pull_request':
    case 'pull_request_target':
    case 'merge_group':
      return 'plan'
    case 'schedule':
      return 'drift'
    case 'workflow_dispatch':
      return 'deploy'
    case 'push': {
      const repository = context.payload.repository as { default_branch?: unknown } | undefined
      const defaultBranch = repository?.default_branch
      const ref = typeof context.payload.ref === 'string' ? context.payload.ref : context.ref
      return typeof defaultBranch === 'string' && ref === `refs/heads/${defaultBranch}`
        ? 'deploy'
        : 'plan'
    }
    default:
      throw new InputError(
        'mode',
        'auto',
        `auto has no mode for the ${context.eventName} event; set mode to plan, apply, deploy, frontend or drift for this workflow`
      )
  }
}

/**
 * The default state key: `<environment>/terraform.tfstate` for the conventional `terraform` root
 * module, `<environment>/<working-directory>/terraform.tfstate` for any other, so two root modules of
 * one repository never share a state by default.
 */
export function defaultStateKey(
  environment: string,
  workspace: string,
  workingDirectory: string
): string {
  const relative = path.relative(workspace, workingDirectory).split(path.sep).join('/')
  if (relative === 'terraform') return `${environment}/terraform.tfstate`
  const dir = relative === '' ? '_root' : relative
  return `${environment}/${dir}/terraform.tfstate`
}

/** The event and repository, from the runner's environment variables and event payload. */
export function readContext(env: Env = process.env): RunContext {
  const eventName = env.GITHUB_EVENT_NAME || 'workflow_dispatch'
  let payload: Record<string, unknown> = {}
  const eventPath = env.GITHUB_EVENT_PATH
  if (eventPath && fs.existsSync(eventPath)) {
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(eventPath, 'utf8'))
      if (parsed && typeof parsed === 'object') payload = parsed as Record<string, unknown>
    } catch {
      payload = {}
    }
  }
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/')
  const repository = owner && repo ? { owner, repo } : undefined
  const pr = payload.pull_request as { number?: unknown } | undefined
  const prNumber = typeof pr?.number === 'number' ? pr.number : undefined
  const serverUrl = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '')
  const runId = optional(env.GITHUB_RUN_ID ?? '')
  const context: RunContext = {
    eventName,
    payload,
    runAttempt: env.GITHUB_RUN_ATTEMPT || '1',
    serverUrl,
    apiUrl: (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '')
  }
  if (repository) context.repository = repository
  if (prNumber !== undefined) context.pullRequest = prNumber
  const headSha = (pr as { head?: { sha?: unknown } } | undefined)?.head?.sha
  const sha = typeof headSha === 'string' ? headSha : env.GITHUB_SHA
  if (sha) context.sha = sha
  if (env.GITHUB_REF) context.ref = env.GITHUB_REF
  if (env.GITHUB_ACTOR) context.actor = env.GITHUB_ACTOR
  if (runId) {
    context.runId = runId
    if (repository)
      context.runUrl = `${serverUrl}/${repository.owner}/${repository.repo}/actions/runs/${runId}`
  }
  return context
}

function readRegion(input: InputReader, env: Env): string {
  const given = input('aws-region')
  const region = given || env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || ''
  if (!region) {
    throw new InputError(
      'aws-region',
      undefined,
      'no region given and neither AWS_REGION nor AWS_DEFAULT_REGION is set; set aws-region (e.g. eu-west-1) or configure credentials with a region first'
    )
  }
  if (!/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/.test(region)) {
    throw new InputError(
      given ? 'aws-region' : 'aws-region',
      region,
      `not an AWS region name${given ? '' : ' (taken from AWS_REGION/AWS_DEFAULT_REGION)'}; use one such as us-east-1 or eu-west-1`
    )
  }
  return region
}

function readProject(input: InputReader, context: RunContext): string {
  const given = input('project')
  if (given) {
    if (!/^[a-z0-9](?:[a-z0-9-]{0,31}[a-z0-9])?$/.test(given)) {
      throw new InputError(
        'project',
        given,
        'use 1-33 lower-case letters, digits or hyphens, starting and ending with a letter or digit (it becomes part of S3 and DynamoDB names)'
      )
    }
    return given
  }
  const repo = context.repository?.repo
  if (!repo) {
    throw new InputError(
      'project',
      undefined,
      'empty, and GITHUB_REPOSITORY is not set to take the repository name from; set project'
    )
  }
  const derived = repo
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 33)
    .replace(/-+$/, '')
  if (!derived) {
    throw new InputError(
      'project',
      undefined,
      `cannot derive a name from the repository "${repo}"; set project`
    )
  }
  return derived
}

function readFrontendDirectory(input: InputReader, workspace: string): string | undefined {
  const given = optional(input('frontend-directory'))
  if (given === undefined) {
    const conventional = path.join(workspace, 'frontend')
    return isDirectory(conventional) ? conventional : undefined
  }
  const absolute = insideWorkspace('frontend-directory', given, workspace)
  if (!isDirectory(absolute)) {
    throw new InputError(
      'frontend-directory',
      given,
      'no such directory in the workspace; fix the path or leave it empty to skip the frontend'
    )
  }
  return absolute
}

function readDownloadUrl(input: InputReader): string {
  const given = optional(input('terraform-download-url'))
  if (given === undefined) return DEFAULT_TERRAFORM_DOWNLOAD_URL
  let url: URL
  try {
    url = new URL(given)
  } catch {
    throw new InputError(
      'terraform-download-url',
      given,
      'use an http(s) URL of a Terraform release mirror'
    )
  }
  const problem = downloadUrlProblem(url)
  if (problem !== undefined) throw new InputError('terraform-download-url', given, problem)
  return given.replace(/\/+$/, '')
}

/**
 * terraform-signing-key: an armored OpenPGP public key (checked fully when Terraform is installed);
 * undefined means HashiCorp's release key. The key is never quoted back in an error.
 */
function readSigningKey(input: InputReader): string | undefined {
  const given = optional(input('terraform-signing-key'))
  if (given === undefined) return undefined
  if (/-----BEGIN PGP PRIVATE KEY BLOCK-----/.test(given)) {
    throw new InputError(
      'terraform-signing-key',
      undefined,
      'this is a private key; give the public key only (gpg --armor --export <key id>), and revoke the private key if it was stored where others can read it'
    )
  }
  if (
    !/-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]+-----END PGP PUBLIC KEY BLOCK-----/.test(given)
  ) {
    throw new InputError(
      'terraform-signing-key',
      undefined,
      "give an armored OpenPGP public key (-----BEGIN PGP PUBLIC KEY BLOCK----- … , from gpg --armor --export <key id>), or leave it empty for HashiCorp's release key"
    )
  }
  return given
}

function readCacheRules(input: InputReader): CacheRule[] {
  const rules = lines(input('cache-control')).map(line => {
    const at = line.indexOf('=')
    const pattern = at > 0 ? line.slice(0, at).trim() : ''
    const value = at > 0 ? line.slice(at + 1).trim() : ''
    if (!pattern || !value) {
      throw new InputError(
        'cache-control',
        line,
        'each line is glob=value, e.g. assets/**=public, max-age=31536000, immutable'
      )
    }
    return { pattern, value }
  })
  try {
    return [...compileCacheRules(rules).rules]
  } catch (error) {
    throw new InputError('cache-control', input('cache-control'), errorMessage(error))
  }
}

function readHealthChecks(input: InputReader): HealthCheckTarget[] {
  return lines(input('health-check')).map(line => {
    if (line.startsWith('output:')) {
      const output = line.slice('output:'.length).trim()
      if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(output)) {
        throw new InputError(
          'health-check',
          line,
          'use output:<terraform_output_name>, e.g. output:site_url'
        )
      }
      return { kind: 'output', output }
    }
    let url: URL | undefined
    try {
      url = new URL(line)
    } catch {
      url = undefined
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new InputError(
        'health-check',
        line,
        'each line is an http(s) URL or output:<terraform_output_name>'
      )
    }
    return { kind: 'url', url: line }
  })
}

function oneOf<T extends string>(
  input: InputReader,
  name: string,
  allowed: readonly T[],
  fallback: T
): T {
  const value = input(name)
  if (!value) return fallback
  const match = allowed.find(a => a === value.toLowerCase())
  if (!match) throw new InputError(name, value, `use one of ${allowed.join(', ')}`)
  return match
}

function bool(input: InputReader, name: string, fallback: boolean): boolean {
  const value = input(name)
  if (!value) return fallback
  if (/^true$/i.test(value)) return true
  if (/^false$/i.test(value)) return false
  throw new InputError(name, value, 'use true or false')
}

function optional(value: string): string | undefined {
  const trimmed = value.trim()
  return trimmed === '' ? undefined : trimmed
}

/** Non-empty, trimmed lines; lines starting with # are comments. */
export function lines(value: string): string[] {
  return numberedLines(value).map(({ text }) => text)
}

/** Like `lines`, each with its 1-based number in the whole value (comments and blank lines count). */
export function numberedLines(value: string): Array<{ line: number; text: string }> {
  return value
    .split(/\r?\n/)
    .map((text, index) => ({ line: index + 1, text: text.trim() }))
    .filter(({ text }) => text !== '' && !text.startsWith('#'))
}

/**
 * The `key=value` lines of a list input. The values may be secrets: errors name the line number and the
 * key (only a well-formed one: the text before "=" on a malformed line may be a pasted value), never
 * the line.
 */
function keyValueLines(
  input: InputReader,
  name: string,
  keyPattern: RegExp,
  what: string
): Array<KeyValue & { line: number }> {
  const firstLine = new Map<string, number>()
  return numberedLines(input(name)).map(({ line, text }) => {
    const at = text.indexOf('=')
    const key = at > 0 ? text.slice(0, at).trim() : ''
    if (!key || !keyPattern.test(key)) {
      const problem = at < 0 ? 'has no "="' : at === 0 ? 'has no key' : 'has no valid key'
      throw new InputLineError(
        name,
        line,
        undefined,
        `${problem}; each line is key=value where key is ${what} (${keyPattern.source})`
      )
    }
    const first = firstLine.get(key)
    if (first !== undefined) {
      throw new InputLineError(
        name,
        line,
        key,
        `this key is given twice (first on line ${first}); keep one line per key`
      )
    }
    firstLine.set(key, line)
    return { key, value: text.slice(at + 1).trim(), line }
  })
}

/** '' → ''; '/site/' → 'site/'; 'a//b', '..' segments, backslashes and control characters are refused. */
export function normalisePrefix(value: string): string {
  try {
    return normalizePrefix(value)
  } catch {
    throw new InputError(
      'site-prefix',
      value,
      'use a key prefix such as app or sites/app, without empty, "." or ".." segments or backslashes'
    )
  }
}
