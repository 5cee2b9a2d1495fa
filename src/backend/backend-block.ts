/**
 * The root module's backend block is the stack's truth: bucket, key, region and table set there are
 * the defaults, and an input that contradicts them is refused before `init` (an override through
 * -backend-config would silently plan against another, empty, state).
 */
import * as path from 'node:path'
import { DeployError } from '../errors'
import type { Config } from '../inputs'
import type { BackendBlock, ModuleConfig } from '../root-module'

/** Where the state lives, as the backend block and the inputs settle it (no AWS call made). */
export interface BlockSettlement {
  /** Notes for the log: which value came from where. */
  notes: string[]
}

/** The backend block's attribute for each input the action owns. */
const BLOCK_INPUTS = [
  { attribute: 'bucket', input: 'state-bucket' },
  { attribute: 'key', input: 'state-key' },
  { attribute: 'dynamodb_table', input: 'lock-table' },
  { attribute: 'region', input: 'aws-region' }
] as const

/**
 * Apply the root module's backend block to the configuration (in place): a value the block sets is
 * the default; an input that disagrees fails here, before anything is created or initialised.
 */
export function settleBackendBlock(config: Config, module: ModuleConfig): BlockSettlement {
  const where = config.workingDirectoryInput
  const block = module.backend
  if (!block) {
    throw new DeployError(
      `${where} has no backend block, so Terraform would keep the state on the runner's disk, where it is lost after the run and the next deploy creates every resource again. Add terraform { backend "s3" {} } to a .tf file in ${where} (the action supplies bucket, key, region and lock table).`
    )
  }
  const at = `${path.posix.join(where, block.file)} line ${block.line}`
  if (block.type !== 's3') {
    const what =
      block.type === 'cloud' ? 'a cloud block (HCP Terraform)' : `backend "${block.type}"`
    throw new DeployError(
      `${at} declares ${what}; revive-deploy keeps state in an S3 backend it manages and will not override another backend. Change it to backend "s3" {} (and carry the state over with migrate-state: true), or run this stack without revive-deploy.`
    )
  }
  const notes: string[] = []
  const current: Record<(typeof BLOCK_INPUTS)[number]['input'], string | undefined> = {
    'state-bucket': config.stateBucket,
    'state-key': config.given.stateKey ? config.stateKey : undefined,
    'lock-table': config.given.lockTable ? config.lockTable : undefined,
    'aws-region': config.given.region ? config.region : undefined
  }
  for (const { attribute, input } of BLOCK_INPUTS) {
    const value = block.attributes[attribute]
    if (typeof value !== 'string' || value === '') continue
    const given = current[input]
    if (given !== undefined && given !== value) {
      throw new DeployError(
        `Input '${input}' is ${JSON.stringify(given)} but the backend block in ${at} sets ${attribute} = ${JSON.stringify(value)}: they name different state. Leave ${input} empty to use the block's value, or change the block (moving the state with migrate-state: true) to use the input's.`
      )
    }
    notes.push(`${attribute} ${value} from the backend block in ${at}`)
    if (attribute === 'bucket') config.stateBucket = value
    else if (attribute === 'key') {
      config.stateKey = value
      delete config.legacyStateKey
    } else if (attribute === 'dynamodb_table') config.lockTable = value
    else config.backendRegion = value
  }
  settleLockFile(config, block, at, notes)
  return { notes }
}

/**
 * `use_lockfile = true` in the block: Terraform takes the S3 lock file whatever the action passes
 * (the block's settings stay under -backend-config), so `lock: dynamodb` (the default) is in fact
 * `both`: the run says so and works with both locks.
 */
function settleLockFile(config: Config, block: BackendBlock, at: string, notes: string[]): void {
  const useLockfile = block.attributes.use_lockfile
  if (useLockfile !== true && useLockfile !== 'true') return
  if (config.lock === 'dynamodb') {
    config.lock = 'both'
    notes.push(
      `lock both: the backend block in ${at} sets use_lockfile = true, so Terraform takes the S3 lock file besides the table (set lock: s3 to drop the table)`
    )
  }
}
