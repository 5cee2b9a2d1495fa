import * as core from '@actions/core'
import { lockHolder } from './unlock/unlock'
import { settleBackendBlock } from './backend/backend-block'
import { createClients } from './aws/clients'
import { cancellation, installCancellation } from './process'
import { DeployError, errorMessage } from './errors'
import { readConfig, type Config } from './inputs'
import { RunReport } from './report/publish'
import { terraformEnvProblem } from './terraform/cli'
import { createPrivateDir, type PrivateDir } from './terraform/private-dir'
import { readModuleConfig } from './root-module'
import { StackGate } from './stacks/outcome'
import { runStackMode } from './stacks/run'
import { TerraformError } from './terraform/runner'
import { inputsFromEnv } from './input-reader'
import {
  backendStage,
  initStage,
  siteStage,
  terraformStage,
  unlockStage,
  type DeployRun
} from './deploy/stages'
import { failureText } from './deploy/terraform-steps'

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

/**
 * One deploy in stages (src/deploy/): the state backend and the stack's state → Terraform init →
 * plan, guard and apply (or the drift check, or the outputs in frontend mode) → the site (frontend
 * and health checks). Each stage records its phases in the report; a stage that leaves nothing to
 * do ends the deploy.
 */
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
  const run: DeployRun = { config, report, privateDir, gate, module, clients, backendClients }
  if (config.mode === 'unlock') return unlockStage(run)

  const state = await backendStage(run)
  if (!state) return
  const terraform = await initStage(run, state)
  const outputs = await terraformStage(run, state, terraform)
  if (!outputs) return
  core.setOutput('terraform-outputs', JSON.stringify(outputs.nonSensitive))
  await siteStage(run, state.backend, outputs)
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
