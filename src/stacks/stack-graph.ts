/** The stacks' dependency graph: cycles, waves of stacks that can run together, what lies downstream. */
import type { Stack } from './stacks-file'

/** A dependency cycle as the names along it (first name repeated at the end), if there is one. */
export function findCycle(stacks: readonly Stack[]): string[] | undefined {
  const deps = new Map(stacks.map(s => [s.name, s.dependsOn]))
  const state = new Map<string, 'visiting' | 'done'>()
  const trail: string[] = []
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined
    if (state.get(name) === 'visiting') return [...trail.slice(trail.indexOf(name)), name]
    state.set(name, 'visiting')
    trail.push(name)
    for (const dep of deps.get(name) ?? []) {
      const found = visit(dep)
      if (found) return found
    }
    trail.pop()
    state.set(name, 'done')
    return undefined
  }
  for (const s of stacks) {
    const found = visit(s.name)
    if (found) return found
  }
  return undefined
}

/**
 * The stacks grouped so each group depends only on earlier ones (among `names`; a dependency that
 * is not in the run is not waited for).
 */
export function waves(stacks: readonly Stack[], names: ReadonlySet<string>): string[][] {
  const byName = new Map(stacks.map(s => [s.name, s]))
  const level = new Map<string, number>()
  const levelOf = (name: string): number => {
    const known = level.get(name)
    if (known !== undefined) return known
    level.set(name, 0) // cycles are refused when the stacks are read; this only stops recursion
    const deps = (byName.get(name)?.dependsOn ?? []).filter(d => names.has(d))
    const l = deps.length === 0 ? 0 : 1 + Math.max(...deps.map(levelOf))
    level.set(name, l)
    return l
  }
  const out: string[][] = []
  for (const s of stacks) {
    if (!names.has(s.name)) continue
    const l = levelOf(s.name)
    ;(out[l] ??= []).push(s.name)
  }
  return out.filter(w => w !== undefined)
}

/** The stacks downstream of `names` (depending on them directly or through others). */
export function downstreamOf(stacks: readonly Stack[], names: ReadonlySet<string>): Set<string> {
  const out = new Set<string>()
  let grew = true
  while (grew) {
    grew = false
    for (const s of stacks) {
      if (names.has(s.name) || out.has(s.name)) continue
      if (s.dependsOn.some(d => names.has(d) || out.has(d))) {
        out.add(s.name)
        grew = true
      }
    }
  }
  return out
}
