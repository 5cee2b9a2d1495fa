/** Which drift (changes made outside Terraform) a plan shows: `relevant_attributes` and refresh-only plans. */
import { isObject, type JsonObject } from '../json'
import type { PlanSummary, ResourceChange } from './plan'
import { isPrefix, type Step } from './plan-diff'
import { readResourceChanges } from './plan-resources'

/**
 * The drift Terraform shows (see {@link PlanSummary.drift}): with `relevant_attributes` (format
 * 1.1+), an entry is shown when an attribute that contributes to the plan changed, and only those
 * attributes; nothing when the plan changes nothing.
 */
export function shownDrift(
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
