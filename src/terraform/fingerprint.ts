/**
 * "Apply only what was reviewed": a fingerprint of a plan's effect, taken from Terraform's JSON plan
 * (never from its text, so formatting, ordering and Terraform's layout cannot change it).
 *
 * The effect is one entry per resource change the report shows (every action but no-op, data
 * source reads included, and a no-op that imports or moves an object) and per output change: the
 * address, the actions, the deposed key, the import and the previous address, and the known
 * planned values with sensitive values replaced by an HMAC of them and unknown values marked as
 * unknown. Entries are sorted; the fingerprint is their HMAC plus,
 * when it fits, a short HMAC per entry, so a difference can be named resource by resource. Every
 * hash is keyed (`backend/fingerprint-key.ts`): the fingerprint is kept in the PR comment, and an
 * unkeyed hash of a short secret can be found offline by anyone who reads the pull request.
 */
import { createHmac } from 'node:crypto'
import { gunzipSync, gzipSync } from 'node:zlib'
import { isObject, type Json, type JsonObject } from '../json'
import { JsonArrayBytes, listItems } from './json-scan'

export interface StackKey {
  workingDirectory: string
  stateKey: string
}

export interface Fingerprint {
  /** HMAC-SHA256 of the stack identity and every entry. */
  digest: string
  /** Made with a key (every fingerprint since the key exists); an unkeyed one is not trusted. */
  keyed?: boolean
  /** The pull request head commit the plan was made for. */
  head?: string
  /** `address actions` → short hash of that change's planned values; absent when too large to keep. */
  entries?: Record<string, string>
}

export interface FingerprintDifference {
  same: boolean
  /** Changes planned now that the reviewed plan did not have. */
  added: string[]
  /** Changes the reviewed plan had that are not planned now. */
  removed: string[]
  /** Same address and actions, other planned values. */
  changed: string[]
  /** The reviewed fingerprint kept no entries: only the digest could be compared. */
  digestOnly: boolean
}

type Mac = (text: string) => string

const macWith =
  (key: Buffer): Mac =>
  text =>
    createHmac('sha256', key).update(text).digest('hex')

/** The value with unknown parts marked and sensitive parts replaced by their keyed hash. */
function known(mac: Mac, value: unknown, unknownMask: unknown, sensitiveMask: unknown): Json {
  if (unknownMask === true) return '(known after apply)'
  if (sensitiveMask === true)
    return `(sensitive ${mac(JSON.stringify(value ?? null)).slice(0, 16)})`
  if (Array.isArray(value)) {
    return value.map((v, i) =>
      known(
        mac,
        v,
        Array.isArray(unknownMask) ? unknownMask[i] : undefined,
        Array.isArray(sensitiveMask) ? sensitiveMask[i] : undefined
      )
    )
  }
  if (isObject(value)) {
    const out: Record<string, Json> = {}
    for (const k of Object.keys(value).sort()) {
      out[k] = known(
        mac,
        value[k],
        isObject(unknownMask) ? unknownMask[k] : undefined,
        isObject(sensitiveMask) ? sensitiveMask[k] : undefined
      )
    }
    // Attributes that are entirely unknown are absent from `after` and marked in after_unknown.
    if (isObject(unknownMask)) {
      for (const k of Object.keys(unknownMask).sort())
        if (!(k in out) && unknownMask[k] === true) out[k] = '(known after apply)'
    }
    return out
  }
  if (value === undefined) return null
  return value as Json
}

/**
 * The entry id of a resource change: `resource <address> <actions>`, then `deposed <key>`,
 * `import` and `moved from <previous address>` when they apply. Undefined for a no-op that neither
 * imports nor moves (no effect, no entry) and for anything that is not a change.
 */
export function resourceEntryId(rc: unknown): string | undefined {
  if (!isObject(rc) || !isObject(rc.change)) return undefined
  const change = rc.change
  const actions = Array.isArray(change.actions) ? change.actions.map(String) : []
  const importing = isObject(change.importing)
  const moved =
    typeof rc.previous_address === 'string' &&
    rc.previous_address !== '' &&
    rc.previous_address !== rc.address
      ? rc.previous_address
      : undefined
  const noOp = actions.length === 1 && actions[0] === 'no-op'
  if (noOp && !importing && moved === undefined) return undefined
  let id = `resource ${String(rc.address)} ${actions.join(',')}`
  if (typeof rc.deposed === 'string') id += ` deposed ${rc.deposed}`
  if (importing) id += ' import'
  if (moved !== undefined) id += ` moved from ${moved}`
  return id
}

/** The planned values of a resource change that has an entry (see {@link resourceEntryId}). */
function resourceValues(mac: Mac, rc: JsonObject): string {
  const change = isObject(rc.change) ? rc.change : {}
  const values: Record<string, Json> = {
    after: known(mac, change.after, change.after_unknown, change.after_sensitive)
  }
  // What is imported (an import id or, since Terraform 1.12, an identity): another object under
  // the same address is another effect.
  if (isObject(change.importing))
    values.importing = known(mac, change.importing, undefined, undefined)
  return JSON.stringify(values)
}

