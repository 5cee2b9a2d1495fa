/**
 * State identity: which state a root module plans against, and that it is this module's.
 *
 * - The root module's backend block is the stack's truth: bucket, key, region and table set there are
 *   the defaults, and an input that contradicts them is refused before `init` (an override through
 *   -backend-config would silently plan against another, empty, state).
 * - A state key belongs to one root module: an ownership record next to the state names the
 *   repository and working directory; another module is refused on it. A state without a record
 *   (written before records existed) must share resources with the module to be taken for its own.
 * - Before the first plan against a key that does not exist yet, the stack's state is looked for
 *   elsewhere (a local terraform.tfstate, the data directory's backend, the default-named bucket):
 *   found, the run stops, or with migrate-state carries it over with Terraform's own migration.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client
} from '@aws-sdk/client-s3'
import type { STSClient } from '@aws-sdk/client-sts'
import { awsErrorName, awsStatus } from '../aws/clients'
import { DeployError, errorMessage } from '../errors'
import type { Config } from '../inputs'
import type { BackendBlock, ModuleConfig } from '../root-module'
import { resolveBucketName } from './backend'

/** The object next to the state that names the root module owning the key. */
export const OWNER_SUFFIX = '.revive-deploy-owner.json'

export interface StateOwner {
  repository: string
  workingDirectory: string
  recordedAt?: string
}

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

export interface IdentityCheck {
  /** The ownership record is missing: write it when this run first writes state. */
  needsRecord: boolean
  /** Log lines (adoption of the first version's key, ...). */
  notes: string[]
}

interface StateDoc {
  lineage?: string
  serial?: number
  resources?: Array<{ mode?: string; type?: string; name?: string; module?: string }>
}

/**
 * Before any plan: make sure the state key is this root module's (or free), adopting the first
 * version's default key when it holds this module's state. May change config.stateKey.
 */
export async function checkStateIdentity(
  config: Config,
  s3: S3Client,
  bucket: string,
  module: ModuleConfig
): Promise<IdentityCheck> {
  const me = ownerOf(config)
  const notes: string[] = []
  if (config.legacyStateKey !== undefined) {
    const legacy = config.legacyStateKey
    if (
      !(await objectExists(s3, bucket, config.stateKey)) &&
      (await objectExists(s3, bucket, legacy))
    ) {
      const owner = await readOwner(s3, bucket, legacy)
      const ours = owner
        ? sameOwner(owner, me)
        : sharesResources(await readState(s3, bucket, legacy), module) !== false
      if (ours) {
        notes.push(
          `Using the existing state at s3://${bucket}/${legacy} (the first version's default key, ${owner ? 'recorded for this working directory' : 'holding resources of this module'}); set state-key to keep it explicit`
        )
        config.stateKey = legacy
      } else {
        notes.push(
          `The state at s3://${bucket}/${legacy} belongs to ${owner ? describe(owner) : 'another root module (no resource in common with this one)'}; this working directory uses s3://${bucket}/${config.stateKey}`
        )
      }
    }
    delete config.legacyStateKey
  }

  const key = config.stateKey
  const owner = await readOwner(s3, bucket, key)
  if (owner && !sameOwner(owner, me)) {
    throw new DeployError(
      `The state s3://${bucket}/${key} belongs to ${describe(owner)}, not to ${describe(me)}; nothing was planned. Give this root module its own state-key (or leave state-key empty for its default), or, if the stack really moved here, delete s3://${bucket}/${key}${OWNER_SUFFIX} and re-run.`
    )
  }
  if (owner) return { needsRecord: false, notes }
  const state = await readState(s3, bucket, key)
  if (state && sharesResources(state, module) === false) {
    const sample = rootAddresses(state).slice(0, 3).join(', ')
    throw new DeployError(
      `The state s3://${bucket}/${key} holds none of the resources declared in ${config.workingDirectoryInput} (it has ${sample}${rootAddresses(state).length > 3 ? ', …' : ''}): it looks like another root module's state, and planning against it would destroy that stack. Give this root module its own state-key; if the state really is this module's, record it: aws s3api put-object --bucket ${bucket} --key ${key}${OWNER_SUFFIX} --body owner.json with ${JSON.stringify(me)}.`
    )
  }
  return { needsRecord: true, notes }
}

/** Record this root module as the key's owner (the run is about to write the state). */
export async function recordOwner(config: Config, s3: S3Client, bucket: string): Promise<void> {
  const body = JSON.stringify({ ...ownerOf(config), recordedAt: new Date().toISOString() })
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: `${config.stateKey}${OWNER_SUFFIX}`,
      Body: body,
      ContentType: 'application/json'
    })
  )
}

