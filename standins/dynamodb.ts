/**
 * DynamoDB stand-in: dynalite (in memory) does the tables and items; a front server of our own
 * records requests, injects faults, keeps tables per region (the SigV4 credential scope picks the
 * region, one dynalite per region), and adds what dynalite lacks: point-in-time recovery
 * (UpdateContinuousBackups / DescribeContinuousBackups), CreateTable's `Tags`, and deletion
 * protection (`DeletionProtectionEnabled` on CreateTable, UpdateTable and DescribeTable; DeleteTable
 * of a protected table is refused as DynamoDB refuses it).
 */
import http from 'node:http'
import zlib from 'node:zlib'
import dynalite from 'dynalite'
import {
  closeServer,
  readBody,
  resetConnection,
  send,
  signingRegion,
  type RecordedRequest,
  HttpStandIn
} from './common'

export interface DynamoDbStandInOptions {
  /** Account id in table ARNs. Default '123456789012'. */
  accountId?: string
  /** How long a new table stays CREATING. Default 100 ms. */
  createTableMs?: number
  /** How long a deleted table stays DELETING. Default 100 ms. */
  deleteTableMs?: number
  /** How long an updated table stays UPDATING. Default 100 ms. */
  updateTableMs?: number
}

export interface TableInfo {
  region: string
  name: string
  arn: string
  status: string
  billingMode: 'PAY_PER_REQUEST' | 'PROVISIONED'
  keySchema: Array<{ AttributeName: string; KeyType: string }>
  attributeDefinitions: Array<{ AttributeName: string; AttributeType: string }>
  pointInTimeRecovery: boolean
  deletionProtection: boolean
  tags: Record<string, string>
}

type Json = Record<string, unknown>

interface Region {
  server: http.Server
  port: number
}

interface Pitr {
  enabled: boolean
  recoveryPeriodInDays: number
  since: number
}

const TARGET_PREFIX = 'DynamoDB_20120810.'
const ERROR_PREFIX = 'com.amazonaws.dynamodb.v20120810#'

class DynamoError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400
  ) {
    super(message)
  }
}

/** Plain JavaScript value of a DynamoDB AttributeValue (N as number, B as Buffer, sets as arrays). */
export function fromAttributeValue(v: unknown): unknown {
  const a = v as Record<string, unknown>
  if ('S' in a) return a.S
  if ('N' in a) return Number(a.N)
  if ('B' in a) return Buffer.from(String(a.B), 'base64')
  if ('BOOL' in a) return a.BOOL
  if ('NULL' in a) return null
  if ('SS' in a) return a.SS
  if ('NS' in a) return (a.NS as string[]).map(Number)
  if ('BS' in a) return (a.BS as string[]).map(b => Buffer.from(b, 'base64'))
  if ('L' in a) return (a.L as unknown[]).map(fromAttributeValue)
  if ('M' in a) return fromItem(a.M as Json)
  return undefined
}

function fromItem(item: Json): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, fromAttributeValue(v)]))
}

export class DynamoDbStandIn extends HttpStandIn {
  private readonly regions = new Map<string, Promise<Region>>()
  private readonly pitr = new Map<string, Pitr>()
  /** `<region>/<table>` of the tables with deletion protection on. */
  private readonly protectedTables = new Set<string>()
  private readonly agent = new http.Agent({ keepAlive: true })
  private readonly accountId: string
  private readonly timings: { createTableMs: number; deleteTableMs: number; updateTableMs: number }

  constructor(options: DynamoDbStandInOptions = {}) {
    super()
    this.accountId = options.accountId ?? '123456789012'
    this.timings = {
      createTableMs: options.createTableMs ?? 100,
      deleteTableMs: options.deleteTableMs ?? 100,
      updateTableMs: options.updateTableMs ?? 100
    }
  }

  override async stop(): Promise<void> {
    await super.stop()
    for (const r of this.regions.values()) await closeServer((await r).server)
    this.agent.destroy()
  }

