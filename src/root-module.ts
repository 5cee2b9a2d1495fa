/**
 * What the action needs to know of a root module's configuration before `terraform init`: its backend
 * block (type, literal attributes, where it is) and the names it declares (resources, data sources,
 * module calls, `moved`/`removed` sources), read from the `*.tf` and `*.tf.json` files of the
 * directory the way Terraform merges them (override files last).
 *
 * A small scanner of our own rather than a full HCL parser: the only HCL 2 parser for JavaScript is a
 * 3.8 MB GopherJS build that costs about 200 ms to load on every run, and all this needs is the block
 * structure and literal values (Terraform allows only literals in a backend block). The scanner knows
 * HCL's comments, quoted strings with template sequences, heredocs and nesting, so braces or keywords
 * inside them are never taken for structure.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { literalOf, tokenize, tokenText, type Token } from './hcl'

export type LiteralValue = string | number | boolean

export interface BackendBlock {
  /** `s3`, `local`, `remote`, … or `cloud` for a `cloud {}` block. */
  type: string
  /** The file (relative to the module) and line where the block starts. */
  file: string
  line: number
  /** Literal attributes (strings, numbers, booleans); other expressions are left out. */
  attributes: Record<string, LiteralValue>
  /** Attributes whose value is not a literal (an object such as `endpoints`, or a template). */
  expressions: string[]
}

export interface ModuleConfig {
  /** The backend block in force (the last override wins), if any. */
  backend?: BackendBlock
  /** `type.name`, `data.type.name` and `module.name` of every top-level declaration. */
  declared: Set<string>
  /** The files read (relative names), sorted. */
  files: string[]
  /** `required_version` of each `terraform` block (all must hold), with file and line. */
  requiredVersions: Array<{ text: string; file: string; line: number }>
  /** The literal `source` of every module call (`../modules/x`, a registry address, a URL). */
  moduleSources: string[]
}

/** Read the root module in `dir`. Files Terraform would not read (other extensions) are ignored. */
export function readModuleConfig(dir: string): ModuleConfig {
  let names: string[]
  try {
    names = fs.readdirSync(dir).filter(n => /\.tf(\.json)?$/.test(n))
  } catch {
    names = []
  }
  names = names.filter(n => {
    try {
      return fs.statSync(path.join(dir, n)).isFile()
    } catch {
      return false
    }
  })
  const isOverride = (n: string): boolean => /(^|_)override\.tf(\.json)?$/.test(n)
  const ordered = [...names.filter(n => !isOverride(n)).sort(), ...names.filter(isOverride).sort()]
  const config: ModuleConfig = {
    declared: new Set(),
    files: [...names].sort(),
    requiredVersions: [],
    moduleSources: []
  }
  for (const name of ordered) {
    const text = fs.readFileSync(path.join(dir, name), 'utf8')
    const found = name.endsWith('.json') ? scanJson(text, name) : scanHcl(text, name)
    for (const d of found.declared) config.declared.add(d)
    config.requiredVersions.push(...found.requiredVersions)
    config.moduleSources.push(...found.moduleSources)
    if (found.backend) config.backend = found.backend
  }
  return config
}

interface FileFindings {
  backend?: BackendBlock
  declared: string[]
  requiredVersions: Array<{ text: string; file: string; line: number }>
  moduleSources: string[]
}

