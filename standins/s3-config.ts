/**
 * S3 bucket rules the stand-in enforces in front of s3rver: bucket names, CreateBucket region
 * rules, and the bucket configuration documents (versioning, encryption, public access block,
 * policy, ownership controls, tagging) as AWS accepts and returns them.
 */
import { escapeXml, xmlAll, xmlFields, xmlText } from './common'

export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/'

/** An S3 error answer: code, message, HTTP status and extra XML fields. */
export class S3Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly fields: Record<string, string> = {},
    readonly headers: Record<string, string> = {}
  ) {
    super(message)
  }
}

export type Versioning = 'Enabled' | 'Suspended'
export type SseAlgorithm = 'AES256' | 'aws:kms' | 'aws:kms:dsse'
export type ObjectOwnership = 'BucketOwnerEnforced' | 'BucketOwnerPreferred' | 'ObjectWriter'

export interface EncryptionConfig {
  sseAlgorithm: SseAlgorithm
  kmsMasterKeyId?: string
  bucketKeyEnabled: boolean
}

export interface PublicAccessBlock {
  BlockPublicAcls: boolean
  IgnorePublicAcls: boolean
  BlockPublicPolicy: boolean
  RestrictPublicBuckets: boolean
}

export interface Tag {
  Key: string
  Value: string
}

/** A bucket's configuration; an absent field is "not set" (AWS answers its not-found error). */
export interface BucketConfig {
  versioning?: Versioning
  encryption?: EncryptionConfig
  publicAccessBlock?: PublicAccessBlock
  policy?: string
  ownership?: ObjectOwnership
  tags?: Tag[]
}

/**
 * 'aws': what AWS gives every new general purpose bucket since 2023 (SSE-S3 default encryption,
 * all four public access blocks on, ACLs disabled by BucketOwnerEnforced).
 * 'none': nothing set, so every Get* answers its not-found error until a Put*.
 */
export type BucketDefaults = 'aws' | 'none'

export const DEFAULT_ENCRYPTION: EncryptionConfig = {
  sseAlgorithm: 'AES256',
  bucketKeyEnabled: false
}

export function defaultBucketConfig(defaults: BucketDefaults): BucketConfig {
  if (defaults === 'none') return {}
  return {
    encryption: { ...DEFAULT_ENCRYPTION },
    publicAccessBlock: {
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true
    },
    ownership: 'BucketOwnerEnforced'
  }
}

const MALFORMED_XML =
  'The XML you provided was not well-formed or did not validate against our published schema'

function malformed(): S3Error {
  return new S3Error('MalformedXML', MALFORMED_XML)
}

/** AWS general purpose bucket naming rules; returns the reason a name is invalid, or undefined. */
export function invalidBucketName(name: string): string | undefined {
  if (name.length < 3 || name.length > 63)
    return 'The bucket name must be between 3 and 63 characters.'
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name))
    return 'Bucket names can contain lowercase letters, numbers, periods and hyphens, and must begin and end with a letter or number.'
  if (name.includes('..')) return 'Bucket names must not contain two adjacent periods.'
  if (/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name))
    return 'Bucket names must not be formatted as an IP address.'
  for (const prefix of ['xn--', 'sthree-', 'amzn-s3-demo-']) {
    if (name.startsWith(prefix)) return `Bucket names must not start with the prefix '${prefix}'.`
  }
  for (const suffix of ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3']) {
    if (name.endsWith(suffix)) return `Bucket names must not end with the suffix '${suffix}'.`
  }
  return undefined
}

const REGION_RE = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/

/**
 * The region a CreateBucket creates the bucket in, applying AWS's rules for a request signed for
 * `endpointRegion` with an optional CreateBucketConfiguration body.
 */
export function createBucketRegion(endpointRegion: string, body: string): string {
  const trimmed = body.trim()
  let constraint: string | undefined
  if (trimmed !== '') {
    if (!trimmed.includes('CreateBucketConfiguration')) throw malformed()
    const c = xmlText(trimmed, 'LocationConstraint')
    constraint = c === '' ? undefined : c
  }
  if (constraint === undefined) {
    if (endpointRegion === 'us-east-1') return 'us-east-1'
    throw new S3Error(
      'IllegalLocationConstraintException',
      'The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.'
    )
  }
  if (constraint === 'us-east-1' || !REGION_RE.test(constraint)) {
    throw new S3Error(
      'InvalidLocationConstraint',
      'The specified location-constraint is not valid',
      400,
      {
        LocationConstraint: constraint
      }
    )
  }
  if (constraint !== endpointRegion) {
    throw new S3Error(
      'IllegalLocationConstraintException',
      `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to.`
    )
  }
  return constraint
}

