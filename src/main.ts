import * as core from '@actions/core'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { checkStateLoss } from './backend/guard'
import { ensureBackend, type BackendReport } from './backend/backend'
import { checkLockSupport, lockHolder, releaseLock } from './unlock/unlock'
import {
  checkStateIdentity,
  describeElsewhere,
  findStateElsewhere,
  sameContent,
  snapshotOf,
  readState,
  recordOwner,
  settleBackendBlock,
  type IdentityCheck,
  type StateElsewhere
} from './backend/identity'
import { createClients, expectBucketOwner, type AwsClients } from './aws/clients'
import { cancellation, installCancellation } from './process'
import { DeployError, errorMessage } from './errors'
import { deployFrontend } from './frontend/deploy'
import type { ManifestLocation } from './frontend/site-manifest'
import { HealthCheckError, runHealthChecks } from './health/health'
import { fingerprintKey, type FingerprintKey } from './backend/fingerprint-key'
import { readConfig, type Config } from './inputs'
import { backendSection, outputsSection, publishPlanOutputs, RunReport } from './report/publish'
import { planFingerprint, type Fingerprint } from './terraform/fingerprint'
import { terraformEnvProblem } from './terraform/cli'
import { locateTerraform } from './terraform/install'
import { carryBackendRecord, createPrivateDir, type PrivateDir } from './terraform/private-dir'
import { readModuleConfig, type ModuleConfig } from './root-module'
import { readVersionRequirement, type VersionRequirement } from './terraform/version-requirement'
import { planSummaryLine } from './terraform/plan'
import { guardProtected } from './terraform/protection'
import { checkReviewedPlan } from './terraform/reviewed-plan'
import { checkDrift, nothingDeployed } from './drift/check'
import { StackGate } from './stacks/outcome'
import { runStackMode } from './stacks/run'
import {
  backendSettings,
  Terraform,
  type BackendSettings,
  TerraformError,
  type PlanResult,
  type TerraformOutputs
} from './terraform/runner'
import { renderFrontendSection } from './report/frontend'
import { renderHealthSection } from './report/health'
import { FrontendError, type FrontendResult } from './frontend/result'
import { inputsFromEnv } from './input-reader'

/**
 * The deploy, as a table of contents: read inputs → state backend → terraform (init, guard, plan,
 * apply) → frontend (build, sync, invalidate) → health checks → report (job summary, PR comment).
 */
export async function run(): Promise<void> {
  const mode = inputsFromEnv()('mode').toLowerCase()
  if (mode === 'stacks' || mode === 'overview') return runStackMode(mode)
  let config: Config
  try {
    config = readConfig(inputsFromEnv())
  } catch (error) {
    core.setFailed(errorMessage(error))
    return
  }
  if (config.githubToken) core.setSecret(config.githubToken)
  core.setOutput('mode', config.mode)
  logConfig(config)

  const report = new RunReport(config)
  installCancellation(signal =>
    core.info(
      `Received ${signal}: the run is being cancelled; a running Terraform gets one SIGINT so it can write its state and release the lock`
    )
  )
  // Terraform's data directory and the saved plan live in a private directory for this run only.
  let privateDir: PrivateDir | undefined
  // A stack of a stacks file: applied only after its dependencies, its outcome recorded for the next.
  const gate = new StackGate(
    config.stack,
    (config.mode === 'apply' || config.mode === 'deploy') && !config.dryRun,
    config.context.runId,
    config.context.sha
  )
  let succeeded = false
  try {
    privateDir = createPrivateDir()
    await deploy(config, report, privateDir, gate)
    succeeded = true
  } catch (error) {
    const cancelled = cancellation()
    if (cancelled) {
      const during = report.cancelledDuring ?? 'the run'
      report.note = `Cancelled during ${during} (${cancelled.signal}).`
      core.setFailed(
        `The run was cancelled (${cancelled.signal}) during ${during}; ${/^Terraform/.test(during) ? 'Terraform was stopped with one SIGINT, so it wrote what it had done to the state and released the lock. ' : ''}Re-run to finish the deploy.`
      )
    } else {
      if (error instanceof TerraformError && error.lock)
        core.setOutput('lock-holder', lockHolder(error.lock))
      core.setFailed(errorMessage(error))
      report.recordFailure(
        error instanceof TerraformError ? failureText(error) : errorMessage(error)
      )
    }
  } finally {
    // Every child has ended by now (a cancelled Terraform was waited for), so nothing writes there.
    removePrivateDir(privateDir)
    await gate.record(succeeded, message => core.warning(message))
    await publish(report)
  }
}

function removePrivateDir(dir: PrivateDir | undefined): void {
  try {
    dir?.remove()
  } catch (error) {
    core.warning(
      `Could not remove the run's Terraform directory ${dir?.root ?? ''} (it holds the saved plan and the backend settings): ${errorMessage(error)}; delete it`
    )
  }
}

