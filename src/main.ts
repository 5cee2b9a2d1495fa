import * as core from '@actions/core'
import { errorMessage } from './errors'
import { inputsFromEnv, readConfig, type Config } from './inputs'

/**
 * The deploy, as a table of contents: read inputs → backend → terraform → report → frontend.
 */
export async function run(): Promise<void> {
  try {
    const config = readConfig(inputsFromEnv())
    if (config.githubToken) core.setSecret(config.githubToken)
    core.setOutput('mode', config.mode)
    logConfig(config)
  } catch (error) {
    core.setFailed(errorMessage(error))
  }
}

function logConfig(config: Config): void {
  const { githubToken: _token, context, ...rest } = config
  core.debug(`configuration: ${JSON.stringify({ ...rest, event: context.eventName })}`)
  core.info(
    `revive-deploy: mode ${config.mode}${config.requestedMode === 'auto' ? ` (auto, event ${context.eventName})` : ''}, region ${config.region}, working directory ${config.workingDirectoryInput}`
  )
}
