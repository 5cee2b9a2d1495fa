// Print the README's inputs and outputs tables from action.yml (paste them into README.md; a test
// keeps the two equal).
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
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim()
const lines = ['| input | default | description |', '| --- | --- | --- |']
for (const [name, spec] of Object.entries(action.inputs)) {
  const fallback = spec.default ? `\`${cell(spec.default)}\`` : ''
  lines.push(`| \`${name}\` | ${fallback} | ${cell(spec.description ?? '')} |`)
}
lines.push('', '| output | description |', '| --- | --- |')
for (const [name, spec] of Object.entries(action.outputs)) {
  lines.push(`| \`${name}\` | ${cell(spec.description ?? '')} |`)
}
console.log(lines.join('\n'))
