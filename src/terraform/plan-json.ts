/**
 * `terraform show -json <planfile>` read once: a 10,000-resource plan is tens of MB of JSON. Its
 * bytes are read piece by piece (`json-scan.ts`): each resource change is parsed on its own when it
 * is used and dropped after, so the plan never lives as one tree of objects (several times the size
 * of its text). First pass: every piece, for the sensitive strings (and to know the text is valid
 * JSON); second pass: the summary, from the resource changes again. The fingerprint parses them a
 * third time, from the bytes the effect keeps, only when it is asked for.
 */
import { isObject, type JsonObject } from '../json'
import {
  EntryCollector,
  planFingerprint,
  resourceEntryId,
  type Fingerprint,
  type FingerprintRequest
} from './fingerprint'
import * as fs from 'node:fs'
import { JsonFile, readAll } from './json-file'
import { JsonArrayBytes, JsonBytes, JsonScanError, type JsonSource, type Span } from './json-scan'
import { summarizePlan, type PlanSummary } from './plan'
import { Collector, sensitiveStrings } from './sensitive'

/**
 * The parts of the JSON plan the reviewed-plan fingerprint reads (`planFingerprint` takes it as
 * the plan): the resource and output changes. Sensitive values included: never print it. Read
 * from the plan's bytes, `resource_changes` is a {@link JsonArrayBytes} over them.
 */
export interface PlanEffect {
  resource_changes?: unknown
  output_changes?: unknown
}

export interface ReadPlan {
  summary: PlanSummary
  /** The strings the plan marks sensitive (each passed to `mask` before the summary is made). */
  secrets: string[]
  effect: PlanEffect
  /** When asked for: planFingerprint(effect, ...). */
  fingerprint?: Fingerprint
}

export interface ReadPlanOptions {
  refreshOnly?: boolean
  mask?: (secret: string) => void
  /**
   * Make the reviewed-plan fingerprint too (readPlanFile, readPlanBytes: while the resource changes
   * are parsed the first time, instead of parsing them again later).
   */
  fingerprint?: FingerprintRequest
}

/** Parse the JSON plan once: its sensitive strings (masked first), its summary, its effect. */
export function readPlanJson(json: string, options: ReadPlanOptions = {}): ReadPlan {
  let doc: unknown
  try {
    doc = JSON.parse(json)
  } catch {
    doc = json // summarizePlan reports what is wrong with it
  }
  const secrets = sensitiveStrings(doc)
  return summarized(doc, secrets, options, undefined)
}

/**
 * The same from the plan's bytes (UTF-8), read piece by piece. Text that is not a JSON object is
 * read by {@link readPlanJson}, which reports what is wrong with it as it always has.
 */
export function readPlanBytes(bytes: Buffer, options: ReadPlanOptions = {}): ReadPlan {
  let doc: JsonObject
  let secrets: string[]
  let entries: EntryCollector | undefined
  try {
    ;({ doc, secrets, entries } = readPieces(new JsonBytes(bytes), options.fingerprint))
  } catch (error) {
    if (!(error instanceof JsonScanError)) throw error
    return readPlanJson(bytes.toString('utf8'), options)
  }
  return summarized(doc, secrets, options, entries)
}

/**
 * The same from a file (`fd` open for reading; read with positioned reads, never whole): the
 * effect keeps reading the resource changes from it, and the file is closed once the effect is
 * garbage. Text that is not a JSON object is read by {@link readPlanJson}.
 */
export function readPlanFile(fd: number, options: ReadPlanOptions = {}): ReadPlan {
  const size = fs.fstatSync(fd).size
  let doc: JsonObject
  let secrets: string[]
  let entries: EntryCollector | undefined
  try {
    ;({ doc, secrets, entries } = readPieces(new JsonFile(fd, size), options.fingerprint))
  } catch (error) {
    if (!(error instanceof JsonScanError)) throw error
    return readPlanJson(readAll(fd).toString('utf8'), options)
  }
  return summarized(doc, secrets, options, entries)
}

