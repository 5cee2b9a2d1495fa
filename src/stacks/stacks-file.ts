/**
 * The stacks of a repository: read from the stacks file (`revive-deploy.yml` at the workspace root)
 * or, without one, found as every directory holding a root module with a `backend "s3"` block.
 *
 * The file:
 *
 *     defaults:              # optional: inputs every stack gets
 *       aws-region: eu-west-1
 *     stacks:
 *       - name: network
 *         working-directory: infra/network
 *       - name: app
 *         working-directory: infra/app
 *         depends-on: [network]
 *         var-files: [../env/prod.tfvars]   # any input of the action, as this stack's default
 *
 * Every problem (an unknown input, a cycle, a missing directory, two stacks on one state key, …) is
 * one line naming the stack, the file's line and the fix; all problems are reported at once.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml'
import { DeployError } from '../errors'
import { defaultStateKey } from '../backend/config'
import { readModuleConfig } from '../root-module'
import { findCycle } from './stack-graph'

export { downstreamOf, findCycle, waves } from './stack-graph'

export interface Stack {
  name: string
  /** The root module, relative to the workspace, with `/` separators (`.` for the root). */
  directory: string
  environment: string
  /** The state key a run of this stack uses when the workflow sets none. */
  stateKey: string
  /** Names of the stacks this one depends on (applied before it). */
  dependsOn: string[]
  /** Inputs from the stacks file (its defaults and the stack's own), by action.yml name. */
  inputs: Record<string, string>
}

export interface StackSet {
  /** The stacks file, relative to the workspace; undefined when the stacks were discovered. */
  file?: string
  stacks: Stack[]
}

/** Inputs a stack cannot set: they choose what runs, or are secrets that do not belong in a file. */
const NOT_PER_STACK = new Set(['mode', 'stack', 'stacks-file', 'github-token'])
const NAME = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$/

export class StacksError extends DeployError {
  constructor(
    readonly where: string,
    readonly problems: string[]
  ) {
    super(
      problems.length === 1
        ? `${where}: ${problems[0]}`
        : `${where}: ${problems.length} problems: ${problems.map((p, i) => `(${i + 1}) ${p}`).join('; ')}`
    )
    this.name = 'StacksError'
  }
}

export interface LoadOptions {
  workspace: string
  /** The stacks-file input (relative to the workspace). */
  file: string
  /** action.yml's inputs (name → default): the names a stack may set. */
  inputNames: ReadonlySet<string>
  /** Inputs the workflow set explicitly (they apply over every stack's defaults). */
  explicit: (name: string) => string | undefined
}

/** The stacks file when it exists, else the discovered stacks. */
export function loadStacks(options: LoadOptions): StackSet {
  const absolute = path.resolve(options.workspace, options.file)
  if (fs.existsSync(absolute)) return readStacksFile(absolute, options)
  return discoverStacks(options)
}

interface RawStack {
  name: string
  line: number
  inputs: Record<string, string>
  dependsOn: Array<{ name: string; line: number }>
}

/** What the readers of one stacks file share: its problems so far and its line numbers. */
interface ReadContext {
  problems: string[]
  lineOf: (node: Node | null | undefined) => number
  inputNames: ReadonlySet<string>
}

/** One entry of the stacks list, or undefined (and a problem) when it is not a named mapping. */
function rawStack(
  ctx: ReadContext,
  item: unknown,
  defaults: Record<string, string>
): RawStack | undefined {
  const node = item as Node
  if (!isMap(node)) {
    ctx.problems.push(
      `line ${ctx.lineOf(node)}: each stack is a mapping with name and working-directory`
    )
    return undefined
  }
  const nameNode = node.get('name', true) as Node | undefined
  const name = isScalar(nameNode) ? String(nameNode.value ?? '') : ''
  const line = ctx.lineOf(node)
  if (!NAME.test(name)) {
    ctx.problems.push(
      `line ${line}: stack name ${JSON.stringify(name)} is missing or invalid; use letters, digits, ".", "_", "-" or "/"`
    )
    return undefined
  }
  const dependsOn: RawStack['dependsOn'] = []
  const deps = node.get('depends-on', true) as Node | undefined
  if (deps !== undefined) {
    const items = isSeq(deps) ? (deps.items as Node[]) : [deps]
    for (const d of items) {
      if (isScalar(d) && typeof d.value === 'string')
        dependsOn.push({ name: d.value, line: ctx.lineOf(d) })
      else
        ctx.problems.push(`stack "${name}" (line ${ctx.lineOf(d)}): depends-on lists stack names`)
    }
  }
  const own = inputsOf(ctx, node, `stack "${name}"`, ['name', 'depends-on'])
  return { name, line, inputs: { ...defaults, ...own }, dependsOn }
}

