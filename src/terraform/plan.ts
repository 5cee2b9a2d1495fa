/**
 * Terraform's JSON plan (`terraform show -json <planfile>`) turned into a small typed summary:
 * counts, per-resource actions, drift and output changes. Pure: no I/O.
 *
 * Format reference: https://developer.hashicorp.com/terraform/internals/json-format
 * (format_version 1.x from Terraform 1.1, and 0.2 from Terraform 0.15 to 1.0, whose drift entries can
 * lack `address`; unknown properties are ignored as the format asks). Format 0.1 (Terraform 0.12 to
 * 0.14) marks no sensitive values, so it is refused.
 *
 * Sensitive values are never copied: a changed resource attribute under a sensitivity mask, or whose
 * value contains a string marked sensitive anywhere in the plan, reads `(sensitive)`, and an output
 * whose `before_sensitive`/`after_sensitive` marks any part as sensitive, or whose value contains
 * such a string, keeps only its name and action.
 * {@link sensitiveStrings} lists those strings so text from Terraform can be redacted with
 * {@link redact}.
 */
import { errorMessage } from '../errors'
import { isObject, type Json, type JsonObject } from '../json'

export type ResourceAction =
  'create' | 'update' | 'delete' | 'replace' | 'read' | 'no-op' | 'forget'
export type ReplaceOrder = 'create-before-destroy' | 'destroy-before-create'

export interface ResourceChange {
  address: string
  /** e.g. `module.site`; absent for the root module */
  moduleAddress?: string
  type: string
  name: string
  action: ResourceAction
  /** set for `replace` only */
  replaceOrder?: ReplaceOrder
  /** Terraform's `action_reason`, e.g. `replace_because_tainted`, `delete_because_no_resource_config` */
  actionReason?: string
  /** attribute paths forcing replacement (from `replace_paths`), e.g. `triggers_replace`, `tags["a"]` */
  replacePaths?: string[]
  /** the address in the previous run when the resource was moved (`moved` block) */
  previousAddress?: string
  /** true when the plan imports the object (`import` block) */
  importing?: boolean
  /** the deposed-object key when the change is to a deposed object */
  deposed?: string
  /** `["create","forget"]`: a new object is created and the old one is dropped from state, not destroyed */
  forgetsPrevious?: boolean
  /** a data source (`mode` "data") */
  dataSource?: boolean
  /**
   * The changed attributes of a creation, update or replacement (or drift), leaf by leaf by path
   * (`tags.Name`, `ingress[0].from_port`), as diff lines: `- path = before` when it had a value,
   * `+ path = after` when it has one, `  # forces replacement` after an attribute in Terraform's
   * `replace_paths`. At most {@link MAX_ATTRIBUTES} attributes; one string, not objects, so a
   * summary of many changes stays small. Values are JSON cut to {@link ATTRIBUTE_VALUE_MAX}
   * characters, `(known after apply)`, or `(sensitive)`: a leaf under a sensitivity mask, or one
   * that contains a string the plan marks sensitive anywhere, is never copied.
   */
  diff?: string
  /** how many attributes change in all (`diff` shows the first ones) */
  attributesTotal?: number
  /** updates and drift: the top-level attributes that change, e.g. `tags`, `versioning` */
  changedAttributes?: string[]
}

/** At most this many changed attributes are kept per resource. */
export const MAX_ATTRIBUTES = 25
/** Attribute values are cut to this many characters. */
export const ATTRIBUTE_VALUE_MAX = 200
export const SENSITIVE_VALUE = '(sensitive)'
export const UNKNOWN_VALUE = '(known after apply)'

export interface OutputChange {
  name: string
  action: ResourceAction
  sensitive: boolean
  /** the value as JSON; absent when sensitive, when the output did not exist, or when unknown */
  before?: string
  /** the value as JSON, unknown parts written (known after apply) unquoted; absent when sensitive or wholly unknown */
  after?: string
  /** true when all or part of the new value is only known after apply */
  afterUnknown?: boolean
}

