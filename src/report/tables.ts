/**
 * The report's tables: resource changes (riskiest first, with shared explanations), changes made
 * outside Terraform, and output changes, as row lists the budget can cut.
 */
import type { OutputChange, PlanSummary, ResourceChange } from '../terraform/plan'
import { codeSpan, escapeText, tableHeader, tableRow, truncate } from './markdown'
import { formatCount, plural } from '../format'
import { rowList, type RowList } from './row-budget'

const VALUE_MAX_CHARS = 200

const REASONS: Record<string, string> = {
  replace_because_cannot_update: 'cannot be updated in place',
  replace_because_tainted: 'tainted',
  replace_by_request: 'replacement requested (-replace)',
  replace_by_triggers: 'replace_triggered_by',
  delete_because_no_resource_config: 'no longer in the configuration',
  delete_because_wrong_repetition: 'count/for_each changed',
  delete_because_count_index: 'count index out of range',
  delete_because_each_key: 'for_each key no longer present',
  delete_because_no_module: 'module no longer in the configuration',
  delete_because_no_move_target: 'moved target does not exist',
  read_because_config_unknown: 'configuration known only during apply',
  read_because_dependency_pending: 'depends on a pending change',
  read_because_check_nested: 'read by a check block'
}

/** Risky first: replacements that destroy first, other replacements, deletions, ... */
function rank(r: ResourceChange): number {
  switch (r.action) {
    case 'replace':
      return r.replaceOrder === 'destroy-before-create' ? 0 : 1
    case 'delete':
      return 2
    case 'forget':
      return 3
    case 'update':
      return 4
    case 'create':
      return 5
    case 'read':
      return 6
    case 'no-op':
      return 7
  }
}

function actionLabel(r: ResourceChange): string {
  switch (r.action) {
    case 'replace':
      return r.replaceOrder === 'destroy-before-create' ? '**replace**' : 'replace'
    case 'delete':
      return '**destroy**'
    case 'forget':
      return 'forget'
    case 'update':
      return 'update'
    case 'create':
      return 'create'
    case 'read':
      return 'read'
    case 'no-op':
      return r.previousAddress !== undefined ? 'move' : r.importing ? 'import' : 'no change'
  }
}

/**
 * The explanations many rows can share (the replacement order, why Terraform plans the action):
 * said once under the table with the addresses they apply to, not repeated in every row.
 */
function explanations(r: ResourceChange): string[] {
  const parts: string[] = []
  if (r.action === 'replace') {
    parts.push(
      r.replaceOrder === 'destroy-before-create'
        ? 'Destroys the old object before creating the new one (downtime risk)'
        : 'Creates the new object before destroying the old one'
    )
  }
  if (r.action === 'forget') parts.push('Removed from state, not destroyed')
  if (r.forgetsPrevious) parts.push('The old object is removed from state, not destroyed')
  if (r.actionReason) {
    const known = REASONS[r.actionReason]
    parts.push(
      known
        ? `${known.charAt(0).toUpperCase()}${known.slice(1)}`
        : `Reason ${codeSpan(truncate(r.actionReason, 100))}`
    )
  }
  return parts
}

/** What is particular to this row: the attributes that change or force it, a move, an import. */
function details(r: ResourceChange): string {
  const parts: string[] = []
  if (r.replacePaths && r.replacePaths.length > 0) {
    const shown = r.replacePaths.slice(0, 5).map(p => codeSpan(truncate(p, 100), { table: true }))
    const more = r.replacePaths.length > 5 ? ` and ${r.replacePaths.length - 5} more` : ''
    parts.push(`forced by ${shown.join(', ')}${more}`)
  }
  if (r.action === 'update' && r.changedAttributes && r.changedAttributes.length > 0) {
    const names = r.changedAttributes
    const shown = names.slice(0, NAMES_SHOWN).map(n => codeSpan(truncate(n, 100), { table: true }))
    const more = names.length > NAMES_SHOWN ? ` and ${names.length - NAMES_SHOWN} more` : ''
    parts.push(`changes ${shown.join(', ')}${more}`)
  }
  if (r.previousAddress !== undefined) {
    parts.push(`moved from ${codeSpan(truncate(r.previousAddress, 300), { table: true })}`)
  }
  if (r.importing) parts.push('imported')
  if (r.deposed) parts.push(`deposed object ${codeSpan(truncate(r.deposed, 40), { table: true })}`)
  return parts.join('; ')
}

/** Attribute names listed in a row before "and N more". */
const NAMES_SHOWN = 6
/** Addresses listed after a shared explanation before "and N more". */
const GROUP_ADDRESSES = 5
/** Shared explanations listed at most (unknown action reasons could make many). */
const GROUPS_SHOWN = 12

/**
 * The shared explanations, each once with the addresses it applies to (riskiest rows first), e.g.
 * "- Destroys the old object before creating the new one (downtime risk): `a`, `b` and 5 more."
 * `compact` leaves the addresses out (counts only), for a report short of room.
 */