/** Scan one HCL file. Exported for tests. */
// eslint-disable-next-line max-lines-per-function -- a recursive-descent reader whose helpers share one token cursor as closures; apart, every helper would thread the cursor through
export function scanHcl(text: string, file = 'main.tf'): FileFindings {
  const tokens = tokenize(text)
  const findings: FileFindings = { declared: [], requiredVersions: [], moduleSources: [] }
  let i = 0
  const skipNewlines = (): void => {
    while (tokens[i]?.kind === 'newline') i++
  }
  /** Skip an expression up to the end of its line (at bracket depth 0). */
  const skipExpression = (): Token[] => {
    const taken: Token[] = []
    let depth = 0
    for (; i < tokens.length; i++) {
      const t = tokens[i] as Token
      if (t.kind === 'newline' && depth === 0) break
      if (t.kind === 'punct' && depth === 0 && t.text === '}') break
      if (t.kind === 'punct' && '([{'.includes(t.text)) depth++
      if (t.kind === 'punct' && ')]}'.includes(t.text)) depth--
      taken.push(t)
    }
    return taken
  }
  /** Parse a body until its closing brace (or the end); calls `onItem` for each attribute/block. */
  const body = (
    onAttribute: (name: string, value: Token[], line: number) => void,
    onBlock: (type: string, labels: string[], line: number) => void
  ): void => {
    for (;;) {
      skipNewlines()
      const t = tokens[i]
      if (!t) return
      if (t.kind === 'punct' && t.text === '}') {
        i++
        return
      }
      if (t.kind !== 'ident') {
        // Not something this scanner understands; skip the line (Terraform reports syntax errors).
        i++
        skipExpression()
        continue
      }
      i++
      const next = tokens[i]
      if (next?.kind === 'punct' && (next.text === '=' || next.text === ':')) {
        i++
        onAttribute(t.text, skipExpression(), t.line)
        continue
      }
      const labels: string[] = []
      for (;;) {
        const l = tokens[i]
        if (l?.kind === 'string') labels.push(l.value)
        else if (l?.kind === 'ident') labels.push(l.text)
        else break
        i++
      }
      const open = tokens[i]
      if (open?.kind === 'punct' && open.text === '{') {
        i++
        onBlock(t.text, labels, t.line)
      } else {
        skipExpression()
      }
    }
  }
  const skipBlock = (): void =>
    body(
      () => undefined,
      () => skipBlock()
    )

  body(
    () => undefined,
    (type, labels) => {
      if (type === 'resource' && labels.length >= 2) {
        findings.declared.push(`${labels[0]}.${labels[1]}`)
        skipBlock()
      } else if (type === 'data' && labels.length >= 2) {
        findings.declared.push(`data.${labels[0]}.${labels[1]}`)
        skipBlock()
      } else if (type === 'module' && labels.length >= 1) {
        findings.declared.push(`module.${labels[0]}`)
        body(
          (name, value) => {
            const literal = literalOf(value)
            if (name === 'source' && typeof literal === 'string')
              findings.moduleSources.push(literal)
          },
          () => skipBlock()
        )
      } else if (
        (type === 'moved' || type === 'removed' || type === 'import') &&
        labels.length === 0
      ) {
        body(
          (name, value) => {
            if ((name === 'from' && type !== 'import') || (name === 'to' && type === 'import')) {
              const address = value.map(tokenText).join('')
              const root = rootAddress(address)
              if (root) findings.declared.push(root)
            }
          },
          () => skipBlock()
        )
      } else if (type === 'terraform' && labels.length === 0) {
        body(
          (name, value, line) => {
            const literal = literalOf(value)
            if (name === 'required_version' && typeof literal === 'string')
              findings.requiredVersions.push({ text: literal, file, line })
          },
          (inner, innerLabels, innerLine) => {
            if (inner === 'backend' && innerLabels.length === 1) {
              findings.backend = backendBody(innerLabels[0] as string, file, innerLine)
            } else if (inner === 'cloud' && innerLabels.length === 0) {
              findings.backend = backendBody('cloud', file, innerLine)
            } else {
              skipBlock()
            }
          }
        )
      } else {
        skipBlock()
      }
    }
  )
  return findings

  function backendBody(type: string, where: string, line: number): BackendBlock {
    const block: BackendBlock = { type, file: where, line, attributes: {}, expressions: [] }
    body(
      (name, value) => {
        const literal = literalOf(value)
        if (literal !== undefined) block.attributes[name] = literal
        else block.expressions.push(name)
      },
      name => {
        block.expressions.push(name)
        skipBlock()
      }
    )
    return block
  }
}

/** `aws_s3_bucket.site[0]` → `aws_s3_bucket.site`; `module.x.aws_y.z` → `module.x`. */
function rootAddress(address: string): string | undefined {
  const parts = address.replace(/\[[^\]]*\]/g, '').split('.')
  if (parts[0] === 'module' && parts[1]) return `module.${parts[1]}`
  if (parts[0] === 'data' && parts[1] && parts[2]) return `data.${parts[1]}.${parts[2]}`
  if (parts[0] && parts[1]) return `${parts[0]}.${parts[1]}`
  return undefined
}

/** Scan one `.tf.json` file (Terraform's JSON syntax). */
function scanJson(text: string, file: string): FileFindings {
  const findings: FileFindings = { declared: [], requiredVersions: [], moduleSources: [] }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    return findings // Terraform reports the syntax error
  }
  const objects = (v: unknown): Record<string, unknown>[] =>
    Array.isArray(v) ? v.filter(isRecord) : isRecord(v) ? [v] : []
  if (!isRecord(doc)) return findings
  for (const [kind, prefix] of [
    ['resource', ''],
    ['data', 'data.']
  ] as const) {
    for (const byType of objects(doc[kind])) {
      for (const [type, byName] of Object.entries(byType)) {
        for (const names of objects(byName))
          for (const name of Object.keys(names)) findings.declared.push(`${prefix}${type}.${name}`)
      }
    }
  }
  for (const modules of objects(doc.module)) {
    for (const [name, call] of Object.entries(modules)) {
      findings.declared.push(`module.${name}`)
      for (const settings of objects(call))
        if (typeof settings.source === 'string') findings.moduleSources.push(settings.source)
    }
  }
  for (const terraform of objects(doc.terraform)) {
    if (typeof terraform.required_version === 'string')
      findings.requiredVersions.push({ text: terraform.required_version, file, line: 1 })
    for (const backends of objects(terraform.backend)) {
      for (const [type, settings] of Object.entries(backends)) {
        const block: BackendBlock = { type, file, line: 1, attributes: {}, expressions: [] }
        for (const body of objects(settings)) {
          for (const [name, value] of Object.entries(body)) {
            if (
              typeof value === 'string' ||
              typeof value === 'number' ||
              typeof value === 'boolean'
            ) {
              if (typeof value === 'string' && /[$%]\{/.test(value)) block.expressions.push(name)
              else block.attributes[name] = value
            } else block.expressions.push(name)
          }
        }
        findings.backend = block
      }
    }
    if (terraform.cloud !== undefined)
      findings.backend = { type: 'cloud', file, line: 1, attributes: {}, expressions: [] }
  }
  return findings
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}