export interface PlanSummary {
  /** creations (a replacement is not counted here) */
  add: number
  /** in-place updates */
  change: number
  /** destructions (a replacement is not counted here) */
  destroy: number
  /** replacements, whatever their order */
  replace: number
  /** data sources read during apply */
  read: number
  /** objects imported by `import` blocks */
  import: number
  /** objects moved by `moved` blocks */
  move: number
  /** objects removed from state without being destroyed (`removed` blocks with destroy = false) */
  forget: number
  /** true when applying the plan would do anything (terraform plan -detailed-exitcode would exit 2) */
  hasChanges: boolean
  /** every change that does something (not no-op, or moved, or imported), sorted by address */
  resources: ResourceChange[]
  /**
   * Changes made outside Terraform since the last apply that Terraform shows: for plans from
   * Terraform 1.2 on (format 1.1+), only those touching `relevant_attributes` of a plan that
   * changes something; every one for a refresh-only plan and for older formats. Sorted by address.
   */
  drift: ResourceChange[]
  /** a refresh-only plan (`-refresh-only`): drift and no resource changes at all */
  refreshOnly: boolean
  /** root module output changes that are not no-op, sorted by name */
  outputs: OutputChange[]
  terraformVersion?: string
  /** Terraform hit an error while planning: the summary covers what was planned before it */
  errored: boolean
}

/** The input is not a Terraform JSON plan (or not one this action can read). */
export class PlanFormatError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PlanFormatError'
  }
}

const EXPECTED =
  'expected the output of `terraform show -json <planfile>` (a JSON object with format_version 0.2 or 1.x and planned_values)'

function fail(message: string): never {
  throw new PlanFormatError(`Not a Terraform plan: ${message}; ${EXPECTED}.`)
}

/**
 * Reads `terraform show -json` output (parsed, or the raw JSON text) into a summary. `refreshOnly`:
 * the caller made the plan with `-refresh-only` (drift mode), so every drift entry is shown; without
 * it, a plan is taken as refresh-only when it plans no resource and has drift.
 */
export function summarizePlan(
  showJson: unknown,
  options: { refreshOnly?: boolean } = {}
): PlanSummary {
  let doc = showJson
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc) as unknown
    } catch (error) {
      fail(`the text is not JSON (${errorMessage(error)})`)
    }
  }
  if (!isObject(doc)) fail(`got ${describe(doc)}`)
  const version = doc['format_version']
  if (typeof version !== 'string') fail('format_version is missing')
  checkFormatVersion(version)
  const isPlan = 'planned_values' in doc || 'resource_changes' in doc || 'output_changes' in doc
  if (!isPlan) {
    if ('values' in doc) {
      fail('this is Terraform state (`terraform show -json` was run without a plan file)')
    }
    fail('it has no planned_values, resource_changes or output_changes')
  }

  const summary: PlanSummary = {
    add: 0,
    change: 0,
    destroy: 0,
    replace: 0,
    read: 0,
    import: 0,
    move: 0,
    forget: 0,
    hasChanges: false,
    resources: [],
    drift: [],
    refreshOnly: false,
    outputs: [],
    errored: doc['errored'] === true
  }
  let secrets: string[] | undefined
  const findSecrets = (): string[] => (secrets ??= sensitiveStrings(doc))
  const tfVersion = doc['terraform_version']
  if (typeof tfVersion === 'string' && tfVersion !== '') summary.terraformVersion = tfVersion

  for (const rc of readResourceChanges(doc, 'resource_changes', findSecrets)) {
    const interesting = rc.action !== 'no-op' || rc.importing === true || rc.previousAddress
    if (!interesting) continue
    summary.resources.push(rc)
    switch (rc.action) {
      case 'create':
        summary.add++
        if (rc.forgetsPrevious) summary.forget++
        break
      case 'update':
        summary.change++
        break
      case 'delete':
        summary.destroy++
        break
      case 'replace':
        summary.replace++
        break
      case 'read':
        summary.read++
        break
      case 'forget':
        summary.forget++
        break
      case 'no-op':
        break
    }
    if (rc.importing) summary.import++
    if (rc.previousAddress !== undefined) summary.move++
  }
  summary.outputs = readOutputChanges(doc['output_changes'], findSecrets)
  summary.hasChanges = summary.resources.length > 0 || summary.outputs.length > 0
  const changes = doc['resource_changes']
  const drift = doc['resource_drift']
  // No flag says "refresh-only" in every format version: such a plan plans no resource at all (a
  // normal plan has an entry, if only a no-op, for every resource it refreshed), only drift.
  summary.refreshOnly =
    options.refreshOnly ??
    ((!Array.isArray(changes) || changes.length === 0) && Array.isArray(drift) && drift.length > 0)
  summary.drift = shownDrift(doc, summary, findSecrets)

  sortByAddress(summary.resources)
  sortByAddress(summary.drift)
  return summary
}