  /** Every table in every region used so far (or in one region). */
  async tables(region?: string): Promise<TableInfo[]> {
    const out: TableInfo[] = []
    for (const r of region ? [region] : [...this.regions.keys()]) {
      const names = (await this.call(r, 'ListTables', {})).TableNames as string[]
      for (const name of names) {
        const t = (await this.call(r, 'DescribeTable', { TableName: name })).Table as Json
        const tags = (await this.call(r, 'ListTagsOfResource', { ResourceArn: t.TableArn }))
          .Tags as Array<{ Key: string; Value: string }> | undefined
        out.push({
          region: r,
          name,
          arn: String(t.TableArn),
          status: String(t.TableStatus),
          billingMode:
            (t.BillingModeSummary as Json | undefined)?.BillingMode === 'PAY_PER_REQUEST'
              ? 'PAY_PER_REQUEST'
              : 'PROVISIONED',
          keySchema: t.KeySchema as TableInfo['keySchema'],
          attributeDefinitions: t.AttributeDefinitions as TableInfo['attributeDefinitions'],
          pointInTimeRecovery: this.pitr.get(`${r}/${name}`)?.enabled ?? false,
          deletionProtection: this.protectedTables.has(`${r}/${name}`),
          tags: Object.fromEntries((tags ?? []).map(x => [x.Key, x.Value]))
        })
      }
    }
    return out
  }

  /** All items of a table as plain values (S → string, N → number, ...). */
  async items(table: string, region?: string): Promise<Array<Record<string, unknown>>> {
    const r = region ?? (await this.regionOf(table))
    const out: Array<Record<string, unknown>> = []
    let start: unknown
    do {
      const page = await this.call(r, 'Scan', {
        TableName: table,
        ...(start ? { ExclusiveStartKey: start } : {})
      })
      out.push(...(page.Items as Json[]).map(fromItem))
      start = page.LastEvaluatedKey
    } while (start)
    return out
  }

  private async regionOf(table: string): Promise<string> {
    for (const r of this.regions.keys()) {
      const names = (await this.call(r, 'ListTables', {})).TableNames as string[]
      if (names.includes(table)) return r
    }
    throw new Error(`No table named ${table} in any region of the DynamoDB stand-in`)
  }

  // ---------------------------------------------------------------- request handling

  protected override async handle(
    req: http.IncomingMessage,
    res: http.ServerResponse
  ): Promise<void> {
    const raw = await readBody(req)
    const target = String(req.headers['x-amz-target'] ?? '')
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target
    const { record, fault } = this.log.record('dynamodb', operation, req)
    if (fault === 'reset') return resetConnection(req)
    try {
      if (fault === 'throttle')
        throw new DynamoError(
          'ThrottlingException',
          'Rate of requests exceeds the allowed throughput.'
        )
      if (fault === '5xx')
        throw new DynamoError('InternalServerError', 'Internal server error', 500)
      const region = signingRegion(req) ?? 'us-east-1'
      switch (operation) {
        case 'UpdateContinuousBackups':
        case 'DescribeContinuousBackups':
          return this.reply(res, record, 200, await this.continuousBackups(region, operation, raw))
        case 'CreateTable':
          return await this.createTable(req, res, record, region, raw)
        case 'UpdateTable':
          return await this.updateTable(req, res, record, region, raw)
        case 'DescribeTable':
          return this.relay(
            res,
            record,
            this.withProtection(region, await this.forward(region, req.headers, raw))
          )
        default: {
          const name = String(parseJson(raw)?.TableName)
          if (operation === 'DeleteTable' && this.protectedTables.has(`${region}/${name}`))
            throw new DynamoError(
              'ValidationException',
              `Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.`
            )
          const up = await this.forward(region, req.headers, raw)
          if (operation === 'DeleteTable' && up.status === 200)
            this.pitr.delete(`${region}/${name}`)
          return this.relay(res, record, up)
        }
      }
    } catch (error) {
      if (!(error instanceof DynamoError)) throw error
      this.reply(res, record, error.status, {
        __type: ERROR_PREFIX + error.type,
        message: error.message
      })
    }
  }

  private reply(
    res: http.ServerResponse,
    record: RecordedRequest,
    status: number,
    body: Json
  ): void {
    const text = JSON.stringify(body)
    send(
      res,
      record,
      status,
      {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-requestid': requestIdFor(),
        'x-amz-crc32': String(zlib.crc32(text))
      },
      text
    )
  }

