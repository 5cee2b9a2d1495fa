import * as core from '@actions/core'
import type { BackendReport } from '../backend/backend'
import { recordOwner, type IdentityCheck } from '../backend/identity'
import { describeElsewhere, type StateElsewhere } from '../backend/state-elsewhere'
import { expectBucketOwner, type AwsClients } from '../aws/clients'
import { fingerprintKey, type FingerprintKey } from '../backend/fingerprint-key'
import type { Config } from '../inputs'
import { backendSection, outputsSection, type RunReport } from '../report/publish'
import type { PrivateDir } from '../terraform/private-dir'
import type { ModuleConfig } from '../root-module'
import { planSummaryLine } from '../terraform/plan'
import { checkDrift, nothingDeployed } from '../drift/check'
import type { StackGate } from '../stacks/outcome'
import { releaseLock } from '../unlock/unlock'
import { backendSettings, type Terraform, type TerraformOutputs } from '../terraform/runner'
import {
  stateBackend,
  stateElsewhere,
  stateGuard,
  stateIdentity,
  migrateState,
  withLocalStateAside
} from './state'
import { applyPlan, guard, planStack, requireReviewed, terraformFor } from './terraform-steps'
import { frontend, healthChecks } from './site'

/** What every stage of one deploy works with. */
export interface DeployRun {
  config: Config
  report: RunReport
  privateDir: PrivateDir
  gate: StackGate
  module: ModuleConfig
  /** Clients in the stack's region (the site bucket, CloudFront). */
  clients: AwsClients
  /** Clients in the state backend's region. */
  backendClients: AwsClients
}

/** The state the backend stage found: where it lives and how Terraform is to be initialised. */
export interface StateFound {
  backend: BackendReport
  identity: IdentityCheck
  stateFound: boolean
  migrateFrom?: StateElsewhere
}

/** unlock mode: reads the lock and releases it only when it is lock-id; creates nothing. */
export async function unlockStage(run: DeployRun): Promise<void> {
  const { config, module, privateDir } = run
  await run.report.phase('Unlock', () =>
    releaseLock(config, run.backendClients, async ({ bucket }) => {
      const tf = await terraformFor(config, module, privateDir)
      await tf.init(
        backendSettings(config, {
          bucket,
          table: config.lockTable,
          key: config.stateKey,
          region: config.backendRegion
        })
      )
      return tf
    })
  )
}

/**
 * The backend stage: the state backend (created unless this run changes nothing), the stacks it
 * waits for, then where the stack's state is. Undefined when there is nothing to plan against.
 */
export async function backendStage(run: DeployRun): Promise<StateFound | undefined> {
  const { config, report, backendClients } = run
  // Drift mode changes nothing: a missing backend is reported, as in a dry run, not created.
  const drift = config.mode === 'drift'
  const backend = await report.phase('State backend', () =>
    stateBackend(
      { ...config, region: config.backendRegion, dryRun: config.dryRun || drift },
      backendClients
    )
  )
  // The site bucket too must belong to the account of the credentials.
  expectBucketOwner(run.clients.s3, backend.account)
  run.gate.attach(backendClients.s3, backend.bucket)
  if (run.gate.active) await report.phase('Dependencies', () => run.gate.check())
  if (backend.missing) {
    report.addSection('State backend', backendSection(backend), { fold: true })
    if (drift)
      nothingDeployed(
        report,
        `the state backend does not exist yet (${backend.wouldCreate.join(' and ')})`
      )
    else
      core.notice(
        `Dry run: the state backend does not exist yet (${backend.wouldCreate.join(' and ')}); a real run creates it. Nothing to plan against.`
      )
    return undefined
  }

  let keyRead: Promise<FingerprintKey> | undefined
  report.fingerprintKey = () =>
    (keyRead ??= fingerprintKey({
      s3: backendClients.s3,
      bucket: backend.bucket,
      stateKey: backend.key,
      create: !config.dryRun
    }))
  return stateStage(run, backend)
}

