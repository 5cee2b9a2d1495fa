/**
 * The state steps of a deploy: the backend (created when missing), the key's identity, the state-loss
 * guard, state found elsewhere and its migration, and init with local state files set aside.
 */
import * as core from '@actions/core'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { checkStateLoss } from '../backend/guard'
import { ensureBackend, type BackendReport } from '../backend/backend'
import { checkStateIdentity, recordOwner, type IdentityCheck } from '../backend/identity'
import {
  describeElsewhere,
  findStateElsewhere,
  sameContent,
  snapshotOf,
  type StateElsewhere
} from '../backend/state-elsewhere'
import { readState } from '../backend/state-objects'
import type { AwsClients } from '../aws/clients'
import { DeployError } from '../errors'
import type { Config } from '../inputs'
import { carryBackendRecord, type PrivateDir } from '../terraform/private-dir'
import type { ModuleConfig } from '../root-module'
import type { BackendSettings, Terraform } from '../terraform/runner'

export async function stateBackend(config: Config, clients: AwsClients): Promise<BackendReport> {
  const backend = await ensureBackend(config, clients)
  core.setOutput('state-bucket', backend.bucket)
  core.setOutput('lock-table', backend.table)
  core.setOutput('backend-created', String(backend.bucketCreated || backend.tableCreated))
  for (const warning of backend.warnings) core.warning(warning)
  return backend
}

export async function stateIdentity(
  config: Config,
  clients: AwsClients,
  backend: BackendReport,
  module: ModuleConfig
): Promise<IdentityCheck> {
  if (backend.bucketCreated) return { needsRecord: true, notes: [] }
  const identity = await checkStateIdentity(config, clients.s3, backend.bucket, module)
  for (const note of identity.notes) core.notice(note)
  backend.key = config.stateKey
  return identity
}

export async function stateElsewhere(
  config: Config,
  clients: AwsClients,
  backend: BackendReport
): Promise<StateElsewhere | undefined> {
  const found = await findStateElsewhere(config, clients, backend.bucket)
  if (found.length === 0) return undefined
  const where = found.map(describeElsewhere).join(' and ')
  const target = `s3://${backend.bucket}/${backend.key}`
  if (!config.migrateState) {
    throw new DeployError(
      `No state at ${target} yet, but this stack's state was found at ${where}; planning from empty state would create every resource again, so nothing was planned. Set migrate-state: true to carry it into ${target} with Terraform's own migration, or point state-bucket/state-key at it.`
    )
  }
  if (found.length > 1) {
    throw new DeployError(
      `migrate-state: more than one earlier state was found (${where}); nothing was migrated. Remove the stale one, or point state-bucket/state-key at the one to keep.`
    )
  }
  return found[0]
}

/** Run `init` with local state files moved out of Terraform's sight (and back afterwards). */
export async function withLocalStateAside<T>(config: Config, init: () => Promise<T>): Promise<T> {
  const moved: Array<[string, string]> = []
  for (const name of ['terraform.tfstate', 'terraform.tfstate.d']) {
    const file = path.join(config.workingDirectory, name)
    if (!fs.existsSync(file) || (fs.statSync(file).isFile() && fs.statSync(file).size === 0))
      continue
    const aside = `${file}.revive-deploy-${process.pid}`
    fs.renameSync(file, aside)
    moved.push([aside, file])
    core.warning(
      `${path.posix.join(config.workingDirectoryInput, name)} is in the checkout, but this stack's state is in the S3 backend: Terraform does not read it. Remove it from the repository.`
    )
  }
  try {
    return await init()
  } finally {
    for (const [aside, file] of moved) fs.renameSync(aside, file)
  }
}

/** Carry the state found elsewhere into the backend with Terraform's migration, and check it arrived. */
export async function migrateState(
  config: Config,
  terraform: Terraform,
  settings: BackendSettings,
  from: StateElsewhere,
  clients: AwsClients,
  privateDir: PrivateDir
): Promise<void> {
  const before = await snapshotOf(from, config, clients.s3)
  if (from.kind === 's3' && from.recordedIn !== undefined) {
    // Terraform migrates from the backend its data directory records: the record the user's own runs
    // left is copied into this run's private data directory.
    carryBackendRecord(from.recordedIn, privateDir)
  } else if (from.kind === 's3') {
    // Terraform migrates from the backend it used last: initialise against the old location first.
    await terraform.init({
      ...settings,
      bucket: from.bucket,
      key: from.key,
      region: from.region ?? settings.region,
      table: from.table ?? settings.table
    })
  }
  await terraform.init(settings, true)
  const after = await readState(clients.s3, settings.bucket, settings.key)
  if (!after || !sameContent(before, after)) {
    throw new DeployError(
      `migrate-state: after the migration s3://${settings.bucket}/${settings.key} does not hold the resources and outputs of ${describeElsewhere(from)} (${after ? `${after.resources?.length ?? 0} resources` : 'no state'}); nothing was planned. Compare the two states before re-running; the source was left as it was.`
    )
  }
  await recordOwner(config, clients.s3, settings.bucket)
  core.notice(
    `Migrated the state of ${describeElsewhere(from)} to s3://${settings.bucket}/${settings.key}: the same ${after.resources?.length ?? 0} resources and outputs (Terraform gave it lineage ${after.lineage ?? 'none'}, serial ${after.serial ?? 'none'}); later runs need no migrate-state.`
  )
}

export async function stateGuard(
  config: Config,
  clients: AwsClients,
  backend: BackendReport
): Promise<boolean> {
  const result = await checkStateLoss(
    {
      bucket: backend.bucket,
      key: backend.key,
      table: backend.table || undefined,
      region: backend.region
    },
    clients,
    config.allowFreshState
  )
  if (result.allowed) {
    core.warning(
      `State-loss guard: the state is missing but ${result.evidence.join(' and ')}; planning from empty state because allow-fresh-state is true (a stale digest was removed; earlier versions stay in the bucket).`
    )
  } else if (!result.stateFound) {
    core.info(`No state yet at s3://${backend.bucket}/${backend.key}: a new stack`)
  }
  return result.stateFound
}
