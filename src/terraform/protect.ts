/**
 * Protected resources: what a plan may not delete or replace without an allowance (inputs `protect`,
 * `allow-destroy`, `allow-destroy-label`). Pure: the plan summary in, the protected and allowed
 * changes out; main.ts refuses the apply and report/ shows them first.
 */
import picomatch from 'picomatch'
import { gunzipSync, gzipSync } from 'node:zlib'
import { InputError } from '../errors'
import { lines, withDefault, type InputReader } from '../input-reader'
import type { PlanSummary, ResourceChange } from './plan'

/**
 * AWS resource types that hold data (`protect: stateful`, the default). Losing one to a delete or a
 * replace loses what it holds: table items, objects, database rows, files, keys, users, secrets,
 * queued messages, stream records, cache contents, search indexes, logs.
 */
export const STATEFUL_TYPES: readonly string[] = [
  'aws_dynamodb_table',
  'aws_dynamodb_global_table',
  'aws_s3_bucket',
  'aws_db_instance',
  'aws_rds_cluster',
  'aws_rds_cluster_instance',
  'aws_rds_global_cluster',
  'aws_docdb_cluster',
  'aws_neptune_cluster',
  'aws_redshift_cluster',
  'aws_efs_file_system',
  'aws_fsx_lustre_file_system',
  'aws_fsx_windows_file_system',
  'aws_fsx_ontap_file_system',
  'aws_fsx_openzfs_file_system',
  'aws_ebs_volume',
  'aws_kms_key',
  'aws_cognito_user_pool',
  'aws_secretsmanager_secret',
  'aws_ssm_parameter',
  'aws_sqs_queue',
  'aws_kinesis_stream',
  'aws_kinesis_firehose_delivery_stream',
  'aws_msk_cluster',
  'aws_elasticache_cluster',
  'aws_elasticache_replication_group',
  'aws_elasticache_serverless_cache',
  'aws_memorydb_cluster',
  'aws_opensearch_domain',
  'aws_elasticsearch_domain',
  'aws_cloudwatch_log_group',
  'aws_backup_vault',
  'aws_ecr_repository',
  'aws_timestreamwrite_table',
  'aws_keyspaces_table',
  'aws_qldb_ledger'
]

export type ProtectRule =
  { kind: 'stateful' } | { kind: 'all' } | { kind: 'none' } | { kind: 'globs'; globs: string[] }

export type AllowDestroy = { kind: 'all' } | { kind: 'globs'; globs: string[] }

export interface GuardConfig {
  protect: ProtectRule
  allowDestroy: AllowDestroy
  /** Empty: no label allows anything. */
  allowDestroyLabel: string
}

/** A delete or replace of a protected resource, as the report shows it. */
export interface ProtectedChange {
  address: string
  type: string
  action: 'delete' | 'replace'
  /** The attributes forcing a replacement, or Terraform's reason for a delete. */
  why?: string
  /** Allowed in this run (allow-destroy, or the label on the merged pull request). */
  allowed: boolean
  /** How it was allowed. */
  allowedBy?: string
}

/** Reads `protect`, `allow-destroy` and `allow-destroy-label`. */
export function readGuardConfig(input: InputReader): GuardConfig {
  const protectText = withDefault(input, 'protect').trim()
  let protect: ProtectRule
  if (protectText === 'stateful') protect = { kind: 'stateful' }
  else if (protectText === 'all') protect = { kind: 'all' }
  else if (protectText === 'none') protect = { kind: 'none' }
  else protect = { kind: 'globs', globs: lines(protectText) }

  const allowText = input('allow-destroy').trim()
  let allowDestroy: AllowDestroy
  if (allowText === 'true') allowDestroy = { kind: 'all' }
  else if (allowText === '' || allowText === 'false') allowDestroy = { kind: 'globs', globs: [] }
  else allowDestroy = { kind: 'globs', globs: lines(allowText) }

  const label = input('allow-destroy-label').trim()
  if (label.length > 50 || /[\r\n]/.test(label))
    throw new InputError(
      'allow-destroy-label',
      label,
      'a GitHub label name (at most 50 characters, one line), or empty for none'
    )
  return { protect, allowDestroy, allowDestroyLabel: label }
}

const matcher = (globs: readonly string[]): ((text: string) => boolean) =>
  globs.length === 0 ? () => false : picomatch([...globs], { dot: true, nobrace: false })

