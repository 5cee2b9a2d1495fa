/** The `resource_changes` and `resource_drift` entries of a plan read into {@link ResourceChange}s. */
import { isObject, type JsonObject } from '../json'
import type { ResourceChange } from './plan'
import { addressOf } from './plan-address'
import { attributeChanges, formatPaths, type PathFilter } from './plan-diff'
import { describe, fail, parseActions } from './plan-format'
import { isList, listAt } from './json-scan'

export function readResourceChanges(
  doc: JsonObject,
  key: string,
  findSecrets: () => string[],
  relevance?: (rc: ResourceChange) => PathFilter | undefined
): ResourceChange[] {
  const list = doc[key]
  if (list === undefined || list === null) return []
  if (!isList(list)) fail(`${key} is ${describe(list)}, not an array`)
  const result: ResourceChange[] = []
  for (let i = 0; i < list.length; i++) {
    const where = `${key}[${i}]`
    const item: unknown = listAt(list, i)
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

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback
}
