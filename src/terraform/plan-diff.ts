/**
 * The attribute diff of one resource change: before/after, unknown (known after apply) and
 * sensitive leaves, walked path by path into the `diff` lines of a {@link ResourceChange}.
 */
import { isObject, type JsonObject } from '../json'
import type { ResourceChange } from './plan'
import { containsSecret } from './sensitive'

/** At most this many changed attributes are kept per resource. */
export const MAX_ATTRIBUTES = 25
/** Attribute values are cut to this many characters. */
export const ATTRIBUTE_VALUE_MAX = 200
export const SENSITIVE_VALUE = '(sensitive)'
export const UNKNOWN_VALUE = '(known after apply)'

export type Step = string | number

export function isPrefix(prefix: readonly Step[], path: readonly Step[]): boolean {
  if (prefix.length > path.length) return false
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== path[i]) return false
  return true
}

/** A predicate on attribute paths (drift: the relevant ones), or undefined for "skip the entry". */
export type PathFilter = (path: readonly Step[]) => boolean

/** Fills `diff`, `attributesTotal` and (updates, drift) `changedAttributes` from the change. */
export function attributeChanges(
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
  const display = (value: unknown, sensitive: boolean): string | undefined =>
    displayValue(value, sensitive, findSecrets)
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

/** A leaf's value as the diff shows it: JSON cut short, `(sensitive)`, or undefined for null. */
function displayValue(
  value: unknown,
  sensitive: boolean,
  findSecrets: () => string[]
): string | undefined {
  if (value === null || value === undefined) return undefined
  if (sensitive) return SENSITIVE_VALUE
  const text = JSON.stringify(value)
  if (containsSecret(text, findSecrets())) return SENSITIVE_VALUE
  return truncateValue(text)
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

export function rawPaths(paths: unknown): Step[][] {
  if (!Array.isArray(paths)) return []
  return paths
    .filter((p): p is unknown[] => Array.isArray(p))
    .map(p => p.filter((s): s is Step => typeof s === 'string' || typeof s === 'number'))
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/

/** [["tags","Name"],["triggers_replace"]] -> ['tags.Name', 'triggers_replace'] */
export function formatPaths(paths: unknown): string[] {
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