/**
 * The drift Terraform shows (see {@link PlanSummary.drift}): with `relevant_attributes` (format
 * 1.1+), an entry is shown when an attribute that contributes to the plan changed, and only those
 * attributes; nothing when the plan changes nothing.
 */
function shownDrift(
  doc: JsonObject,
  summary: PlanSummary,
  findSecrets: () => string[]
): ResourceChange[] {
  if (summary.refreshOnly) {
    return readResourceChanges(doc, 'resource_drift', findSecrets).filter(
      rc => rc.action !== 'no-op' || rc.previousAddress !== undefined
    )
  }
  const [major, minor] = String(doc['format_version']).split('.').map(Number)
  const filtered = (major ?? 0) > 1 || (major === 1 && (minor ?? 0) >= 1)
  if (!filtered) {
    return readResourceChanges(doc, 'resource_drift', findSecrets).filter(
      rc => rc.action !== 'no-op'
    )
  }
  if (!summary.hasChanges) return []
  const relevant = new Map<string, Step[][]>()
  const list = doc['relevant_attributes']
  for (const entry of Array.isArray(list) ? list : []) {
    if (!isObject(entry) || !Array.isArray(entry['attribute'])) continue
    const resource = typeof entry['resource'] === 'string' ? entry['resource'] : ''
    const path = (entry['attribute'] as unknown[]).filter(
      (s): s is Step => typeof s === 'string' || typeof s === 'number'
    )
    relevant.set(resource, [...(relevant.get(resource) ?? []), path])
  }
  const anyResource = relevant.get('') ?? []
  return readResourceChanges(doc, 'resource_drift', findSecrets, rc => {
    const paths = [...anyResource, ...(relevant.get(rc.address) ?? [])]
    if (paths.length === 0) return undefined
    return path => paths.some(p => isPrefix(p, path) || isPrefix(path, p))
  }).filter(rc => rc.action !== 'no-op' && (rc.action !== 'update' || rc.attributesTotal !== 0))
}

type Step = string | number

function isPrefix(prefix: readonly Step[], path: readonly Step[]): boolean {
  if (prefix.length > path.length) return false
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== path[i]) return false
  return true
}

/** Formats 0.2 (Terraform 0.15 to 1.0) and 1.x (Terraform 1.1 and later) are read. */
function checkFormatVersion(version: string): void {
  const [major, minor] = version.split('.')
  if (major === '1' || (major === '0' && minor === '2')) return
  const quoted = JSON.stringify(version)
  if (major === '0' && (minor === '1' || minor === '0')) {
    throw new PlanFormatError(
      `Unsupported Terraform plan JSON format_version ${quoted}: Terraform 0.12 to 0.14 write it without marking sensitive values, so this action cannot keep them out of the report. Use Terraform 0.15 or later (the action is tested with 1.5 or later).`
    )
  }
  throw new PlanFormatError(
    `Unsupported Terraform plan JSON format_version ${quoted}: this action reads formats 0.2 and 1.x (Terraform 0.15 and later). Update the action.`
  )
}

/** Sorts in place by address in reading order ({@link compareAddresses}), then deposed key. */
function sortByAddress(list: ResourceChange[]): void {
  const keyed = list.map(r => ({ r, key: addressKey(r.address) }))
  keyed.sort((x, y) => {
    if (x.key !== y.key) return x.key < y.key ? -1 : 1
    if (x.r.address !== y.r.address) return x.r.address < y.r.address ? -1 : 1
    const da = x.r.deposed ?? ''
    const db = y.r.deposed ?? ''
    return da < db ? -1 : da > db ? 1 : 0
  })
  keyed.forEach((k, i) => (list[i] = k.r))
}