export function groupedExplanations(ordered: readonly ResourceChange[], compact: boolean): string {
  const groups = new Map<string, ResourceChange[]>()
  for (const r of ordered) {
    for (const text of explanations(r)) {
      const list = groups.get(text)
      if (list) list.push(r)
      else if (groups.size < GROUPS_SHOWN) groups.set(text, [r])
    }
  }
  const lines: string[] = []
  for (const [text, list] of groups) {
    if (compact) {
      lines.push(`- ${text}: ${plural(list.length, 'resource')}.`)
      continue
    }
    const shown = list
      .slice(0, GROUP_ADDRESSES)
      .map(r => codeSpan(truncate(r.address, 120)))
      .join(', ')
    const more =
      list.length > GROUP_ADDRESSES ? ` and ${formatCount(list.length - GROUP_ADDRESSES)} more` : ''
    lines.push(`- ${text}: ${shown}${more}.`)
  }
  return lines.join('\n')
}

function resourceRow(r: ResourceChange): string {
  return tableRow([actionLabel(r), codeSpan(truncate(r.address, 500), { table: true }), details(r)])
}

function driftRow(r: ResourceChange): string {
  const what =
    r.action === 'delete'
      ? 'deleted'
      : r.action === 'update'
        ? 'changed'
        : r.action === 'replace'
          ? 'replaced'
          : r.action === 'create'
            ? 'created'
            : r.action === 'no-op' && r.previousAddress !== undefined
              ? 'moved'
              : escapeText(r.action)
  const names = r.changedAttributes ?? []
  const attributes = names
    .slice(0, NAMES_SHOWN)
    .map(n => codeSpan(truncate(n, 100), { table: true }))
    .join(', ')
  const more = names.length > NAMES_SHOWN ? ` and ${names.length - NAMES_SHOWN} more` : ''
  return tableRow([what, codeSpan(truncate(r.address, 500), { table: true }), attributes + more])
}

export function actionWord(r: ResourceChange): string {
  switch (r.action) {
    case 'replace':
      return 'replace'
    case 'create':
      return r.importing ? 'import' : 'create'
    case 'update':
      return r.importing ? 'import and update' : 'update'
    default:
      return r.action
  }
}

function outputValue(o: OutputChange, which: 'before' | 'after'): string {
  if (o.sensitive) {
    const absent =
      (which === 'before' && o.action === 'create') || (which === 'after' && o.action === 'delete')
    return absent ? '' : '(sensitive)'
  }
  const value = o[which]
  if (which === 'after' && o.afterUnknown && value === undefined) return '(known after apply)'
  if (value === undefined) return ''
  return codeSpan(truncate(value, VALUE_MAX_CHARS), { table: true })
}

function outputRow(o: OutputChange): string {
  return tableRow([
    codeSpan(truncate(o.name, 200), { table: true }),
    escapeText(o.action),
    outputValue(o, 'before'),
    outputValue(o, 'after')
  ])
}

export interface PlanTables {
  lists: RowList[]
  /** the resource changes with an attribute diff, in table order */
  withDiff: ResourceChange[]
  /** the shared explanations under the resource table ('' for none) */
  explanationsFull: string
  /** the resource changes in table order (for the compact explanations) */
  explained: ResourceChange[]
}

/** The tables of a plan that did not fail; `fullPlanAt` says where cut rows can be seen. */
export function planTables(summary: PlanSummary, fullPlanAt: string): PlanTables {
  const lists: RowList[] = []
  let withDiff: ResourceChange[] = []
  let explanationsFull = ''
  let explained: ResourceChange[] = []
  if (summary.resources.length > 0) {
    const ordered = summary.resources
      .map((r, i) => ({ r, i, k: rank(r) }))
      .sort((a, b) => a.k - b.k || a.i - b.i)
      .map(o => o.r)
    const table = rowList(
      `#### Resource changes\n\n${tableHeader(['Action', 'Resource', 'Details'])}`,
      ordered.map(resourceRow),
      'resource changes',
      `all of them are in the plan text; the full plan is in ${fullPlanAt}`
    )
    explanationsFull = groupedExplanations(ordered, false)
    explained = ordered
    if (explanationsFull !== '') table.footer = explanationsFull
    lists.push(table)
    withDiff = ordered.filter(r => r.diff !== undefined)
  }
  if (summary.drift.length > 0) {
    const intro = summary.refreshOnly
      ? 'Terraform found these changes made outside Terraform since the last apply. This is a refresh-only plan: applying it records them in the state and changes no real infrastructure.'
      : 'Terraform found these changes made outside Terraform since the last apply that may have affected this plan; the plan above may undo or respond to them.'
    lists.push(
      rowList(
        `#### Changed outside Terraform\n\n${intro}\n\n${tableHeader(['Change', 'Resource', 'Attributes'])}`,
        summary.drift.map(driftRow),
        'drifted resources',
        `see the plan in ${fullPlanAt}`
      )
    )
  }
  if (summary.outputs.length > 0) {
    lists.push(
      rowList(
        `#### Output changes\n\n${tableHeader(['Output', 'Action', 'Before', 'After'])}`,
        summary.outputs.map(outputRow),
        'output changes',
        `see the plan in ${fullPlanAt}`
      )
    )
  }
  return { lists, withDiff, explanationsFull, explained }
}