/** `output <name> <action>` → planned value, for every output change that is not a no-op. */
function outputEntries(mac: Mac, doc: JsonObject): Map<string, string> {
  const entries = new Map<string, string>()
  const outputs = isObject(doc.output_changes) ? doc.output_changes : {}
  for (const name of Object.keys(outputs).sort()) {
    const change = outputs[name]
    if (!isObject(change)) continue
    const actions = Array.isArray(change.actions) ? change.actions.map(String) : []
    if (actions.length === 1 && actions[0] === 'no-op') continue
    const values = known(mac, change.after, change.after_unknown, change.after_sensitive)
    entries.set(`output ${name} ${actions.join(',')}`, JSON.stringify(values))
  }
  return entries
}

function planDocument(showJson: unknown): JsonObject {
  const doc: unknown = typeof showJson === 'string' ? JSON.parse(showJson) : showJson
  if (!isObject(doc)) throw new Error('not a Terraform JSON plan')
  return doc
}

/**
 * One entry per change → its planned values. Resources: `resource <address> <actions>` and more
 * (see {@link resourceEntryId}); outputs: `output <name> <action>`.
 */
export function planEntries(showJson: unknown, key: Buffer): Map<string, string> {
  const mac = macWith(key)
  const doc = planDocument(showJson)
  const entries = new Map<string, string>()
  for (const rc of listItems(doc.resource_changes)) {
    const id = resourceEntryId(rc)
    if (id !== undefined) entries.set(id, resourceValues(mac, rc as JsonObject))
  }
  for (const [id, value] of outputEntries(mac, doc)) entries.set(id, value)
  return entries
}

/**
 * The entries in id order. From a plan read piece by piece (`resource_changes` a JsonArrayBytes
 * that knows each change's entry id), each resource change is parsed again only when its turn
 * comes and its values are dropped once hashed: the values of every change are never held at once.
 */
function* sortedEntries(showJson: unknown, mac: Mac, key: Buffer): Generator<[string, string]> {
  const doc = planDocument(showJson)
  const list = doc.resource_changes
  const ids = list instanceof JsonArrayBytes ? list.entryIds : undefined
  if (!(list instanceof JsonArrayBytes) || ids === undefined) {
    const entries = planEntries(doc, key)
    for (const id of [...entries.keys()].sort()) yield [id, entries.get(id) ?? '']
    return
  }
  // The last change of an id counts, as in planEntries.
  const where = new Map<string, number | string>()
  ids.forEach((id, index) => id !== undefined && where.set(id, index))
  for (const [id, value] of outputEntries(mac, doc)) where.set(id, value)
  for (const id of [...where.keys()].sort()) {
    const at = where.get(id)
    if (typeof at === 'string') yield [id, at]
    else if (at !== undefined) yield [id, resourceValues(mac, list.at(at) as JsonObject)]
  }
}

/** Entry lists kept in the comment up to this many characters (encoded); beyond, the digest only. */
const MAX_ENTRIES_CHARS = 12_000

export function planFingerprint(
  showJson: unknown,
  stack: StackKey,
  key: Buffer,
  head?: string
): Fingerprint {
  return fingerprintOf(sortedEntries(showJson, macWith(key), key), stack, key, head)
}

/** What a fingerprint is asked for with: the key and what it is the fingerprint of. */
export interface FingerprintRequest {
  key: Buffer
  stack: StackKey
  head?: string
}

/**
 * The entries of a plan read piece by piece, gathered while its resource changes are parsed the
 * first time (`plan-json.ts`): planFingerprint without parsing them again. Gives what
 * planFingerprint gives for the whole plan.
 */
export class EntryCollector {
  private readonly mac: Mac
  /**
   * id → the line the digest hashes, as UTF-8 bytes (outside the JS heap: the values of 10,000
   * changes kept as strings made the garbage collector double its young generation), and the
   * entry's short hash.
   */
  private readonly entries = new Map<string, { line: Buffer; short: string }>()

  constructor(private readonly request: FingerprintRequest) {
    this.mac = macWith(request.key)
  }

  /** The next element of `resource_changes` and its entry id (see resourceEntryId). */
  resource(rc: unknown, id: string | undefined): void {
    if (id !== undefined) this.add(id, resourceValues(this.mac, rc as JsonObject))
  }

  /** The fingerprint, once every resource change was given; `outputChanges` as parsed. */
  fingerprint(outputChanges: unknown): Fingerprint {
    for (const [id, value] of outputEntries(this.mac, { output_changes: outputChanges }))
      this.add(id, value)
    const { key, stack, head } = this.request
    const hash = createHmac('sha256', key).update(
      `stack ${stack.workingDirectory}\n${stack.stateKey}\n`
    )
    const short: Record<string, string> = {}
    for (const id of [...this.entries.keys()].sort()) {
      const entry = this.entries.get(id)
      if (!entry) continue
      hash.update(entry.line)
      short[id] = entry.short
    }
    return { digest: hash.digest('hex'), keyed: true, ...(head && { head }), entries: short }
  }