/**
 * Addresses in reading order: numeric indexes by value (`[2]` before `[10]`, and before string
 * keys), everything else (names, string keys) by code unit.
 */
export function compareAddresses(a: string, b: string): number {
  const ka = addressKey(a)
  const kb = addressKey(b)
  if (ka !== kb) return ka < kb ? -1 : 1
  return a < b ? -1 : a > b ? 1 : 0
}

/** The address with each numeric index zero-padded behind \u0001 (so it sorts before `["`): a key
 * whose code-unit order is the reading order. */
function addressKey(address: string): string {
  return address.includes('[')
    ? address.replace(/\[(\d+)\]/g, (_, n: string) => `[\u0001${n.padStart(16, '0')}]`)
    : address
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

/** A predicate on attribute paths (drift: the relevant ones), or undefined for "skip the entry". */
type PathFilter = (path: readonly Step[]) => boolean

function readResourceChanges(
  doc: JsonObject,
  key: string,
  findSecrets: () => string[],
  relevance?: (rc: ResourceChange) => PathFilter | undefined
): ResourceChange[] {
  const list = doc[key]
  if (list === undefined || list === null) return []
  if (!Array.isArray(list)) fail(`${key} is ${describe(list)}, not an array`)
  const result: ResourceChange[] = []
  for (let i = 0; i < list.length; i++) {
    const where = `${key}[${i}]`
    const item: unknown = list[i]
    if (!isObject(item)) fail(`${where} is ${describe(item)}`)
    const address = addressOf(item, key === 'resource_drift')
    if (address === undefined) fail(`${where}.address is missing`)
    const change = item['change']
    if (!isObject(change)) fail(`${where}.change is missing`)
    const parsed = parseActions(change['actions'], `${where}.change.actions`)
    const rc: ResourceChange = {
      address,
      type: stringOr(item['type'], ''),
      name: stringOr(item['name'], ''),
      action: parsed.action
    }
    const moduleAddress = item['module_address']
    if (typeof moduleAddress === 'string' && moduleAddress !== '') rc.moduleAddress = moduleAddress
    if (parsed.replaceOrder) rc.replaceOrder = parsed.replaceOrder
    if (parsed.forgetsPrevious) rc.forgetsPrevious = true
    const reason = item['action_reason']
    if (typeof reason === 'string' && reason !== '') rc.actionReason = reason
    const paths = formatPaths(change['replace_paths'])
    if (paths.length > 0) rc.replacePaths = paths
    const previous = item['previous_address']
    if (typeof previous === 'string' && previous !== '' && previous !== address) {
      rc.previousAddress = previous
    }
    if (isObject(change['importing'])) rc.importing = true
    const deposed = item['deposed']
    if (typeof deposed === 'string' && deposed !== '') rc.deposed = deposed
    if (item['mode'] === 'data') rc.dataSource = true
    let keep: PathFilter | undefined
    if (relevance) {
      keep = relevance(rc)
      if (keep === undefined) continue
    }
    if (
      rc.action === 'create' ||
      rc.action === 'update' ||
      rc.action === 'replace' ||
      (key === 'resource_drift' && rc.action !== 'delete')
    ) {
      attributeChanges(rc, change, findSecrets, keep, key === 'resource_drift')
    }
    result.push(rc)
  }
  return result
}

/** Fills `diff`, `attributesTotal` and (updates, drift) `changedAttributes` from the change. */
function attributeChanges(
  rc: ResourceChange,
  change: JsonObject,
  findSecrets: () => string[],
  keep: PathFilter | undefined,
  drift: boolean
): void {
  const lines: string[] = []
  const names = new Set<string>()
  let total = 0
  const replacePaths = rawPaths(change['replace_paths'])
  const display = (value: unknown, sensitive: boolean): string | undefined => {
    if (value === null || value === undefined) return undefined
    if (sensitive) return SENSITIVE_VALUE
    const text = JSON.stringify(value)
    const secrets = findSecrets()
    if (secrets.length > 0 && secrets.some(secret => text.includes(secret))) return SENSITIVE_VALUE
    return truncateValue(text)
  }
  const leaf = (path: Step[], before?: string, after?: string): void => {
    if (keep && !keep(path)) return
    total++
    if (typeof path[0] === 'string') names.add(path[0])
    if (total > MAX_ATTRIBUTES) return
    const name = formatPath(path)
    const forces =
      rc.action === 'replace' && replacePaths.some(p => isPrefix(p, path) || isPrefix(path, p))
        ? '  # forces replacement'
        : ''
    if (before !== undefined) lines.push(`- ${name} = ${before}`)
    if (after !== undefined || forces) lines.push(`+ ${name} = ${after ?? 'null'}${forces}`)
  }
  const path: Step[] = [] // one stack for the whole walk: copied only for a changed leaf
  const walk = (b: unknown, a: unknown, bs: unknown, as: unknown, au: unknown): void => {
    if (au === true) {
      leaf([...path], display(b, bs === true), UNKNOWN_VALUE)
      return
    }
    if (bs === true || as === true) {
      const beforeText = display(b, bs === true)
      const afterText = display(a, as === true)
      if (beforeText === undefined && afterText === undefined) return // null on both sides
      if (beforeText === afterText && JSON.stringify(b) === JSON.stringify(a)) return
      leaf([...path], beforeText, afterText)
      return
    }
    if (Array.isArray(b) || Array.isArray(a) || Array.isArray(au)) {
      const bl = Array.isArray(b) ? b : []
      const al = Array.isArray(a) ? a : []
      const ul = Array.isArray(au) ? au : []
      const length = Math.max(bl.length, al.length, ul.length)
      for (let i = 0; i < length; i++) {
        path.push(i)
        walk(bl[i], al[i], maskAt(bs, i), maskAt(as, i), ul[i])
        path.pop()
      }
      return
    }
    if (isObject(b) || isObject(a) || isObject(au)) {
      const bo = isObject(b) ? b : {}
      const ao = isObject(a) ? a : {}
      const uo = isObject(au) ? au : {}
      const keys = new Set(Object.keys(bo))
      for (const k in ao) keys.add(k)
      for (const k in uo) keys.add(k)
      for (const k of [...keys].sort()) {
        path.push(k)
        walk(bo[k], ao[k], maskAt(bs, k), maskAt(as, k), uo[k])
        path.pop()
      }
      return
    }
    if (b === a || ((b === null || b === undefined) && (a === null || a === undefined))) return
    leaf([...path], display(b, false), display(a, false))
  }
  walk(
    rc.action === 'create' ? null : change['before'],
    change['after'],
    change['before_sensitive'],
    change['after_sensitive'],
    change['after_unknown']
  )
  if (lines.length > 0) rc.diff = lines.join('\n')
  rc.attributesTotal = total
  if (rc.action === 'update' || drift) rc.changedAttributes = [...names]
}

function maskAt(mask: unknown, step: Step): unknown {
  if (mask === true) return true
  if (typeof step === 'number') return Array.isArray(mask) ? mask[step] : undefined
  return isObject(mask) ? mask[step] : undefined
}

function truncateValue(text: string): string {
  if (text.length <= ATTRIBUTE_VALUE_MAX) return text
  let end = ATTRIBUTE_VALUE_MAX - 1
  const code = text.charCodeAt(end - 1)
  if (code >= 0xd800 && code <= 0xdbff) end--
  return `${text.slice(0, end)}…`
}

function rawPaths(paths: unknown): Step[][] {
  if (!Array.isArray(paths)) return []
  return paths
    .filter((p): p is unknown[] => Array.isArray(p))
    .map(p => p.filter((s): s is Step => typeof s === 'string' || typeof s === 'number'))
}

/**
 * The entry's `address`; for drift entries without one (Terraform 0.15 to 1.0), the address made
 * from `module_address`, `mode`, `type`, `name` and `index` as Terraform prints it.
 */
function addressOf(item: JsonObject, rebuild: boolean): string | undefined {
  const address = item['address']
  if (typeof address === 'string' && address !== '') return address
  const { module_address: moduleAddress, mode, type, name, index } = item
  if (!rebuild || typeof type !== 'string' || typeof name !== 'string' || !type || !name) {
    return undefined
  }
  let built = `${mode === 'data' ? 'data.' : ''}${type}.${name}`
  if (typeof moduleAddress === 'string' && moduleAddress !== '') built = `${moduleAddress}.${built}`
  if (typeof index === 'number') built += `[${index}]`
  else if (typeof index === 'string') built += `[${JSON.stringify(index)}]`
  return built
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback
}

interface ParsedActions {
  action: ResourceAction
  replaceOrder?: ReplaceOrder
  forgetsPrevious?: boolean
}

/** The action lists Terraform writes (see the `Change` type in Terraform's jsonplan package). */
function parseActions(actions: unknown, where: string): ParsedActions {
  if (!Array.isArray(actions) || !actions.every(a => typeof a === 'string')) {
    fail(`${where} is not a list of action names`)
  }
  switch (actions.join(',')) {
    case 'no-op':
      return { action: 'no-op' }
    case 'create':
      return { action: 'create' }
    case 'read':
      return { action: 'read' }
    case 'update':
      return { action: 'update' }
    case 'delete':
      return { action: 'delete' }
    case 'forget':
      return { action: 'forget' }
    case 'delete,create':
      return { action: 'replace', replaceOrder: 'destroy-before-create' }
    case 'create,delete':
      return { action: 'replace', replaceOrder: 'create-before-destroy' }
    case 'create,forget':
      return { action: 'create', forgetsPrevious: true }
    default:
      throw new PlanFormatError(
        `Unsupported action ${JSON.stringify(actions)} at ${where}: this action does not know what it does, so it will not summarize the plan. Update the action.`
      )
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/

/** [["tags","Name"],["triggers_replace"]] -> ['tags.Name', 'triggers_replace'] */
function formatPaths(paths: unknown): string[] {
  return rawPaths(paths)
    .map(formatPath)
    .filter(text => text !== '')
}

/** ["tags","Name"] -> `tags.Name`; [ "ingress", 0, "from_port"] -> `ingress[0].from_port` */
function formatPath(path: readonly Step[]): string {
  let text = ''
  for (const step of path) {
    if (typeof step === 'number') text += `[${step}]`
    else if (IDENTIFIER.test(step)) text += text === '' ? step : `.${step}`
    else text += `[${JSON.stringify(step)}]`
  }
  return text
}

function readOutputChanges(value: unknown, findSecrets: () => string[]): OutputChange[] {
  let secrets: string[] | undefined
  if (value === undefined || value === null) return []
  if (!isObject(value)) fail(`output_changes is ${describe(value)}, not an object`)
  const names = Object.keys(value).sort()
  const result: OutputChange[] = []
  for (const name of names) {
    const change = value[name]
    const where = `output_changes[${JSON.stringify(name)}]`
    if (!isObject(change)) fail(`${where} is ${describe(change)}`)
    const { action } = parseActions(change['actions'], `${where}.actions`)
    if (action === 'no-op') continue
    const sensitive = anyTrue(change['before_sensitive']) || anyTrue(change['after_sensitive'])
    const out: OutputChange = { name, action, sensitive }
    const unknownMask = change['after_unknown']
    const afterUnknown = anyTrue(unknownMask)
    if (afterUnknown) out.afterUnknown = true
    if (!sensitive) {
      if (action !== 'create' && 'before' in change) {
        out.before = JSON.stringify(change['before'] ?? null)
      }
      if (action !== 'delete' && unknownMask !== true) {
        const after = afterUnknown
          ? withPlaceholders(change['after'], unknownMask, UNKNOWN_MARK)
          : change['after']
        // unknown parts read (known after apply), unquoted, as Terraform prints them
        if (after !== undefined)
          out.after = JSON.stringify(after ?? null).replaceAll(
            JSON.stringify(UNKNOWN_MARK),
            UNKNOWN_VALUE
          )
      }
      // a value that holds a sensitive value from elsewhere in the plan is treated as sensitive
      const shown = `${out.before ?? ''}\n${out.after ?? ''}`
      secrets ??= findSecrets()
      if (secrets.some(secret => shown.includes(secret))) {
        out.sensitive = true
        delete out.before
        delete out.after
      }
    }
    result.push(out)
  }
  return result
}

/**
 * Stands for an unknown part while the value is turned into JSON; no JSON text of a real value
 * contains its JSON form (a NUL in a string is written `\\u0000`).
 */
const UNKNOWN_MARK = '\u0000known after apply\u0000'

/** true when a sensitivity/unknown mask (`true`, or an object/array of masks) marks anything */
function anyTrue(mask: unknown): boolean {
  if (mask === true) return true
  if (Array.isArray(mask)) return mask.some(anyTrue)
  if (isObject(mask)) return Object.values(mask).some(anyTrue)
  return false
}

/** The value with every leaf the mask marks `true` replaced by the placeholder. */
function withPlaceholders(value: unknown, mask: unknown, placeholder: string): Json | undefined {
  if (mask === true) return placeholder
  if (Array.isArray(mask)) {
    const items = Array.isArray(value) ? value : []
    const length = Math.max(items.length, mask.length)
    const result: Json[] = []
    for (let i = 0; i < length; i++) {
      result.push(withPlaceholders(items[i], mask[i], placeholder) ?? null)
    }
    return result
  }
  if (isObject(mask)) {
    const obj = isObject(value) ? value : {}
    const result: { [key: string]: Json } = {}
    for (const key of new Set([...Object.keys(obj), ...Object.keys(mask)])) {
      const v = withPlaceholders(obj[key], mask[key], placeholder)
      if (v !== undefined) result[key] = v
    }
    return result
  }
  return value as Json | undefined
}

/** One line: "2 to add, 1 to change, 0 to destroy, 1 to replace" (plus read/import/move/forget when
 * present), "No changes.", or for an errored plan that planning failed (and only that). */
export function planSummaryLine(s: PlanSummary): string {
  if (s.errored) return PLANNING_FAILED
  if (!s.hasChanges) return 'No changes.'
  const parts = [
    `${s.add} to add`,
    `${s.change} to change`,
    `${s.destroy} to destroy`,
    `${s.replace} to replace`
  ]
  if (s.read > 0) parts.push(`${s.read} to read`)
  if (s.import > 0) parts.push(`${s.import} to import`)
  if (s.move > 0) parts.push(`${s.move} to move`)
  if (s.forget > 0) parts.push(`${s.forget} to forget`)
  if (s.resources.length === 0 && s.outputs.length > 0) {
    parts.push(`${s.outputs.length} output${s.outputs.length === 1 ? '' : 's'} to change`)
  }
  return parts.join(', ')
}

/**
 * Terraform's own line, as `terraform plan` prints it ("Plan: 1 to import, 3 to add, 1 to change,
 * 2 to destroy."): a replacement counts as one to add and one to destroy, a removed data source is
 * not counted, and the line is there only when Terraform lists a resource change (a move or import
 * included). Undefined when Terraform prints none.
 */
export function terraformPlanLine(s: PlanSummary): string | undefined {
  let listed = 0
  let imports = 0
  let add = 0
  let change = 0
  let destroy = 0
  for (const r of s.resources) {
    if (r.action === 'delete' && r.dataSource) continue
    listed++
    if (r.importing) imports++
    if (r.action === 'create') add++
    else if (r.action === 'update') change++
    else if (r.action === 'delete') destroy++
    else if (r.action === 'replace') {
      add++
      destroy++
    }
  }
  if (listed === 0) return undefined
  return `Plan: ${imports > 0 ? `${imports} to import, ` : ''}${add} to add, ${change} to change, ${destroy} to destroy.`
}

/** What an errored plan is, wherever it is summed up in one line. */
export const PLANNING_FAILED =
  'Planning failed: Terraform hit an error while planning, so this plan cannot be applied.'

/** Sensitive strings shorter than this are not searched for in text (they would shred it). */
export const MIN_REDACTED_LENGTH = 4

/**
 * Every string the plan marks sensitive: resource attributes under before_sensitive /
 * after_sensitive / sensitive_values (changes, drift, prior state, planned values), sensitive
 * outputs, and the values of variables the root module declares sensitive. With the forms
 * Terraform prints them in (JSON-escaped, line by line), longest first. Used to blank them out of
 * plan text and errors (`terraform show` prints e.g. a value derived from a sensitive input that
 * the provider does not mark) and to mask them in logs. Strings shorter than
 * {@link MIN_REDACTED_LENGTH} are left out.
 */
export function sensitiveStrings(showJson: unknown): string[] {
  let doc = showJson
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc) as unknown
    } catch {
      return []
    }
  }
  const found = new Set<string>()
  if (!isObject(doc)) return []
  const add = (value: unknown): void => {
    if (typeof value === 'string') {
      for (const form of [value, JSON.stringify(value).slice(1, -1), ...value.split('\n')]) {
        const trimmed = form.trim()
        if (trimmed.length >= MIN_REDACTED_LENGTH) found.add(trimmed)
      }
    } else if (Array.isArray(value)) value.forEach(add)
    else if (isObject(value)) Object.values(value).forEach(add)
  }
  /** the leaves of value that mask marks true */
  const masked = (value: unknown, mask: unknown): void => {
    if (mask === true) add(value)
    else if (Array.isArray(mask)) {
      const items = Array.isArray(value) ? value : []
      mask.forEach((m, i) => masked(items[i], m))
    } else if (isObject(mask)) {
      const obj = isObject(value) ? value : {}
      for (const key of Object.keys(mask)) masked(obj[key], mask[key])
    }
  }
  for (const key of ['resource_changes', 'resource_drift']) {
    const list = doc[key]
    if (!Array.isArray(list)) continue
    for (const item of list) {
      if (!isObject(item) || !isObject(item['change'])) continue
      const change = item['change']
      masked(change['before'], change['before_sensitive'])
      masked(change['after'], change['after_sensitive'])
    }
  }
  const outputs = doc['output_changes']
  if (isObject(outputs)) {
    for (const change of Object.values(outputs)) {
      if (!isObject(change)) continue
      masked(change['before'], change['before_sensitive'])
      masked(change['after'], change['after_sensitive'])
    }
  }
  const stateValues = (values: unknown): void => {
    if (!isObject(values)) return
    const outs = values['outputs']
    if (isObject(outs)) {
      for (const out of Object.values(outs)) {
        if (isObject(out) && out['sensitive'] === true) add(out['value'])
      }
    }
    const walkModule = (mod: unknown): void => {
      if (!isObject(mod)) return
      const resources = mod['resources']
      if (Array.isArray(resources)) {
        for (const r of resources) {
          if (isObject(r)) masked(r['values'], r['sensitive_values'])
        }
      }
      const children = mod['child_modules']
      if (Array.isArray(children)) children.forEach(walkModule)
    }
    walkModule(values['root_module'])
  }
  stateValues(doc['planned_values'])
  if (isObject(doc['prior_state'])) stateValues(doc['prior_state']['values'])
  const config = doc['configuration']
  const variables = doc['variables']
  if (isObject(config) && isObject(config['root_module']) && isObject(variables)) {
    const declared = config['root_module']['variables']
    if (isObject(declared)) {
      for (const [name, decl] of Object.entries(declared)) {
        const given = variables[name]
        if (isObject(decl) && decl['sensitive'] === true && isObject(given)) add(given['value'])
      }
    }
  }
  return [...found].sort((a, b) => b.length - a.length || (a < b ? -1 : 1))
}

/** The text with every occurrence of the given strings replaced by "(sensitive value)". */
export function redact(text: string, secrets: readonly string[]): string {
  const usable = secrets.filter(s => s.length >= MIN_REDACTED_LENGTH)
  if (usable.length === 0 || text === '') return text
  const sorted = [...usable].sort((a, b) => b.length - a.length)
  const pattern = new RegExp(
    sorted.map(s => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'),
    'g'
  )
  return text.replace(pattern, '(sensitive value)')
}