export function ownerOf(config: Pick<Config, 'context' | 'workingDirectoryInput'>): StateOwner {
  const repo = config.context.repository
  return {
    repository: repo ? `${repo.owner}/${repo.repo}` : '',
    workingDirectory: path.posix
      .normalize(config.workingDirectoryInput.replace(/\\/g, '/'))
      .replace(/\/+$/, '')
  }
}

function sameOwner(a: StateOwner, b: StateOwner): boolean {
  return (
    a.repository.toLowerCase() === b.repository.toLowerCase() &&
    a.workingDirectory === b.workingDirectory
  )
}

function describe(owner: StateOwner): string {
  return `working directory ${owner.workingDirectory}${owner.repository ? ` of ${owner.repository}` : ''}`
}

/** Addresses of the state's root-module declarations (resources, data sources, module calls). */
function rootAddresses(state: StateDoc): string[] {
  const found = new Set<string>()
  for (const r of state.resources ?? []) {
    if (r.module) found.add(`module.${r.module.replace(/^module\./, '').split(/[.[]/)[0] ?? ''}`)
    else if (r.mode === 'data') found.add(`data.${r.type}.${r.name}`)
    else found.add(`${r.type}.${r.name}`)
  }
  return [...found].sort()
}

/**
 * Whether the state has anything this module declares: undefined when the state (or the module)
 * declares nothing to compare, false when both do and none is shared.
 */
function sharesResources(state: StateDoc | undefined, module: ModuleConfig): boolean | undefined {
  if (!state) return undefined
  const addresses = rootAddresses(state)
  if (addresses.length === 0 || module.declared.size === 0) return undefined
  return addresses.some(a => module.declared.has(a))
}

async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
    return (head.ContentLength ?? 0) > 0
  } catch (error) {
    if (isMissing(error)) return false
    throw readFailure(bucket, key, error)
  }
}

async function readObject(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    return (await out.Body?.transformToString()) ?? ''
  } catch (error) {
    if (isMissing(error)) return undefined
    throw readFailure(bucket, key, error)
  }
}

async function readOwner(
  s3: S3Client,
  bucket: string,
  key: string
): Promise<StateOwner | undefined> {
  const text = await readObject(s3, bucket, `${key}${OWNER_SUFFIX}`)
  if (text === undefined) return undefined
  try {
    const doc = JSON.parse(text) as Partial<StateOwner>
    if (typeof doc.workingDirectory === 'string')
      return { repository: String(doc.repository ?? ''), workingDirectory: doc.workingDirectory }
  } catch {
    // fall through
  }
  throw new DeployError(
    `The ownership record s3://${bucket}/${key}${OWNER_SUFFIX} is not readable JSON; delete it and re-run to record this working directory`
  )
}

/** The state document at the key (undefined when missing or empty). */
export async function readState(
  s3: S3Client,
  bucket: string,
  key: string
): Promise<StateDoc | undefined> {
  const text = await readObject(s3, bucket, key)
  if (!text) return undefined
  try {
    return JSON.parse(text) as StateDoc
  } catch {
    return undefined
  }
}

function isMissing(error: unknown): boolean {
  return awsStatus(error) === 404 || ['NotFound', 'NoSuchKey'].includes(awsErrorName(error))
}

function readFailure(bucket: string, key: string, error: unknown): DeployError {
  return new DeployError(
    `Could not read s3://${bucket}/${key}: ${awsErrorName(error) || errorMessage(error)}; check s3:GetObject on the state bucket`,
    { cause: error }
  )
}

/** State of this stack found somewhere other than the backend's key. */
export type StateElsewhere =
  | { kind: 'local'; file: string; lineage?: string; serial?: number; resources: number }
  | {
      kind: 's3'
      bucket: string
      key: string
      region?: string
      table?: string
      via: string
      /** The data directory's backend record that named it (absolute), when a data directory did. */
      recordedIn?: string
    }

/**
 * Where else this stack's state may be, for a key that has no state yet: a local state file in the
 * working directory, the backend recorded in its data directory, the same key in the default-named
 * bucket. Reads files, and makes at most two AWS calls (only when the bucket is not the default one).
 */
