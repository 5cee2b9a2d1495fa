/** What `terraform output -json` printed: the outputs, their sensitive values masked in the log. */
import * as core from '@actions/core'
import { DeployError, errorMessage } from '../errors'

export interface TerraformOutput {
  value: unknown
  type: unknown
  sensitive: boolean
}

export interface TerraformOutputs {
  /** Every output, sensitive ones included (their values are masked in the log already). */
  all: Record<string, TerraformOutput>
  /** name → value of the outputs not marked sensitive (the `terraform-outputs` action output). */
  nonSensitive: Record<string, unknown>
  sensitiveNames: string[]
}

/**
 * The strings that would reveal a sensitive value in a log: each string leaf (also each of its lines
 * and its JSON-escaped form) and the JSON form of the whole value.
 */
export function secretStrings(value: unknown): string[] {
  const found = new Set<string>()
  const addString = (s: string): void => {
    if (s.trim() === '') return
    found.add(s)
    const escaped = JSON.stringify(s).slice(1, -1)
    if (escaped !== s) found.add(escaped)
    if (/[\r\n]/.test(s)) {
      for (const line of s.split(/\r?\n/)) if (line.trim() !== '') found.add(line)
    }
  }
  const walk = (v: unknown): void => {
    if (typeof v === 'string') addString(v)
    else if (Array.isArray(v)) v.forEach(walk)
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk)
  }
  walk(value)
  if (typeof value !== 'string' && value !== null && value !== undefined) {
    const json = JSON.stringify(value)
    if (json !== undefined && json.length > 1) {
      found.add(json)
      found.add(JSON.stringify(value, null, 2))
    }
  }
  return [...found]
}

/** Parse `terraform output -json` and mask every sensitive value with core.setSecret. */
export function readOutputs(json: string): TerraformOutputs {
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch (error) {
    throw new DeployError(`terraform output -json did not print JSON (${errorMessage(error)})`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DeployError('terraform output -json did not print a JSON object')
  }
  const all: Record<string, TerraformOutput> = {}
  const nonSensitive: Record<string, unknown> = {}
  const sensitiveNames: string[] = []
  // Mask first, for every sensitive output, before anything else looks at the values.
  for (const raw of Object.values(parsed as Record<string, unknown>)) {
    const entry = (raw ?? {}) as { value?: unknown; type?: unknown; sensitive?: unknown }
    if (entry.sensitive !== false) {
      for (const secret of secretStrings(entry.value)) core.setSecret(secret)
    }
  }
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    const entry = (raw ?? {}) as { value?: unknown; type?: unknown; sensitive?: unknown }
    const sensitive = entry.sensitive !== false
    all[name] = { value: entry.value, type: entry.type, sensitive }
    if (sensitive) sensitiveNames.push(name)
    else nonSensitive[name] = entry.value
  }
  sensitiveNames.sort()
  return { all, nonSensitive, sensitiveNames }
}