  private async createTable(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    record: RecordedRequest,
    region: string,
    raw: Buffer
  ): Promise<void> {
    let input: Json
    try {
      input = JSON.parse(raw.toString('utf8')) as Json
    } catch {
      return this.relay(res, record, await this.forward(region, req.headers, raw))
    }
    const tags = input.Tags
    const protection = input.DeletionProtectionEnabled
    delete input.Tags
    delete input.DeletionProtectionEnabled
    if (protection !== undefined && typeof protection !== 'boolean')
      throw new DynamoError(
        'SerializationException',
        'Unexpected value type in payload: DeletionProtectionEnabled'
      )
    const up = await this.forward(region, req.headers, Buffer.from(JSON.stringify(input)))
    if (up.status !== 200) {
      const err = JSON.parse(up.body.toString('utf8')) as Json
      if (String(err.__type).endsWith('#ResourceInUseException')) {
        throw new DynamoError(
          'ResourceInUseException',
          `Table already exists: ${String(input.TableName)}`
        )
      }
      return this.relay(res, record, up)
    }
    if (Array.isArray(tags) && tags.length > 0) {
      const arn = ((JSON.parse(up.body.toString('utf8')) as Json).TableDescription as Json).TableArn
      await this.call(region, 'TagResource', { ResourceArn: arn, Tags: tags })
    }
    if (protection === true) this.protectedTables.add(`${region}/${String(input.TableName)}`)
    this.relay(res, record, this.withProtection(region, up))
  }

  /**
   * UpdateTable: `DeletionProtectionEnabled` is kept here; the rest (if any) goes to dynalite, which
   * does not know the field. A request that only sets the protection answers the table as DynamoDB
   * does.
   */
  private async updateTable(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    record: RecordedRequest,
    region: string,
    raw: Buffer
  ): Promise<void> {
    const input = parseJson(raw)
    const protection = input?.DeletionProtectionEnabled
    if (!input || protection === undefined)
      return this.relay(res, record, await this.forward(region, req.headers, raw))
    if (typeof protection !== 'boolean')
      throw new DynamoError(
        'SerializationException',
        'Unexpected value type in payload: DeletionProtectionEnabled'
      )
    delete input.DeletionProtectionEnabled
    const id = `${region}/${String(input.TableName)}`
    const onlyProtection = Object.keys(input).every(k => k === 'TableName')
    const up = onlyProtection
      ? await this.callRaw(region, 'DescribeTable', { TableName: input.TableName })
      : await this.forward(region, req.headers, Buffer.from(JSON.stringify(input)))
    if (up.status !== 200) return this.relay(res, record, up)
    if (protection) this.protectedTables.add(id)
    else this.protectedTables.delete(id)
    const described = this.withProtection(region, up)
    if (!onlyProtection) return this.relay(res, record, described)
    const table = (JSON.parse(described.body.toString('utf8')) as Json).Table
    this.reply(res, record, 200, { TableDescription: table })
  }

  /** dynalite's answer with the table's `DeletionProtectionEnabled` added, as DynamoDB gives it. */
  private withProtection(
    region: string,
    up: Awaited<ReturnType<DynamoDbStandIn['forward']>>
  ): Awaited<ReturnType<DynamoDbStandIn['forward']>> {
    if (up.status !== 200) return up
    const body = JSON.parse(up.body.toString('utf8')) as Json
    const table = (body.Table ?? body.TableDescription) as Json | undefined
    if (!table) return up
    table.DeletionProtectionEnabled = this.protectedTables.has(
      `${region}/${String(table.TableName)}`
    )
    const text = JSON.stringify(body)
    return {
      ...up,
      headers: { ...up.headers, 'x-amz-crc32': String(zlib.crc32(text)) },
      body: Buffer.from(text)
    }
  }

