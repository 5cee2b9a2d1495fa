import { describe, expect, it, beforeAll, afterAll } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { InputError } from '../../src/errors'
import { readConfig, type InputReader } from '../../src/inputs'
import { keepRemoved, normalisePrefix } from '../../src/frontend/config'

let workspace: string
const baseEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  GITHUB_WORKSPACE: workspace,
  GITHUB_REPOSITORY: 'Acme/My_Shop.App',
  GITHUB_EVENT_NAME: 'push',
  GITHUB_REF: 'refs/heads/main',
  GITHUB_EVENT_PATH: path.join(workspace, 'push-event.json'),
  AWS_REGION: 'eu-west-1',
  ...extra
})
const reader =
  (inputs: Record<string, string>): InputReader =>
  name =>
    (inputs[name] ?? '').trim()

beforeAll(() => {
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'inputs-'))
  fs.mkdirSync(path.join(workspace, 'terraform'))
  fs.writeFileSync(path.join(workspace, 'terraform', 'prod.tfvars'), 'x = 1\n')
  fs.writeFileSync(
    path.join(workspace, 'push-event.json'),
    JSON.stringify({ ref: 'refs/heads/main', repository: { default_branch: 'main' } })
  )
})
afterAll(() => fs.rmSync(workspace, { recursive: true, force: true }))

describe('readConfig defaults', () => {
  it('applies the computed defaults a user would expect', () => {
    const config = readConfig(reader({}), baseEnv())
    expect(config.mode).toBe('deploy')
    expect(config.requestedMode).toBe('auto')
    expect(config.region).toBe('eu-west-1')
    expect(config.project).toBe('my-shop-app')
    expect(config.stateBucket).toBeUndefined()
    expect(config.stateKey).toBe('production/terraform.tfstate')
    expect(config.lockTable).toBe('my-shop-app-terraform-locks')
    expect(config.lockTimeout).toBe('5m')
    expect(config.createBackend).toBe(true)
    expect(config.deleteRemoved).toBe(true)
    expect(config.dryRun).toBe(false)
    expect(config.invalidate).toBe('changed')
    expect(config.comment).toBe('always')
    expect(config.frontendDirectory).toBeUndefined()
    expect(config.workingDirectory).toBe(path.join(workspace, 'terraform'))
    expect(config.sitePrefix).toBe('')
  })

  it('resolves auto to plan on reviews, drift on schedules, deploy on the default branch and dispatch', () => {
    const modeFor = (extra: Record<string, string>): string =>
      readConfig(reader({ mode: 'auto' }), baseEnv(extra)).mode
    for (const event of ['pull_request', 'pull_request_target', 'merge_group']) {
      expect([event, modeFor({ GITHUB_EVENT_NAME: event })]).toEqual([event, 'plan'])
    }
    expect(modeFor({ GITHUB_EVENT_NAME: 'schedule' })).toBe('drift')
    expect(modeFor({ GITHUB_EVENT_NAME: 'workflow_dispatch' })).toBe('deploy')
    expect(modeFor({ GITHUB_EVENT_NAME: 'push' })).toBe('deploy')
    const branch = path.join(workspace, 'branch-push.json')
    fs.writeFileSync(
      branch,
      JSON.stringify({ ref: 'refs/heads/feature', repository: { default_branch: 'main' } })
    )
    expect(modeFor({ GITHUB_EVENT_PATH: branch, GITHUB_REF: 'refs/heads/feature' })).toBe('plan')
    expect(() => modeFor({ GITHUB_EVENT_NAME: 'release' })).toThrow(/mode.*release/s)
    expect(readConfig(reader({ mode: 'frontend' }), baseEnv()).mode).toBe('frontend')
    expect(readConfig(reader({ mode: 'drift' }), baseEnv()).mode).toBe('drift')
  })

  it('reads drift-issue (default true) and refuses a value that is not a boolean', () => {
    expect(readConfig(reader({}), baseEnv()).driftIssue).toBe(true)
    expect(readConfig(reader({ 'drift-issue': 'false' }), baseEnv()).driftIssue).toBe(false)
    expect(() => readConfig(reader({ 'drift-issue': 'sometimes' }), baseEnv())).toThrow(
      /drift-issue/
    )
  })

  it('falls back from AWS_REGION to AWS_DEFAULT_REGION and prefers the input', () => {
    const env = baseEnv()
    delete env.AWS_REGION
    expect(readConfig(reader({}), { ...env, AWS_DEFAULT_REGION: 'us-east-1' }).region).toBe(
      'us-east-1'
    )
    expect(readConfig(reader({ 'aws-region': 'ap-southeast-2' }), baseEnv()).region).toBe(
      'ap-southeast-2'
    )
    expect(() => readConfig(reader({}), env)).toThrow(/Input 'aws-region'.*AWS_REGION/)
  })

  it('parses line lists, skipping blanks and comments, keeping = inside values', () => {
    const config = readConfig(
      reader({
        variables: 'image_tag=abc=def\n\n# comment\nname = shop ',
        'backend-config': 'endpoints={s3="http://127.0.0.1:9000"}\nuse_path_style=true',
        'build-env': 'VITE_API_URL=api_url',
        'cache-control': '*.html=no-store\nassets/**=public, max-age=60',
        'health-check': 'https://example.com/health\noutput:site_url',
        'var-files': 'prod.tfvars',
        'site-prefix': '/app/'
      }),
      baseEnv()
    )
    expect(config.variables).toEqual([
      { key: 'image_tag', value: 'abc=def', line: 1 },
      { key: 'name', value: 'shop', line: 4 }
    ])
    expect(config.backendConfig[0]).toEqual({
      key: 'endpoints',
      value: '{s3="http://127.0.0.1:9000"}',
      line: 1
    })
    expect(config.buildEnv).toEqual([{ env: 'VITE_API_URL', output: 'api_url', line: 1 }])
    expect(config.cacheControl).toEqual([
      { pattern: '*.html', value: 'no-store' },
      { pattern: 'assets/**', value: 'public, max-age=60' }
    ])
    expect(config.healthChecks).toEqual([
      { kind: 'url', url: 'https://example.com/health' },
      { kind: 'output', output: 'site_url' }
    ])
    expect(config.varFiles).toEqual([path.join(workspace, 'terraform', 'prod.tfvars')])
    expect(config.sitePrefix).toBe('app/')
  })

  it('picks up the conventional frontend directory and the pull request from the event', () => {
    fs.mkdirSync(path.join(workspace, 'frontend'), { recursive: true })
    const eventPath = path.join(workspace, 'event.json')
    fs.writeFileSync(
      eventPath,
      JSON.stringify({ pull_request: { number: 42, head: { sha: 'abc123' } } })
    )
    const config = readConfig(
      reader({}),
      baseEnv({
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_EVENT_PATH: eventPath,
        GITHUB_RUN_ID: '77'
      })
    )
    expect(config.frontendDirectory).toBe(path.join(workspace, 'frontend'))
    expect(config.context.pullRequest).toBe(42)
    expect(config.context.sha).toBe('abc123')
    expect(config.context.runUrl).toBe('https://github.com/Acme/My_Shop.App/actions/runs/77')
    fs.rmSync(path.join(workspace, 'frontend'), { recursive: true })
  })

  it('throws InputError carrying the input name, on one line even for multi-line values', () => {
    let caught: unknown
    try {
      readConfig(reader({ variables: 'ok=1\nnot a var' }), baseEnv())
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(InputError)
    expect((caught as InputError).input).toBe('variables')
    expect((caught as InputError).message).not.toContain('\n')
  })

  it('terraform-download-url: https anywhere, plain http only to loopback', () => {
    const url = (value: string): string =>
      readConfig(reader({ 'terraform-download-url': value }), baseEnv()).terraformDownloadUrl
    expect(url('')).toBe('https://releases.hashicorp.com/terraform')
    expect(url('https://mirror.example.com/terraform/')).toBe(
      'https://mirror.example.com/terraform'
    )
    expect(url('http://127.0.0.1:8080/terraform')).toBe('http://127.0.0.1:8080/terraform')
    expect(url('http://localhost/terraform')).toBe('http://localhost/terraform')
    expect(url('http://[::1]/terraform')).toBe('http://[::1]/terraform')
    expect(() => url('http://mirror.example.com/terraform')).toThrow(
      /^Input 'terraform-download-url' has an invalid value "http:\/\/mirror\.example\.com\/terraform": plain http is refused .*use https:\/\/mirror\.example\.com\/terraform/
    )
  })

  it("terraform-signing-key: empty means HashiCorp's key; a public key block is kept; anything else is refused unquoted", () => {
    const key = (value: string): string | undefined =>
      readConfig(reader({ 'terraform-signing-key': value }), baseEnv()).terraformSigningKey
    expect(key('')).toBeUndefined()
    const block =
      '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxjMEZ...\n-----END PGP PUBLIC KEY BLOCK-----'
    expect(key(`\n${block}\n`)).toBe(block)
    const secret =
      '-----BEGIN PGP PRIVATE KEY BLOCK-----\nc2VjcmV0\n-----END PGP PRIVATE KEY BLOCK-----'
    expect(() => key(secret)).toThrow(/^Input 'terraform-signing-key': this is a private key/)
    expect(() => key(secret)).not.toThrow(/c2VjcmV0/)
    expect(() => key('72D7468F')).toThrow(
      /^Input 'terraform-signing-key': give an armored OpenPGP public key/
    )
  })

  it('refuses symlinks that lead out of the workspace', () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'outside-'))
    fs.symlinkSync(outside, path.join(workspace, 'escape'))
    expect(() => readConfig(reader({ 'frontend-directory': 'escape' }), baseEnv())).toThrow(
      /Input 'frontend-directory'.*leaves the workspace/
    )
    fs.rmSync(path.join(workspace, 'escape'))
    fs.rmSync(outside, { recursive: true })
  })
})

