/** The strings a Terraform plan marks sensitive, and redaction of them from text. */
import { isObject } from '../json'

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
  if (!isObject(doc)) return []
  const found = new Collector()
  for (const key of ['resource_changes', 'resource_drift']) {
    const list = doc[key]
    if (!Array.isArray(list)) continue
    for (const item of list) found.change(item)
  }
  found.outputChanges(doc['output_changes'])
  stateValues(found, doc['planned_values'])
  if (isObject(doc['prior_state'])) stateValues(found, doc['prior_state']['values'])
  const config = doc['configuration']
  if (isObject(config) && isObject(config['root_module']))
    found.variables(config['root_module']['variables'], doc['variables'])
  return found.sorted()
}

/**
 * The sensitive strings found so far, in the forms Terraform prints them. Its methods take the
 * parts of the plan one at a time (`plan-json.ts` reads a large plan piece by piece).
 */
export class Collector {
  readonly strings = new Set<string>()

  /** An entry of `resource_changes` or `resource_drift`. */
  change(item: unknown): void {
    if (!isObject(item) || !isObject(item['change'])) return
    const change = item['change']
    this.masked(change['before'], change['before_sensitive'])
    this.masked(change['after'], change['after_sensitive'])
  }

  /** The `output_changes` object. */
  outputChanges(outputs: unknown): void {
    if (!isObject(outputs)) return
    for (const change of Object.values(outputs)) {
      if (!isObject(change)) continue
      this.masked(change['before'], change['before_sensitive'])
      this.masked(change['after'], change['after_sensitive'])
    }
  }

  /** The `outputs` of a state or planned-values document. */
  stateOutputs(outs: unknown): void {
    if (!isObject(outs)) return
    for (const out of Object.values(outs)) {
      if (isObject(out) && out['sensitive'] === true) this.add(out['value'])
    }
  }

  /** A resource of a module in a state or planned-values document. */
  resource(r: unknown): void {
    if (isObject(r)) this.masked(r['values'], r['sensitive_values'])
  }

  /** The values of the root module's variables declared sensitive. */
  variables(declared: unknown, variables: unknown): void {
    if (!isObject(declared) || !isObject(variables)) return
    for (const [name, decl] of Object.entries(declared)) {
      const given = variables[name]
      if (isObject(decl) && decl['sensitive'] === true && isObject(given)) this.add(given['value'])
    }
  }

  /** Longest first (then in code-unit order). */
  sorted(): string[] {
    return [...this.strings].sort((a, b) => b.length - a.length || (a < b ? -1 : 1))
  }

  /** every string in the value */
  add(value: unknown): void {
    if (typeof value === 'string') {
      for (const form of [value, JSON.stringify(value).slice(1, -1), ...value.split('\n')]) {
        const trimmed = form.trim()
        if (trimmed.length >= MIN_REDACTED_LENGTH) this.strings.add(trimmed)
      }
    } else if (Array.isArray(value)) value.forEach(v => this.add(v))
    else if (isObject(value)) Object.values(value).forEach(v => this.add(v))
  }

  /** the leaves of value that mask marks true */
  masked(value: unknown, mask: unknown): void {
    if (mask === true) this.add(value)
    else if (Array.isArray(mask)) {
      const items = Array.isArray(value) ? value : []
      mask.forEach((m, i) => this.masked(items[i], m))
    } else if (isObject(mask)) {
      const obj = isObject(value) ? value : {}
      for (const key of Object.keys(mask)) this.masked(obj[key], mask[key])
    }
  }
}

/** Sensitive outputs and resource values of a state or planned-values document. */
function stateValues(found: Collector, values: unknown): void {
  if (!isObject(values)) return
  found.stateOutputs(values['outputs'])
  const walkModule = (mod: unknown): void => {
    if (!isObject(mod)) return
    const resources = mod['resources']
    if (Array.isArray(resources)) resources.forEach(r => found.resource(r))
    const children = mod['child_modules']
    if (Array.isArray(children)) children.forEach(walkModule)
  }
  walkModule(values['root_module'])
}

/**
 * A pattern matching any of the strings, longest first (a regex alternation of the escaped
 * strings). V8 compiles it on first use, and refuses one too large ("Regular expression too
 * large": secrets of megabytes, a certificate bundle or a rendered file): the callers catch that
 * and look for each string in turn.
 */
function anyOf(strings: readonly string[], flags: string): RegExp {
  const sorted = longestFirst(strings)
  return new RegExp(sorted.map(s => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), flags)
}

const longestFirst = (strings: readonly string[]): string[] =>
  [...strings].sort((a, b) => b.length - a.length)

const secretPatterns = new WeakMap<readonly string[], RegExp | null>()

/**
 * Whether the text contains any of the secrets. One regex alternation, compiled once per list: a
 * 10,000-resource plan asks this for every shown value (hundreds of thousands), and one regex scan
 * is several times faster than an `includes` per secret (bench/README.md, report).
 */
export function containsSecret(text: string, secrets: readonly string[]): boolean {
  if (secrets.length === 0) return false
  let pattern = secretPatterns.get(secrets)
  if (pattern === undefined) secretPatterns.set(secrets, (pattern = anyOf(secrets, '')))
  if (pattern !== null) {
    try {
      return pattern.test(text)
    } catch {
      secretPatterns.set(secrets, null) // too large to compile: one string at a time
    }
  }
  return secrets.some(secret => text.includes(secret))
}

/** The text with every occurrence of the given strings replaced by "(sensitive value)". */
export function redact(text: string, secrets: readonly string[]): string {
  const usable = secrets.filter(s => s.length >= MIN_REDACTED_LENGTH)
  if (usable.length === 0 || text === '') return text
  try {
    return text.replace(anyOf(usable, 'g'), '(sensitive value)')
  } catch {
    // too large to compile: one string at a time, longest first
    return longestFirst(usable).reduce(
      (redacted, secret) => redacted.replaceAll(secret, '(sensitive value)'),
      text
    )
  }
}
