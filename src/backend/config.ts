/** The state backend's configuration (state-bucket, state-key, lock-table, lock, …), read and checked. */
import * as path from 'node:path'
import { InputError, InputLineError } from '../errors'
import { checkBucketName, checkKmsKey, checkStateKey, checkTableName } from '../aws/names'
import {
  bool,
  keyValueLines,
  oneOf,
  optional,
  type InputReader,
  type KeyValue
} from '../input-reader'

/** How Terraform locks the state: the DynamoDB table, the S3 lock file (use_lockfile), or both. */
export type LockKind = 'dynamodb' | 's3' | 'both'

export interface BackendInputs {
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
  /** How Terraform locks the state (`lock`). */
  lock: LockKind
  /** `lock-id`: the lock `mode: unlock` releases (required in that mode). */
  lockId?: string
}

/** What the backend's inputs are read against: resolved by the entry before. */
export interface BackendScope {
  mode: string
  workspace: string
  workingDirectory: string
  region: string
  project: string
  environment: string
}

const LOCKS = ['dynamodb', 's3', 'both'] as const
const MANAGED_BACKEND_KEYS = new Set([
  'bucket',
  'key',
  'region',
  'dynamodb_table',
  'encrypt',
  'use_lockfile'
])

export function readBackendConfig(input: InputReader, scope: BackendScope): BackendInputs {
  const { environment, project, workspace, workingDirectory, region } = scope
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

  const lock = oneOf(input, 'lock', LOCKS)
  const lockId = optional(input('lock-id'))
  if (lockId !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(lockId)) {
    throw new InputError(
      'lock-id',
      lockId,
      "use the lock's ID as Terraform prints it (Lock Info: ID), e.g. 2b6a2f3e-8c1d-4e0f-9a7b-5c4d3e2f1a0b"
    )
  }
  if (scope.mode === 'unlock' && lockId === undefined) {
    throw new InputError(
      'lock-id',
      undefined,
      "mode unlock needs the ID of the lock to release: take it from the locked run's message or its lock-holder output"
    )
  }

  return {
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
    migrateState: bool(input, 'migrate-state'),
    createBackend: bool(input, 'create-backend'),
    ...(stateKmsKeyId !== undefined && { stateKmsKeyId }),
    allowFreshState: bool(input, 'allow-fresh-state'),
    backendConfig,
    lock,
    ...(lockId !== undefined && { lockId })
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
