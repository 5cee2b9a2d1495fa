/**
 * Reading Terraform's human output when a command fails: the `Error: …` diagnostic blocks, the
 * "Error acquiring the state lock" Lock Info, and the "already exists" failures of an apply. Pure: no
 * I/O, so every parser is tested on Terraform's real text.
 *
 * Terraform prints diagnostics on stderr as
 *
 *     Error: <summary>
 *
 *       with <resource address>,
 *       on main.tf line 3, in resource "…" "…":
 *        3: …
 *
 *     <detail, wrapped at 78 columns>
 *
 * With colour on, each line is prefixed with a box (`╷`, `│ `, `╵`); both forms are read.
 */
import { posix } from 'node:path'

export interface Diagnostic {
  severity: 'error' | 'warning'
  /** The text after `Error: ` on the first line. */
  summary: string
  /** Everything after the summary line, trimmed (source snippet and detail). */
  detail: string
  /** The resource address from the `with <address>,` line, when Terraform printed one. */
  address?: string
  /** The file and line from the `on <file> line <n>` line (file relative to the working directory). */
  location?: { file: string; line: number }
  /** The block as printed (summary line included), trimmed. */
  text: string
}

/** The `Lock Info:` of an "Error acquiring the state lock" diagnostic. */
export interface LockInfo {
  id: string
  /** The state's lock path, e.g. `my-bucket/production/terraform.tfstate`. */
  path?: string
  /** Terraform's operation name, e.g. `OperationTypeApply`. */
  operation?: string
  who?: string
  version?: string
  /** As Terraform prints it, e.g. `2025-11-23 13:16:02.824626627 +0000 UTC`. */
  created?: string
  info?: string
  /** The backend's own error line (`Error message: …`), e.g. DynamoDB's ConditionalCheckFailedException. */
  errorMessage?: string
}

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g
const HEADER = /^(Error|Warning): (.*)$/

/** Terraform output without colour codes and without the diagnostic box drawing. */
export function plainText(text: string): string {
  return text
    .replace(ANSI, '')
    .split(/\r?\n/)
    .map(line => {
      if (line === '╷' || line === '╵') return ''
      if (line.startsWith('│ ')) return line.slice(2)
      if (line === '│') return ''
      return line
    })
    .join('\n')
}

/**
 * Every `Error:`/`Warning:` block in Terraform's output, in order. A block runs to the next block's
 * header or the end of the text.
 */
export function parseDiagnostics(output: string): Diagnostic[] {
  const lines = plainText(output).split('\n')
  const blocks: { severity: 'error' | 'warning'; summary: string; body: string[] }[] = []
  let current: (typeof blocks)[number] | undefined
  /** Terraform wraps a long summary at 78 columns: the lines up to the first blank one are its rest. */
  let inSummary = false
  for (const line of lines) {
    const header = HEADER.exec(line)
    if (header) {
      current = {
        severity: header[1] === 'Error' ? 'error' : 'warning',
        summary: (header[2] ?? '').trim(),
        body: []
      }
      blocks.push(current)
      inSummary = true
    } else if (current) {
      if (inSummary && line.trim() !== '' && !/^\s/.test(line)) {
        current.summary = `${current.summary} ${line.trim()}`
        continue
      }
      inSummary = false
      current.body.push(line)
    }
  }
  return blocks.map(({ severity, summary, body }) => {
    // leading blank lines and trailing space go; the first line keeps its indent, as printed
    const detail = body
      .join('\n')
      .replace(/^(?:[ \t]*\n)+/, '')
      .trimEnd()
    const label = severity === 'error' ? 'Error' : 'Warning'
    const diagnostic: Diagnostic = {
      severity,
      summary,
      detail,
      text: detail ? `${label}: ${summary}\n\n${detail}` : `${label}: ${summary}`
    }
    const address = /^\s*with (.+),\s*$/m.exec(detail)?.[1]
    if (address) diagnostic.address = address
    const on = /^\s*on (.+?) line (\d+)/m.exec(detail)
    if (on?.[1] && on[2]) diagnostic.location = { file: on[1], line: Number(on[2]) }
    return diagnostic
  })
}

/**
 * Terraform's wrapper around the real errors of a failed init ("Terraform encountered problems
 * during initialisation, including problems with the configuration, described below."): it names
 * no problem itself.
 */
const WRAPPER = /^Terraform encountered problems during initiali[sz]ation\b/

/** The diagnostics that say what is wrong: Terraform's init wrapper left out when others follow. */
export function mainDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  const real = diagnostics.filter(d => !WRAPPER.test(d.summary))
  return real.length > 0 ? real : diagnostics
}

/**
 * Where a diagnostic is, for the one-line failure: the resource address and the file and line, the
 * file joined to the working directory as it is named in messages (`terraform/main.tf line 7`).
 */
export function diagnosticPlace(d: Diagnostic, workingDirectory: string): string | undefined {
  const file = d.location
    ? `${d.location.file.startsWith('/') ? d.location.file : posix.join(workingDirectory, d.location.file)} line ${d.location.line}`
    : undefined
  if (d.address && file) return `${d.address}, ${file}`
  return d.address ?? file
}

