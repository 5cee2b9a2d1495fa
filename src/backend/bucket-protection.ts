/** The state bucket's protection: the hardening steps, how each is read back, and the ManagedBy tag. */
import {
  GetBucketEncryptionCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  PutBucketEncryptionCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  type S3Client
} from '@aws-sdk/client-s3'
import { awsErrorName, retryOn } from '../aws/clients'
import { DeployError, errorMessage } from '../errors'

import type { BackendConfig, BackendRun } from './backend'

/** A NoSuchBucket right after creation (eventual consistency) is retried. */
export const settle = <T>(fn: () => Promise<T>): Promise<T> =>
  retryOn(fn, e => awsErrorName(e) === 'NoSuchBucket' || awsErrorName(e) === 'OperationAborted')

/** One protection of the state bucket: how to apply it, how to read it back, how a person fixes it. */
interface HardeningStep {
  what: string
  apply: () => Promise<unknown>
  /** true: in place; false: missing. Throws when it cannot be read. Absent: not checked on reuse. */
  present?: () => Promise<boolean>
  /** The command (or change) that applies it by hand. */
  fix: string
}

const TLS_SID = 'DenyInsecureTransport'

interface PolicyDocument {
  Version?: string
  Statement?: unknown
}

function tlsStatement(bucket: string): Record<string, unknown> {
  return {
    Sid: TLS_SID,
    Effect: 'Deny',
    Principal: '*',
    Action: 's3:*',
    Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
    Condition: { Bool: { 'aws:SecureTransport': 'false' } }
  }
}

/** A policy statement that denies requests without TLS to the whole bucket (ours or one like it). */
function deniesInsecureTransport(statement: unknown): boolean {
  const st = statement as {
    Effect?: unknown
    Condition?: { Bool?: Record<string, unknown> }
  } | null
  return st?.Effect === 'Deny' && String(st.Condition?.Bool?.['aws:SecureTransport']) === 'false'
}

function statements(policy: PolicyDocument): unknown[] {
  if (Array.isArray(policy.Statement)) return policy.Statement as unknown[]
  return policy.Statement ? [policy.Statement] : []
}

/** The bucket's policy, or undefined when it has none. */
async function readPolicy(s3: S3Client, bucket: string): Promise<PolicyDocument | undefined> {
  try {
    const text = (await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy
    return text ? (JSON.parse(text) as PolicyDocument) : undefined
  } catch (error) {
    if (awsErrorName(error) === 'NoSuchBucketPolicy') return undefined
    throw error
  }
}

/** false when the configuration answers its not-found error; other errors are thrown. */
async function readsPresent(read: () => Promise<boolean>, notFound: string): Promise<boolean> {
  try {
    return await read()
  } catch (error) {
    if (awsErrorName(error) === notFound) return false
    throw error
  }
}

/** What a bucket the action creates gets, in order; the same steps finish a half-hardened one. */
export function hardeningSteps(
  config: BackendConfig,
  s3: S3Client,
  bucket: string
): HardeningStep[] {
  return [
    {
      what: 'tags',
      apply: () =>
        s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: tags(config) } })),
      fix: `aws s3api put-bucket-tagging --bucket ${bucket} --tagging 'TagSet=[{Key=ManagedBy,Value=revive-deploy}]'`
    },
    publicAccessStep(s3, bucket),
    {
      what: 'object ownership enforced',
      apply: () =>
        s3.send(
          new PutBucketOwnershipControlsCommand({
            Bucket: bucket,
            OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] }
          })
        ),
      fix: `aws s3api put-bucket-ownership-controls --bucket ${bucket} --ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'`
    },
    {
      what: 'versioning enabled',
      apply: () =>
        s3.send(
          new PutBucketVersioningCommand({
            Bucket: bucket,
            VersioningConfiguration: { Status: 'Enabled' }
          })
        ),
      present: async () =>
        (await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status === 'Enabled',
      fix: `aws s3api put-bucket-versioning --bucket ${bucket} --versioning-configuration Status=Enabled`
    },
    encryptionStep(config, s3, bucket),
    tlsPolicyStep(s3, bucket)
  ]
}

function publicAccessStep(s3: S3Client, bucket: string): HardeningStep {
  const publicAccessBlock = {
    BlockPublicAcls: true,
    IgnorePublicAcls: true,
    BlockPublicPolicy: true,
    RestrictPublicBuckets: true
  }
  return {
    what: 'public access blocked',
    apply: () =>
      s3.send(
        new PutPublicAccessBlockCommand({
          Bucket: bucket,
          PublicAccessBlockConfiguration: publicAccessBlock
        })
      ),
    present: () =>
      readsPresent(async () => {
        const got = (await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket })))
          .PublicAccessBlockConfiguration
        return Object.keys(publicAccessBlock).every(
          k => got?.[k as keyof typeof publicAccessBlock] === true
        )
      }, 'NoSuchPublicAccessBlockConfiguration'),
    fix: `aws s3api put-public-access-block --bucket ${bucket} --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true`
  }
}