/** Whose state the key holds, whether it is there (or lost), and whether it lives elsewhere. */
async function stateStage(run: DeployRun, backend: BackendReport): Promise<StateFound | undefined> {
  const { config, report, backendClients } = run
  const drift = config.mode === 'drift'
  const identity = await report.phase('State identity', () =>
    stateIdentity(config, backendClients, backend, run.module)
  )
  report.addSection('State backend', backendSection(backend), { fold: true })

  // Before init: Terraform's own init already fails on a state whose digest does not match, with a
  // message that does not say what happened; the guard does, and says how to restore.
  let stateFound = false
  if (config.mode !== 'frontend' && !backend.bucketCreated) {
    stateFound = await report.phase('State-loss guard', () =>
      stateGuard(drift ? { ...config, allowFreshState: false } : config, backendClients, backend)
    )
  }
  if (drift && !stateFound) {
    nothingDeployed(report, `there is no state at s3://${backend.bucket}/${backend.key}`)
    return undefined
  }
  // A new key: the stack's state may still live somewhere else (where planning from empty state
  // would create every resource again).
  let migrateFrom: StateElsewhere | undefined
  if (config.mode !== 'frontend' && !stateFound) {
    migrateFrom = await report.phase('State elsewhere', () =>
      stateElsewhere(config, backendClients, backend)
    )
    if (migrateFrom && config.dryRun) {
      core.notice(
        `Dry run: the state at ${describeElsewhere(migrateFrom)} would be migrated to s3://${backend.bucket}/${backend.key} (migrate-state: true); nothing was planned.`
      )
      return undefined
    }
  }
  return { backend, identity, stateFound, ...(migrateFrom && { migrateFrom }) }
}

/** Terraform init against the backend: migrating the state found elsewhere, if any. */
export async function initStage(run: DeployRun, state: StateFound): Promise<Terraform> {
  const { config, privateDir, backendClients } = run
  const { backend, migrateFrom } = state
  return run.report.phase('Terraform init', async () => {
    const tf = await terraformFor(config, run.module, privateDir)
    const settings = backendSettings(config, {
      bucket: backend.bucket,
      table: backend.table,
      key: backend.key,
      region: backend.region
    })
    if (migrateFrom) {
      await migrateState(config, tf, settings, migrateFrom, backendClients, privateDir)
      state.identity.needsRecord = false
    } else if (state.stateFound) {
      // A local state file left in the checkout (committed before the state moved to S3) makes
      // init ask to migrate it, which cannot be answered here: the backend's state is the truth.
      await withLocalStateAside(config, () => tf.init(settings))
    } else {
      await tf.init(settings)
    }
    return tf
  })
}

/**
 * The terraform stage after init: the stack's outputs (frontend mode), or plan, guard and apply.
 * Returns the outputs the site stage deploys with; undefined when nothing follows.
 */
export async function terraformStage(
  run: DeployRun,
  state: StateFound,
  terraform: Terraform
): Promise<TerraformOutputs | undefined> {
  const { config, report } = run
  if (config.mode === 'drift') {
    await checkDrift(config, terraform, report)
    return undefined
  }
  if (config.mode === 'frontend')
    return report.phase('Terraform outputs', () => terraform.outputs())
  const plan = await report.phase('Terraform plan', () => planStack(config, terraform, report))
  // Protected resources the plan deletes or replaces: flagged on every plan, refused before an
  // apply unless allowed.
  const applying = config.mode !== 'plan' && !config.dryRun
  await report.phase('Protected resources', () => guard(config, plan, report, applying))
  if (config.mode === 'plan') {
    report.skip('Terraform apply')
    return undefined
  }
  if (config.dryRun) {
    report.skip('Terraform apply')
    core.notice(`Dry run: planned only (${planSummaryLine(plan.summary)}); nothing applied.`)
    // The sync is computed against the outputs the stack has now.
    return config.mode === 'deploy' ? terraform.outputs() : undefined
  }
  if (config.requireReviewedPlan && plan.changes) {
    await report.phase('Reviewed plan', () => requireReviewed(config, plan, report))
  }
  // This run writes the state: the key becomes this root module's.
  if (state.identity.needsRecord)
    await recordOwner(config, run.backendClients.s3, state.backend.bucket)
  const outputs = await report.phase('Terraform apply', () =>
    applyPlan(config, terraform, plan, report)
  )
  report.addSection('Outputs', outputsSection(outputs.all))
  return outputs
}

/** The site stage: the frontend (deploy and frontend modes) and the health checks. */
export async function siteStage(
  run: DeployRun,
  backend: BackendReport,
  outputs: TerraformOutputs
): Promise<void> {
  const { config, report } = run
  if (config.mode === 'deploy' || config.mode === 'frontend') {
    await report.phase('Frontend', () =>
      frontend(config, run.clients, outputs.nonSensitive, report, {
        s3: run.backendClients.s3,
        bucket: backend.bucket,
        stateKey: backend.key
      })
    )
  }
  if (!config.dryRun && config.healthChecks.length > 0) {
    await report.phase('Health checks', () => healthChecks(config, outputs.nonSensitive, report))
  }
}
