import type { RecordedRequest } from '../../standins/index'

// The IAM actions each AWS API operation needs (what a request in the stand-ins' logs costs in IAM).
const IAM: Record<string, string | string[]> = {
  'sts:GetCallerIdentity': 'sts:GetCallerIdentity',
  's3:HeadBucket': 's3:ListBucket',
  's3:ListObjectsV2': 's3:ListBucket',
  's3:ListObjects': 's3:ListBucket',
  's3:ListObjectVersions': 's3:ListBucketVersions',
  's3:HeadObject': 's3:GetObject',
  's3:GetObject': 's3:GetObject',
  's3:PutObject': 's3:PutObject',
  // A copy reads its source and writes its target (a header update copies an object onto itself).
  's3:CopyObject': ['s3:GetObject', 's3:PutObject'],
  's3:CreateMultipartUpload': 's3:PutObject',
  's3:UploadPart': 's3:PutObject',
  's3:CompleteMultipartUpload': 's3:PutObject',
  's3:AbortMultipartUpload': 's3:AbortMultipartUpload',
  's3:DeleteObject': 's3:DeleteObject',
  's3:DeleteObjects': 's3:DeleteObject',
  's3:CreateBucket': 's3:CreateBucket',
  's3:PutBucketVersioning': 's3:PutBucketVersioning',
  's3:GetBucketVersioning': 's3:GetBucketVersioning',
  's3:GetBucketEncryption': 's3:GetEncryptionConfiguration',
  's3:GetPublicAccessBlock': 's3:GetBucketPublicAccessBlock',
  's3:GetBucketPolicy': 's3:GetBucketPolicy',
  's3:GetBucketTagging': 's3:GetBucketTagging',
  's3:PutBucketEncryption': 's3:PutEncryptionConfiguration',
  's3:PutPublicAccessBlock': 's3:PutBucketPublicAccessBlock',
  's3:PutBucketOwnershipControls': 's3:PutBucketOwnershipControls',
  's3:PutBucketPolicy': 's3:PutBucketPolicy',
  's3:PutBucketTagging': 's3:PutBucketTagging',
  'cloudfront:CreateInvalidation': 'cloudfront:CreateInvalidation',
  'cloudfront:GetInvalidation': 'cloudfront:GetInvalidation',
  'cloudfront:GetDistributionConfig': 'cloudfront:GetDistributionConfig'
}
/** The IAM actions one recorded request needs. */
export const iamActions = (r: RecordedRequest): string[] =>
  r.service === 'dynamodb'
    ? [`dynamodb:${r.operation}`]
    : [IAM[`${r.service}:${r.operation}`] ?? `unmapped ${r.service}:${r.operation}`].flat()
