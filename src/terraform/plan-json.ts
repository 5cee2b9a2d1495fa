/**
 * `terraform show -json <planfile>` read once: a 10,000-resource plan is tens of MB of JSON, so it
 * is parsed once and everything the run needs from it is taken from that one parse.
 */
import { isObject } from '../json'
import { summarizePlan, type PlanSummary } from './plan'
import { sensitiveStrings } from './sensitive'

/**
 * The parts of the JSON plan the reviewed-plan fingerprint reads (`planFingerprint` takes it as
 * the plan): the resource and output changes. Sensitive values included: never print it.
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
}

/** Parse the JSON plan once: its sensitive strings (masked first), its summary, its effect. */
export function readPlanJson(
  json: string,
  options: { refreshOnly?: boolean; mask?: (secret: string) => void } = {}
): ReadPlan {
  let doc: unknown
  try {
    doc = JSON.parse(json)
  } catch {
    doc = json // summarizePlan reports what is wrong with it
  }
  const secrets = sensitiveStrings(doc)
  for (const secret of secrets) options.mask?.(secret)
  const summary = summarizePlan(doc, { refreshOnly: options.refreshOnly === true })
  const effect: PlanEffect = isObject(doc)
    ? { resource_changes: doc.resource_changes, output_changes: doc.output_changes }
    : {}
  return { summary, secrets, effect }
}
