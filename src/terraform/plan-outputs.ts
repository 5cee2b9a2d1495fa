/** The root module's `output_changes`, with sensitive and unknown values kept out. */
import { isObject, type Json } from '../json'
import type { OutputChange } from './plan'
import { UNKNOWN_VALUE } from './plan-diff'
import { describe, fail, parseActions } from './plan-format'
import { containsSecret } from './sensitive'

export function readOutputChanges(value: unknown, findSecrets: () => string[]): OutputChange[] {
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
      if (containsSecret(shown, secrets)) {
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
