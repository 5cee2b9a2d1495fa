/** The health checks to run after a deploy (`health-check`), read and checked. */
import { InputError } from '../errors'
import { lines, type InputReader } from '../input-reader'

export type HealthCheckTarget = { kind: 'url'; url: string } | { kind: 'output'; output: string }

export interface HealthInputs {
  healthChecks: HealthCheckTarget[]
}

export function readHealthConfig(input: InputReader): HealthInputs {
  const healthChecks = lines(input('health-check')).map((line): HealthCheckTarget => {
    if (line.startsWith('output:')) {
      const output = line.slice('output:'.length).trim()
      if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(output)) {
        throw new InputError(
          'health-check',
          line,
          'use output:<terraform_output_name>, e.g. output:site_url'
        )
      }
      return { kind: 'output', output }
    }
    let url: URL | undefined
    try {
      url = new URL(line)
    } catch {
      url = undefined
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new InputError(
        'health-check',
        line,
        'each line is an http(s) URL or output:<terraform_output_name>'
      )
    }
    return { kind: 'url', url: line }
  })
  return { healthChecks }
}