// ---- versioning ----

export function parseVersioning(body: string): Versioning {
  if (!body.includes('VersioningConfiguration')) throw malformed()
  const status = xmlText(body, 'Status')
  if (status !== 'Enabled' && status !== 'Suspended') throw malformed()
  const mfa = xmlText(body, 'MfaDelete')
  if (mfa === 'Enabled')
    throw new S3Error(
      'InvalidRequest',
      'DevPay and Mfa are mutually exclusive authorization methods. Mfa authentication is not supported by this stand-in.'
    )
  return status
}

export function versioningXml(v: Versioning | undefined): string {
  if (!v) return `<VersioningConfiguration xmlns="${S3_NS}"/>`
  return `<VersioningConfiguration xmlns="${S3_NS}"><Status>${v}</Status></VersioningConfiguration>`
}

// ---- encryption ----

export function parseEncryption(body: string): EncryptionConfig {
  if (!body.includes('ServerSideEncryptionConfiguration')) throw malformed()
  const rules = xmlAll(body, 'Rule')
  if (rules.length !== 1 || rules[0] === undefined) throw malformed()
  const rule = rules[0]
  const algorithm = xmlText(rule, 'SSEAlgorithm')
  if (algorithm !== 'AES256' && algorithm !== 'aws:kms' && algorithm !== 'aws:kms:dsse')
    throw malformed()
  const key = xmlText(rule, 'KMSMasterKeyID')
  if (key !== undefined && algorithm === 'AES256') {
    throw new S3Error(
      'InvalidArgument',
      'a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse',
      400,
      { ArgumentName: 'ApplyServerSideEncryptionByDefault' }
    )
  }
  const bucketKey = xmlText(rule, 'BucketKeyEnabled')
  const config: EncryptionConfig = {
    sseAlgorithm: algorithm,
    bucketKeyEnabled: bucketKey === 'true'
  }
  if (key !== undefined && key !== '') config.kmsMasterKeyId = key
  return config
}

export function encryptionXml(c: EncryptionConfig): string {
  return (
    `<ServerSideEncryptionConfiguration xmlns="${S3_NS}"><Rule><ApplyServerSideEncryptionByDefault>` +
    xmlFields({ SSEAlgorithm: c.sseAlgorithm, KMSMasterKeyID: c.kmsMasterKeyId }) +
    `</ApplyServerSideEncryptionByDefault>${xmlFields({ BucketKeyEnabled: c.bucketKeyEnabled })}</Rule>` +
    `</ServerSideEncryptionConfiguration>`
  )
}

// ---- public access block ----

const PAB_FIELDS = [
  'BlockPublicAcls',
  'IgnorePublicAcls',
  'BlockPublicPolicy',
  'RestrictPublicBuckets'
] as const

export function parsePublicAccessBlock(body: string): PublicAccessBlock {
  if (!body.includes('PublicAccessBlockConfiguration')) throw malformed()
  const out: PublicAccessBlock = {
    BlockPublicAcls: false,
    IgnorePublicAcls: false,
    BlockPublicPolicy: false,
    RestrictPublicBuckets: false
  }
  for (const f of PAB_FIELDS) {
    const v = xmlText(body, f)
    if (v !== undefined && v !== 'true' && v !== 'false') throw malformed()
    out[f] = v === 'true'
  }
  return out
}

export function publicAccessBlockXml(p: PublicAccessBlock): string {
  return `<PublicAccessBlockConfiguration xmlns="${S3_NS}">${xmlFields({ ...p })}</PublicAccessBlockConfiguration>`
}

// ---- policy ----

function malformedPolicy(message: string): S3Error {
  return new S3Error('MalformedPolicy', message)
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined ? [] : [v]
}

function isPublicPrincipal(p: unknown): boolean {
  if (p === '*') return true
  if (p && typeof p === 'object') return list((p as Record<string, unknown>).AWS).includes('*')
  return false
}