/** A mapping of input names to values (the file's defaults or one stack's), checked against action.yml's names. */
function inputsOf(
  ctx: ReadContext,
  node: Node | undefined,
  what: string,
  skip: string[] = []
): Record<string, string> {
  const out: Record<string, string> = {}
  if (node === undefined) return out
  if (!isMap(node)) {
    ctx.problems.push(
      `${what} (line ${ctx.lineOf(node)}): expected a mapping of input names to values`
    )
    return out
  }
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : ''
    if (skip.includes(key)) continue
    const where = `${what} (line ${ctx.lineOf(pair.key as Node)})`
    if (NOT_PER_STACK.has(key)) {
      ctx.problems.push(
        `${where}: ${key} cannot be set in the stacks file; set it on the step (with:) instead`
      )
      continue
    }
    if (!ctx.inputNames.has(key)) {
      ctx.problems.push(
        `${where}: unknown input ${JSON.stringify(key)}; use the action's input names (action.yml), e.g. working-directory, environment, state-key, var-files`
      )
      continue
    }
    const value = pair.value as Node | null
    if (isSeq(value)) {
      out[key] = value.items.map(v => (isScalar(v) ? String(v.value ?? '') : '')).join('\n')
    } else if (isScalar(value)) {
      out[key] = String(value.value ?? '')
    } else {
      ctx.problems.push(`${where}: ${key} must be a string, number, boolean or list of strings`)
    }
  }
  return out
}

function readStacksFile(absolute: string, options: LoadOptions): StackSet {
  const file = path.relative(options.workspace, absolute).split(path.sep).join('/')
  const lines = new LineCounter()
  const doc = parseDocument(fs.readFileSync(absolute, 'utf8'), { lineCounter: lines })
  if (doc.errors.length > 0) {
    const e = doc.errors[0]
    throw new StacksError(file, [
      `not valid YAML (line ${e?.linePos?.[0]?.line ?? '?'}: ${e?.message.split('\n')[0] ?? ''})`
    ])
  }
  const problems: string[] = []
  const lineOf = (node: Node | null | undefined): number =>
    node?.range ? lines.linePos(node.range[0]).line : 0
  const root = doc.contents
  if (!isMap(root)) throw new StacksError(file, ['expected a mapping with a "stacks" list'])
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : ''
    if (key !== 'stacks' && key !== 'defaults') {
      problems.push(
        `line ${lineOf(pair.key as Node)}: unknown key ${JSON.stringify(key)}; the file has "defaults" and "stacks"`
      )
    }
  }
  const ctx: ReadContext = { problems, lineOf, inputNames: options.inputNames }
  const defaults = inputsOf(ctx, root.get('defaults', true) as Node | undefined, 'defaults')
  const list = root.get('stacks', true) as Node | undefined
  if (!isSeq(list) || list.items.length === 0) {
    throw new StacksError(file, [
      ...problems,
      'no "stacks" list; list each stack with its name and working-directory'
    ])
  }
  const raw = list.items.flatMap(item => rawStack(ctx, item, defaults) ?? [])

  const stacks = resolveStacks(raw, options, problems, name => `stack "${name}"`)
  if (problems.length > 0) throw new StacksError(file, problems)
  return { file, stacks }
}

