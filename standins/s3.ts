/**
 * S3 stand-in: s3rver stores objects, listings and multipart uploads; a front server of our own
 * receives every request first and adds what s3rver lacks, following AWS:
 * - request log and fault injection;
 * - aws-chunked bodies and flexible checksums (what SDK v3 and Terraform's Go SDK send);
 * - CreateBucket region rules, bucket ownership ("foreign" buckets), regions per bucket;
 * - bucket configuration (versioning, encryption, public access block, policy, ownership
 *   controls, tagging);
 * - object versions for buckets that have had versioning on;
 * - conditional PutObject (If-None-Match / If-Match) and multipart ETags of the form `<md5>-<n>`;
 * - ListObjectsV2 / ListObjects in S3's order (UTF-8 bytes) with our own pagination (s3-list.ts):
 *   s3rver lists in directory-walk order, which breaks pages over 1,000 keys.
 *
 * Path-style addressing only (`http://127.0.0.1:PORT/bucket/key`): the SDK uses it by itself for
 * an IP endpoint; Terraform needs `use_path_style=true`.
 */
import http from 'node:http'
import fs from 'node:fs'
import path from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import S3rver from 's3rver'
import {
  XML_DECL,
  escapeXml,
  makeTempDir,
  readBody,
  requestId,
  resetConnection,
  send,
  signingRegion,
  xmlAll,
  xmlFields,
  xmlText,
  type RecordedRequest,
  HttpStandIn
} from './common'
import {
  DEFAULT_ENCRYPTION,
  S3Error,
  S3_NS,
  createBucketRegion,
  defaultBucketConfig,
  encryptionXml,
  invalidBucketName,
  locationXml,
  ownershipXml,
  parseEncryption,
  parseOwnership,
  parsePublicAccessBlock,
  parseTagging,
  parseVersioning,
  publicAccessBlockXml,
  taggingXml,
  validatePolicy,
  versioningXml,
  type BucketConfig,
  type BucketDefaults
} from './s3-config'
import { decodeS3Body } from './s3-body'
import { durableObjectWrites } from './s3-store'
import {
  ObjectIndex,
  compareKeys,
  listObjectsXml,
  s3UrlEncode,
  type ObjectSummary
} from './s3-list'

export { S3Error } from './s3-config'
export type { BucketConfig, BucketDefaults } from './s3-config'

export interface S3StandInOptions {
  /** Account that owns the buckets created here (used for the owner id). Default '123456789012'. */
  accountId?: string
  /** Bucket names owned by another account: CreateBucket 409 BucketAlreadyExists, anything else 403. */
  foreignBuckets?: string[]
  /** Where s3rver and the front server keep their data. Default: a fresh temp dir removed on stop. */
  dataDir?: string
  /** Configuration a new bucket starts with. Default 'aws' (see BucketDefaults). */
  bucketDefaults?: BucketDefaults
}

export interface BucketInfo {
  name: string
  region: string
  createdAt: string
  config: BucketConfig
}

export interface ObjectVersionInfo {
  versionId: string
  isLatest: boolean
  isDeleteMarker: boolean
  size: number
  etag: string | undefined
  lastModified: string
}

interface StoredVersion {
  versionId: string
  deleteMarker: boolean
  lastModified: string
  etag?: string
  size: number
  headers: Record<string, string>
  file?: string
}

interface BucketState extends BucketInfo {
  /** The owning account when not the stand-in's own (a bucket another account opened to us). */
  owner?: string
  /** Versioning has been Enabled or Suspended at some point: the version store is authoritative. */
  tracked: boolean
}

interface State {
  buckets: Record<string, BucketState>
  versions: Record<string, Record<string, StoredVersion[]>>
}

interface Upstream {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
}

interface Ctx {
  req: http.IncomingMessage
  res: http.ServerResponse
  record: RecordedRequest
  raw: Buffer
  rawPath: string
  q: URLSearchParams
  bucket: string
  key: string
  method: string
  operation: string
}

/** Object headers S3 stores with an object and returns on GET/HEAD. */
const STORED_HEADERS = [
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'content-type',
  'expires',
  'x-amz-storage-class',
  'x-amz-website-redirect-location'
]

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'date'])

const BUCKET_SUBRESOURCES: Record<string, { PUT?: string; GET?: string; DELETE?: string }> = {
  versioning: { PUT: 'PutBucketVersioning', GET: 'GetBucketVersioning' },
  encryption: {
    PUT: 'PutBucketEncryption',
    GET: 'GetBucketEncryption',
    DELETE: 'DeleteBucketEncryption'
  },
  publicAccessBlock: {
    PUT: 'PutPublicAccessBlock',
    GET: 'GetPublicAccessBlock',
    DELETE: 'DeletePublicAccessBlock'
  },
  policy: { PUT: 'PutBucketPolicy', GET: 'GetBucketPolicy', DELETE: 'DeleteBucketPolicy' },
  ownershipControls: {
    PUT: 'PutBucketOwnershipControls',
    GET: 'GetBucketOwnershipControls',
    DELETE: 'DeleteBucketOwnershipControls'
  },
  tagging: { PUT: 'PutBucketTagging', GET: 'GetBucketTagging', DELETE: 'DeleteBucketTagging' },
  cors: { PUT: 'PutBucketCors', GET: 'GetBucketCors', DELETE: 'DeleteBucketCors' },
  website: { PUT: 'PutBucketWebsite', GET: 'GetBucketWebsite', DELETE: 'DeleteBucketWebsite' },
  acl: { PUT: 'PutBucketAcl', GET: 'GetBucketAcl' },
  lifecycle: {
    PUT: 'PutBucketLifecycleConfiguration',
    GET: 'GetBucketLifecycleConfiguration',
    DELETE: 'DeleteBucketLifecycle'
  },
  location: { GET: 'GetBucketLocation' },
  logging: { PUT: 'PutBucketLogging', GET: 'GetBucketLogging' },
  notification: {
    PUT: 'PutBucketNotificationConfiguration',
    GET: 'GetBucketNotificationConfiguration'
  },
  'object-lock': { PUT: 'PutObjectLockConfiguration', GET: 'GetObjectLockConfiguration' },
  policyStatus: { GET: 'GetBucketPolicyStatus' },
  uploads: { GET: 'ListMultipartUploads' },
  versions: { GET: 'ListObjectVersions' }
}

