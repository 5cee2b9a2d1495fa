/**
 * State identity: that the state a root module plans against is this module's.
 *
 * A state key belongs to one root module: an ownership record next to the state names the
 * repository and working directory; another module is refused on it. A state without a record
 * (written before records existed) must share resources with the module to be taken for its own.
 * (The backend block is settled in backend-block.ts; state found elsewhere in state-elsewhere.ts.)
 */
import * as path from 'node:path'
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { DeployError } from '../errors'
import type { Config } from '../inputs'
import type { ModuleConfig } from '../root-module'
import { objectExists, readObject, readState, type StateDoc } from './state-objects'

/** The object next to the state that names the root module owning the key. */
export const OWNER_SUFFIX = '.revive-deploy-owner.json'

export interface StateOwner {
  repository: string
  workingDirectory: string
  recordedAt?: string
}

export interface IdentityCheck {
  /** The ownership record is missing: write it when this run first writes state. */
  needsRecord: boolean
  /** Log lines (adoption of the first version's key, ...). */
  notes: string[]
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
