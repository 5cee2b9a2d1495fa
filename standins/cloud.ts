/**
 * CloudFront invalidations and distribution configs (REST-XML, API 2020-05-31) and STS
 * GetCallerIdentity (query protocol) on one small server. CloudFront requests are told apart by their `/2020-05-31/` path; everything
 * POSTed to `/` is STS.
 */
import type http from 'node:http'
import { randomBytes } from 'node:crypto'
import {
  XML_DECL,
  escapeXml,
  readBody,
  requestId,
  resetConnection,
  send,
  unescapeXml,
  xmlAll,
  xmlFields,
  xmlText,
  type RecordedRequest,
  type ServiceName,
  HttpStandIn
} from './common'

export interface CloudStandInOptions {
  /** Account id STS reports. Default '123456789012'. */
  accountId?: string
  /** ARN STS reports. Default: an assumed-role session as GitHub OIDC gives. */
  callerArn?: string
  /** How long an invalidation stays InProgress. Default 500 ms. */
  invalidationMs?: number
}

export interface InvalidationInfo {
  id: string
  distributionId: string
  callerReference: string
  paths: string[]
  createTime: string
  status: 'InProgress' | 'Completed'
}

const CF_NS = 'http://cloudfront.amazonaws.com/doc/2020-05-31/'
const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/'
const CF_PREFIX = '/2020-05-31/'

/** CloudFront's limits on invalidations in progress, per distribution. */
export const MAX_FILE_PATHS_IN_PROGRESS = 3000
export const MAX_WILDCARD_PATHS_IN_PROGRESS = 15

class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly type: 'Sender' | 'Receiver' = 'Sender'
  ) {
    super(message)
  }
}

/** One origin of a distribution, as its DistributionConfig lists it. */
export interface OriginInfo {
  /** e.g. `my-site.s3.eu-west-1.amazonaws.com`. */
  domainName: string
  /** `''` or a path such as `/site` (CloudFront: starts with `/`, no trailing `/`). */
  originPath?: string
}

interface Distribution {
  origins: OriginInfo[]
  invalidations: Invalidation[]
}

interface Invalidation {
  id: string
  callerReference: string
  paths: string[]
  created: number
  /** A held invalidation: InProgress until this time (epoch ms; Infinity until released). */
  completesAt?: number
}

function randomId(prefix: string, length: number): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
  const bytes = randomBytes(length)
  return prefix + Array.from(bytes, b => chars[b % chars.length]).join('')
}

function isWildcard(path: string): boolean {
  return path.endsWith('*')
}

export class CloudStandIn extends HttpStandIn {
  private readonly distributions = new Map<string, Distribution>()
  private readonly denied = new Set<string>()
  private readonly accountId: string
  private readonly callerArn: string
  private readonly invalidationMs: number

  constructor(options: CloudStandInOptions = {}) {
    super()
    this.accountId = options.accountId ?? '123456789012'
    this.callerArn =
      options.callerArn ??
      `arn:aws:sts::${this.accountId}:assumed-role/revive-deploy-ci/GitHubActions`
    this.invalidationMs = options.invalidationMs ?? 500
  }

  /**
   * Register a distribution the stand-in knows (others answer NoSuchDistribution), with the
   * origins its GetDistributionConfig lists (default: one custom origin, `origin.example.com`).
   */
  addDistribution(
    id: string = randomId('E', 13),
    origins: OriginInfo[] = [{ domainName: 'origin.example.com' }]
  ): string {
    const known = this.distributions.get(id)
    if (known) known.origins = origins
    else this.distributions.set(id, { origins, invalidations: [] })
    return id
  }

  /**
   * Answer these CloudFront operations (e.g. `GetDistributionConfig`) with 403 AccessDenied, as
   * AWS does when the caller's policy lacks the action; `allow()` lifts it.
   */
  deny(...operations: string[]): void {
    for (const o of operations) this.denied.add(o)
  }

  allow(): void {
    this.denied.clear()
  }

  /**
   * Test knob: put invalidations of `batches` (one path list each) on the distribution that stay
   * InProgress for `hold` ms (default: until {@link releaseInvalidations}), or until `{ refusals }`
   * CreateInvalidation requests have been refused for them (whatever the time: a test on a slow
   * machine sees the same sequence), as a busy distribution's do; they count against CloudFront's
   * limits on paths in progress. Returns their ids.
   */
  holdInvalidations(
    distributionId: string,
    batches: string[][],
    hold: number | { refusals: number } = Infinity
  ): string[] {
    const distribution = this.distributions.get(distributionId)
    if (!distribution) throw new Error(`no distribution ${distributionId}`)
    const created = Date.now()
    const held = batches.map((paths, n) => {
      const inv: Invalidation = {
        id: randomId('I', 13),
        callerReference: `held-${created}-${n}`,
        paths: [...paths],
        created,
        completesAt: typeof hold === 'number' ? created + hold : Infinity
      }
      distribution.invalidations.unshift(inv)
      return inv
    })
    if (typeof hold !== 'number')
      this.heldUntilRefusals.set(distributionId, { held, left: hold.refusals })
    return held.map(inv => inv.id)
  }