describe('normalisePrefix', () => {
  it.each([
    ['', ''],
    ['/', ''],
    ['app', 'app/'],
    ['/app/', 'app/'],
    ['sites/app', 'sites/app/']
  ])('%j → %j', (given, expected) => {
    expect(normalisePrefix(given)).toBe(expected)
  })
  it.each(['a//b', '../x', 'a/./b', 'a\\b'])('refuses %j', given => {
    expect(() => normalisePrefix(given)).toThrow(InputError)
  })
})

describe('keep-removed', () => {
  it('parses 0 and durations with units', () => {
    expect(keepRemoved('0')).toBe(0)
    expect(keepRemoved('12h')).toBe(12 * 3_600_000)
    expect(keepRemoved('7d')).toBe(7 * 86_400_000)
    expect(keepRemoved('1d12h')).toBe(36 * 3_600_000)
    expect(keepRemoved('2w')).toBe(14 * 86_400_000)
  })

  it.each(['7', '7 days', '-1d', '1.5d', 'd'])(
    'refuses %p with one error naming the input and the fix',
    value => {
      expect(() => keepRemoved(value)).toThrow(InputError)
      expect(() => keepRemoved(value)).toThrow(
        /^Input 'keep-removed' has an invalid value .*: use a duration such as 12h, 7d or 2w .*or 0/
      )
    }
  )
})
