/**
 * Which stacks a change touches: the files changed between the event's base and head (real `git` in
 * the checkout), matched against what each stack depends on: its own directory, the local modules it
 * sources (followed transitively), its var files; then the stacks downstream of those.
 */
import { execFileSync } from 'node:child_process'
import * as path from 'node:path'
import { DeployError } from '../errors'
import type { RunContext } from '../github/run-context'
import { readModuleConfig } from '../root-module'
import { downstreamOf, type Stack, type StackSet } from './stacks-file'

export interface Selection {
  stack: Stack
  included: boolean
  /** Why it runs, or why not (one short sentence). */
  reason: string
}

/** The commits to compare, or undefined when the event runs every stack. */
export interface Range {
  base: string
  head: string
  /** `base...head` (from the merge base, as a pull request shows it) or `base..head`. */
  mergeBase: boolean
  /** What the base is, for messages ("the pull request's base"). */
  what: string
}

const ZERO = /^0+$/

/** The range an event compares, or a reason every stack runs. */
export function rangeOf(context: RunContext): Range | { all: string } {
  const p = context.payload as Record<string, Record<string, unknown> | undefined>
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined)
  switch (context.eventName) {
    case 'pull_request':
    case 'pull_request_target': {
      const pr = p.pull_request as
        { base?: { sha?: unknown }; head?: { sha?: unknown } } | undefined
      const base = str(pr?.base?.sha)
      const head = str(pr?.head?.sha)
      if (!base || !head) return { all: 'the event has no base and head commits: every stack runs' }
      return { base, head, mergeBase: true, what: "the pull request's base" }
    }
    case 'merge_group': {
      const base = str(p.merge_group?.base_sha)
      const head = str(p.merge_group?.head_sha)
      if (!base || !head) return { all: 'the event has no base and head commits: every stack runs' }
      return { base, head, mergeBase: false, what: "the merge group's base" }
    }
    case 'push': {
      const before = str((p as Record<string, unknown>).before)
      const after = str((p as Record<string, unknown>).after) ?? context.sha
      if (!before || ZERO.test(before) || !after)
        return { all: 'a new branch or tag (nothing to compare with): every stack runs' }
      return { base: before, head: after, mergeBase: false, what: 'the commit before the push' }
    }
    default:
      return { all: `${context.eventName} runs every stack` }
  }
}

function git(workspace: string, args: string[]): string {
  return execFileSync('git', ['-c', 'core.quotepath=off', ...args], {
    cwd: workspace,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024
  })
}

/** The files changed in the range (workspace-relative, `/` separators); renames count both paths. */
export function changedFiles(workspace: string, range: Range): string[] {
  for (const [sha, what] of [
    [range.base, range.what],
    [range.head, 'the head commit']
  ] as const) {
    try {
      git(workspace, ['cat-file', '-e', `${sha}^{commit}`])
    } catch {
      throw new DeployError(
        `mode stacks: commit ${sha.slice(0, 12)} (${what}) is not in the checkout, so the changed files cannot be found; check out the full history with actions/checkout's fetch-depth: 0 (or fetch the base commit) before this step`
      )
    }
  }
  const spec = range.mergeBase ? `${range.base}...${range.head}` : `${range.base}..${range.head}`
  let out: string
  try {
    out = git(workspace, ['diff', '--name-only', '--no-renames', '-z', spec, '--'])
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim()
    throw new DeployError(
      `mode stacks: git could not compare ${spec.slice(0, 7)}… (${stderr.split('\n')[0] || 'no merge base'}); the checkout's history is too short: use actions/checkout's fetch-depth: 0`
    )
  }
  return out.split('\0').filter(f => f !== '')
}

/** What a stack watches: directory trees (excluding nested stacks) and single files. */
interface Watch {
  trees: string[]
  files: Set<string>
  /** Directories of other stacks inside this stack's trees (their files are theirs). */
  excluded: string[]
  /** A module directory → the stack sees it as "module <dir>". */
  modules: string[]
}

/** Local module sources, followed transitively from `dir` (workspace-relative directories). */
export function localModules(
  workspace: string,
  dir: string,
  cache: Map<string, string[]> = new Map()
): string[] {
  const seen = new Set<string>()
  const pending = [dir]
  while (pending.length > 0) {
    const current = pending.pop() as string
    let sources = cache.get(current)
    if (!sources) {
      sources = readModuleConfig(path.join(workspace, current))
        .moduleSources.filter(s => s.startsWith('./') || s.startsWith('../'))
        .map(s => path.posix.normalize(path.posix.join(current, s)))
        .filter(s => s !== '..' && !s.startsWith('../'))
      cache.set(current, sources)
    }
    for (const s of sources) {
      if (s !== dir && !seen.has(s)) {
        seen.add(s)
        pending.push(s)
      }
    }
  }
  return [...seen].sort()
}

function watchOf(
  workspace: string,
  stack: Stack,
  all: readonly Stack[],
  cache: Map<string, string[]>
): Watch {
  const modules = localModules(workspace, stack.directory, cache)
  const trees = [stack.directory, ...modules]
  const files = new Set<string>()
  const base = path.posix.normalize(stack.directory)
  for (const file of (stack.inputs['var-files'] ?? '').split('\n')) {
    const f = file.trim()
    if (f && !f.startsWith('#')) files.add(path.posix.normalize(path.posix.join(base, f)))
  }
  const excluded = all
    .map(s => s.directory)
    .filter(d => d !== stack.directory && trees.some(t => under(d, t)))
  return { trees, files, excluded, modules }
}

function under(file: string, dir: string): boolean {
  return dir === '.' ? !file.startsWith('../') : file === dir || file.startsWith(`${dir}/`)
}

/**
 * Select the stacks a change touches. `range` undefined with `all` set: every stack, for that
 * reason. A change to the stacks file itself runs every stack (any stack's inputs may have changed).
 */
export function selectStacks(
  workspace: string,
  set: StackSet,
  changes: { all: string } | { files: readonly string[] }
): Selection[] {
  if ('all' in changes)
    return set.stacks.map(stack => ({ stack, included: true, reason: changes.all }))
  if (set.file && changes.files.includes(set.file)) {
    return set.stacks.map(stack => ({
      stack,
      included: true,
      reason: `${set.file} changed: every stack runs`
    }))
  }
  const cache = new Map<string, string[]>()
  const direct = new Map<string, string>()
  for (const stack of set.stacks) {
    const watch = watchOf(workspace, stack, set.stacks, cache)
    for (const file of changes.files) {
      if (watch.excluded.some(d => under(file, d))) continue
      if (watch.files.has(file)) {
        direct.set(stack.name, `var file ${file} changed`)
        break
      }
      const tree = watch.trees.find(t => under(file, t))
      if (tree !== undefined) {
        direct.set(
          stack.name,
          tree === stack.directory ? `${file} changed` : `module ${tree} changed (${file})`
        )
        break
      }
    }
  }
  const downstream = downstreamOf(set.stacks, new Set(direct.keys()))
  return set.stacks.map(stack => {
    const reason = direct.get(stack.name)
    if (reason) return { stack, included: true, reason }
    if (downstream.has(stack.name)) {
      const via = stack.dependsOn.filter(d => direct.has(d) || downstream.has(d))
      return { stack, included: true, reason: `downstream of ${via.join(', ')}` }
    }
    return { stack, included: false, reason: 'nothing it depends on changed' }
  })
}