export async function findStateElsewhere(
  config: Config,
  clients: { s3: S3Client; sts: STSClient },
  bucket: string
): Promise<StateElsewhere[]> {
  const found: StateElsewhere[] = []
  const dir = config.workingDirectory
  const localFiles = [path.join(dir, 'terraform.tfstate')]
  const workspaces = path.join(dir, 'terraform.tfstate.d')
  try {
    for (const ws of fs.readdirSync(workspaces).sort())
      localFiles.push(path.join(workspaces, ws, 'terraform.tfstate'))
  } catch {
    // no local workspaces
  }
  for (const file of localFiles) {
    const doc = readLocalState(file)
    const resources = (doc?.resources ?? []).length
    if (doc && resources > 0) {
      found.push({
        kind: 'local',
        file: path.relative(config.workspace, file).split(path.sep).join('/'),
        ...(doc.lineage !== undefined && { lineage: doc.lineage }),
        ...(doc.serial !== undefined && { serial: doc.serial }),
        resources
      })
    }
  }

  // The data directory the user's own Terraform runs use (the action runs Terraform with a private
  // one, so this is only read).
  const dataDir = process.env.TF_DATA_DIR
    ? path.resolve(dir, process.env.TF_DATA_DIR)
    : path.join(dir, '.terraform')
  const recordFile = path.join(dataDir, 'terraform.tfstate')
  const recorded = readRecordedBackend(recordFile)
  if (recorded?.type === 's3') {
    const b = recorded.config.bucket
    const k = recorded.config.key
    // Another key in the same bucket is another environment or stack (one checkout may plan several
    // in turn); another bucket is where this module's state was kept before.
    if (typeof b === 'string' && typeof k === 'string' && b !== bucket) {
      found.push({
        kind: 's3',
        bucket: b,
        key: k,
        ...(typeof recorded.config.region === 'string' && { region: recorded.config.region }),
        ...(typeof recorded.config.dynamodb_table === 'string' && {
          table: recorded.config.dynamodb_table
        }),
        via: `${path.relative(config.workspace, dataDir).split(path.sep).join('/')}/terraform.tfstate`,
        recordedIn: recordFile
      })
    }
  }

  if (config.stateBucket !== undefined) {
    let defaultBucket: string | undefined
    try {
      const { stateBucket: _given, ...defaults } = config
      defaultBucket = await resolveBucketName(defaults, clients.sts)
    } catch {
      defaultBucket = undefined
    }
    if (defaultBucket && defaultBucket !== bucket) {
      // Another account's bucket or no access: nothing to say about it.
      const exists = await objectExists(clients.s3, defaultBucket, config.stateKey).catch(
        () => false
      )
      if (exists) {
        found.push({
          kind: 's3',
          bucket: defaultBucket,
          key: config.stateKey,
          region: config.region,
          table: config.lockTable,
          via: 'the default bucket name'
        })
      }
    }
  }
  return found
}

function readLocalState(file: string): StateDoc | undefined {
  try {
    const text = fs.readFileSync(file, 'utf8')
    return text.trim() ? (JSON.parse(text) as StateDoc) : undefined
  } catch {
    return undefined
  }
}

function readRecordedBackend(
  file: string
): { type: string; config: Record<string, unknown> } | undefined {
  try {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      backend?: { type?: unknown; config?: unknown }
    }
    const type = doc.backend?.type
    const cfg = doc.backend?.config
    if (typeof type === 'string' && cfg && typeof cfg === 'object')
      return { type, config: cfg as Record<string, unknown> }
  } catch {
    // none
  }
  return undefined
}

/** One line for a found state. */
export function describeElsewhere(e: StateElsewhere): string {
  return e.kind === 'local'
    ? `${e.file} (${e.resources} resource${e.resources === 1 ? '' : 's'}${e.serial !== undefined ? `, serial ${e.serial}` : ''})`
    : `s3://${e.bucket}/${e.key} (named by ${e.via})`
}

/** The document of a found state (read before a migration, to check it arrived). */
export async function snapshotOf(
  e: StateElsewhere,
  config: Config,
  s3: S3Client
): Promise<StateDoc | undefined> {
  if (e.kind === 'local') return readLocalState(path.join(config.workspace, e.file))
  return readState(s3, e.bucket, e.key)
}

/**
 * Whether two states hold the same resources (addresses, instance keys, attributes) and outputs.
 * Lineage and serial are not compared: Terraform 1.11 gives a state it migrates into an empty S3 key a
 * new lineage and starts its serial again (seen with both init -migrate-state and state push).
 */
export function sameContent(a: StateDoc | undefined, b: StateDoc | undefined): boolean {
  if (!a || !b) return false
  const canonical = (doc: StateDoc): string =>
    stableJson({
      resources: (doc.resources ?? [])
        .map(r => {
          const res = r as Record<string, unknown>
          const instances = (Array.isArray(res.instances) ? res.instances : []) as Array<
            Record<string, unknown>
          >
          return {
            address: [res.module ?? '', res.mode, res.type, res.name].join('|'),
            instances: instances.map(i => ({ key: i.index_key ?? null, attributes: i.attributes }))
          }
        })
        .sort((x, y) => (x.address < y.address ? -1 : x.address > y.address ? 1 : 0)),
      outputs: (doc as { outputs?: unknown }).outputs ?? {}
    })
  return canonical(a) === canonical(b)
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

export type { BackendBlock }