/**
 * The one line a failed Terraform command fails the step with: the command, where, the exit code,
 * and the first diagnostic that says what is wrong with its place; how many more there are.
 */
export function failureLine(
  command: string,
  workingDirectory: string,
  exitCode: number,
  diagnostics: Diagnostic[]
): string {
  let message = `terraform ${command} failed in ${workingDirectory} (exit code ${exitCode})`
  const errors = mainDiagnostics(diagnostics)
  const first = errors[0]
  if (!first) return `${message}; see its output in the log`
  const place = diagnosticPlace(first, workingDirectory)
  message += `: ${first.summary}${place ? ` (${place})` : ''}`
  if (errors.length > 1) message += ` and ${errors.length - 1} more error(s)`
  return `${message}; the Terraform diagnostics are in the log`
}

/** The error blocks only (warnings such as deprecations are left out). */
export function errorDiagnostics(output: string): Diagnostic[] {
  return parseDiagnostics(output).filter(d => d.severity === 'error')
}

/** The Lock Info of a failed lock acquisition, or undefined when the output has none. */
export function parseLockInfo(output: string): LockInfo | undefined {
  const block = parseDiagnostics(output).find(
    d => d.severity === 'error' && /error acquiring the state lock/i.test(d.summary)
  )
  if (!block) return undefined
  const fields = new Map<string, string>()
  let inLockInfo = false
  let errorMessage: string[] | undefined
  for (const line of block.detail.split('\n')) {
    if (/^\s*Lock Info:\s*$/.test(line)) {
      inLockInfo = true
      errorMessage = errorMessage ?? []
      continue
    }
    if (inLockInfo) {
      const field = /^\s+(ID|Path|Operation|Who|Version|Created|Info):\s*(.*)$/.exec(line)
      if (field) {
        fields.set(field[1] ?? '', (field[2] ?? '').trim())
        continue
      }
      break
    }
    const message = /^Error message:\s*(.*)$/.exec(line)
    if (message) {
      errorMessage = [message[1] ?? '']
    } else if (errorMessage && line.trim() !== '') {
      errorMessage.push(line.trim())
    }
  }
  const id = fields.get('ID')
  if (!id) return undefined
  const lock: LockInfo = { id }
  const set = (key: keyof LockInfo, name: string): void => {
    const value = fields.get(name)
    if (value) lock[key] = value
  }
  set('path', 'Path')
  set('operation', 'Operation')
  set('who', 'Who')
  set('version', 'Version')
  set('created', 'Created')
  set('info', 'Info')
  const message = errorMessage?.join(' ').trim()
  if (message) lock.errorMessage = message
  return lock
}

/** `2025-11-23 13:16:02.824626627 +0000 UTC` (Go's time.String) → a Date, or undefined. */
export function parseLockCreated(created: string): Date | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)? ([+-]\d{2})(\d{2})/.exec(
    created.trim()
  )
  if (!m) return undefined
  const fraction = (m[3] ?? '').slice(0, 4) // .mmm
  const date = new Date(`${m[1]}T${m[2]}${fraction}${m[4]}:${m[5]}`)
  return Number.isNaN(date.getTime()) ? undefined : date
}

/** `OperationTypeApply` → `apply`. */
export function lockOperation(operation: string | undefined): string | undefined {
  if (!operation) return undefined
  const m = /^OperationType(.+)$/.exec(operation)
  return m?.[1] ? m[1].toLowerCase() : operation
}

function age(from: Date, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - from.getTime()) / 1000))
  if (seconds < 90) return `${seconds}s ago`
  const minutes = Math.round(seconds / 60)
  if (minutes < 90) return `${minutes} min ago`
  const hours = Math.round(minutes / 60)
  if (hours < 48) return `${hours} h ago`
  return `${Math.round(hours / 24)} days ago`
}

/**
 * The one line a run fails with when the state lock stayed taken for the whole lock timeout: who holds
 * it, since when, for which operation, the lock ID and how to release a stale lock.
 */
export function lockMessage(
  lock: LockInfo,
  context: { lockTimeout: string; workingDirectory: string; now?: Date }
): string {
  const operation = lockOperation(lock.operation)
  const created = lock.created ? parseLockCreated(lock.created) : undefined
  const since = created
    ? `since ${created.toISOString()} (${age(created, context.now ?? new Date())})`
    : lock.created
      ? `since ${lock.created}`
      : 'since an unknown time'
  const holder = [
    `held by ${lock.who ?? 'an unknown holder'}`,
    since,
    operation ? `for a terraform ${operation}` : undefined,
    lock.version ? `(Terraform ${lock.version})` : undefined
  ]
    .filter(Boolean)
    .join(' ')
  return (
    `The Terraform state is locked: Terraform waited lock-timeout ${context.lockTimeout} for the lock ` +
    `${lock.id}${lock.path ? ` on ${lock.path}` : ''}, ${holder}. ` +
    `If that run is still going, let it finish or raise lock-timeout. If it is stale (its run was ` +
    `cancelled or crashed), release it with this action's mode: unlock and lock-id: ${lock.id} (a ` +
    `workflow_dispatch run; docs/locking.md), or from ${context.workingDirectory} after terraform ` +
    `init with the same backend settings: terraform force-unlock ${lock.id}`
  )
}

