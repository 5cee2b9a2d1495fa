/**
 * Terraform's JSON plan (`terraform show -json <planfile>`) turned into a small typed summary:
 * counts, per-resource actions, drift and output changes. Pure: no I/O.
 *
 * Format reference: https://developer.hashicorp.com/terraform/internals/json-format
 * (format_version 1.x from Terraform 1.1, and 0.2 from Terraform 0.15 to 1.0, whose drift entries can
 * lack `address`; unknown properties are ignored as the format asks). Format 0.1 (Terraform 0.12 to
 * 0.14) marks no sensitive values, so it is refused.
 *
 * Sensitive values are never copied: a changed resource attribute under a sensitivity mask, or whose
 * value contains a string marked sensitive anywhere in the plan, reads `(sensitive)`, and an output
 * whose `before_sensitive`/`after_sensitive` marks any part as sensitive, or whose value contains
 * such a string, keeps only its name and action.
 * {@link sensitiveStrings} lists those strings so text from Terraform can be redacted with
 * {@link redact}.
 */
import { errorMessage } from '../errors'
import { isObject, type JsonObject } from '../json'
import { sortByAddress } from './plan-address'
import { checkFormatVersion, describe, fail } from './plan-format'
import { readOutputChanges } from './plan-outputs'
import { readResourceChanges } from './plan-resources'
import { shownDrift } from './plan-drift'
import { sensitiveStrings } from './sensitive'
import { isList } from './json-scan'

export type ResourceAction =
  'create' | 'update' | 'delete' | 'replace' | 'read' | 'no-op' | 'forget'
export type ReplaceOrder = 'create-before-destroy' | 'destroy-before-create'

export interface ResourceChange {
  address: string
  /** e.g. `module.site`; absent for the root module */
  moduleAddress?: string
  type: string
  name: string
  action: ResourceAction
  /** set for `replace` only */
  replaceOrder?: ReplaceOrder
  /** Terraform's `action_reason`, e.g. `replace_because_tainted`, `delete_because_no_resource_config` */
  actionReason?: string
  /** attribute paths forcing replacement (from `replace_paths`), e.g. `triggers_replace`, `tags["a"]` */
  replacePaths?: string[]
  /** the address in the previous run when the resource was moved (`moved` block) */
  previousAddress?: string
  /** true when the plan imports the object (`import` block) */
  importing?: boolean
  /** the deposed-object key when the change is to a deposed object */
  deposed?: string
  /** `["create","forget"]`: a new object is created and the old one is dropped from state, not destroyed */
  forgetsPrevious?: boolean
  /** a data source (`mode` "data") */
  dataSource?: boolean
  /**
   * The changed attributes of a creation, update or replacement (or drift), leaf by leaf by path
   * (`tags.Name`, `ingress[0].from_port`), as diff lines: `- path = before` when it had a value,
   * `+ path = after` when it has one, `  # forces replacement` after an attribute in Terraform's
   * `replace_paths`. At most {@link MAX_ATTRIBUTES} attributes; one string, not objects, so a
   * summary of many changes stays small. Values are JSON cut to {@link ATTRIBUTE_VALUE_MAX}
   * characters, `(known after apply)`, or `(sensitive)`: a leaf under a sensitivity mask, or one
   * that contains a string the plan marks sensitive anywhere, is never copied.
   */
  diff?: string
  /** how many attributes change in all (`diff` shows the first ones) */
  attributesTotal?: number
  /** updates and drift: the top-level attributes that change, e.g. `tags`, `versioning` */
  changedAttributes?: string[]
}

export interface OutputChange {
  name: string
  action: ResourceAction
  sensitive: boolean
  /** the value as JSON; absent when sensitive, when the output did not exist, or when unknown */
  before?: string
  /** the value as JSON, unknown parts written (known after apply) unquoted; absent when sensitive or wholly unknown */
  after?: string
  /** true when all or part of the new value is only known after apply */
  afterUnknown?: boolean
}

export interface PlanSummary {
  /** creations (a replacement is not counted here) */
  add: number
  /** in-place updates */
  change: number
  /** destructions (a replacement is not counted here) */
  destroy: number
  /** replacements, whatever their order */
  replace: number
  /** data sources read during apply */
  read: number
  /** objects imported by `import` blocks */
  import: number
  /** objects moved by `moved` blocks */
  move: number
  /** objects removed from state without being destroyed (`removed` blocks with destroy = false) */
  forget: number
  /** true when applying the plan would do anything (terraform plan -detailed-exitcode would exit 2) */
  hasChanges: boolean
  /** every change that does something (not no-op, or moved, or imported), sorted by address */
  resources: ResourceChange[]
  /**
   * Changes made outside Terraform since the last apply that Terraform shows: for plans from
   * Terraform 1.2 on (format 1.1+), only those touching `relevant_attributes` of a plan that
   * changes something; every one for a refresh-only plan and for older formats. Sorted by address.
   */
  drift: ResourceChange[]
  /** a refresh-only plan (`-refresh-only`): drift and no resource changes at all */
  refreshOnly: boolean
  /** root module output changes that are not no-op, sorted by name */
  outputs: OutputChange[]
  terraformVersion?: string
  /** Terraform hit an error while planning: the summary covers what was planned before it */
  errored: boolean
}

/**
 * Reads `terraform show -json` output (parsed, or the raw JSON text) into a summary. `refreshOnly`:
 * the caller made the plan with `-refresh-only` (drift mode), so every drift entry is shown; without
 * it, a plan is taken as refresh-only when it plans no resource and has drift.
 */
