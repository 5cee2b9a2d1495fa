/**
 * Local stand-ins for AWS (S3, DynamoDB, CloudFront, STS) and GitHub, speaking the real wire
 * protocols so the real AWS SDK v3 clients, Octokit and the Terraform binary run against them.
 * See SPEC §8. Every server listens on 127.0.0.1, on a free port.
 */
import fs from 'node:fs'
import path from 'node:path'
import { startS3StandIn, type S3StandIn, type S3StandInOptions } from './s3'
import { startDynamoDbStandIn, type DynamoDbStandIn } from './dynamodb'
import { startCloudStandIn, type CloudStandIn } from './cloud'
import { startGitHubStandIn, type GitHubStandIn, type GitHubToken } from './github'
import type { BucketDefaults } from './s3-config'
import { makeTempDir } from './common'

export * from './common'
export * from './s3'
export * from './dynamodb'
export * from './cloud'
export * from './github'

export interface StandInsOptions {
  /** Account id STS reports and ARNs carry. Default '123456789012'. */
  accountId?: string
  /** Bucket names owned by another account (CreateBucket 409 BucketAlreadyExists, else 403). */
  foreignBuckets?: string[]
  /** Configuration a new bucket starts with: 'aws' (AWS's defaults since 2023, default) or 'none'. */
  bucketDefaults?: BucketDefaults
  /** How long a new DynamoDB table stays CREATING. Default 100 ms. */
  createTableMs?: number
  /** How long a CloudFront invalidation stays InProgress. Default 500 ms. */
  invalidationMs?: number
  /** GitHub tokens. Default: 'ghs_standin_write' (write) and 'ghs_standin_read' (read-only). */
  githubTokens?: Record<string, GitHubToken>
  /** Data directory for S3. Default: a fresh temp dir, removed on stop(). */
  dataDir?: string
}

export interface StandIns {
  s3: S3StandIn
  dynamodb: DynamoDbStandIn
  cloud: CloudStandIn
  github: GitHubStandIn
  /** Environment a process needs to use the stand-ins (merge into process.env or a child's env). */
  env: Record<string, string>
  /**
   * `key=value` lines for `terraform init -backend-config=...` that point Terraform's s3 backend
   * at the stand-ins: the `endpoints` map (s3, dynamodb, sts) and `use_path_style=true`. With a
   * region, a `region=` line comes first (the action passes its own region, so it omits it).
   */
  backendConfig(region?: string): string[]
  stop(): Promise<void>
}

/** Dummy credentials the stand-ins accept (they check the signature's shape, not its value). */
export const STANDIN_CREDENTIALS = {
  accessKeyId: 'AKIASTANDINEXAMPLE00',
  secretAccessKey: 'standin/secret/key/not/checked/anywhere00'
} as const

export const DEFAULT_GITHUB_TOKEN = 'ghs_standin_write'

export async function startStandIns(options: StandInsOptions = {}): Promise<StandIns> {
  const accountId = options.accountId ?? '123456789012'
  const ownsDataDir = options.dataDir === undefined
  const dataDir = options.dataDir ?? makeTempDir('standins-')
  const s3Options: S3StandInOptions = { accountId, dataDir: path.join(dataDir, 's3') }
  if (options.foreignBuckets) s3Options.foreignBuckets = options.foreignBuckets
  if (options.bucketDefaults) s3Options.bucketDefaults = options.bucketDefaults
  fs.mkdirSync(path.join(dataDir, 's3'), { recursive: true })

  const started: Array<{ stop(): Promise<void> }> = []
  try {
    const s3 = await startS3StandIn(s3Options)
    started.push(s3)
    const dynamodb = await startDynamoDbStandIn({
      accountId,
      ...(options.createTableMs !== undefined ? { createTableMs: options.createTableMs } : {})
    })
    started.push(dynamodb)
    const cloud = await startCloudStandIn({
      accountId,
      ...(options.invalidationMs !== undefined ? { invalidationMs: options.invalidationMs } : {})
    })
    started.push(cloud)
    const github = await startGitHubStandIn(
      options.githubTokens ? { tokens: options.githubTokens } : {}
    )
    started.push(github)

    const env: Record<string, string> = {
      AWS_ENDPOINT_URL_S3: s3.url,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb.url,
      AWS_ENDPOINT_URL_CLOUDFRONT: cloud.url,
      AWS_ENDPOINT_URL_STS: cloud.url,
      AWS_ACCESS_KEY_ID: STANDIN_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: STANDIN_CREDENTIALS.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      GITHUB_API_URL: github.url
    }

    return {
      s3,
      dynamodb,
      cloud,
      github,
      env,
      backendConfig: (region?: string) =>
        terraformBackendConfig(s3.url, dynamodb.url, cloud.url, region),
      async stop() {
        for (const s of started.reverse()) await s.stop()
        if (ownsDataDir) fs.rmSync(dataDir, { recursive: true, force: true })
      }
    }
  } catch (error) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined)
    if (ownsDataDir) fs.rmSync(dataDir, { recursive: true, force: true })
    throw error
  }
}

/**
 * Backend settings that make Terraform's s3 backend (1.11) talk to the stand-ins. The `endpoints`
 * map goes through -backend-config as an HCL expression. Path-style addressing is required (with
 * an IP endpoint, virtual-host style asks DNS for `<bucket>.127.0.0.1`). No `skip_*` setting is
 * needed: Terraform validates the credentials and reads the account id through the STS stand-in.
 */
export function terraformBackendConfig(
  s3Url: string,
  dynamodbUrl: string,
  stsUrl: string,
  region?: string
): string[] {
  return [
    ...(region ? [`region=${region}`] : []),
    `endpoints={s3="${s3Url}",dynamodb="${dynamodbUrl}",sts="${stsUrl}"}`,
    'use_path_style=true'
  ]
}
