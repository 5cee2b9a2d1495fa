import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { execFileSync, spawn } from 'node:child_process'
import { repoRoot } from '../../standins/run-action'
import { findOnPath } from '../../src/terraform/install'
import { publish, startMirror, storedZip, zipName } from '../helpers/mirror'

/** PATH without the directories that hold a terraform: a newcomer's machine. */
function withoutTerraform(searchPath: string): string {
  return searchPath
    .split(path.delimiter)
    .filter(dir => dir && !fs.existsSync(path.join(dir, 'terraform')))
    .join(path.delimiter)
}

// `npm run demo` as a person runs it after `npm ci`: a child process with a plain environment (no
// NODE_OPTIONS, which `npm test` sets for jest), judged by its exit code and the table it prints.

interface Result {
  code: number | null
  stdout: string
  stderr: string
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  const child = spawn(command, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c))
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', code => resolve({ code, stdout, stderr }))
  })
}

function plainEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra }
  delete env.NODE_OPTIONS
  return env
}

interface Row {
  run: string
  event: string
  mode: string
  resources: number
  changes: string
  uploaded: string
  deleted: string
  paths: string
  seconds: number
}

/** The rows of the summary table (the last `|` table the demo prints). */
function summaryTable(stdout: string): Row[] {
  const after = stdout.slice(stdout.lastIndexOf('\nSummary\n'))
  const lines = after.split('\n').filter(l => l.startsWith('|'))
  const [header, , ...body] = lines
  expect(header?.split('|').map(c => c.trim())).toEqual([
    '',
    'run',
    'event',
    'mode',
    'resources in state',
    'changes',
    'uploaded',
    'deleted',
    'invalidated paths',
    'seconds',
    ''
  ])
  return body.map(line => {
    const c = line
      .split('|')
      .slice(1, -1)
      .map(cell => cell.trim())
    return {
      run: c[0] ?? '',
      event: c[1] ?? '',
      mode: c[2] ?? '',
      resources: Number(c[3]),
      changes: c[4] ?? '',
      uploaded: c[5] ?? '',
      deleted: c[6] ?? '',
      paths: c[7] ?? '',
      seconds: Number(c[8])
    }
  })
}

