/**
 * Which Terraform versions a root module accepts: its `required_version` constraints (Terraform's
 * syntax: `=`, `!=`, `>`, `>=`, `<`, `<=`, `~>`, comma-separated, all must hold) and a version pinned
 * by a version manager's file (`.terraform-version` for tfenv/tfswitch, `.tool-versions` for asdf
 * and mise), looked for in the working directory, then at the workspace root.
 *
 * Written here rather than taken from `semver`: Terraform's `~>` is not npm's `~` (`~> 1.11` allows
 * 1.12, `~> 1.11.0` does not), and a constraint names versions with one, two or three parts.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { DeployError } from '../errors'

export interface VersionConstraint {
  /** As written, e.g. `~> 1.11.0`. */
  text: string
  /** Where it comes from, e.g. `terraform/versions.tf line 2`. */
  source: string
}

export interface VersionRequirement {
  constraints: VersionConstraint[]
  /** An exact version pinned by a version manager's file. */
  pin?: { version: string; source: string }
}

type Op = '=' | '!=' | '>' | '>=' | '<' | '<=' | '~>'
interface Clause {
  op: Op
  parts: number[]
}

const CLAUSE = /^\s*(=|!=|>=|<=|>|<|~>)?\s*v?(\d+(?:\.\d+){0,2})(-[0-9A-Za-z.-]+)?\s*$/

function parseClauses(text: string, source: string): Clause[] {
  return text.split(',').map(part => {
    const m = CLAUSE.exec(part)
    if (!m) {
      throw new DeployError(
        `The Terraform version constraint ${JSON.stringify(text)} (${source}) is not one Terraform accepts; write it like ">= 1.5.0" or "~> 1.11.0"`
      )
    }
    return { op: (m[1] ?? '=') as Op, parts: (m[2] ?? '').split('.').map(Number) }
  })
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

function holds(version: number[], clause: Clause): boolean {
  const c = compare(version, clause.parts)
  switch (clause.op) {
    case '=':
      return c === 0
    case '!=':
      return c !== 0
    case '>':
      return c > 0
    case '>=':
      return c >= 0
    case '<':
      return c < 0
    case '<=':
      return c <= 0
    case '~>': {
      // ~> 1.11.0: >= 1.11.0, < 1.12.0 (the last part may grow); ~> 1.11 and ~> 1: < 2.0.0.
      if (c < 0) return false
      const [major = 0, minor = 0] = clause.parts
      if (clause.parts.length === 3) return version[0] === major && version[1] === minor
      return version[0] === major
    }
  }
}

/** Whether a stable version (`1.11.4`) satisfies every constraint. Pre-releases never do. */
export function satisfies(version: string, constraints: VersionConstraint[]): boolean {
  if (!/^\d+\.\d+\.\d+$/.test(version)) return false
  const parts = version.split('.').map(Number)
  return constraints.every(c =>
    parseClauses(c.text, c.source).every(clause => holds(parts, clause))
  )
}

/** The constraints one line: `"~> 1.11.0" (terraform/main.tf line 3)`. */
export function describeConstraints(constraints: VersionConstraint[]): string {
  return constraints.map(c => `${JSON.stringify(c.text)} (${c.source})`).join(' and ')
}

/**
 * The requirement of a root module: `required_version` from its configuration and the first
 * version file found (working directory, then workspace root). Invalid constraints fail here.
 */
export function readVersionRequirement(
  requiredVersions: VersionConstraint[],
  workingDirectory: string,
  workspace: string
): VersionRequirement {
  for (const c of requiredVersions) parseClauses(c.text, c.source)
  const requirement: VersionRequirement = { constraints: requiredVersions }
  const dirs = [workingDirectory, workspace].filter((d, i, all) => all.indexOf(d) === i)
  for (const dir of dirs) {
    const found = pinIn(dir, workspace)
    if (found === undefined) continue
    if (found) requirement.pin = found
    break
  }
  return requirement
}

/** The pin of the version file in `dir`: undefined when there is none, null when it pins nothing. */
function pinIn(
  dir: string,
  workspace: string
): { version: string; source: string } | null | undefined {
  const rel = (file: string): string => path.relative(workspace, file).split(path.sep).join('/')
  const tfVersion = path.join(dir, '.terraform-version')
  const text = readText(tfVersion)
  if (text !== undefined) {
    const value = text.split(/\r?\n/)[0]?.trim() ?? ''
    if (/^\d+\.\d+\.\d+$/.test(value)) return { version: value, source: rel(tfVersion) }
    // latest, latest:<regex>, min-required: left to required_version and the release index.
    return null
  }
  const toolVersions = path.join(dir, '.tool-versions')
  const tools = readText(toolVersions)
  if (tools !== undefined) {
    for (const line of tools.split(/\r?\n/)) {
      const m = /^\s*terraform\s+(\S+)/.exec(line)
      if (m && /^\d+\.\d+\.\d+$/.test(m[1] ?? ''))
        return { version: m[1] as string, source: rel(toolVersions) }
    }
  }
  return undefined
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
}
