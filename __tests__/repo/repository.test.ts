import { describe, expect, it } from '@jest/globals'
import { execFileSync, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { parse } from 'yaml'
import { repoRoot } from '../../standins/run-action'

// The repository around the action: workflows pinned by commit, the release workflow that moves the
// major tag, dependency updates, licence.

interface Step {
  name?: string
  uses?: string
  run?: string
  env?: Record<string, string>
}
interface Workflow {
  on: unknown
  permissions?: Record<string, string>
  jobs: Record<string, { steps: Step[] }>
}

const read = (rel: string): string => fs.readFileSync(path.join(repoRoot, rel), 'utf8')
const workflowFiles = fs
  .readdirSync(path.join(repoRoot, '.github', 'workflows'))
  .filter(f => /\.ya?ml$/.test(f))
  .map(f => path.join('.github', 'workflows', f))

describe('workflows', () => {
  it.each([...workflowFiles, 'docs/example-deploy.yml'])(
    '%s pins every third-party action by commit SHA, with the version in a comment',
    file => {
      const text = read(file)
      const uses = [...text.matchAll(/^\s*-?\s*uses:\s*(.+)$/gm)].map(m => (m[1] ?? '').trim())
      expect(uses.length).toBeGreaterThan(0)
      const thirdParty = uses.filter(u => u !== './' && !u.startsWith('org/revive-deploy@'))
      for (const use of thirdParty) expect(use).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+/)
    }
  )

  it('release: on a published release, checks dist/ and moves the major tag to the release', () => {
    const workflow = parse(read('.github/workflows/release.yml')) as Workflow
    expect(workflow.on).toEqual({ release: { types: ['published'] } })
    expect(workflow.permissions).toEqual({ contents: 'write' })
    const steps = Object.values(workflow.jobs).flatMap(j => j.steps)
    const check = steps.find(s => s.name === 'dist/ is built from src/')
    expect(check?.run).toContain('npm run build')
    const move = steps.find(s => s.name === 'Move the major tag')
    expect(steps.indexOf(move as Step)).toBeGreaterThan(steps.indexOf(check as Step))

    // Run the step's script as the runner would, in a clone whose origin is a local bare repository.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'revive-release-'))
    try {
      const git = (cwd: string, ...args: string[]): string =>
        execFileSync('git', args, { cwd, encoding: 'utf8' }).trim()
      const origin = path.join(tmp, 'origin.git')
      const work = path.join(tmp, 'work')
      git(tmp, 'init', '-q', '--bare', origin)
      git(tmp, 'init', '-q', work)
      git(work, 'config', 'user.name', 'test')
      git(work, 'config', 'user.email', 'test@example.com')
      git(work, 'commit', '-q', '--allow-empty', '-m', 'one')
      git(work, 'tag', '-a', 'v1.0.0', '-m', 'v1.0.0')
      git(work, 'tag', 'v1', 'v1.0.0^{commit}')
      git(work, 'commit', '-q', '--allow-empty', '-m', 'two')
      git(work, 'tag', '-a', 'v1.1.0', '-m', 'v1.1.0')
      git(work, 'remote', 'add', 'origin', origin)
      git(work, 'push', '-q', 'origin', 'HEAD:refs/heads/main', '--tags')
      const runStep = (tag: string): ReturnType<typeof spawnSync> =>
        spawnSync('bash', ['-e', '-c', move?.run ?? 'exit 2'], {
          cwd: work,
          env: { ...process.env, TAG: tag },
          encoding: 'utf8'
        })

      const moved = runStep('v1.1.0')
      expect([moved.status, moved.stderr]).toEqual([0, expect.any(String)])
      expect(git(origin, 'rev-parse', 'v1^{commit}')).toBe(
        git(work, 'rev-parse', 'v1.1.0^{commit}')
      )

      const bad = runStep('latest')
      expect(bad.status).toBe(1)
      expect(String(bad.stdout)).toContain("release tag 'latest' is not vMAJOR.MINOR.PATCH")
      expect(git(origin, 'rev-parse', 'v1^{commit}')).toBe(
        git(work, 'rev-parse', 'v1.1.0^{commit}')
      )
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true })
    }
  })
})

describe('repository files', () => {
  it('dependency updates: npm and GitHub Actions, weekly; TypeScript and jest majors held back', () => {
    const config = parse(read('.github/dependabot.yml')) as {
      updates: Array<{
        'package-ecosystem': string
        ignore?: Array<{ 'dependency-name': string; 'update-types': string[] }>
      }>
    }
    expect(config.updates.map(u => u['package-ecosystem']).sort()).toEqual([
      'github-actions',
      'npm'
    ])
    const npm = config.updates.find(u => u['package-ecosystem'] === 'npm')
    for (const name of ['typescript', 'jest', 'ts-jest'])
      expect(npm?.ignore).toContainEqual({
        'dependency-name': name,
        'update-types': ['version-update:semver-major']
      })
  })

  it('LICENSE is the MIT licence package.json names', () => {
    expect((JSON.parse(read('package.json')) as { license: string }).license).toBe('MIT')
    expect(read('LICENSE')).toMatch(/^MIT License\n/)
  })
})

describe('imports run only downward (the lint rule in eslint.config.js)', () => {
  /** eslint's verdict on `code` as if it were the file at `file`: the rule ids it reports. */
  function lint(file: string, code: string): string[] {
    const script = `
      import { ESLint } from 'eslint'
      const [file, code] = process.argv.slice(1)
      const [result] = await new ESLint().lintText(code, { filePath: file })
      console.log(JSON.stringify(result.messages.map(m => m.ruleId + ': ' + m.message)))
    `
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', script, path.join(repoRoot, file), code],
      { cwd: repoRoot, encoding: 'utf8' }
    )
    return (JSON.parse(out) as string[]).filter(m => m.startsWith('no-restricted-imports'))
  }

  it.each([
    ['src/frontend/probe.ts', "import { renderReport } from '../report/render'"],
    ['src/backend/probe.ts', "import { Terraform } from '../terraform/runner'"],
    ['src/terraform/probe.ts', "import { checkDrift } from '../drift/check'"],
    ['src/health/probe.ts', "import { readConfig } from '../inputs'"],
    ['src/github/probe.ts', "import { renderReport } from '../report/render'"],
    ['src/report/probe.ts', "import { run } from '../main'"],
    ['src/report/probe.ts', "import { siteStage } from '../deploy/stages'"],
    ['src/terraform/probe.ts', "import { stateGuard } from '../deploy/state'"],
    ['src/aws/probe.ts', "import { failureText } from '../deploy/terraform-steps'"]
  ])('%s may not %s', (file, line) => {
    expect(lint(file, `${line}\nexport {}\n`)).toHaveLength(1)
  })

  it.each([
    ['src/frontend/probe.ts', "import type { Config } from '../inputs'"],
    ['src/frontend/probe.ts', "import { errorMessage } from '../errors'"],
    ['src/report/probe.ts', "import type { PlanSummary } from '../terraform/plan'"],
    ['src/drift/probe.ts', "import { renderReport } from '../report/render'"],
    ['src/deploy/probe.ts', "import { checkDrift } from '../drift/check'"],
    ['src/frontend/probe.ts', "import { deployFrontend } from './deploy'"]
  ])('%s may %s', (file, line) => {
    expect(lint(file, `${line}\nexport {}\n`)).toEqual([])
  })
})