async function deploy(
  config: Config,
  report: RunReport,
  privateDir: PrivateDir,
  gate: StackGate
): Promise<void> {
  // The backend block is read before anything else: an input that contradicts it, or a backend that
  // is not S3, fails here, before any AWS call or init.
  const envProblem = terraformEnvProblem()
  if (envProblem) throw new DeployError(envProblem)
  const module = readModuleConfig(config.workingDirectory)
  for (const note of settleBackendBlock(config, module).notes) core.info(`State: ${note}`)
  const clients = createClients(config.region)
  const backendClients =
    config.backendRegion === config.region ? clients : createClients(config.backendRegion)
  if (config.mode === 'unlock') {
    // Reads the lock and releases it only when it is lock-id; creates nothing.
    await report.phase('Unlock', () =>
      releaseLock(config, backendClients, async ({ bucket }) => {
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
    return
  }

  // Drift mode changes nothing: a missing backend is reported, as in a dry run, not created.
  const drift = config.mode === 'drift'
  const backend = await report.phase('State backend', () =>
    stateBackend(
      { ...config, region: config.backendRegion, dryRun: config.dryRun || drift },
      backendClients
    )
  )
  // The site bucket too must belong to the account of the credentials.
  expectBucketOwner(clients.s3, backend.account)
  gate.attach(backendClients.s3, backend.bucket)
  if (gate.active) await report.phase('Dependencies', () => gate.check())
  if (backend.missing) {
    report.addSection('State backend', backendSection(backend), { fold: true })
    if (drift)
      return nothingDeployed(
        report,
        `the state backend does not exist yet (${backend.wouldCreate.join(' and ')})`
      )
    core.notice(
      `Dry run: the state backend does not exist yet (${backend.wouldCreate.join(' and ')}); a real run creates it. Nothing to plan against.`
    )
    return
  }

  let keyRead: Promise<FingerprintKey> | undefined
  report.fingerprintKey = () =>
    (keyRead ??= fingerprintKey({
      s3: backendClients.s3,
      bucket: backend.bucket,
      stateKey: backend.key,
      create: !config.dryRun
    }))

  const identity = await report.phase('State identity', () =>
    stateIdentity(config, backendClients, backend, module)
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
  if (drift && !stateFound)
    return nothingDeployed(report, `there is no state at s3://${backend.bucket}/${backend.key}`)
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
      return
    }
  }

  const terraform = await report.phase('Terraform init', async () => {
    const tf = await terraformFor(config, module, privateDir)
    const settings = backendSettings(config, {
      bucket: backend.bucket,
      table: backend.table,
      key: backend.key,
      region: backend.region
    })
    if (migrateFrom) {
      await migrateState(config, tf, settings, migrateFrom, backendClients, privateDir)
      identity.needsRecord = false
    } else if (stateFound) {
      // A local state file left in the checkout (committed before the state moved to S3) makes
      // init ask to migrate it, which cannot be answered here: the backend's state is the truth.
      await withLocalStateAside(config, () => tf.init(settings))
    } else {
      await tf.init(settings)
    }
    return tf
  })

  if (drift) {
    await checkDrift(config, terraform, report)
    return
  }
  let outputs: TerraformOutputs | undefined
  if (config.mode === 'frontend') {
    outputs = await report.phase('Terraform outputs', () => terraform.outputs())
  } else {
    const plan = await report.phase('Terraform plan', () => planStack(config, terraform, report))
    // Protected resources the plan deletes or replaces: flagged on every plan, refused before an
    // apply unless allowed.
    const applying = config.mode !== 'plan' && !config.dryRun
    await report.phase('Protected resources', () => guard(config, plan, report, applying))
    if (config.mode === 'plan') {
      report.skip('Terraform apply')
      return
    }
    if (config.dryRun) {
      report.skip('Terraform apply')
      core.notice(`Dry run: planned only (${planSummaryLine(plan.summary)}); nothing applied.`)
      // The sync is computed against the outputs the stack has now.
      if (config.mode === 'deploy') outputs = await terraform.outputs()
    } else {
      if (config.requireReviewedPlan && plan.changes) {
        await report.phase('Reviewed plan', () => requireReviewed(config, plan, report))
      }
      // This run writes the state: the key becomes this root module's.
      if (identity.needsRecord) await recordOwner(config, backendClients.s3, backend.bucket)
      outputs = await report.phase('Terraform apply', () =>
        applyPlan(config, terraform, plan, report)
      )
      report.addSection('Outputs', outputsSection(outputs.all))
    }
  }
  if (outputs) core.setOutput('terraform-outputs', JSON.stringify(outputs.nonSensitive))

  if (outputs && (config.mode === 'deploy' || config.mode === 'frontend')) {
    await report.phase('Frontend', () =>
      frontend(config, clients, outputs.nonSensitive, report, {
        s3: backendClients.s3,
        bucket: backend.bucket,
        stateKey: backend.key
      })
    )
  }
  if (outputs && !config.dryRun && config.healthChecks.length > 0) {
    await report.phase('Health checks', () => healthChecks(config, outputs.nonSensitive, report))
  }
}

/** The Terraform the module accepts, with this run's private data directory. */
async function terraformFor(
  config: Config,
  module: ModuleConfig,
  privateDir: PrivateDir
): Promise<Terraform> {
  const installation = await locateTerraform(config, versionRequirement(config, module))
  checkLockSupport(config.lock, installation.version)
  if (process.env.TF_DATA_DIR) {
    core.info(
      'TF_DATA_DIR is set: it is read to find earlier state, but Terraform runs with a private data directory of its own (removed after the run)'
    )
  }
  return Terraform.fromConfig(config, installation.bin, {
    env: { TF_DATA_DIR: privateDir.dataDir },
    planFile: privateDir.planFile
  })
}

async function frontend(
  config: Config,
  clients: AwsClients,
  outputs: Record<string, unknown>,
  report: RunReport,
  manifest: ManifestLocation
): Promise<void> {
  const publish = (result: FrontendResult): void => {
    core.setOutput('uploaded', String(result.uploaded))
    core.setOutput('deleted', String(result.deleted))
    core.setOutput('unchanged', String(result.unchanged))
    core.setOutput('invalidation-id', result.invalidation?.id ?? '')
    core.setOutput('headers-updated', String(result.headersUpdated))
    core.setOutput('kept-removed', String(result.keptRemoved.length))
    report.addSection('Frontend', renderFrontendSection(result))
  }
  try {
    const result = await deployFrontend(config, outputs, clients, {
      stateBucket: manifest.bucket,
      manifest
    })
    if (result.skipped) core.notice(`Frontend: ${result.skipped}`)
    for (const warning of result.warnings) core.warning(warning)
    publish(result)
  } catch (error) {
    if (error instanceof FrontendError) publish(error.result)
    else if (config.dryRun) {
      // A dry run on a stack that does not exist yet cannot know its bucket: say so, fail nothing.
      core.notice(`Dry run: the frontend sync could not be computed: ${errorMessage(error)}`)
      return
    }
    throw error
  }
}

async function healthChecks(
  config: Config,
  outputs: Record<string, unknown>,
  report: RunReport
): Promise<void> {
  try {
    const results = await runHealthChecks(config, outputs)
    report.addSection('Health checks', renderHealthSection(results))
  } catch (error) {
    if (error instanceof HealthCheckError)
      report.addSection('Health checks', renderHealthSection(error.results))
    throw error
  }
}

async function stateBackend(config: Config, clients: AwsClients): Promise<BackendReport> {
  return core.group('State backend', async () => {
    const backend = await ensureBackend(config, clients)
    core.setOutput('state-bucket', backend.bucket)
    core.setOutput('lock-table', backend.table)
    core.setOutput('backend-created', String(backend.bucketCreated || backend.tableCreated))
    for (const warning of backend.warnings) core.warning(warning)
    return backend
  })
}

/** The Terraform versions the root module accepts (required_version, version files). */
function versionRequirement(config: Config, module: ModuleConfig): VersionRequirement {
  return readVersionRequirement(
    module.requiredVersions.map(r => ({
      text: r.text,
      source: `${path.posix.join(config.workingDirectoryInput, r.file)} line ${r.line}`
    })),
    config.workingDirectory,
    config.workspace
  )
}

async function stateIdentity(
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

async function stateElsewhere(
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
async function withLocalStateAside<T>(config: Config, init: () => Promise<T>): Promise<T> {
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
async function migrateState(
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

async function stateGuard(
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

async function planStack(
  config: Config,
  terraform: Terraform,
  report: RunReport
): Promise<PlanResult> {
  try {
    const plan = await terraform.plan()
    report.secrets.push(...plan.secrets)
    report.summary = plan.summary
    report.planText = plan.text
    // On a pull request, the comment keeps the fingerprint of the plan the reviewers see.
    if (config.context.pullRequest !== undefined) {
      const fingerprint = await fingerprintOf(config, plan, report)
      if (fingerprint) report.fingerprint = fingerprint
    }
    publishPlanOutputs(plan)
    core.info(`Plan: ${planSummaryLine(plan.summary)}`)
    return plan
  } catch (error) {
    report.planError = error instanceof TerraformError ? failureText(error) : errorMessage(error)
    throw error
  }
}

/** Plans to try when another run applied between our plan and our apply (a stale saved plan). */
const STALE_PLAN_ATTEMPTS = 3

async function applyPlan(
  config: Config,
  terraform: Terraform,
  first: PlanResult,
  report: RunReport
): Promise<TerraformOutputs> {
  const started = Date.now()
  let plan = first
  for (let attempt = 1; ; attempt++) {
    if (!plan.changes) {
      report.apply = { status: 'not-run', seconds: 0 }
      core.info('No changes: nothing to apply')
      return terraform.outputs()
    }
    try {
      const result = await terraform.apply(plan.planFile)
      report.apply = { status: 'applied', seconds: (Date.now() - started) / 1000 }
      return result.outputs
    } catch (error) {
      if (isStalePlan(error) && attempt < STALE_PLAN_ATTEMPTS) {
        // Another run applied after this plan was made: Terraform refuses the saved plan, rightly.
        // Plan again against the new state and apply that (often it has nothing left to do).
        core.info(
          'The state changed since this plan was made (another run applied); planning again'
        )
        plan = await planStack(config, terraform, report)
        await guard(config, plan, report, true)
        if (config.requireReviewedPlan && plan.changes) await requireReviewed(config, plan, report)
        continue
      }
      report.apply = {
        status: 'failed',
        seconds: (Date.now() - started) / 1000,
        error: error instanceof TerraformError ? failureText(error) : errorMessage(error)
      }
      throw error
    }
  }
}

/** The plan's fingerprint under the stack's key, or undefined (and a warning) when there is no key. */
async function fingerprintOf(
  config: Config,
  plan: PlanResult,
  report: RunReport
): Promise<Fingerprint | undefined> {
  const key = await report.fingerprintKey?.()
  if (!key?.key) {
    core.warning(
      `No reviewed-plan fingerprint: ${key?.problem ?? 'no state bucket'}; require-reviewed-plan cannot match this plan`
    )
    return undefined
  }
  return planFingerprint(
    plan.effect,
    { workingDirectory: config.workingDirectoryInput, stateKey: config.stateKey },
    key.key,
    config.context.sha
  )
}

/** The protected-resource guard, recorded in the report; a refusal stops the run before apply. */
async function guard(
  config: Config,
  plan: PlanResult,
  report: RunReport,
  applying: boolean
): Promise<void> {
  const result = await guardProtected(config, plan.summary, report.stack, applying)
  report.protectedChanges = result.changes
  if (result.reviewPr) report.reviewPr ??= result.reviewPr
  if (result.refusal) throw new DeployError(result.refusal)
}

/**
 * require-reviewed-plan: apply only when this plan's effect equals the one shown on the pull request
 * the commit came from. Otherwise nothing is applied, the step fails with the difference, and the
 * pull request's comment says why.
 */
async function requireReviewed(config: Config, plan: PlanResult, report: RunReport): Promise<void> {
  const current = await fingerprintOf(config, plan, report)
  const result = await checkReviewedPlan(config, report.stack, current)
  if (result.pr) report.reviewPr = result.pr
  if (result.fingerprint) report.fingerprint = result.fingerprint
  if (result.note) report.note = result.note
  if (result.noteLink) report.noteLink = result.noteLink
  if (result.refusal)
    throw new DeployError(`require-reviewed-plan: ${result.refusal} Nothing was applied.`)
}

function isStalePlan(error: unknown): boolean {
  return (
    error instanceof TerraformError &&
    error.diagnostics.some(d => /Saved plan is stale/i.test(d.summary))
  )
}

/** The failure line and Terraform's diagnostics, for the report. */
function failureText(error: TerraformError): string {
  const details = error.diagnostics.map(d => d.text).join('\n\n')
  return details ? `${error.message}\n\n${details}` : error.message
}

async function publish(report: RunReport): Promise<void> {
  try {
    await report.writeSummary()
  } catch (error) {
    core.warning(`Could not write the job summary: ${errorMessage(error)}`)
  }
  await report.writeComment()
}

function logConfig(config: Config): void {
  // Values of variables and backend settings can be secrets: only their names are logged.
  // The signing key is public, but a whole armored block in one line says nothing: only that it is set.
  const {
    githubToken: _token,
    context,
    variables,
    backendConfig,
    terraformSigningKey,
    ...rest
  } = config
  const names = {
    variables: variables.map(v => v.key),
    backendConfig: backendConfig.map(b => b.key),
    ...(terraformSigningKey !== undefined && { terraformSigningKey: '(given)' })
  }
  core.debug(`configuration: ${JSON.stringify({ ...rest, ...names, event: context.eventName })}`)
  core.info(
    `revive-deploy: mode ${config.mode}${config.requestedMode === 'auto' ? ` (auto, event ${context.eventName})` : ''}, region ${config.region}, working directory ${config.workingDirectoryInput}`
  )
}
