/** The site steps of a deploy: the frontend (build, sync, invalidate) and the health checks. */
import * as core from '@actions/core'
import type { AwsClients } from '../aws/clients'
import { errorMessage } from '../errors'
import { deployFrontend } from '../frontend/deploy'
import type { ManifestLocation } from '../frontend/site-manifest'
import { FrontendError, type FrontendResult } from '../frontend/result'
import { HealthCheckError, runHealthChecks } from '../health/health'
import type { Config } from '../inputs'
import { renderFrontendSection } from '../report/frontend'
import { renderHealthSection } from '../report/health'
import type { RunReport } from '../report/publish'

export async function frontend(
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

export async function healthChecks(
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
