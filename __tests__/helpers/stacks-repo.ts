/**
 * A git repository with three stacks, made with real `git` for the stacks tests and the demo:
 *
 *     network/  uses modules/shared
 *     data/     uses modules/shared, depends on network
 *     app/      uses modules/web (which uses modules/nested), depends on data
 *
 * Every stack is a root module with an empty `backend "s3" {}` block and `terraform_data` resources
 * only (no provider download).
 */
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'revive-dev',
      GIT_AUTHOR_EMAIL: 'dev@revive.invalid',
      GIT_COMMITTER_NAME: 'revive-dev',
      GIT_COMMITTER_EMAIL: 'dev@revive.invalid'
    },
    stdio: ['ignore', 'pipe', 'pipe']
  }).trim()
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
    fs.writeFileSync(path.join(dir, rel), content)
  }
}

/** Write the files, commit them, and return the new commit's sha. */
export function commit(dir: string, files: Record<string, string>, message: string): string {
  writeFiles(dir, files)
  git(dir, 'add', '-A')
  git(dir, 'commit', '-q', '-m', message)
  return git(dir, 'rev-parse', 'HEAD')
}

const stack = (name: string, modules: Record<string, string>): string =>
  [
    'terraform {\n  backend "s3" {}\n}',
    ...Object.entries(modules).map(([m, source]) => `module "${m}" {\n  source = "${source}"\n}`),
    `resource "terraform_data" "${name}" {\n  input = "${name}"\n}`,
    `output "name" {\n  value = "${name}"\n}`
  ].join('\n\n') + '\n'

const moduleFile = (name: string, modules: Record<string, string> = {}): string =>
  [
    ...Object.entries(modules).map(([m, source]) => `module "${m}" {\n  source = "${source}"\n}`),
    `resource "terraform_data" "${name}" {\n  input = "${name} v1"\n}`
  ].join('\n\n') + '\n'

export const STACKS_FILE = `# The three stacks of this repository
stacks:
  - name: network
    working-directory: network
  - name: data
    working-directory: data
    depends-on: [network]
  - name: app
    working-directory: app
    depends-on: [data]
    var-files: [../env/app.tfvars]
`

export const STACK_FILES: Record<string, string> = {
  'README.md': '# shop infrastructure\n',
  'revive-deploy.yml': STACKS_FILE,
  'network/main.tf': stack('network', { shared: '../modules/shared' }),
  'data/main.tf': stack('data', { shared: '../modules/shared' }),
  'app/main.tf': stack('app', { web: '../modules/web' }),
  'env/app.tfvars': '',
  'modules/shared/main.tf': moduleFile('shared'),
  'modules/web/main.tf': moduleFile('web', { nested: '../nested' }),
  'modules/nested/main.tf': moduleFile('nested')
}

/** A new repository (branch main) with the three stacks committed; returns its directory and sha. */
export function makeStacksRepo(
  files: Record<string, string> = STACK_FILES,
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'revive-stacks-'))
): { dir: string; base: string } {
  git(dir, 'init', '-q', '-b', 'main')
  const base = commit(dir, files, 'Three stacks')
  return { dir, base }
}

/** A pull_request event payload comparing `base` with `head`. */
export function pullRequestPayload(
  number: number,
  base: string,
  head: string
): Record<string, unknown> {
  return { pull_request: { number, base: { sha: base }, head: { sha: head } } }
}
