/** The site bucket and the distribution: from the inputs, else from the Terraform outputs, checked. */

import { DeployError } from '../errors'
import { bucketNameProblem } from '../aws/names'

import { type FrontendConfig } from './result'

export function resolveBucket(config: FrontendConfig, outputs: Record<string, unknown>): string {
  if (config.siteBucket) return config.siteBucket
  const value = outputs.frontend_bucket
  if (value === undefined || value === null || value === '') {
    throw new DeployError(
      'No site bucket: set the site-bucket input, or add a frontend_bucket output to the Terraform module'
    )
  }
  const problem = typeof value === 'string' ? bucketNameProblem(value) : 'it is not a string'
  if (problem) {
    throw new DeployError(
      `The Terraform output frontend_bucket (${JSON.stringify(value)?.slice(0, 80)}) is not a bucket name: ${problem}; fix the output or set site-bucket`
    )
  }
  return value as string
}

export function resolveDistribution(
  config: FrontendConfig,
  outputs: Record<string, unknown>
): string | undefined {
  if (config.distributionId) return config.distributionId
  const value = outputs.cloudfront_distribution_id
  if (value === undefined || value === null || value === '') return undefined
  if (typeof value !== 'string' || !/^[A-Z0-9]{8,32}$/.test(value)) {
    throw new DeployError(
      `The Terraform output cloudfront_distribution_id (${JSON.stringify(value)?.slice(0, 80)}) is not a CloudFront distribution id; fix the output or set distribution-id`
    )
  }
  return value
}