  private async continuousBackups(region: string, operation: string, raw: Buffer): Promise<Json> {
    let input: Json
    try {
      input = JSON.parse(raw.toString('utf8')) as Json
    } catch {
      throw new DynamoError(
        'SerializationException',
        'Start of structure or map found where not expected'
      )
    }
    const name = input.TableName
    if (typeof name !== 'string' || !/^[a-zA-Z0-9_.-]{3,255}$/.test(name))
      throw new DynamoError(
        'ValidationException',
        `1 validation error detected: Value '${String(name)}' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+`
      )
    const described = await this.callRaw(region, 'DescribeTable', { TableName: name })
    if (described.status !== 200)
      throw new DynamoError('TableNotFoundException', `Table not found: ${name}`)
    const table = (JSON.parse(described.body.toString('utf8')) as Json).Table as Json
    const id = `${region}/${name}`
    if (operation === 'UpdateContinuousBackups') {
      const spec = input.PointInTimeRecoverySpecification as Json | undefined
      if (!spec || typeof spec.PointInTimeRecoveryEnabled !== 'boolean')
        throw new DynamoError(
          'ValidationException',
          "1 validation error detected: Value null at 'pointInTimeRecoverySpecification.pointInTimeRecoveryEnabled' failed to satisfy constraint: Member must not be null"
        )
      const days = spec.RecoveryPeriodInDays ?? 35
      if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 35)
        throw new DynamoError(
          'ValidationException',
          `1 validation error detected: Value '${String(days)}' at 'pointInTimeRecoverySpecification.recoveryPeriodInDays' failed to satisfy constraint: Member must have value between 1 and 35`
        )
      if (table.TableStatus !== 'ACTIVE')
        throw new DynamoError(
          'ContinuousBackupsUnavailableException',
          `Backups are being enabled for the table: ${name}. Please retry later`
        )
      this.pitr.set(id, {
        enabled: spec.PointInTimeRecoveryEnabled,
        recoveryPeriodInDays: days,
        since: Date.now() / 1000
      })
    }
    const p = this.pitr.get(id)
    const now = Date.now() / 1000
    return {
      ContinuousBackupsDescription: {
        ContinuousBackupsStatus: 'ENABLED',
        PointInTimeRecoveryDescription: p?.enabled
          ? {
              PointInTimeRecoveryStatus: 'ENABLED',
              RecoveryPeriodInDays: p.recoveryPeriodInDays,
              EarliestRestorableDateTime: p.since,
              LatestRestorableDateTime: now
            }
          : { PointInTimeRecoveryStatus: 'DISABLED' }
      }
    }
  }

  // ---------------------------------------------------------------- dynalite

  private region(name: string): Promise<Region> {
    let r = this.regions.get(name)
    if (!r) {
      // dynalite reads its region and account id from the environment when it is created.
      const saved = { region: process.env.AWS_REGION, account: process.env.AWS_ACCOUNT_ID }
      process.env.AWS_REGION = name
      process.env.AWS_ACCOUNT_ID = this.accountId
      let server: http.Server
      try {
        server = dynalite({ ...this.timings })
      } finally {
        restoreEnv('AWS_REGION', saved.region)
        restoreEnv('AWS_ACCOUNT_ID', saved.account)
      }
      r = new Promise<Region>((resolve, reject) => {
        server.once('error', reject)
        server.listen(0, '127.0.0.1', () => {
          const address = server.address()
          resolve({ server, port: typeof address === 'object' && address ? address.port : 0 })
        })
      })
      this.regions.set(name, r)
    }
    return r
  }

  private async forward(
    region: string,
    headers: http.IncomingHttpHeaders,
    body: Buffer
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    const { port } = await this.region(region)
    const h: http.OutgoingHttpHeaders = {}
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined || ['host', 'connection', 'content-length', 'expect'].includes(name))
        continue
      h[name] = value
    }
    h['content-length'] = body.length
    return new Promise((resolve, reject) => {
      const r = http.request(
        { host: '127.0.0.1', port, method: 'POST', path: '/', headers: h, agent: this.agent },
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
      r.end(body)
    })
  }

  private callRaw(
    region: string,
    operation: string,
    input: Json
  ): ReturnType<DynamoDbStandIn['forward']> {
    const amzDate = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '')
    return this.forward(
      region,
      {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': TARGET_PREFIX + operation,
        'x-amz-date': amzDate,
        authorization: `AWS4-HMAC-SHA256 Credential=STANDIN/${amzDate.slice(0, 8)}/${region}/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0`
      },
      Buffer.from(JSON.stringify(input))
    )
  }

  private async call(region: string, operation: string, input: Json): Promise<Json> {
    const up = await this.callRaw(region, operation, input)
    const body = JSON.parse(up.body.toString('utf8')) as Json
    if (up.status !== 200) throw new Error(`dynalite ${operation}: ${JSON.stringify(body)}`)
    return body
  }

  private relay(
    res: http.ServerResponse,
    record: RecordedRequest,
    up: { status: number; headers: http.IncomingHttpHeaders; body: Buffer }
  ): void {
    const headers: http.OutgoingHttpHeaders = {}
    for (const [name, value] of Object.entries(up.headers)) {
      if (
        value === undefined ||
        ['connection', 'keep-alive', 'transfer-encoding', 'date'].includes(name)
      )
        continue
      headers[name] = value
    }
    headers['content-length'] = up.body.length
    send(res, record, up.status, headers, up.body)
  }
}

function parseJson(raw: Buffer): Json | undefined {
  try {
    const value = JSON.parse(raw.toString('utf8')) as unknown
    return value && typeof value === 'object' ? (value as Json) : undefined
  } catch {
    return undefined
  }
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name]
  else process.env[name] = value
}

function requestIdFor(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
  return Array.from({ length: 52 }, () => chars[Math.floor(Math.random() * chars.length)]).join('')
}

export async function startDynamoDbStandIn(
  options: DynamoDbStandInOptions = {}
): Promise<DynamoDbStandIn> {
  return new DynamoDbStandIn(options).start()
}
