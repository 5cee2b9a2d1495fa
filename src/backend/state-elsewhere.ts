/**
 * Before the first plan against a key that does not exist yet, the stack's state is looked for
 * elsewhere (a local terraform.tfstate, the data directory's backend, the default-named bucket):
 * found, the run stops, or with migrate-state carries it over with Terraform's own migration.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { S3Client } from '@aws-sdk/client-s3'
import type { STSClient } from '@aws-sdk/client-sts'
import type { Config } from '../inputs'
import { resolveBucketName } from './backend'
import { objectExists, readState, type StateDoc } from './state-objects'

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
  return [
    ...localStates(config),
    ...recordedBackendState(config, bucket),
    ...(await defaultBucketState(config, clients, bucket))
  ]
}

/** terraform.tfstate in the working directory and its local workspaces, when they hold resources. */
function localStates(config: Config): StateElsewhere[] {
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
  return found
}

/** The S3 backend recorded in the data directory, when it names another bucket. */
function recordedBackendState(config: Config, bucket: string): StateElsewhere[] {
  const dir = config.workingDirectory
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
      return [
        {
          kind: 's3',
          bucket: b,
          key: k,
          ...(typeof recorded.config.region === 'string' && { region: recorded.config.region }),
          ...(typeof recorded.config.dynamodb_table === 'string' && {
            table: recorded.config.dynamodb_table
          }),
          via: `${path.relative(config.workspace, dataDir).split(path.sep).join('/')}/terraform.tfstate`,
          recordedIn: recordFile
        }
      ]
    }
  }
  return []
}

/** The same key in the default-named bucket, when the state bucket is another one. */
async function defaultBucketState(
  config: Config,
  clients: { s3: S3Client; sts: STSClient },
  bucket: string
): Promise<StateElsewhere[]> {
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
        return [
          {
            kind: 's3',
            bucket: defaultBucket,
            key: config.stateKey,
            region: config.region,
            table: config.lockTable,
            via: 'the default bucket name'
          }
        ]
      }
    }
  }
  return []
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
