/**
 * `npm run bench -- --stacks`: stack discovery and change detection on a generated repository of 200
 * stacks and 2,000 files (real git). Target: under 2 s for discovery plus selection.
 *
 * The repository: 200 stack directories (`stacks/sNNN`, each a root module with a `backend "s3"`
 * block sourcing one of 20 local modules, which source a shared one), 20 modules, and other files
 * (docs, scripts) up to 2,000 files; one commit changes a module used by 10 stacks. Measured with
 * and without a stacks file (the file gives every tenth stack a dependency on the one before).
 */
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { INPUT_NAMES } from '../src/input-reader'
import { changedFiles, selectStacks } from '../src/stacks/changes'
import { loadStacks, waves } from '../src/stacks/stacks-file'

const STACKS = 200
const FILES = 2000
const MODULES = 20
const TARGET_MS = 2000

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'bench',
      GIT_AUTHOR_EMAIL: 'bench@revive.invalid',
      GIT_COMMITTER_NAME: 'bench',
      GIT_COMMITTER_EMAIL: 'bench@revive.invalid'
    }
  }).trim()
}

function write(dir: string, rel: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
  fs.writeFileSync(path.join(dir, rel), text)
}

function makeRepo(withFile: boolean): { dir: string; base: string; head: string; files: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'revive-bench-stacks-'))
  let files = 0
  const add = (rel: string, text: string): void => {
    write(dir, rel, text)
    files++
  }
  const name = (i: number): string => `s${String(i).padStart(3, '0')}`
  add('modules/common/main.tf', 'resource "terraform_data" "common" {}\n')
  for (let m = 0; m < MODULES; m++) {
    add(`modules/m${m}/main.tf`, 'module "common" {\n  source = "../common"\n}\n')
    add(`modules/m${m}/variables.tf`, 'variable "x" {\n  default = 1\n}\n')
  }
  for (let i = 0; i < STACKS; i++) {
    const s = `stacks/${name(i)}`
    add(
      `${s}/main.tf`,
      `terraform {\n  backend "s3" {}\n}\n\nmodule "app" {\n  source = "../../modules/m${i % MODULES}"\n}\n`
    )
    add(`${s}/variables.tf`, 'variable "name" {\n  default = "x"\n}\n')
    add(`${s}/outputs.tf`, 'output "name" {\n  value = var.name\n}\n')
  }
  if (withFile) {
    const entries = Array.from({ length: STACKS }, (_, i) => {
      const deps = i % 10 === 9 ? `\n    depends-on: [${name(i - 1)}]` : ''
      return `  - name: ${name(i)}\n    working-directory: stacks/${name(i)}${deps}`
    })
    add('revive-deploy.yml', `stacks:\n${entries.join('\n')}\n`)
  }
  for (let i = 0; files < FILES; i++) add(`docs/page-${i}.md`, `# page ${i}\n`)
  git(dir, 'init', '-q', '-b', 'main')
  git(dir, 'add', '-A')
  git(dir, 'commit', '-q', '-m', 'base')
  const base = git(dir, 'rev-parse', 'HEAD')
  write(dir, 'modules/m3/main.tf', 'module "common" {\n  source = "../common"\n}\n# changed\n')
  git(dir, 'commit', '-q', '-am', 'change m3')
  return { dir, base, head: git(dir, 'rev-parse', 'HEAD'), files }
}

const inputNames = INPUT_NAMES
const lines: string[] = [
  '| stacks file | stacks | files | discovery ms | git diff ms | selection ms | total ms | stacks touched | waves |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
]
let worst = 0
for (const withFile of [false, true]) {
  const repo = makeRepo(withFile)
  const t0 = performance.now()
  const set = loadStacks({
    workspace: repo.dir,
    file: 'revive-deploy.yml',
    inputNames,
    explicit: () => undefined
  })
  const t1 = performance.now()
  const files = changedFiles(repo.dir, {
    base: repo.base,
    head: repo.head,
    mergeBase: true,
    what: 'base'
  })
  const t2 = performance.now()
  const selection = selectStacks(repo.dir, set, { files })
  const included = new Set(selection.filter(s => s.included).map(s => s.stack.name))
  const grouped = waves(set.stacks, included)
  const t3 = performance.now()
  worst = Math.max(worst, t3 - t0)
  lines.push(
    `| ${withFile ? 'yes' : 'no (discovered)'} | ${set.stacks.length} | ${repo.files} | ${(t1 - t0).toFixed(0)} | ${(t2 - t1).toFixed(0)} | ${(t3 - t2).toFixed(0)} | ${(t3 - t0).toFixed(0)} | ${included.size} | ${grouped.length} |`
  )
  fs.rmSync(repo.dir, { recursive: true, force: true })
}
console.log(`### Stacks: discovery and change detection\n\n${lines.join('\n')}\n`)
console.log(
  `Target: under ${TARGET_MS} ms for ${STACKS} stacks and ${FILES} files: ${worst < TARGET_MS ? 'met' : 'MISSED'} (slowest ${worst.toFixed(0)} ms).`
)
process.exitCode = worst < TARGET_MS ? 0 : 1