export function summarizePlan(
  showJson: unknown,
  options: {
    refreshOnly?: boolean
    /** The plan's sensitive strings when the caller has them (else found when needed). */
    secrets?: string[]
  } = {}
): PlanSummary {
  const doc = readPlanDocument(showJson)
  const summary: PlanSummary = {
    add: 0,
    change: 0,
    destroy: 0,
    replace: 0,
    read: 0,
    import: 0,
    move: 0,
    forget: 0,
    hasChanges: false,
    resources: [],
    drift: [],
    refreshOnly: false,
    outputs: [],
    errored: doc['errored'] === true
  }
  let secrets = options.secrets
  const findSecrets = (): string[] => (secrets ??= sensitiveStrings(doc))
  const tfVersion = doc['terraform_version']
  if (typeof tfVersion === 'string' && tfVersion !== '') summary.terraformVersion = tfVersion

  for (const rc of readResourceChanges(doc, 'resource_changes', findSecrets)) {
    const interesting = rc.action !== 'no-op' || rc.importing === true || rc.previousAddress
    if (interesting) count(summary, rc)
  }
  summary.outputs = readOutputChanges(doc['output_changes'], findSecrets)
  summary.hasChanges = summary.resources.length > 0 || summary.outputs.length > 0
  const changes = doc['resource_changes']
  const drift = doc['resource_drift']
  // No flag says "refresh-only" in every format version: such a plan plans no resource at all (a
  // normal plan has an entry, if only a no-op, for every resource it refreshed), only drift.
  summary.refreshOnly =
    options.refreshOnly ??
    ((!isList(changes) || changes.length === 0) && isList(drift) && drift.length > 0)
  summary.drift = shownDrift(doc, summary, findSecrets)

  sortByAddress(summary.resources)
  sortByAddress(summary.drift)
  return summary
}

/** The plan document (parsed from text if need be), checked to be a plan in a format we read. */
function readPlanDocument(showJson: unknown): JsonObject {
  let doc = showJson
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc) as unknown
    } catch (error) {
      fail(`the text is not JSON (${errorMessage(error)})`)
    }
  }
  if (!isObject(doc)) fail(`got ${describe(doc)}`)
  const version = doc['format_version']
  if (typeof version !== 'string') fail('format_version is missing')
  checkFormatVersion(version)
  const isPlan = 'planned_values' in doc || 'resource_changes' in doc || 'output_changes' in doc
  if (!isPlan) {
    if ('values' in doc) {
      fail('this is Terraform state (`terraform show -json` was run without a plan file)')
    }
    fail('it has no planned_values, resource_changes or output_changes')
  }
  return doc
}

/** Lists the change in the summary and counts it. */
function count(summary: PlanSummary, rc: ResourceChange): void {
  summary.resources.push(rc)
  switch (rc.action) {
    case 'create':
      summary.add++
      if (rc.forgetsPrevious) summary.forget++
      break
    case 'update':
      summary.change++
      break
    case 'delete':
      summary.destroy++
      break
    case 'replace':
      summary.replace++
      break
    case 'read':
      summary.read++
      break
    case 'forget':
      summary.forget++
      break
    case 'no-op':
      break
  }
  if (rc.importing) summary.import++
  if (rc.previousAddress !== undefined) summary.move++
}

/** One line: "2 to add, 1 to change, 0 to destroy, 1 to replace" (plus read/import/move/forget when
 * present), "No changes.", or for an errored plan that planning failed (and only that). */
export function planSummaryLine(s: PlanSummary): string {
  if (s.errored) return PLANNING_FAILED
  if (!s.hasChanges) return 'No changes.'
  const parts = [
    `${s.add} to add`,
    `${s.change} to change`,
    `${s.destroy} to destroy`,
    `${s.replace} to replace`
  ]
  if (s.read > 0) parts.push(`${s.read} to read`)
  if (s.import > 0) parts.push(`${s.import} to import`)
  if (s.move > 0) parts.push(`${s.move} to move`)
  if (s.forget > 0) parts.push(`${s.forget} to forget`)
  if (s.resources.length === 0 && s.outputs.length > 0) {
    parts.push(`${s.outputs.length} output${s.outputs.length === 1 ? '' : 's'} to change`)
  }
  return parts.join(', ')
}

/**
 * Terraform's own line, as `terraform plan` prints it ("Plan: 1 to import, 3 to add, 1 to change,
 * 2 to destroy."): a replacement counts as one to add and one to destroy, a removed data source is
 * not counted, and the line is there only when Terraform lists a resource change (a move or import
 * included). Undefined when Terraform prints none.
 */
export function terraformPlanLine(s: PlanSummary): string | undefined {
  let listed = 0
  let imports = 0
  let add = 0
  let change = 0
  let destroy = 0
  for (const r of s.resources) {
    if (r.action === 'delete' && r.dataSource) continue
    listed++
    if (r.importing) imports++
    if (r.action === 'create') add++
    else if (r.action === 'update') change++
    else if (r.action === 'delete') destroy++
    else if (r.action === 'replace') {
      add++
      destroy++
    }
  }
  if (listed === 0) return undefined
  return `Plan: ${imports > 0 ? `${imports} to import, ` : ''}${add} to add, ${change} to change, ${destroy} to destroy.`
}

/** What an errored plan is, wherever it is summed up in one line. */
export const PLANNING_FAILED =
  'Planning failed: Terraform hit an error while planning, so this plan cannot be applied.'