/** The address without instance keys: `module.a["x"].aws_s3_bucket.b[0]` → `module.a.aws_s3_bucket.b`. */
function addressWithoutKeys(address: string): string {
  let out = ''
  let depth = 0
  let quoted = false
  for (let i = 0; i < address.length; i++) {
    const c = address[i] as string
    if (quoted) {
      if (c === '\\') i++
      else if (c === '"') quoted = false
      continue
    }
    if (c === '"' && depth > 0) quoted = true
    else if (c === '[') depth++
    else if (c === ']') depth--
    else if (depth === 0) out += c
  }
  return out
}

/** A glob matches the address as it is, the address without instance keys, or the resource type. */
function matchesResource(match: (text: string) => boolean, r: ResourceChange): boolean {
  return match(r.address) || match(addressWithoutKeys(r.address)) || match(r.type)
}

function isProtected(rule: ProtectRule, r: ResourceChange): boolean {
  switch (rule.kind) {
    case 'none':
      return false
    case 'all':
      return true
    case 'stateful':
      return STATEFUL_TYPES.includes(r.type)
    case 'globs':
      return matchesResource(matcher(rule.globs), r)
  }
}

function why(r: ResourceChange): string | undefined {
  if (r.action === 'replace' && r.replacePaths && r.replacePaths.length > 0)
    return `${r.replacePaths.join(', ')} forces replacement`
  if (r.actionReason === 'replace_because_tainted') return 'tainted'
  if (r.actionReason === 'replace_by_request') return 'replacement requested (-replace)'
  if (r.actionReason === 'delete_because_no_resource_config')
    return 'removed from the configuration'
  if (r.actionReason === 'delete_because_no_module') return 'its module was removed'
  if (
    r.actionReason === 'delete_because_count_index' ||
    r.actionReason === 'delete_because_each_key'
  )
    return 'its count/for_each key is gone'
  return r.actionReason
}

/**
 * The protected resources this plan deletes or replaces (deposed objects are leftovers of an earlier
 * replacement, not protected again), each marked allowed or not by `allow-destroy` and by the
 * addresses a label allows (`labelAllows`).
 */
export function protectedChanges(
  summary: PlanSummary,
  guard: GuardConfig,
  labelAllows: { label: string; addresses: ReadonlySet<string> } | undefined = undefined
): ProtectedChange[] {
  const allow = guard.allowDestroy.kind === 'globs' ? matcher(guard.allowDestroy.globs) : undefined
  const out: ProtectedChange[] = []
  for (const r of summary.resources) {
    if (r.action !== 'delete' && r.action !== 'replace') continue
    if (r.deposed !== undefined || !isProtected(guard.protect, r)) continue
    const change: ProtectedChange = {
      address: r.address,
      type: r.type,
      action: r.action,
      allowed: false
    }
    const reason = why(r)
    if (reason) change.why = reason
    if (guard.allowDestroy.kind === 'all') {
      change.allowed = true
      change.allowedBy = 'allow-destroy: true'
    } else if (allow && matchesResource(allow, r)) {
      change.allowed = true
      change.allowedBy = 'allow-destroy'
    } else if (labelAllows?.addresses.has(`${r.address} ${r.action}`)) {
      change.allowed = true
      change.allowedBy = `label ${labelAllows.label}`
    }
    out.push(change)
  }
  return out
}

/** `address action` keys of protected changes (what a label can allow, recorded in the PR comment). */
export function protectedKeys(changes: readonly ProtectedChange[]): string[] {
  return changes.map(c => `${c.address} ${c.action}`).sort()
}

const LINE_PREFIX = '<!-- revive-deploy:protected '
const LINE_SUFFIX = ' -->'

/**
 * The protected changes a pull request's plan showed, as a hidden line of its comment (base64url of
 * gzipped JSON: it cannot end the HTML comment early). A label on the merged pull request allows
 * exactly these.
 */
export function protectedLine(changes: readonly ProtectedChange[]): string {
  const payload = gzipSync(JSON.stringify(protectedKeys(changes))).toString('base64url')
  return `${LINE_PREFIX}${payload}${LINE_SUFFIX}`
}

/** The keys kept by {@link protectedLine} in the hidden lines at the top of a comment body. */
export function readProtectedLine(body: string): Set<string> | undefined {
  for (const line of body.split('\n', 4).slice(1)) {
    if (!line.startsWith(LINE_PREFIX) || !line.endsWith(LINE_SUFFIX)) continue
    const payload = line.slice(LINE_PREFIX.length, -LINE_SUFFIX.length)
    if (!/^[A-Za-z0-9_-]+$/.test(payload)) return undefined
    try {
      const keys: unknown = JSON.parse(
        gunzipSync(Buffer.from(payload, 'base64url')).toString('utf8')
      )
      return Array.isArray(keys) ? new Set(keys.map(String)) : undefined
    } catch {
      return undefined
    }
  }
  return undefined
}
