import * as path from 'node:path'
import { InputError } from './errors'
import { insideWorkspace, isDirectory } from './workspace-paths'
import { bool, oneOf, withDefault, type Env, type InputReader } from './input-reader'
import { readBackendConfig, type BackendInputs } from './backend/config'
import { readTerraformConfig, type TerraformInputs } from './terraform/config'
import { readFrontendConfig, type FrontendInputs } from './frontend/config'
import { readHealthConfig, type HealthInputs } from './health/config'
import { readReportConfig, type ReportInputs } from './report/config'
import { withStackDefaults, type StackRun } from './stacks/stack-input'
import { readContext, type RunContext } from './github/run-context'

export type { RunContext } from './github/run-context'
export type { InputReader, KeyValue } from './input-reader'
export type { LockKind } from './backend/config'
export type { BuildEnvMapping, InvalidateMode } from './frontend/config'
export type { CacheRule } from './frontend/cache-control'
export type { HealthCheckTarget } from './health/config'
export type { CommentMode } from './report/config'

export type Mode =
  'plan' | 'apply' | 'deploy' | 'frontend' | 'drift' | 'stacks' | 'overview' | 'unlock'

/** What every phase shares: the mode, the run, the workspace and the names everything derives from. */
export interface CoreInputs {
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
  dryRun: boolean
  /** The stack of the stacks file this run is (the `stack` input), with its dependencies. */
  stack?: StackRun
}

/**
 * The action's whole configuration, validated; everything downstream takes this, not raw inputs.
 * Each phase reads its own part next to its code (backend/config.ts, terraform/config.ts, …).
 */
export type Config = CoreInputs &
  BackendInputs &
  TerraformInputs &
  FrontendInputs &
  HealthInputs &
  ReportInputs

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

/**
 * Build and validate the configuration. Throws an InputError (one line naming the input, the value and
 * what is accepted) on the first bad value. Makes no network call.
 */
export function readConfig(given: InputReader, env: Env = process.env): Config {
  const context = readContext(env)
  const workspace = path.resolve(env.GITHUB_WORKSPACE || process.cwd())
  // A matrix job's stack: its stacks-file defaults apply under the explicit inputs.
  const { input, stack } = withStackDefaults(given, workspace)

  const requestedMode = oneOf(input, 'mode', MODES)
  const mode: Mode = requestedMode === 'auto' ? autoMode(context) : requestedMode

  const workingDirectoryInput = withDefault(input, 'working-directory')
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
  const environment = withDefault(input, 'environment')
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(environment)) {
    throw new InputError(
      'environment',
      environment,
      'use 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit'
    )
  }

  const scope = {
    mode,
    workspace,
    workingDirectory,
    workingDirectoryInput,
    region,
    project,
    environment
  }
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
    ...readBackendConfig(input, scope),
    ...readTerraformConfig(input, scope),
    ...readFrontendConfig(input, workspace),
    ...readHealthConfig(input),
    ...readReportConfig(input),
    dryRun: bool(input, 'dry-run'),
    ...(stack !== undefined && { stack })
  }
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