/** Checks a bucket policy as S3 does (JSON, Statement, Effect, Principal, resources in the bucket). */
export function validatePolicy(
  bucket: string,
  text: string,
  pab: PublicAccessBlock | undefined
): void {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    throw malformedPolicy("Policies must be valid JSON and the first byte must be '{'")
  }
  if (!text.trimStart().startsWith('{') || !doc || typeof doc !== 'object')
    throw malformedPolicy("Policies must be valid JSON and the first byte must be '{'")
  const statements = list((doc as Record<string, unknown>).Statement)
  if (statements.length === 0) throw malformedPolicy('Missing required field Statement')
  for (const raw of statements) {
    if (!raw || typeof raw !== 'object') throw malformedPolicy('Invalid statement')
    const s = raw as Record<string, unknown>
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny')
      throw malformedPolicy(`Invalid effect: ${String(s.Effect)}`)
    if (s.Principal === undefined && s.NotPrincipal === undefined)
      throw malformedPolicy('Missing required field Principal')
    if (s.Action === undefined && s.NotAction === undefined)
      throw malformedPolicy('Missing required field Action')
    const resources = list(s.Resource ?? s.NotResource)
    if (resources.length === 0) throw malformedPolicy('Missing required field Resource')
    for (const r of resources) {
      if (
        typeof r !== 'string' ||
        !(r === `arn:aws:s3:::${bucket}` || r.startsWith(`arn:aws:s3:::${bucket}/`))
      )
        throw malformedPolicy('Policy has invalid resource')
    }
    if (
      pab?.BlockPublicPolicy &&
      s.Effect === 'Allow' &&
      isPublicPrincipal(s.Principal) &&
      !s.Condition
    )
      throw new S3Error('AccessDenied', 'Access Denied', 403)
  }
}

// ---- ownership controls ----

export function parseOwnership(body: string): ObjectOwnership {
  if (!body.includes('OwnershipControls')) throw malformed()
  const rules = xmlAll(body, 'Rule')
  if (rules.length !== 1 || rules[0] === undefined) throw malformed()
  const v = xmlText(rules[0], 'ObjectOwnership')
  if (v !== 'BucketOwnerEnforced' && v !== 'BucketOwnerPreferred' && v !== 'ObjectWriter')
    throw malformed()
  return v
}

export function ownershipXml(o: ObjectOwnership): string {
  return `<OwnershipControls xmlns="${S3_NS}"><Rule><ObjectOwnership>${o}</ObjectOwnership></Rule></OwnershipControls>`
}

// ---- tagging ----

export function parseTagging(body: string): Tag[] {
  if (!body.includes('Tagging') || !body.includes('TagSet')) throw malformed()
  const tags = xmlAll(body, 'Tag').map(t => ({
    Key: xmlText(t, 'Key'),
    Value: xmlText(t, 'Value') ?? ''
  }))
  if (tags.length > 50) throw new S3Error('BadRequest', 'Object tags cannot be greater than 50')
  const seen = new Set<string>()
  const out: Tag[] = []
  for (const t of tags) {
    if (t.Key === undefined || t.Key.length < 1 || t.Key.length > 128)
      throw new S3Error('InvalidTag', 'The TagKey you have provided is invalid')
    if (t.Value.length > 256)
      throw new S3Error('InvalidTag', 'The TagValue you have provided is invalid')
    if (t.Key.startsWith('aws:'))
      throw new S3Error('InvalidTag', 'Your TagKey cannot be prefixed with aws:')
    if (seen.has(t.Key))
      throw new S3Error('InvalidTag', 'Cannot provide multiple Tags with the same key')
    seen.add(t.Key)
    out.push({ Key: t.Key, Value: t.Value })
  }
  return out
}

export function taggingXml(tags: Tag[]): string {
  const items = tags.map(t => `<Tag>${xmlFields({ Key: t.Key, Value: t.Value })}</Tag>`).join('')
  return `<Tagging xmlns="${S3_NS}"><TagSet>${items}</TagSet></Tagging>`
}

export function locationXml(region: string): string {
  if (region === 'us-east-1') return `<LocationConstraint xmlns="${S3_NS}"/>`
  return `<LocationConstraint xmlns="${S3_NS}">${escapeXml(region)}</LocationConstraint>`
}