  /** As fingerprintOf hashes and shortens the entry. */
  private add(id: string, value: string): void {
    const line = Buffer.from(`${JSON.stringify([id, value])}\n`, 'utf8')
    this.entries.set(id, { line, short: this.mac(value).slice(0, 12) })
  }
}

function fingerprintOf(
  entries: Iterable<[string, string]>,
  stack: StackKey,
  key: Buffer,
  head: string | undefined
): Fingerprint {
  const mac = macWith(key)
  const hash = createHmac('sha256', key).update(
    `stack ${stack.workingDirectory}\n${stack.stateKey}\n`
  )
  const short: Record<string, string> = {}
  for (const [id, value] of entries) {
    // JSON-quoted: no address or value can pass for an entry boundary
    hash.update(`${JSON.stringify([id, value])}\n`)
    short[id] = mac(value).slice(0, 12)
  }
  return { digest: hash.digest('hex'), keyed: true, ...(head && { head }), entries: short }
}

const LINE_PREFIX = '<!-- revive-deploy:reviewed-plan '
const LINE_SUFFIX = ' -->'

/**
 * The fingerprint as a hidden HTML comment line for the PR comment. The payload is base64url of
 * gzipped JSON, so it cannot contain `--` or `>` and cannot end the comment early.
 */
export function fingerprintLine(fp: Fingerprint): string {
  const encode = (value: Fingerprint): string =>
    gzipSync(JSON.stringify(value)).toString('base64url')
  let payload = encode(fp)
  if (payload.length > MAX_ENTRIES_CHARS) {
    const { entries: _entries, ...digestOnly } = fp
    payload = encode(digestOnly)
  }
  return `${LINE_PREFIX}${payload}${LINE_SUFFIX}`
}

/** The fingerprint kept in a comment body by {@link fingerprintLine} (only on its second line). */
export function readFingerprint(body: string): Fingerprint | undefined {
  const second = body.split('\n', 2)[1] ?? ''
  if (!second.startsWith(LINE_PREFIX) || !second.endsWith(LINE_SUFFIX)) return undefined
  const payload = second.slice(LINE_PREFIX.length, -LINE_SUFFIX.length)
  if (!/^[A-Za-z0-9_-]+$/.test(payload)) return undefined
  try {
    const parsed: unknown = JSON.parse(
      gunzipSync(Buffer.from(payload, 'base64url')).toString('utf8')
    )
    if (
      !isObject(parsed) ||
      typeof parsed.digest !== 'string' ||
      !/^[0-9a-f]{64}$/.test(parsed.digest)
    )
      return undefined
    const fp: Fingerprint = { digest: parsed.digest }
    if (parsed.keyed === true) fp.keyed = true
    if (typeof parsed.head === 'string' && /^[0-9A-Za-z]{1,64}$/.test(parsed.head))
      fp.head = parsed.head
    if (isObject(parsed.entries)) {
      fp.entries = Object.fromEntries(
        Object.entries(parsed.entries).map(([k, v]) => [k, String(v)])
      )
    }
    return fp
  } catch {
    return undefined
  }
}

export function compareFingerprints(
  reviewed: Fingerprint,
  current: Fingerprint
): FingerprintDifference {
  const same = reviewed.digest === current.digest
  if (!reviewed.entries || !current.entries) {
    return { same, added: [], removed: [], changed: [], digestOnly: !same }
  }
  const a = reviewed.entries
  const b = current.entries
  const added = Object.keys(b)
    .filter(id => !(id in a))
    .sort()
  const removed = Object.keys(a)
    .filter(id => !(id in b))
    .sort()
  const changed = Object.keys(b)
    .filter(id => id in a && a[id] !== b[id])
    .sort()
  return { same, added, removed, changed, digestOnly: false }
}

/** A readable difference, e.g. "now also: resource x update; no longer: ...; other values: ...". */
export function describeDifference(diff: FingerprintDifference, limit = 10): string {
  if (diff.same) return 'the same effect'
  if (diff.digestOnly)
    return 'the plan differs (the reviewed plan was too large to compare resource by resource)'
  const list = (ids: string[]): string => {
    const shown = ids.slice(0, limit).join('; ')
    return ids.length > limit ? `${shown}; and ${ids.length - limit} more` : shown
  }
  const parts: string[] = []
  if (diff.added.length > 0) parts.push(`planned now but not reviewed: ${list(diff.added)}`)
  if (diff.removed.length > 0) parts.push(`reviewed but not planned now: ${list(diff.removed)}`)
  if (diff.changed.length > 0)
    parts.push(`planned with other values than reviewed: ${list(diff.changed)}`)
  return parts.join('. ') || 'the plan differs'
}