  /** Held invalidations that complete after a number of refused CreateInvalidation requests. */
  private readonly heldUntilRefusals = new Map<string, { held: Invalidation[]; left: number }>()

  /** A CreateInvalidation was refused for room: count it against a `{ refusals }` hold. */
  private refused(distributionId: string): void {
    const hold = this.heldUntilRefusals.get(distributionId)
    if (!hold || --hold.left > 0) return
    const now = Date.now()
    for (const inv of hold.held) inv.completesAt = now
    this.heldUntilRefusals.delete(distributionId)
  }

  /** Completes every held invalidation now. */
  releaseInvalidations(): void {
    const now = Date.now()
    for (const d of this.distributions.values()) {
      for (const i of d.invalidations) if (i.completesAt !== undefined) i.completesAt = now
    }
  }

  /** Invalidations of a distribution, newest first. */
  invalidations(distributionId: string): InvalidationInfo[] {
    return (this.distributions.get(distributionId)?.invalidations ?? []).map(i =>
      this.info(distributionId, i)
    )
  }

  private info(distributionId: string, i: Invalidation): InvalidationInfo {
    return {
      id: i.id,
      distributionId,
      callerReference: i.callerReference,
      paths: [...i.paths],
      createTime: new Date(i.created).toISOString(),
      status: this.status(i)
    }
  }

  private status(i: Invalidation): 'InProgress' | 'Completed' {
    const done = i.completesAt ?? i.created + this.invalidationMs
    return Date.now() >= done ? 'Completed' : 'InProgress'
  }

  // ---------------------------------------------------------------- request handling

  protected override async handle(
    req: http.IncomingMessage,
    res: http.ServerResponse
  ): Promise<void> {
    const raw = await readBody(req)
    const url = new URL(req.url ?? '/', 'http://cloud.local')
    const method = (req.method ?? 'GET').toUpperCase()
    const isCloudFront = url.pathname.startsWith(CF_PREFIX)
    const service: ServiceName = isCloudFront ? 'cloudfront' : 'sts'
    const form = new URLSearchParams(raw.toString('utf8'))
    const route = isCloudFront ? cloudFrontRoute(method, url.pathname) : undefined
    const operation = isCloudFront
      ? (route?.operation ?? `Unknown(${method} ${url.pathname})`)
      : (form.get('Action') ?? url.searchParams.get('Action') ?? 'Unknown')
    const { record, fault } = this.log.record(service, operation, req)
    if (fault === 'reset') return resetConnection(req)
    try {
      if (fault === 'throttle') throw new AwsError('Throttling', 'Rate exceeded')
      if (fault === '5xx')
        throw new AwsError(
          'InternalFailure',
          'The request processing has failed because of an unknown error, exception or failure.',
          500,
          'Receiver'
        )
      if (req.headers.authorization === undefined)
        throw new AwsError(
          'MissingAuthenticationToken',
          'Request is missing Authentication Token',
          403
        )
      if (!isCloudFront) return this.sts(res, record, operation)
      if (!route)
        throw new AwsError(
          'InvalidArgument',
          `The stand-in does not serve ${method} ${url.pathname}`
        )
      if (this.denied.has(route.operation))
        throw new AwsError(
          'AccessDenied',
          `User: ${this.callerArn} is not authorized to perform: cloudfront:${route.operation} on resource: arn:aws:cloudfront::${this.accountId}:distribution/${route.distributionId}`,
          403
        )
      const distribution = this.distributions.get(route.distributionId)
      if (!distribution)
        throw new AwsError('NoSuchDistribution', 'The specified distribution does not exist.', 404)
      const invalidations = distribution.invalidations
      switch (route.operation) {
        case 'GetDistributionConfig':
          return this.xml(
            res,
            record,
            200,
            distributionConfigXml(route.distributionId, distribution),
            {
              etag: `E${route.distributionId.slice(1, 13)}`
            }
          )
        case 'CreateInvalidation':
          return this.createInvalidation(
            res,
            record,
            route.distributionId,
            invalidations,
            raw.toString('utf8')
          )
        case 'GetInvalidation': {
          const inv = invalidations.find(i => i.id === route.invalidationId)
          if (!inv)
            throw new AwsError(
              'NoSuchInvalidation',
              'The specified invalidation does not exist.',
              404
            )
          return this.xml(res, record, 200, this.invalidationXml(inv))
        }
        default:
          return this.listInvalidations(res, record, invalidations, url.searchParams)
      }
    } catch (error) {
      if (!(error instanceof AwsError)) throw error
      const ns = isCloudFront ? CF_NS : STS_NS
      const id = requestId()
      this.xml(
        res,
        record,
        error.status,
        `<ErrorResponse xmlns="${ns}"><Error>${xmlFields({ Type: error.type, Code: error.code, Message: error.message })}</Error>` +
          `<RequestId>${id}</RequestId></ErrorResponse>`
      )
    }
  }

