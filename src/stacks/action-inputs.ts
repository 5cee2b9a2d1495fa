/**
 * action.yml's inputs and their defaults, read at run time from the action's own directory (the
 * bundle runs from `<action>/dist/index.js`; the sources from `<repo>/src/stacks/`). The runner passes
 * every input, with this default when the workflow sets none, so "the workflow set it" means "it
 * differs from this default": that is how a stack's defaults slip under the explicit inputs.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

let cached: Map<string, string> | undefined

export function actionInputDefaults(): Map<string, string> {
  if (cached) return cached
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const file = path.join(dir, 'action.yml')
    if (fs.existsSync(file)) {
      const doc = parse(fs.readFileSync(file, 'utf8')) as {
        inputs?: Record<string, { default?: unknown } | null>
      }
      cached = new Map(
        Object.entries(doc.inputs ?? {}).map(([name, spec]) => [name, String(spec?.default ?? '')])
      )
      return cached
    }
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error('action.yml was not found next to the action')
    dir = parent
  }
}
