/** The "Changes by resource" block: each resource's changed attributes as a collapsed diff. */
import { MAX_ATTRIBUTES } from '../terraform/plan-diff'
import type { ResourceChange } from '../terraform/plan'
import { redact } from '../terraform/sensitive'
import { fencedBlock, htmlCode, truncate } from './markdown'
import { plural } from '../format'
import { SEP } from './row-budget'
import { actionWord } from './tables'

/**
 * One resource's changed attributes in a collapsed block, as a diff: `-` the value before, `+` the
 * value after, by attribute path; the attributes that force a replacement say so.
 */
function resourceDiff(r: ResourceChange, secrets: readonly string[]): string {
  const lines = [r.diff ?? '']
  const total = r.attributesTotal ?? 0
  if (total > MAX_ATTRIBUTES)
    lines.push(`# … and ${plural(total - MAX_ATTRIBUTES, 'more changed attribute')}`)
  const body = secrets.length > 0 ? redact(lines.join('\n'), secrets) : lines.join('\n')
  const label = `${actionWord(r)}, ${plural(total, 'attribute')}`
  const address = htmlCode(truncate(r.address, 300))
  return `<details><summary>${address} (${label})</summary>\n\n${fencedBlock(body, 'diff')}\n\n</details>`
}

/**
 * The diffs of the resources that have one, within `available` characters (the first to be cut:
 * they get what the tables leave); undefined when none fits. Rendered one by one while they fit
 * (a 10,000-change plan renders the few that fit, not all).
 */
export function diffBlockWithin(
  withDiff: readonly ResourceChange[],
  available: number,
  secrets: readonly string[],
  fullPlanAt: string
): string | undefined {
  if (withDiff.length === 0) return undefined
  const header = '#### Changes by resource\n\nThe attributes that change: `-` before, `+` after.\n'
  const more = (n: number): string =>
    `\n\n… and ${plural(n, 'more resource')} with changed attributes (see the plan text; the full plan is in ${fullPlanAt}).`
  let room = available - SEP - header.length - more(withDiff.length).length
  const shown: string[] = []
  for (const r of withDiff) {
    const block = resourceDiff(r, secrets)
    if (block.length + 1 > room) break
    shown.push(block)
    room -= block.length + 1
  }
  if (shown.length === 0) return undefined
  const cut = withDiff.length - shown.length
  return `${header}\n${shown.join('\n')}${cut > 0 ? more(cut) : ''}`
}
