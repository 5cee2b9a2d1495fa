/** Paths the inputs name must stay inside the workspace (also through symlinks). */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { InputError } from './errors'

/**
 * Resolve `value` (relative to `base`, default the workspace) and make sure it stays inside the workspace,
 * also after following symlinks of the parts that exist.
 */
export function insideWorkspace(
  name: string,
  value: string,
  workspace: string,
  base: string = workspace
): string {
  if (value.includes('\0')) throw new InputError(name, value, 'paths cannot contain NUL characters')
  const absolute = path.resolve(base, value)
  const root = realOrSelf(workspace)
  const real = realOrSelf(absolute)
  if (!isInside(root, real) || !isInside(path.resolve(workspace), absolute)) {
    throw new InputError(
      name,
      value,
      'the path leaves the workspace; use a path inside the repository checkout'
    )
  }
  return absolute
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate)
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))
}

/** realpath of the longest existing ancestor, with the rest appended. */
function realOrSelf(p: string): string {
  let current = path.resolve(p)
  const rest: string[] = []
  for (;;) {
    try {
      return path.join(fs.realpathSync(current), ...rest.reverse())
    } catch {
      const parent = path.dirname(current)
      if (parent === current) return path.resolve(p)
      rest.push(path.basename(current))
      current = parent
    }
  }
}

export function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory()
  } catch {
    return false
  }
}

export function checkRelativeFile(input: string, file: string): void {
  const parts = file.split('/')
  if (
    file.startsWith('/') ||
    parts.some(p => p === '' || p === '.' || p === '..') ||
    !/^[A-Za-z0-9._\-/]+$/.test(file)
  ) {
    throw new InputError(
      input,
      file,
      'use a relative file name inside the build output, e.g. config.json (letters, digits, ".", "_", "-", "/")'
    )
  }
}