function encryptionStep(config: BackendConfig, s3: S3Client, bucket: string): HardeningStep {
  const encryption = config.stateKmsKeyId
    ? {
        ApplyServerSideEncryptionByDefault: {
          SSEAlgorithm: 'aws:kms' as const,
          KMSMasterKeyID: config.stateKmsKeyId
        },
        BucketKeyEnabled: true
      }
    : { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' as const } }
  return {
    what: config.stateKmsKeyId ? 'encryption (KMS)' : 'encryption (SSE-S3)',
    apply: () =>
      s3.send(
        new PutBucketEncryptionCommand({
          Bucket: bucket,
          ServerSideEncryptionConfiguration: { Rules: [encryption] }
        })
      ),
    // Any default encryption counts: the action does not replace a key someone chose.
    present: () =>
      readsPresent(
        async () =>
          ((await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket })))
            .ServerSideEncryptionConfiguration?.Rules?.length ?? 0) > 0,
        'ServerSideEncryptionConfigurationNotFoundError'
      ),
    fix: `aws s3api put-bucket-encryption --bucket ${bucket} --server-side-encryption-configuration '${JSON.stringify({ Rules: [encryption] })}'`
  }
}

function tlsPolicyStep(s3: S3Client, bucket: string): HardeningStep {
  return {
    what: 'TLS-only bucket policy',
    // Added to the statements already there, never replacing them.
    apply: async () => {
      const current = (await readPolicy(s3, bucket)) ?? {}
      const kept = statements(current).filter(
        st => (st as { Sid?: unknown } | null)?.Sid !== TLS_SID
      )
      const policy = {
        ...current,
        Version: current.Version ?? '2012-10-17',
        Statement: [...kept, tlsStatement(bucket)]
      }
      return s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }))
    },
    present: async () => {
      const policy = await readPolicy(s3, bucket)
      return policy !== undefined && statements(policy).some(deniesInsecureTransport)
    },
    fix: `add to the bucket policy of ${bucket} a statement that denies s3:* when aws:SecureTransport is false (docs/backend.md)`
  }
}

/**
 * An existing state bucket: read its protection (versioning, encryption, public access block, TLS
 * policy: four reads at once). A bucket the action created (its ManagedBy tag) gets what is missing,
 * as a run that failed half-way would have given it; any other bucket is left as it is, with a
 * warning that names each gap and its fix.
 */
export async function checkBucketProtection(
  run: BackendRun,
  s3: S3Client,
  bucket: string
): Promise<void> {
  const { config, report, log } = run
  const steps = hardeningSteps(config, s3, bucket).filter(step => step.present)
  const results = await Promise.all(
    steps.map(async step => {
      try {
        return { step, present: await step.present!() }
      } catch (error) {
        return { step, present: undefined, error: awsErrorName(error) || errorMessage(error) }
      }
    })
  )
  log.debug(
    `S3 bucket ${bucket} protection read back: ${results.map(r => `${r.step.what} ${r.present === undefined ? 'unreadable' : r.present ? 'present' : 'missing'}`).join(', ')}`
  )
  const unreadable = results.filter(r => r.present === undefined)
  if (unreadable.length > 0)
    report.warnings.push(
      `Could not read the protection of the state bucket ${bucket} (${unreadable.map(r => `${r.step.what}: ${r.error}`).join('; ')}); grant s3:GetBucketVersioning, s3:GetEncryptionConfiguration, s3:GetBucketPublicAccessBlock and s3:GetBucketPolicy on it (docs/permissions.md) so each run can check it.`
    )
  const missing = results.filter(r => r.present === false).map(r => r.step)
  if (missing.length === 0) return
  const names = missing.map(step => step.what).join(', ')
  const managed = await managedByAction(s3, bucket)
  log.debug(
    `S3 bucket ${bucket} ${managed ? 'carries' : 'lacks'} the ManagedBy tag (GetBucketTagging): ${managed ? 'the action finishes it' : 'left as it is'}`
  )
  if (!managed) {
    report.warnings.push(
      `The state bucket ${bucket} lacks ${names}${missing.some(m => m.what === 'versioning enabled') ? ' (without versioning the state-loss guard cannot find earlier versions of the state)' : ''}. It was not created by revive-deploy, so the action leaves it as it is; fix: ${missing.map(m => m.fix).join('; ')}.`
    )
    return
  }
  if (config.dryRun) {
    log.info(`Dry run: would finish the hardening of ${bucket}: ${names}`)
    report.warnings.push(
      `The state bucket ${bucket} lacks ${names}; a run that is not a dry run finishes it (the bucket was created by revive-deploy).`
    )
    return
  }
  for (const step of missing) {
    try {
      await step.apply()
    } catch (error) {
      throw new DeployError(
        `The state bucket ${bucket} (created by revive-deploy) lacks "${step.what}", and applying it failed: ${awsErrorName(error) || errorMessage(error)}. Grant the s3:PutBucket* permissions (docs/permissions.md) and re-run, or apply it yourself: ${step.fix}.`,
        { cause: error }
      )
    }
    report.hardened.push(`bucket: ${step.what} (finished: was missing)`)
  }
  log.info(`Finished the hardening of S3 bucket ${bucket}: ${names}`)
}

/** The bucket carries the action's ManagedBy tag (set first when the action creates a bucket). */
async function managedByAction(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    const got = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }))
    return managedTag(got.TagSet)
  } catch {
    // NoSuchTagSet, or no permission to read tags: not known to be ours, so only warn.
    return false
  }
}

const MANAGED_BY = 'revive-deploy'

/** The tags (of a bucket or a table) carry the action's `ManagedBy` tag. */
export function managedTag(
  tags: Array<{ Key?: string | undefined; Value?: string | undefined }> | undefined
): boolean {
  return (tags ?? []).some(t => t.Key === 'ManagedBy' && t.Value === MANAGED_BY)
}

export function tags(config: BackendConfig): Array<{ Key: string; Value: string }> {
  return [
    { Key: 'Project', Value: config.project },
    { Key: 'ManagedBy', Value: MANAGED_BY },
    { Key: 'Purpose', Value: 'terraform-state' }
  ]
}