function summarized(
  doc: unknown,
  secrets: string[],
  options: ReadPlanOptions,
  entries: EntryCollector | undefined
): ReadPlan {
  for (const secret of secrets) options.mask?.(secret)
  const summary = summarizePlan(doc, { refreshOnly: options.refreshOnly === true, secrets })
  const effect: PlanEffect = isObject(doc)
    ? { resource_changes: doc.resource_changes, output_changes: doc.output_changes }
    : {}
  const request = options.fingerprint
  let fingerprint: Fingerprint | undefined
  if (request && isObject(doc)) {
    fingerprint = entries
      ? entries.fingerprint(doc.output_changes)
      : planFingerprint(effect, request.stack, request.key, request.head)
  }
  return { summary, secrets, effect, ...(fingerprint && { fingerprint }) }
}

/** Large parts of the plan: read piece by piece, never parsed whole. */
const LISTS = new Set(['resource_changes', 'resource_drift'])
const STATES = new Set(['planned_values', 'prior_state'])

/**
 * The top-level object with its small members parsed, `resource_changes` and `resource_drift` as
 * {@link JsonArrayBytes}, and the planned values, prior state and configuration (read here for
 * their sensitive values) as `true`: nothing after this reads them but `in`. The sensitive strings
 * are the ones {@link sensitiveStrings} finds in the parsed document. Throws JsonScanError when
 * the text is not a JSON object.
 */
function readPieces(
  source: JsonSource,
  request?: FingerprintRequest
): { doc: JsonObject; secrets: string[]; entries?: EntryCollector } {
  const found = new Collector()
  const doc: JsonObject = {}
  let entries: EntryCollector | undefined
  // As JSON.parse makes them: a member named __proto__ is a member, not the prototype.
  const set = (name: string, value: unknown): void =>
    void Object.defineProperty(doc, name, {
      value,
      writable: true,
      enumerable: true,
      configurable: true
    })
  const members = source.memberMap(source.root())
  for (const [name, span] of members) {
    if (LISTS.has(name) && source.first(span) === 0x5b) {
      const spans = source.elements(span)
      const ids: Array<string | undefined> = []
      const collector =
        request && name === 'resource_changes' ? new EntryCollector(request) : undefined
      if (collector) entries = collector
      for (const element of spans) {
        const item = source.parse(element)
        found.change(item)
        const id = resourceEntryId(item)
        ids.push(id)
        collector?.resource(item, id)
      }
      set(name, new JsonArrayBytes(source, spans, name === 'resource_changes' ? ids : undefined))
    } else if (STATES.has(name) || name === 'configuration') {
      set(name, true)
    } else {
      set(name, source.parse(span))
    }
  }
  found.outputChanges(doc['output_changes'])
  const planned = members.get('planned_values')
  if (planned) stateValues(source, found, planned)
  const prior = members.get('prior_state')
  const priorValues = prior && source.member(prior, 'values')
  if (priorValues) stateValues(source, found, priorValues)
  const config = members.get('configuration')
  const rootModule = config && source.member(config, 'root_module')
  const declared = rootModule && source.member(rootModule, 'variables')
  if (declared) found.variables(source.parse(declared), doc['variables'])
  // resource_changes given, but not as an array: planFingerprint reads it as it is.
  if (!(doc['resource_changes'] instanceof JsonArrayBytes)) entries = undefined
  return { doc, secrets: found.sorted(), ...(entries && { entries }) }
}

/** Sensitive outputs and resource values of a state or planned-values document, piece by piece. */
function stateValues(source: JsonSource, found: Collector, span: Span): void {
  for (const [name, value] of source.objectMembers(span) ?? []) {
    if (name === 'outputs') found.stateOutputs(source.parse(value))
    else if (name === 'root_module') walkModule(source, found, value)
    else source.check(value)
  }
}

function walkModule(source: JsonSource, found: Collector, span: Span): void {
  for (const [name, value] of source.objectMembers(span) ?? []) {
    const isArray = source.first(value) === 0x5b
    if (name === 'resources' && isArray) {
      for (const r of source.elements(value)) found.resource(source.parse(r))
    } else if (name === 'child_modules' && isArray) {
      for (const child of source.elements(value)) walkModule(source, found, child)
    } else source.check(value)
  }
}