  private xml(
    res: http.ServerResponse,
    record: RecordedRequest,
    status: number,
    body: string,
    headers: Record<string, string> = {}
  ): void {
    send(
      res,
      record,
      status,
      { 'content-type': 'text/xml', 'x-amzn-requestid': requestId(), ...headers },
      XML_DECL + body
    )
  }

  private sts(res: http.ServerResponse, record: RecordedRequest, action: string): void {
    if (action !== 'GetCallerIdentity')
      throw new AwsError(
        'InvalidAction',
        `Could not find operation ${action} for version 2011-06-15`
      )
    const session = this.callerArn.split('/').pop() ?? 'session'
    const userId = this.callerArn.includes(':assumed-role/')
      ? `AROA${randomId('', 17)}:${session}`
      : `AIDA${randomId('', 17)}`
    this.xml(
      res,
      record,
      200,
      `<GetCallerIdentityResponse xmlns="${STS_NS}"><GetCallerIdentityResult>` +
        xmlFields({ Arn: this.callerArn, UserId: userId, Account: this.accountId }) +
        `</GetCallerIdentityResult><ResponseMetadata><RequestId>${requestId()}</RequestId></ResponseMetadata>` +
        `</GetCallerIdentityResponse>`
    )
  }

  private createInvalidation(
    res: http.ServerResponse,
    record: RecordedRequest,
    distributionId: string,
    invalidations: Invalidation[],
    body: string
  ): void {
    const batch = xmlAll(body, 'InvalidationBatch')[0]
    const callerReference = batch === undefined ? undefined : xmlText(batch, 'CallerReference')
    const pathsXml = batch === undefined ? undefined : xmlAll(batch, 'Paths')[0]
    if (
      batch === undefined ||
      callerReference === undefined ||
      callerReference === '' ||
      pathsXml === undefined
    )
      throw new AwsError('MalformedInput', 'Unexpected list type')
    const quantity = Number(xmlText(pathsXml, 'Quantity'))
    const paths = xmlAll(pathsXml, 'Path').map(unescapeXml)
    if (!Number.isInteger(quantity) || quantity !== paths.length)
      throw new AwsError(
        'InconsistentQuantities',
        "The value of Quantity and the size of Items don't match."
      )
    if (paths.length === 0 || paths.some(p => !p.startsWith('/') || p.slice(0, -1).includes('*')))
      throw new AwsError(
        'InvalidArgument',
        'Your request contains one or more invalid invalidation paths.'
      )

    const previous = invalidations.find(i => i.callerReference === callerReference)
    if (previous) {
      const same = [...previous.paths].sort().join('\n') === [...paths].sort().join('\n')
      if (!same)
        throw new AwsError(
          'InvalidationBatchAlreadyExists',
          'The CallerReference you attempted to use has already been sent with a different batch.',
          409
        )
      return this.xml(res, record, 201, this.invalidationXml(previous), {
        location: `https://cloudfront.amazonaws.com/2020-05-31/distribution/${distributionId}/invalidation/${previous.id}`
      })
    }

    const inProgress = invalidations
      .filter(i => this.status(i) === 'InProgress')
      .flatMap(i => i.paths)
    const files =
      inProgress.filter(p => !isWildcard(p)).length + paths.filter(p => !isWildcard(p)).length
    const wildcards = inProgress.filter(isWildcard).length + paths.filter(isWildcard).length
    if (files > MAX_FILE_PATHS_IN_PROGRESS || wildcards > MAX_WILDCARD_PATHS_IN_PROGRESS) {
      this.refused(distributionId)
      throw new AwsError(
        'TooManyInvalidationsInProgress',
        'You have exceeded the maximum number of allowable InProgress invalidation batch requests, or invalidation objects.'
      )
    }
    const inv: Invalidation = { id: randomId('I', 13), callerReference, paths, created: Date.now() }
    invalidations.unshift(inv)
    this.xml(res, record, 201, this.invalidationXml(inv), {
      location: `https://cloudfront.amazonaws.com/2020-05-31/distribution/${distributionId}/invalidation/${inv.id}`
    })
  }