/** The S3 API operation a path-style request is. */
export function s3Operation(
  method: string,
  bucket: string,
  key: string,
  q: URLSearchParams,
  headers: http.IncomingHttpHeaders
): string {
  const m = method.toUpperCase()
  if (bucket === '') return m === 'GET' ? 'ListBuckets' : `Unknown(${m} /)`
  if (key === '') {
    for (const [sub, ops] of Object.entries(BUCKET_SUBRESOURCES)) {
      if (q.has(sub)) return ops[m as 'PUT' | 'GET' | 'DELETE'] ?? `Unknown(${m} ?${sub})`
    }
    if (m === 'POST' && q.has('delete')) return 'DeleteObjects'
    switch (m) {
      case 'PUT':
        return 'CreateBucket'
      case 'HEAD':
        return 'HeadBucket'
      case 'DELETE':
        return 'DeleteBucket'
      case 'GET':
        return q.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects'
      default:
        return `Unknown(${m} bucket)`
    }
  }
  const copy = headers['x-amz-copy-source'] !== undefined
  switch (m) {
    case 'PUT':
      if (q.has('uploadId')) return copy ? 'UploadPartCopy' : 'UploadPart'
      if (q.has('tagging')) return 'PutObjectTagging'
      if (q.has('acl')) return 'PutObjectAcl'
      return copy ? 'CopyObject' : 'PutObject'
    case 'GET':
      if (q.has('uploadId')) return 'ListParts'
      if (q.has('tagging')) return 'GetObjectTagging'
      if (q.has('acl')) return 'GetObjectAcl'
      if (q.has('attributes')) return 'GetObjectAttributes'
      return 'GetObject'
    case 'HEAD':
      return 'HeadObject'
    case 'DELETE':
      if (q.has('uploadId')) return 'AbortMultipartUpload'
      if (q.has('tagging')) return 'DeleteObjectTagging'
      return 'DeleteObject'
    case 'POST':
      if (q.has('uploads')) return 'CreateMultipartUpload'
      if (q.has('uploadId')) return 'CompleteMultipartUpload'
      return 'Unknown(POST object)'
    default:
      return `Unknown(${m} object)`
  }
}

function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/')
}

function newVersionId(): string {
  return randomBytes(24).toString('base64url')
}

