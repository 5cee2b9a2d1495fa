// Write docs/inputs.md, every input and output with its full description, from action.yml (a test
// keeps the two equal). The README's tables are the short form of the same names and defaults.
import * as fs from 'node:fs'
import { parse } from 'yaml'

interface Spec {
  description?: string
  default?: string
}
const action = parse(fs.readFileSync('action.yml', 'utf8')) as {
  inputs: Record<string, Spec>
  outputs: Record<string, Spec>
}
const cell = (text: string): string =>
  text
    .replace(/([|*])/g, '\\$1')
    .replace(/\s+/g, ' ')
    .trim()
const lines = [
  '# Inputs and outputs',
  '',
  'Every input and output of the action, as `action.yml` describes them (`npx tsx scripts/readme-tables.ts`',
  'writes this page; a test keeps it equal to `action.yml`).',
  '',
  '| input | default | description |',
  '| --- | --- | --- |'
]
for (const [name, spec] of Object.entries(action.inputs)) {
  const fallback = spec.default ? `\`${cell(spec.default)}\`` : ''
  lines.push(`| \`${name}\` | ${fallback} | ${cell(spec.description ?? '')} |`)
}
lines.push('', '| output | description |', '| --- | --- |')
for (const [name, spec] of Object.entries(action.outputs)) {
  lines.push(`| \`${name}\` | ${cell(spec.description ?? '')} |`)
}
fs.writeFileSync('docs/inputs.md', lines.join('\n') + '\n')