  private invalidationXml(i: Invalidation): string {
    const items = i.paths.map(p => `<Path>${escapeXml(p)}</Path>`).join('')
    return (
      `<Invalidation xmlns="${CF_NS}">` +
      xmlFields({
        Id: i.id,
        Status: this.status(i),
        CreateTime: new Date(i.created).toISOString()
      }) +
      `<InvalidationBatch><Paths><Quantity>${i.paths.length}</Quantity><Items>${items}</Items></Paths>` +
      `${xmlFields({ CallerReference: i.callerReference })}</InvalidationBatch></Invalidation>`
    )
  }

  private listInvalidations(
    res: http.ServerResponse,
    record: RecordedRequest,
    invalidations: Invalidation[],
    q: URLSearchParams
  ): void {
    const marker = q.get('Marker') ?? ''
    const maxItems = Number(q.get('MaxItems') ?? '100')
    if (!Number.isInteger(maxItems) || maxItems < 0)
      throw new AwsError('InvalidArgument', 'MaxItems must be a non-negative integer.')
    let start = 0
    if (marker !== '') {
      const i = invalidations.findIndex(x => x.id === marker)
      start = i < 0 ? invalidations.length : i + 1
    }
    const page = invalidations.slice(start, start + Math.min(maxItems, 100))
    const truncated = start + page.length < invalidations.length
    const items = page
      .map(
        i =>
          `<InvalidationSummary>${xmlFields({ Id: i.id, CreateTime: new Date(i.created).toISOString(), Status: this.status(i) })}</InvalidationSummary>`
      )
      .join('')
    this.xml(
      res,
      record,
      200,
      `<InvalidationList xmlns="${CF_NS}">` +
        xmlFields({
          Marker: marker,
          NextMarker: truncated ? page[page.length - 1]?.id : undefined,
          MaxItems: maxItems,
          IsTruncated: truncated,
          Quantity: page.length
        }) +
        (page.length > 0 ? `<Items>${items}</Items>` : '') +
        `</InvalidationList>`
    )
  }
}

/** A DistributionConfig with the parts the SDK requires and the origins the test gave. */
function distributionConfigXml(id: string, d: Distribution): string {
  const origins = d.origins
    .map(
      (o, i) =>
        `<Origin>${xmlFields({ Id: `origin-${i + 1}`, DomainName: o.domainName, OriginPath: o.originPath ?? '' })}` +
        `<CustomHeaders><Quantity>0</Quantity></CustomHeaders>` +
        (/\.s3[.-]/.test(o.domainName)
          ? `<S3OriginConfig><OriginAccessIdentity></OriginAccessIdentity></S3OriginConfig>`
          : `<CustomOriginConfig>${xmlFields({ HTTPPort: 80, HTTPSPort: 443, OriginProtocolPolicy: 'https-only' })}</CustomOriginConfig>`) +
        `</Origin>`
    )
    .join('')
  return (
    `<DistributionConfig xmlns="${CF_NS}">` +
    xmlFields({ CallerReference: `standin-${id}` }) +
    `<Aliases><Quantity>0</Quantity></Aliases>` +
    xmlFields({ DefaultRootObject: 'index.html' }) +
    `<Origins><Quantity>${d.origins.length}</Quantity><Items>${origins}</Items></Origins>` +
    `<DefaultCacheBehavior>${xmlFields({ TargetOriginId: 'origin-1', ViewerProtocolPolicy: 'redirect-to-https' })}</DefaultCacheBehavior>` +
    `<CacheBehaviors><Quantity>0</Quantity></CacheBehaviors>` +
    xmlFields({ Comment: '', Enabled: true }) +
    `</DistributionConfig>`
  )
}

function cloudFrontRoute(
  method: string,
  pathname: string
): { operation: string; distributionId: string; invalidationId?: string } | undefined {
  const config = /^\/2020-05-31\/distribution\/([^/]+)\/config\/?$/.exec(pathname)
  if (config) {
    return method === 'GET'
      ? { operation: 'GetDistributionConfig', distributionId: decodeURIComponent(config[1] ?? '') }
      : undefined
  }
  const m = /^\/2020-05-31\/distribution\/([^/]+)\/invalidation(?:\/([^/]+))?\/?$/.exec(pathname)
  if (!m) return undefined
  const distributionId = decodeURIComponent(m[1] ?? '')
  if (m[2] !== undefined) {
    if (method !== 'GET') return undefined
    return {
      operation: 'GetInvalidation',
      distributionId,
      invalidationId: decodeURIComponent(m[2])
    }
  }
  if (method === 'POST') return { operation: 'CreateInvalidation', distributionId }
  if (method === 'GET') return { operation: 'ListInvalidations', distributionId }
  return undefined
}

export async function startCloudStandIn(options: CloudStandInOptions = {}): Promise<CloudStandIn> {
  return new CloudStandIn(options).start()
}
