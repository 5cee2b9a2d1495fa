/** AWS naming rules the inputs and the phases share: S3 buckets, DynamoDB tables, S3 keys, KMS keys. */
import { InputError } from '../errors'

/** S3 bucket naming rules (general purpose buckets). */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'bucket names are 3-63 characters long'
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) {
    return 'bucket names use lower-case letters, digits, dots and hyphens, and start and end with a letter or digit'
  }
  if (name.includes('..')) return 'bucket names cannot contain two adjacent dots'
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'bucket names cannot look like an IP address'
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name))
    return 'bucket names cannot start with xn--, sthree- or amzn-s3-demo-'
  if (/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name)) {
    return 'bucket names cannot end with -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3'
  }
  return undefined
}

export function checkBucketName(input: string, name: string): void {
  const problem = bucketNameProblem(name)
  if (problem) throw new InputError(input, name, problem)
}

export function checkTableName(input: string, name: string): void {
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(name)) {
    throw new InputError(
      input,
      name,
      'DynamoDB table names are 3-255 letters, digits, "_", "-" or "."'
    )
  }
}

export function checkStateKey(key: string): void {
  const problem =
    key.startsWith('/') || key.endsWith('/')
      ? 'the key cannot start or end with "/"'
      : key.split('/').some(part => part === '' || part === '.' || part === '..')
        ? 'the key cannot contain empty, "." or ".." segments'
        : Buffer.byteLength(key) > 1024
          ? 'the key is longer than 1,024 bytes'
          : /[\x00-\x1f\x7f]/.test(key)
            ? 'the key cannot contain control characters'
            : undefined
  if (problem)
    throw new InputError('state-key', key, `${problem}; use e.g. production/terraform.tfstate`)
}

export function checkKmsKey(id: string): void {
  const ok =
    /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[A-Za-z0-9/_-]+$/.test(id) ||
    /^alias\/[A-Za-z0-9/_-]+$/.test(id) ||
    /^(mrk-)?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/.test(id) ||
    /^mrk-[0-9a-f]{32}$/.test(id)
  if (!ok) {
    throw new InputError(
      'state-kms-key-id',
      id,
      'use a KMS key id, key ARN, alias/<name> or alias ARN'
    )
  }
}