describe('npm run demo', () => {
  it('runs the four deploys and prints the expected figures, leaving nothing behind', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-test-'))
    try {
      const result = await run('npm', ['run', 'demo'], plainEnv({ TMPDIR: tmp }))
      const explain = `exit ${result.code}\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-2000)}`
      expect([result.code, explain]).toEqual([0, explain])

      const rows = summaryTable(result.stdout)
      expect(rows.map(r => [r.run, r.event, r.mode])).toEqual([
        ['1', 'pull_request', 'plan'],
        ['2', 'push', 'deploy'],
        ['3', 'push', 'deploy'],
        ['4', 'workflow_dispatch', 'frontend']
      ])
      const [plan, deploy, again, frontend] = rows as [Row, Row, Row, Row]

      // The pull request planned the whole stack and applied nothing.
      expect(plan.resources).toBe(0)
      const planned = Number(/^(\d+) to add$/.exec(plan.changes)?.[1])
      expect(planned).toBeGreaterThan(0)
      // The first deploy created exactly what was planned; later runs keep the same N (no duplicates).
      expect(deploy.changes).toBe(`${planned} to add`)
      expect(deploy.resources).toBe(planned)
      expect(again.resources).toBe(planned)
      expect(frontend.resources).toBe(planned)
      expect(Number(deploy.uploaded)).toBeGreaterThan(0)
      expect(Number(deploy.paths)).toBeGreaterThan(0)
      // Nothing changed: nothing planned, uploaded, deleted or invalidated.
      expect([again.changes, again.uploaded, again.deleted, again.paths]).toEqual([
        'none',
        '0',
        '0',
        '0'
      ])
      // One changed file: one upload, one invalidated path.
      expect([frontend.changes, frontend.uploaded, frontend.deleted, frontend.paths]).toEqual([
        'not planned',
        '1',
        '0',
        '1'
      ])
      for (const r of rows) expect(r.seconds).toBeGreaterThan(0)

      // The PR comment, as a reviewer sees it, with the plan's counts.
      expect(result.stdout).toContain('Comment by github-actions[bot] on acme/revive-demo#7')
      expect(result.stdout).toMatch(
        new RegExp(
          `│ \\*\\*Plan: ${planned} to add, 0 to change, 0 to destroy, 0 to replace\\.\\*\\*`
        )
      )
      expect(result.stdout).toMatch(/All as expected/)
      // Workspace and runner directories were all under TMPDIR, and are gone (tsx keeps its own
      // compile cache there, tsx-<uid>).
      expect(fs.readdirSync(tmp).filter(name => !name.startsWith('tsx-'))).toEqual([])
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true })
    }
  }, 300_000)

  it('with no terraform on PATH: installs it from a mirror into the cache, signature and checksum verified, and runs', async () => {
    const real = findOnPath('terraform')
    if (!real) throw new Error("this test publishes the machine's own terraform on a mirror")
    const version = (
      JSON.parse(execFileSync(real, ['version', '-json'], { encoding: 'utf8' })) as {
        terraform_version: string
      }
    ).terraform_version
    const mirror = await startMirror()
    await publish(mirror, version, storedZip('terraform', fs.readFileSync(real)))
    mirror.files.set(
      '/terraform/index.json',
      Buffer.from(JSON.stringify({ versions: { [version]: {}, '99.0.0-beta1': {} } }))
    )
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-install-'))
    try {
      const env = plainEnv({
        PATH: withoutTerraform(process.env.PATH ?? ''),
        TERRAFORM_DOWNLOAD_URL: mirror.url,
        TERRAFORM_SIGNING_KEY: mirror.key.publicKey,
        REVIVE_DEPLOY_CACHE: path.join(tmp, 'cache'),
        TMPDIR: tmp
      })
      delete env.TERRAFORM_VERSION
      const tsx = path.join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs')
      const result = await run(process.execPath, [tsx, 'scripts/demo.ts'], env)
      const explain = `exit ${result.code}\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-2000)}`
      expect([result.code, explain]).toEqual([0, explain])
      expect(result.stdout).toContain(
        `terraform is not on PATH: installing Terraform ${version} from ${mirror.url}`
      )
      expect(result.stdout).toMatch(new RegExp(`Terraform ${version} installed in \\S*cache`))
      expect(summaryTable(result.stdout).map(r => r.mode)).toEqual([
        'plan',
        'deploy',
        'deploy',
        'frontend'
      ])
      expect(result.stdout).toMatch(/All as expected/)
      expect(mirror.requests.sort()).toEqual(
        [
          '/terraform/index.json',
          `/terraform/${version}/terraform_${version}_SHA256SUMS`,
          `/terraform/${version}/terraform_${version}_SHA256SUMS.sig`,
          `/terraform/${version}/${zipName(version)}`
        ].sort()
      )
    } finally {
      await mirror.close()
      fs.rmSync(tmp, { recursive: true, force: true })
    }
  }, 300_000)

  it('with no terraform on PATH and no release site to install from: one clear line, and fails', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-path-'))
    try {
      const tsx = path.join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs')
      const result = await run(
        process.execPath,
        [tsx, 'scripts/demo.ts'],
        plainEnv({
          PATH: withoutTerraform(process.env.PATH ?? ''),
          TERRAFORM_DOWNLOAD_URL: 'http://127.0.0.1:9/terraform',
          REVIVE_DEPLOY_CACHE: path.join(tmp, 'cache')
        })
      )
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(
        /Cannot run the demo: terraform is not on PATH, and the newest release could not be found at http:\/\/127\.0\.0\.1:9\/terraform: .*Put terraform \(1\.5 or later\) on PATH/
      )
      expect(result.stdout).not.toMatch(/Run 1\/4/)
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true })
    }
  })
})