/** Turn raw entries into stacks, checking names, directories, dependencies and state keys. */
function resolveStacks(
  raw: RawStack[],
  options: LoadOptions,
  problems: string[],
  label: (name: string) => string
): Stack[] {
  const byName = new Map<string, RawStack>()
  for (const r of raw) {
    const first = byName.get(r.name)
    if (first) {
      problems.push(
        `${label(r.name)} (line ${r.line}): the name is used twice (first on line ${first.line}); give each stack its own name`
      )
    } else byName.set(r.name, r)
  }
  const stacks: Stack[] = []
  for (const r of byName.values()) {
    const layered = (name: string): string | undefined => options.explicit(name) ?? r.inputs[name]
    const dirInput = layered('working-directory') ?? 'terraform'
    const absolute = path.resolve(options.workspace, dirInput)
    const directory = path.relative(options.workspace, absolute).split(path.sep).join('/') || '.'
    if (directory.startsWith('..') || path.isAbsolute(directory)) {
      problems.push(
        `${label(r.name)} (line ${r.line}): working-directory ${dirInput} leaves the workspace; use a path inside the repository`
      )
      continue
    }
    if (!isDirectory(absolute)) {
      problems.push(
        `${label(r.name)} (line ${r.line}): working-directory ${dirInput} does not exist; fix the path or remove the stack`
      )
      continue
    }
    for (const dep of r.dependsOn) {
      if (!byName.has(dep.name)) {
        problems.push(
          `${label(r.name)} (line ${dep.line}): depends-on names ${JSON.stringify(dep.name)}, which is not a stack in this file`
        )
      }
    }
    const environment = layered('environment') || 'production'
    const backendKey = readModuleConfig(absolute).backend?.attributes.key
    const stateKey =
      layered('state-key') ||
      (typeof backendKey === 'string' && backendKey
        ? backendKey
        : defaultStateKey(environment, options.workspace, absolute))
    stacks.push({
      name: r.name,
      directory,
      environment,
      stateKey,
      dependsOn: [...new Set(r.dependsOn.map(d => d.name).filter(d => byName.has(d)))],
      inputs: r.inputs
    })
  }
  // Two stacks on one key would overwrite each other's state.
  const byKey = new Map<string, Stack>()
  for (const s of stacks) {
    const bucket = s.inputs['state-bucket'] ?? ''
    const id = `${bucket}\n${s.stateKey}`
    const other = byKey.get(id)
    if (other) {
      problems.push(
        `stacks "${other.name}" and "${s.name}" use the same state key ${s.stateKey}; give one of them its own state-key (or environment)`
      )
    } else byKey.set(id, s)
  }
  const cycle = findCycle(stacks)
  if (cycle)
    problems.push(`depends-on has a cycle: ${cycle.join(' → ')}; remove one of these dependencies`)
  return stacks
}

const SKIP_DIRS = new Set(['node_modules', '.terraform', '.git'])

/** Without a stacks file: every directory with a root module whose backend is S3, named by its path. */
function discoverStacks(options: LoadOptions): StackSet {
  const raw: RawStack[] = []
  const walk = (dir: string): void => {
    let entries: fs.Dirent[]
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    if (entries.some(e => e.isFile() && /\.tf(\.json)?$/.test(e.name))) {
      if (readModuleConfig(dir).backend?.type === 's3') {
        const rel = path.relative(options.workspace, dir).split(path.sep).join('/') || '.'
        raw.push({ name: rel, line: 0, inputs: { 'working-directory': rel }, dependsOn: [] })
      }
    }
    for (const e of entries) {
      if (e.isDirectory() && !e.name.startsWith('.') && !SKIP_DIRS.has(e.name))
        walk(path.join(dir, e.name))
    }
  }
  walk(options.workspace)
  raw.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const problems: string[] = []
  // A discovered stack's directory is its identity: the workflow's working-directory does not apply.
  const stacks = resolveStacks(
    raw,
    {
      ...options,
      explicit: name => (name === 'working-directory' ? undefined : options.explicit(name))
    },
    problems,
    name => `stack ${name}`
  )
  if (problems.length > 0) throw new StacksError(`discovered stacks (no ${options.file})`, problems)
  if (stacks.length === 0) {
    throw new StacksError(options.file, [
      `no such file, and no directory holds a root module with a backend "s3" block; add ${options.file} listing your stacks`
    ])
  }
  return { stacks }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory()
  } catch {
    return false
  }
}