/** An apply that failed because the object already exists outside the Terraform state. */
export interface AlreadyExists {
  /** The AWS error code or phrase that identified it, e.g. `EntityAlreadyExists`. */
  code: string
  /** The resource address Terraform named (`with aws_iam_role.lambda,`), when it did. */
  address?: string
  /** The existing object's name or id, when the message names it (used as the import id). */
  id?: string
  /** The Terraform diagnostic it came from. */
  diagnostic: Diagnostic
}

/** Error codes that always mean "it is already there". */
const ALWAYS_EXISTS = [
  'EntityAlreadyExists',
  'BucketAlreadyOwnedByYou',
  'ResourceAlreadyExistsException',
  'AlreadyExistsException',
  'ResourceExistsException',
  'DuplicateRequest'
]
/** Error codes that mean "already exists" when the message or the operation says so. */
const SOMETIMES_EXISTS = [
  'ResourceConflictException',
  'ResourceInUseException',
  'ConflictException'
]

function squash(text: string): string {
  return text.replace(/\s+/g, ' ')
}

/** The name in messages such as `creating IAM Role (app-lambda):` or `Table already exists: app`. */
function existingId(text: string): string | undefined {
  const patterns = [
    /\bcreating [A-Za-z0-9 ._-]+? \(([^()\s]+)\)/i,
    /\bwith name ([^\s,]+) already exists/i,
    /\balready exists?: ([^\s,]+?)\.?(?:\s|$)/i,
    /\b(?:Table|Function|Bucket|Role|Policy|User|Group|Log group|Rule) ([A-Za-z0-9._:/-]+) already exists/i
  ]
  for (const pattern of patterns) {
    const id = pattern.exec(text)?.[1]
    if (id) return id.replace(/[.'"]+$/, '')
  }
  return undefined
}

/**
 * The first error diagnostic that says an object already exists outside the state (IAM
 * EntityAlreadyExists, Lambda ResourceConflictException, S3 BucketAlreadyOwnedByYou, DynamoDB
 * ResourceInUseException, "already exists"…), or undefined.
 */
export function findAlreadyExists(diagnostics: Diagnostic[]): AlreadyExists | undefined {
  for (const diagnostic of diagnostics) {
    if (diagnostic.severity !== 'error') continue
    const text = squash(`${diagnostic.summary} ${diagnostic.detail}`)
    // A bucket name another account owns cannot be imported: that is not this case.
    if (/\bBucketAlreadyExists\b/.test(text)) continue
    const saysExists = /\balready exists?\b/i.test(text)
    const creating = /^creating\b/i.test(diagnostic.summary)
    let code = ALWAYS_EXISTS.find(c => new RegExp(`\\b${c}\\b`).test(text))
    if (!code) {
      const sometimes = SOMETIMES_EXISTS.find(c => new RegExp(`\\b${c}\\b`).test(text))
      if (sometimes && (saysExists || creating)) code = sometimes
    }
    if (!code && saysExists) code = 'already exists'
    if (!code) continue
    const found: AlreadyExists = { code, diagnostic }
    if (diagnostic.address) found.address = diagnostic.address
    const id = existingId(text)
    if (id) found.id = id
    return found
  }
  return undefined
}

/** The `import` block that adopts the existing object. */
export function importBlock(found: AlreadyExists): string {
  const to = found.address ?? '<resource address, e.g. aws_iam_role.lambda>'
  const id = found.id ?? '<the existing object’s import id, usually its name or ARN>'
  return `import {\n  to = ${to}\n  id = ${JSON.stringify(id)}\n}`
}

/** The multi-line explanation for the log: what happened, and the import block that fixes it. */
export function alreadyExistsExplanation(found: AlreadyExists): string {
  const what = found.address ?? 'A resource'
  return [
    `${what} already exists in AWS (${found.code}), but the Terraform state does not know it.`,
    'This happens when the state was lost or kept elsewhere (for example on a runner’s disk) while the',
    'resources stayed. Renaming the resource would only create a duplicate: adopt the existing object',
    'instead by adding an import block to the configuration, then deploy again:',
    '',
    importBlock(found),
    '',
    found.id
      ? 'Check the id against the "Import" section of the resource’s documentation.'
      : 'Take the id format from the "Import" section of the resource’s documentation.'
  ].join('\n')
}

/** The one-line failure for an apply that hit an existing object. */
export function alreadyExistsMessage(found: AlreadyExists): string {
  const what = found.address ?? 'a resource'
  const id = found.id ? ` "${found.id}"` : ''
  return (
    `terraform apply failed: ${what}${id} already exists in AWS (${found.code}) but not in the ` +
    `Terraform state; import it with an import block (to = ${found.address ?? '<address>'}, ` +
    `id = ${found.id ? JSON.stringify(found.id) : '<its id>'}; shown in the log) instead of renaming it`
  )
}