export class S3StandIn extends HttpStandIn {
  private s3rver: S3rver | undefined
  private upstreamPort = 0
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 })
  private readonly foreign: Set<string>
  private readonly dataDir: string
  private readonly ownsDataDir: boolean
  private readonly stateFile: string
  private readonly versionDir: string
  private readonly ownerId: string
  private readonly accountId: string
  private readonly defaults: BucketDefaults
  private readonly locks = new Map<string, Promise<unknown>>()
  /** Current keys per bucket in S3 order, kept up to date by every write and delete below. */
  private readonly objects: ObjectIndex
  private state: State = { buckets: {}, versions: {} }

  constructor(options: S3StandInOptions = {}) {
    super()
    this.foreign = new Set(options.foreignBuckets ?? [])
    this.ownsDataDir = options.dataDir === undefined
    this.dataDir = options.dataDir ?? makeTempDir('standin-s3-')
    this.stateFile = path.join(this.dataDir, 's3-front-state.json')
    this.versionDir = path.join(this.dataDir, 's3-versions')
    this.accountId = options.accountId ?? '123456789012'
    this.ownerId = createHash('sha256').update(`account:${this.accountId}`).digest('hex')
    this.defaults = options.bucketDefaults ?? 'aws'
    this.objects = new ObjectIndex(path.join(this.dataDir, 's3rver'))
  }

  override async start(): Promise<this> {
    const s3rverDir = path.join(this.dataDir, 's3rver')
    fs.mkdirSync(s3rverDir, { recursive: true })
    fs.mkdirSync(this.versionDir, { recursive: true })
    if (fs.existsSync(this.stateFile))
      this.state = JSON.parse(fs.readFileSync(this.stateFile, 'utf8')) as State
    this.s3rver = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory: s3rverDir,
      vhostBuckets: false
    })
    durableObjectWrites(this.s3rver.store)
    const address = await this.s3rver.run()
    this.upstreamPort = address.port
    return super.start()
  }

  override async stop(): Promise<void> {
    await super.stop()
    if (this.s3rver) await this.s3rver.close().catch(() => undefined)
    this.agent.destroy()
    if (this.ownsDataDir) fs.rmSync(this.dataDir, { recursive: true, force: true })
  }

  /** Mark a bucket name as owned by another account. */
  addForeignBucket(name: string): void {
    this.foreign.add(name)
  }

  /**
   * Give an existing bucket to another account that lets ours use it (as a bucket policy granting
   * our account would): requests work, except those whose ExpectedBucketOwner is our account.
   */
  setBucketOwner(name: string, account: string): void {
    const b = this.state.buckets[name]
    if (!b) throw new Error(`No bucket ${name} in the S3 stand-in`)
    b.owner = account
    this.save()
  }

  buckets(): BucketInfo[] {
    return Object.values(this.state.buckets).map(b => ({
      name: b.name,
      region: b.region,
      createdAt: b.createdAt,
      config: structuredClone(b.config)
    }))
  }

  bucketConfig(name: string): BucketConfig | undefined {
    const b = this.state.buckets[name]
    return b ? structuredClone(b.config) : undefined
  }

  /** Versions of one key, newest first (empty for a bucket that never had versioning on). */
  objectVersions(bucket: string, key: string): ObjectVersionInfo[] {
    return (this.state.versions[bucket]?.[key] ?? []).map((v, i) => ({
      versionId: v.versionId,
      isLatest: i === 0,
      isDeleteMarker: v.deleteMarker,
      size: v.size,
      etag: v.etag,
      lastModified: v.lastModified
    }))
  }

  /**
   * Test helper: store objects without going through a client or s3rver's HTTP layer (fast
   * seeding, e.g. thousands of keys, written straight into s3rver's file layout). Versioned
   * buckets get a version per object as with PutObject.
   */
  putObjects(
    bucket: string,
    objects: Array<{
      key: string
      body: string | Buffer
      contentType?: string
      metadata?: Record<string, string>
    }>
  ): void {
    const b = this.state.buckets[bucket]
    if (!b || !this.s3rver) throw new Error(`putObjects: no bucket named ${bucket}`)
    for (const { key, body, contentType, metadata } of objects) {
      const content = Buffer.from(body)
      const md5 = createHash('md5').update(content).digest('hex')
      const headers: Record<string, string> = {
        'content-type': contentType ?? 'binary/octet-stream'
      }
      for (const [k, v] of Object.entries(metadata ?? {}))
        headers[`x-amz-meta-${k.toLowerCase()}`] = v
      const objectPath = this.s3rver.store.getResourcePath(bucket, key, 'object')
      fs.mkdirSync(path.dirname(objectPath), { recursive: true })
      fs.writeFileSync(objectPath, content)
      fs.writeFileSync(`${objectPath}.md5`, md5)
      fs.writeFileSync(
        this.s3rver.store.getResourcePath(bucket, key, 'metadata.json'),
        JSON.stringify(headers)
      )
      if (b.tracked) {
        const current: Upstream = {
          status: 200,
          headers: { ...headers, etag: `"${md5}"` },
          body: content
        }
        this.addVersion(b, key, current, {})
      }
      this.objects.refresh(bucket, key)
    }
  }

  // ---------------------------------------------------------------- request handling

  protected override async handle(
    req: http.IncomingMessage,
    res: http.ServerResponse
  ): Promise<void> {
    const raw = await readBody(req)
    const url = req.url ?? '/'
    const qi = url.indexOf('?')
    const rawPath = qi < 0 ? url : url.slice(0, qi)
    const q = new URLSearchParams(qi < 0 ? '' : url.slice(qi + 1))
    const slash = rawPath.indexOf('/', 1)
    const bucket = decodeURIComponent(slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash))
    const key = slash < 0 ? '' : decodeURIComponent(rawPath.slice(slash + 1))
    const method = (req.method ?? 'GET').toUpperCase()
    const operation = s3Operation(method, bucket, key, q, req.headers)
    const { record, fault } = this.log.record('s3', operation, req)
    if (fault === 'reset') return resetConnection(req)
    const ctx: Ctx = { req, res, record, raw, rawPath, q, bucket, key, method, operation }
    try {
      if (fault === 'throttle')
        throw new S3Error('SlowDown', 'Please reduce your request rate.', 503)
      if (fault === '5xx')
        throw new S3Error(
          'InternalError',
          'We encountered an internal error. Please try again.',
          500
        )
      await this.dispatch(ctx)
    } catch (error) {
      if (!(error instanceof S3Error)) throw error
      this.sendError(ctx, error)
    }
  }

  private sendError(ctx: Ctx, e: S3Error): void {
    const fields: Record<string, string> = { ...e.fields }
    if (ctx.bucket && e.code === 'NoSuchBucket') fields.BucketName = ctx.bucket
    if (ctx.key && (e.code === 'NoSuchKey' || e.code === 'NoSuchVersion')) fields.Key = ctx.key
    const id = requestId()
    const body =
      XML_DECL +
      `<Error>${xmlFields({ Code: e.code, Message: e.message, ...fields, RequestId: id, HostId: id })}</Error>`
    send(
      ctx.res,
      ctx.record,
      e.status,
      {
        'content-type': 'application/xml',
        'x-amz-request-id': id,
        'x-amz-id-2': id,
        ...e.headers
      },
      ctx.method === 'HEAD' ? undefined : body
    )
  }

  private ok(
    ctx: Ctx,
    status: number,
    body?: string | Buffer,
    headers: Record<string, string> = {}
  ): void {
    const id = requestId()
    const h: Record<string, string> = { 'x-amz-request-id': id, 'x-amz-id-2': id, ...headers }
    if (body !== undefined && h['content-type'] === undefined) h['content-type'] = 'application/xml'
    send(ctx.res, ctx.record, status, h, body)
  }

  private async dispatch(ctx: Ctx): Promise<void> {
    const { req, bucket, operation } = ctx
    const signed = req.headers.authorization !== undefined || ctx.q.has('X-Amz-Credential')
    if (!signed) throw new S3Error('AccessDenied', 'Access Denied', 403)
    const region = signingRegion(req) ?? 'us-east-1'
    if (bucket === '') {
      if (operation === 'ListBuckets') return this.listBuckets(ctx)
      throw new S3Error(
        'MethodNotAllowed',
        'The specified method is not allowed against this resource.',
        405
      )
    }
    if (this.foreign.has(bucket)) {
      if (operation === 'CreateBucket') {
        throw new S3Error(
          'BucketAlreadyExists',
          'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
          409,
          { BucketName: bucket }
        )
      }
      throw new S3Error('AccessDenied', 'Access Denied', 403)
    }
    if (operation === 'CreateBucket') return this.createBucket(ctx, region)
    const b = this.state.buckets[bucket]
    if (!b) throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', 404)
    const expectedOwner = req.headers['x-amz-expected-bucket-owner']
    if (expectedOwner !== undefined && expectedOwner !== (b.owner ?? this.accountId))
      throw new S3Error('AccessDenied', 'Access Denied', 403)
    if (b.region !== region && operation !== 'GetBucketLocation') {
      throw new S3Error(
        'PermanentRedirect',
        'The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.',
        301,
        { Endpoint: `s3.${b.region}.amazonaws.com`, Bucket: bucket },
        { 'x-amz-bucket-region': b.region }
      )
    }
    const c = b.config
    switch (operation) {
      case 'HeadBucket':
        return this.ok(ctx, 200, undefined, {
          'x-amz-bucket-region': b.region,
          'x-amz-access-point-alias': 'false'
        })
      case 'GetBucketLocation':
        return this.ok(ctx, 200, XML_DECL + locationXml(b.region))
      case 'DeleteBucket':
        return this.deleteBucket(ctx, b)
      case 'PutBucketVersioning': {
        const status = parseVersioning(decodeS3Body(req.headers, ctx.raw).body.toString('utf8'))
        if (!b.tracked) await this.startTracking(b)
        c.versioning = status
        this.save()
        return this.ok(ctx, 200)
      }
      case 'GetBucketVersioning':
        return this.ok(ctx, 200, XML_DECL + versioningXml(c.versioning))
      case 'PutBucketEncryption':
        c.encryption = parseEncryption(this.configBody(ctx))
        this.save()
        return this.ok(ctx, 200)
      case 'GetBucketEncryption':
        if (!c.encryption)
          throw new S3Error(
            'ServerSideEncryptionConfigurationNotFoundError',
            'The server side encryption configuration was not found',
            404,
            { BucketName: bucket }
          )
        return this.ok(ctx, 200, XML_DECL + encryptionXml(c.encryption))
      case 'DeleteBucketEncryption':
        if (this.defaults === 'aws') c.encryption = { ...DEFAULT_ENCRYPTION }
        else delete c.encryption
        this.save()
        return this.ok(ctx, 204)
      case 'PutPublicAccessBlock':
        c.publicAccessBlock = parsePublicAccessBlock(this.configBody(ctx))
        this.save()
        return this.ok(ctx, 200)
      case 'GetPublicAccessBlock':
        if (!c.publicAccessBlock)
          throw new S3Error(
            'NoSuchPublicAccessBlockConfiguration',
            'The public access block configuration was not found',
            404,
            { BucketName: bucket }
          )
        return this.ok(ctx, 200, XML_DECL + publicAccessBlockXml(c.publicAccessBlock))
      case 'DeletePublicAccessBlock':
        delete c.publicAccessBlock
        this.save()
        return this.ok(ctx, 204)
      case 'PutBucketPolicy': {
        const policy = this.configBody(ctx)
        validatePolicy(bucket, policy, c.publicAccessBlock)
        c.policy = policy
        this.save()
        return this.ok(ctx, 204)
      }
      case 'GetBucketPolicy':
        if (c.policy === undefined)
          throw new S3Error('NoSuchBucketPolicy', 'The bucket policy does not exist', 404, {
            BucketName: bucket
          })
        return this.ok(ctx, 200, c.policy, { 'content-type': 'application/json' })
      case 'DeleteBucketPolicy':
        delete c.policy
        this.save()
        return this.ok(ctx, 204)
      case 'PutBucketOwnershipControls':
        c.ownership = parseOwnership(this.configBody(ctx))
        this.save()
        return this.ok(ctx, 200)
      case 'GetBucketOwnershipControls':
        if (!c.ownership)
          throw new S3Error(
            'OwnershipControlsNotFoundError',
            'The bucket ownership controls were not found',
            404,
            { BucketName: bucket }
          )
        return this.ok(ctx, 200, XML_DECL + ownershipXml(c.ownership))
      case 'DeleteBucketOwnershipControls':
        delete c.ownership
        this.save()
        return this.ok(ctx, 204)
      case 'PutBucketTagging':
        c.tags = parseTagging(this.configBody(ctx))
        this.save()
        return this.ok(ctx, 204)
      case 'GetBucketTagging':
        if (!c.tags || c.tags.length === 0)
          throw new S3Error('NoSuchTagSet', 'The TagSet does not exist', 404, {
            BucketName: bucket
          })
        return this.ok(ctx, 200, XML_DECL + taggingXml(c.tags))
      case 'DeleteBucketTagging':
        delete c.tags
        this.save()
        return this.ok(ctx, 204)
      case 'ListObjects':
      case 'ListObjectsV2':
        return this.ok(
          ctx,
          200,
          XML_DECL + listObjectsXml(this.objects, bucket, ctx.q, this.ownerXml())
        )
      case 'ListObjectVersions':
        return this.listObjectVersions(ctx, b)
      case 'DeleteObjects':
        return this.deleteObjects(ctx, b)
      case 'PutObject':
      case 'CopyObject':
      case 'CompleteMultipartUpload':
        return this.writeObject(ctx, b)
      case 'DeleteObject': {
        const versionId = ctx.q.get('versionId') ?? undefined
        const r = await this.deleteOne(b, ctx.key, versionId)
        const h: Record<string, string> = {}
        const vid = r.deleteMarkerVersionId ?? r.versionId
        if (vid !== undefined && b.tracked) h['x-amz-version-id'] = vid
        if (r.deleteMarker) h['x-amz-delete-marker'] = 'true'
        return this.ok(ctx, 204, undefined, h)
      }
      case 'GetObject':
      case 'HeadObject':
        return this.getObject(ctx, b)
      case 'AbortMultipartUpload':
        return this.ok(ctx, 204)
      default:
        return this.relay(ctx, await this.forwardRequest(ctx))
    }
  }

  /** A configuration body: decoded from aws-chunked and checksum-verified like any other. */
  private configBody(ctx: Ctx): string {
    return decodeS3Body(ctx.req.headers, ctx.raw).body.toString('utf8')
  }

  /** The bucket owner as listings show it (canonical user id; AWS no longer sends DisplayName). */
  private ownerXml(): string {
    return `<Owner><ID>${this.ownerId}</ID></Owner>`
  }

  // ---------------------------------------------------------------- buckets

  private listBuckets(ctx: Ctx): void {
    const items = Object.values(this.state.buckets)
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map(
        b =>
          `<Bucket>${xmlFields({ Name: b.name, CreationDate: b.createdAt, BucketRegion: b.region })}</Bucket>`
      )
      .join('')
    this.ok(
      ctx,
      200,
      XML_DECL +
        `<ListAllMyBucketsResult xmlns="${S3_NS}"><Owner><ID>${this.ownerId}</ID></Owner>` +
        `<Buckets>${items}</Buckets></ListAllMyBucketsResult>`
    )
  }

  private async createBucket(ctx: Ctx, endpointRegion: string): Promise<void> {
    const { bucket } = ctx
    const invalid = invalidBucketName(bucket)
    if (invalid) throw new S3Error('InvalidBucketName', invalid, 400, { BucketName: bucket })
    const region = createBucketRegion(
      endpointRegion,
      decodeS3Body(ctx.req.headers, ctx.raw).body.toString('utf8')
    )
    const existing = this.state.buckets[bucket]
    if (existing?.owner !== undefined && existing.owner !== this.accountId) {
      throw new S3Error(
        'BucketAlreadyExists',
        'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
        409,
        { BucketName: bucket }
      )
    }
    if (existing) {
      if (existing.region === 'us-east-1' && region === 'us-east-1')
        return this.ok(ctx, 200, undefined, { location: `/${bucket}` })
      throw new S3Error(
        'BucketAlreadyOwnedByYou',
        'Your previous request to create the named bucket succeeded and you already own it.',
        409,
        { BucketName: bucket }
      )
    }
    const ownership = ctx.req.headers['x-amz-object-ownership']
    const config = defaultBucketConfig(this.defaults)
    if (ownership !== undefined) {
      if (
        ownership !== 'BucketOwnerEnforced' &&
        ownership !== 'BucketOwnerPreferred' &&
        ownership !== 'ObjectWriter'
      )
        throw new S3Error('InvalidArgument', 'Invalid x-amz-object-ownership header', 400)
      config.ownership = ownership
    }
    // Registered before the first await so a concurrent CreateBucket sees it.
    this.state.buckets[bucket] = {
      name: bucket,
      region,
      createdAt: new Date().toISOString(),
      config,
      tracked: false
    }
    this.save()
    const up = await this.forward('PUT', `/${encodeURIComponent(bucket)}`, {}, Buffer.alloc(0))
    this.objects.drop(bucket)
    if (up.status !== 200) {
      delete this.state.buckets[bucket]
      this.save()
      return this.relay(ctx, up)
    }
    this.ok(ctx, 200, undefined, {
      location: region === 'us-east-1' ? `/${bucket}` : `http://${bucket}.s3.amazonaws.com/`
    })
  }

  private async deleteBucket(ctx: Ctx, b: BucketState): Promise<void> {
    const versions = this.state.versions[b.name] ?? {}
    if (Object.values(versions).some(list => list.length > 0)) {
      throw new S3Error(
        'BucketNotEmpty',
        'The bucket you tried to delete is not empty. You must delete all versions in the bucket.',
        409,
        { BucketName: b.name }
      )
    }
    const up = await this.forward('DELETE', `/${encodeURIComponent(b.name)}`, {}, Buffer.alloc(0))
    if (up.status === 204) {
      this.objects.drop(b.name)
      delete this.state.buckets[b.name]
      delete this.state.versions[b.name]
      this.save()
    }
    this.relay(ctx, up)
  }

  // ---------------------------------------------------------------- objects

  private async writeObject(ctx: Ctx, b: BucketState): Promise<void> {
    if (ctx.operation === 'CopyObject') this.checkCopySource(ctx)
    const decoded = decodeS3Body(ctx.req.headers, ctx.raw)
    const { key } = ctx
    await this.withLock(b.name, key, async () => {
      if (ctx.operation !== 'CopyObject') await this.checkWritePreconditions(ctx, b.name, key)
      const up = await this.forward(
        ctx.method,
        this.upstreamPath(ctx),
        decoded.headers,
        decoded.body
      )
      const extra: Record<string, string> = {}
      if (up.status === 200 && ctx.operation === 'CompleteMultipartUpload') {
        const etag = this.fixMultipartEtag(b.name, key, decoded.body.toString('utf8'))
        if (etag) {
          up.body = Buffer.from(
            up.body
              .toString('utf8')
              .replace(/<ETag>[^<]*<\/ETag>/, `<ETag>${escapeXml(etag)}</ETag>`)
          )
        }
      }
      if (up.status === 200 && ctx.operation === 'PutObject') {
        for (const [name, value] of Object.entries(decoded.checksums)) extra[name] = value
      }
      if (up.status === 200 && b.tracked) {
        const current = await this.fetchCurrent(b.name, key)
        if (current) {
          const checksums = ctx.operation === 'PutObject' ? decoded.checksums : {}
          extra['x-amz-version-id'] = this.addVersion(b, key, current, checksums).versionId
        }
      }
      this.objects.refresh(b.name, key)
      this.relay(ctx, up, extra)
    })
  }

  private checkCopySource(ctx: Ctx): void {
    const source = String(ctx.req.headers['x-amz-copy-source'] ?? '')
    const qi = source.indexOf('?')
    // S3 URL-decodes the whole source; s3rver's decodeURI leaves %2B, %2C, %3D... encoded, so the
    // source is handed on in the form decodeURI restores exactly.
    ctx.req.headers['x-amz-copy-source'] = encodeURI(
      decodeURIComponent(qi < 0 ? source : source.slice(0, qi))
    )
    if (qi < 0) return
    const versionId = new URLSearchParams(source.slice(qi + 1)).get('versionId')
    const src = decodeURIComponent(source.slice(0, qi)).replace(/^\//, '')
    const slash = src.indexOf('/')
    const latest = this.state.versions[src.slice(0, slash)]?.[src.slice(slash + 1)]?.[0]
    if (versionId !== null && versionId !== 'null' && latest?.versionId !== versionId) {
      throw new S3Error(
        'NotImplemented',
        'The S3 stand-in copies only the current version of an object.',
        501
      )
    }
  }

  /** Conditional writes (If-None-Match: * and If-Match: etag), as S3 has had since 2024. */
  private async checkWritePreconditions(ctx: Ctx, bucket: string, key: string): Promise<void> {
    const noneMatch = ctx.req.headers['if-none-match']
    const match = ctx.req.headers['if-match']
    if (noneMatch === undefined && match === undefined) return
    const head = await this.forward('HEAD', `/${encodeURIComponent(bucket)}/${encodeKey(key)}`, {})
    const exists = head.status === 200
    if (noneMatch !== undefined && exists) {
      throw new S3Error(
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
        412,
        {
          Condition: 'If-None-Match'
        }
      )
    }
    if (match !== undefined) {
      if (!exists) throw new S3Error('NoSuchKey', 'The specified key does not exist.', 404)
      const strip = (s: string): string => s.replace(/"/g, '')
      if (strip(String(head.headers.etag ?? '')) !== strip(match))
        throw new S3Error(
          'PreconditionFailed',
          'At least one of the pre-conditions you specified did not hold',
          412,
          {
            Condition: 'If-Match'
          }
        )
    }
  }

  /** Give a completed multipart object S3's ETag: md5 of the part md5s, dash, part count. */
  private fixMultipartEtag(bucket: string, key: string, completeXml: string): string | undefined {
    const parts = xmlAll(completeXml, 'Part').map(p => (xmlText(p, 'ETag') ?? '').replace(/"/g, ''))
    if (parts.length === 0 || parts.some(p => !/^[0-9a-f]{32}$/.test(p)) || !this.s3rver)
      return undefined
    const md5 = createHash('md5')
    for (const p of parts) md5.update(Buffer.from(p, 'hex'))
    const etag = `${md5.digest('hex')}-${parts.length}`
    fs.writeFileSync(`${this.s3rver.store.getResourcePath(bucket, key, 'object')}.md5`, etag)
    return `"${etag}"`
  }

  private async getObject(ctx: Ctx, b: BucketState): Promise<void> {
    const versionId = ctx.q.get('versionId')
    const list = this.state.versions[b.name]?.[ctx.key] ?? []
    if (versionId === null || (!b.tracked && versionId === 'null')) {
      const up = await this.forwardRequest(ctx)
      const latest = list[0]
      const extra: Record<string, string> = {}
      if (b.tracked && latest) {
        extra['x-amz-version-id'] = latest.versionId
        if (latest.deleteMarker) extra['x-amz-delete-marker'] = 'true'
      }
      return this.relay(ctx, up, extra)
    }
    if (!b.tracked)
      throw new S3Error('InvalidArgument', 'Invalid version id specified', 400, {
        ArgumentName: 'versionId',
        ArgumentValue: versionId
      })
    const v = list.find(x => x.versionId === versionId)
    if (!v)
      throw new S3Error('NoSuchVersion', 'The specified version does not exist.', 404, {
        VersionId: versionId
      })
    if (v.deleteMarker) {
      throw new S3Error(
        'MethodNotAllowed',
        'The specified method is not allowed against this resource.',
        405,
        { Method: ctx.method, ResourceType: 'DeleteMarker' },
        {
          'x-amz-delete-marker': 'true',
          'x-amz-version-id': v.versionId,
          'last-modified': new Date(v.lastModified).toUTCString(),
          allow: 'DELETE'
        }
      )
    }
    const content = v.file ? fs.readFileSync(path.join(this.versionDir, v.file)) : Buffer.alloc(0)
    const headers: Record<string, string> = {
      ...v.headers,
      'last-modified': new Date(v.lastModified).toUTCString(),
      'x-amz-version-id': v.versionId,
      'accept-ranges': 'bytes'
    }
    if (v.etag) headers.etag = v.etag
    const range = /^bytes=(\d*)-(\d*)$/.exec(String(ctx.req.headers.range ?? ''))
    if (range && (range[1] !== '' || range[2] !== '')) {
      let start = range[1] === '' ? content.length - Number(range[2]) : Number(range[1])
      let end = range[1] === '' || range[2] === '' ? content.length - 1 : Number(range[2])
      start = Math.max(0, start)
      end = Math.min(end, content.length - 1)
      if (start > end)
        throw new S3Error('InvalidRange', 'The requested range is not satisfiable', 416, {
          RangeRequested: String(ctx.req.headers.range),
          ActualObjectSize: String(content.length)
        })
      headers['content-range'] = `bytes ${start}-${end}/${content.length}`
      return this.ok(ctx, 206, content.subarray(start, end + 1), headers)
    }
    headers['content-length'] = String(content.length)
    send(ctx.res, ctx.record, 200, { 'x-amz-request-id': requestId(), ...headers }, content)
  }

  private async deleteOne(
    b: BucketState,
    key: string,
    versionId: string | undefined
  ): Promise<{ versionId?: string; deleteMarker?: boolean; deleteMarkerVersionId?: string }> {
    if (!b.tracked) {
      await this.deleteCurrent(b.name, key)
      return versionId === undefined ? {} : { versionId }
    }
    return this.withLock(b.name, key, async () => {
      const byKey = (this.state.versions[b.name] ??= {})
      const list = (byKey[key] ??= [])
      if (versionId === undefined) {
        await this.deleteCurrent(b.name, key)
        const id = b.config.versioning === 'Enabled' ? newVersionId() : 'null'
        if (id === 'null') this.dropVersion(list, 'null')
        list.unshift({
          versionId: id,
          deleteMarker: true,
          lastModified: new Date().toISOString(),
          size: 0,
          headers: {}
        })
        this.save()
        return { deleteMarker: true, deleteMarkerVersionId: id }
      }
      const index = list.findIndex(v => v.versionId === versionId)
      if (index < 0) return { versionId }
      const removed = list[index] as StoredVersion
      this.dropVersion(list, versionId)
      if (index === 0) {
        if (!removed.deleteMarker) await this.deleteCurrent(b.name, key)
        const next = list[0]
        if (next && !next.deleteMarker) await this.restoreCurrent(b.name, key, next)
      }
      if (list.length === 0) delete byKey[key]
      this.save()
      return removed.deleteMarker
        ? { versionId, deleteMarker: true, deleteMarkerVersionId: versionId }
        : { versionId }
    })
  }

  private async deleteObjects(ctx: Ctx, b: BucketState): Promise<void> {
    const xml = decodeS3Body(ctx.req.headers, ctx.raw).body.toString('utf8')
    if (!xml.includes('<Delete'))
      throw new S3Error(
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate against our published schema',
        400
      )
    const objects = xmlAll(xml, 'Object').map(o => ({
      key: xmlText(o, 'Key'),
      versionId: xmlText(o, 'VersionId')
    }))
    if (objects.length === 0 || objects.length > 1000 || objects.some(o => o.key === undefined))
      throw new S3Error(
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate against our published schema',
        400
      )
    const quiet = xmlText(xml, 'Quiet') === 'true'
    const out: string[] = []
    for (const o of objects) {
      const key = o.key as string
      const r = await this.deleteOne(b, key, o.versionId)
      if (quiet) continue
      out.push(
        `<Deleted>${xmlFields({
          Key: key,
          VersionId: r.versionId,
          DeleteMarker: r.deleteMarker,
          DeleteMarkerVersionId: r.deleteMarker && b.tracked ? r.deleteMarkerVersionId : undefined
        })}</Deleted>`
      )
    }
    this.ok(ctx, 200, XML_DECL + `<DeleteResult xmlns="${S3_NS}">${out.join('')}</DeleteResult>`)
  }

  private async listObjectVersions(ctx: Ctx, b: BucketState): Promise<void> {
    const q = ctx.q
    const prefix = q.get('prefix') ?? ''
    const delimiter = q.get('delimiter') ?? ''
    const keyMarker = q.get('key-marker') ?? ''
    const versionIdMarker = q.get('version-id-marker') ?? ''
    const maxKeysRaw = q.get('max-keys')
    const maxKeys = maxKeysRaw === null ? 1000 : Math.min(1000, Number(maxKeysRaw))
    if (!Number.isInteger(maxKeys) || maxKeys < 0)
      throw new S3Error(
        'InvalidArgument',
        'Provided max-keys not an integer or within integer range',
        400,
        {
          ArgumentName: 'max-keys',
          ArgumentValue: String(maxKeysRaw)
        }
      )
    const urlEncode = q.get('encoding-type') === 'url'
    const enc = (s: string): string => (urlEncode ? s3UrlEncode(s) : s)

    let entries: Array<{ key: string; v: StoredVersion; latest: boolean }>
    if (b.tracked) {
      entries = Object.entries(this.state.versions[b.name] ?? {})
        .filter(([key]) => key.startsWith(prefix))
        .sort(([a], [c]) => compareKeys(a, c))
        .flatMap(([key, list]) => list.map((v, i) => ({ key, v, latest: i === 0 })))
    } else {
      entries = this.objects.objects(b.name, prefix).map(o => ({
        key: o.key,
        v: this.nullVersion(o),
        latest: true
      }))
    }

    let start = 0
    if (keyMarker !== '') {
      const after = (): number => entries.findIndex(e => compareKeys(e.key, keyMarker) > 0)
      if (versionIdMarker !== '') {
        const i = entries.findIndex(e => e.key === keyMarker && e.v.versionId === versionIdMarker)
        start = i >= 0 ? i + 1 : after()
      } else {
        start = after()
      }
      if (start < 0) start = entries.length
    }

    const items: string[] = []
    const prefixes: string[] = []
    let count = 0
    let truncated = false
    let nextKey = ''
    let nextVersion = ''
    const owner = this.ownerXml()
    for (let i = start; i < entries.length; i++) {
      const e = entries[i] as (typeof entries)[number]
      const rest = e.key.slice(prefix.length)
      const d = delimiter ? rest.indexOf(delimiter) : -1
      if (d >= 0) {
        const cp = prefix + rest.slice(0, d + delimiter.length)
        if (prefixes[prefixes.length - 1] === cp) continue
        // A common prefix at or before the key marker was on an earlier page (as in ListObjects).
        if (keyMarker !== '' && compareKeys(cp, keyMarker) <= 0) continue
        if (count === maxKeys) {
          truncated = true
          break
        }
        prefixes.push(cp)
        nextKey = cp
        nextVersion = ''
        count++
        continue
      }
      if (count === maxKeys) {
        truncated = true
        break
      }
      const lastModified = e.v.lastModified
      if (e.v.deleteMarker) {
        items.push(
          `<DeleteMarker>${owner}${xmlFields({ Key: enc(e.key), VersionId: e.v.versionId, IsLatest: e.latest, LastModified: lastModified })}</DeleteMarker>`
        )
      } else {
        items.push(
          `<Version>${xmlFields({ Key: enc(e.key), VersionId: e.v.versionId, IsLatest: e.latest, LastModified: lastModified, ETag: e.v.etag, Size: e.v.size })}${owner}<StorageClass>STANDARD</StorageClass></Version>`
        )
      }
      nextKey = e.key
      nextVersion = e.v.versionId
      count++
    }
    const head = xmlFields({
      Name: b.name,
      Prefix: enc(prefix),
      KeyMarker: enc(keyMarker),
      VersionIdMarker: versionIdMarker,
      NextKeyMarker: truncated ? enc(nextKey) : undefined,
      NextVersionIdMarker: truncated && nextVersion ? nextVersion : undefined,
      MaxKeys: maxKeys,
      Delimiter: delimiter ? enc(delimiter) : undefined,
      EncodingType: urlEncode ? 'url' : undefined,
      IsTruncated: truncated
    })
    const cps = prefixes.map(
      p => `<CommonPrefixes><Prefix>${escapeXml(enc(p))}</Prefix></CommonPrefixes>`
    )
    this.ok(
      ctx,
      200,
      XML_DECL +
        `<ListVersionsResult xmlns="${S3_NS}">${head}${items.join('')}${cps.join('')}</ListVersionsResult>`
    )
  }

  // ---------------------------------------------------------------- version store

  /** When versioning is first turned on, the objects already there become 'null' versions. */
  private async startTracking(b: BucketState): Promise<void> {
    const byKey = (this.state.versions[b.name] ??= {})
    for (const o of this.objects.objects(b.name, '')) {
      const current = await this.fetchCurrent(b.name, o.key)
      if (!current) continue
      byKey[o.key] = [this.makeVersion('null', current, {})]
    }
    b.tracked = true
  }

  private makeVersion(
    versionId: string,
    current: Upstream,
    checksums: Record<string, string>
  ): StoredVersion {
    const file = randomBytes(16).toString('hex')
    fs.writeFileSync(path.join(this.versionDir, file), current.body)
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(current.headers)) {
      if (typeof value !== 'string') continue
      if (STORED_HEADERS.includes(name) || name.startsWith('x-amz-meta-')) headers[name] = value
    }
    Object.assign(headers, checksums)
    const v: StoredVersion = {
      versionId,
      deleteMarker: false,
      lastModified: new Date().toISOString(),
      size: current.body.length,
      headers,
      file
    }
    if (typeof current.headers.etag === 'string') v.etag = current.headers.etag
    return v
  }

  private addVersion(
    b: BucketState,
    key: string,
    current: Upstream,
    checksums: Record<string, string>
  ): StoredVersion {
    const byKey = (this.state.versions[b.name] ??= {})
    const list = (byKey[key] ??= [])
    const id = b.config.versioning === 'Enabled' ? newVersionId() : 'null'
    if (id === 'null') this.dropVersion(list, 'null')
    const v = this.makeVersion(id, current, checksums)
    list.unshift(v)
    this.save()
    return v
  }

  private dropVersion(list: StoredVersion[], versionId: string): void {
    const i = list.findIndex(v => v.versionId === versionId)
    if (i < 0) return
    const [v] = list.splice(i, 1)
    if (v?.file) fs.rmSync(path.join(this.versionDir, v.file), { force: true })
  }

  /** Put an older version back as the current object in s3rver. */
  private async restoreCurrent(bucket: string, key: string, v: StoredVersion): Promise<void> {
    const body = v.file ? fs.readFileSync(path.join(this.versionDir, v.file)) : Buffer.alloc(0)
    const headers: http.OutgoingHttpHeaders = {}
    for (const [name, value] of Object.entries(v.headers)) {
      if (STORED_HEADERS.includes(name) || name.startsWith('x-amz-meta-')) headers[name] = value
    }
    await this.forward('PUT', `/${encodeURIComponent(bucket)}/${encodeKey(key)}`, headers, body)
    const etag = v.etag?.replace(/"/g, '')
    if (etag && this.s3rver)
      fs.writeFileSync(`${this.s3rver.store.getResourcePath(bucket, key, 'object')}.md5`, etag)
    this.objects.refresh(bucket, key)
  }

  /** Remove the current object from s3rver (and from the listing index). */
  private async deleteCurrent(bucket: string, key: string): Promise<void> {
    await this.forward('DELETE', `/${encodeURIComponent(bucket)}/${encodeKey(key)}`, {})
    this.objects.refresh(bucket, key)
  }

  private async fetchCurrent(bucket: string, key: string): Promise<Upstream | undefined> {
    const up = await this.forward('GET', `/${encodeURIComponent(bucket)}/${encodeKey(key)}`, {})
    return up.status === 200 ? up : undefined
  }

  /** A current object of a bucket that never had versioning on, as its 'null' version. */
  private nullVersion(o: ObjectSummary): StoredVersion {
    return {
      versionId: 'null',
      deleteMarker: false,
      lastModified: o.lastModified,
      etag: o.etag,
      size: o.size,
      headers: {}
    }
  }

  private async withLock<T>(bucket: string, key: string, fn: () => Promise<T>): Promise<T> {
    const id = `${bucket}\u0000${key}`
    const previous = this.locks.get(id) ?? Promise.resolve()
    const run = previous.then(fn, fn)
    const tail = run.catch(() => undefined)
    this.locks.set(id, tail)
    try {
      return await run
    } finally {
      if (this.locks.get(id) === tail) this.locks.delete(id)
    }
  }

  private save(): void {
    fs.writeFileSync(this.stateFile, JSON.stringify(this.state))
  }

  // ---------------------------------------------------------------- s3rver

  private upstreamPath(ctx: Ctx): string {
    const q = new URLSearchParams(ctx.q)
    q.delete('versionId')
    const qs = q.toString()
    return qs ? `${ctx.rawPath}?${qs}` : ctx.rawPath
  }

  private forwardRequest(ctx: Ctx): Promise<Upstream> {
    const decoded = decodeS3Body(ctx.req.headers, ctx.raw)
    return this.forward(ctx.method, this.upstreamPath(ctx), decoded.headers, decoded.body)
  }

  private forward(
    method: string,
    pathAndQuery: string,
    headers: http.IncomingHttpHeaders | http.OutgoingHttpHeaders,
    body?: Buffer
  ): Promise<Upstream> {
    const h: http.OutgoingHttpHeaders = {}
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined) continue
      if (['authorization', 'host', 'connection', 'expect', 'content-length'].includes(name))
        continue
      h[name] = value
    }
    if (body !== undefined && method !== 'GET' && method !== 'HEAD')
      h['content-length'] = body.length
    return new Promise((resolve, reject) => {
      const r = http.request(
        {
          host: '127.0.0.1',
          port: this.upstreamPort,
          method,
          path: pathAndQuery,
          headers: h,
          agent: this.agent
        },
        res => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 500,
              headers: res.headers,
              body: Buffer.concat(chunks)
            })
          )
          res.on('error', reject)
        }
      )
      r.on('error', reject)
      r.end(method === 'GET' || method === 'HEAD' ? undefined : body)
    })
  }

  private relay(ctx: Ctx, up: Upstream, extra: Record<string, string> = {}): void {
    const headers: http.OutgoingHttpHeaders = {}
    for (const [name, value] of Object.entries(up.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue
      headers[name] = value
    }
    if (ctx.method !== 'HEAD') headers['content-length'] = up.body.length
    if (headers['x-amz-request-id'] === undefined) headers['x-amz-request-id'] = requestId()
    Object.assign(headers, extra)
    send(ctx.res, ctx.record, up.status, headers, up.body)
  }
}

export async function startS3StandIn(options: S3StandInOptions = {}): Promise<S3StandIn> {
  const s3 = new S3StandIn(options)
  try {
    return await s3.start()
  } catch (error) {
    await s3.stop()
    throw error
  }
}
