import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// The repository's terraform/ folder (demo, example, bootstrap) and the demo frontend in demo/frontend:
// formatted, the demo stack valid and deployable offline with the conventional outputs, and the
// frontend build reproducible with fingerprinted names.

const ROOT = process.cwd()
const DEMO_STACK = join(ROOT, 'terraform', 'demo')
const DEMO_FRONTEND = join(ROOT, 'demo', 'frontend')

interface Run {
  code: number
  stdout: string
  stderr: string
}

function run(
  file: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {}
): Promise<Run> {
  return new Promise(resolve => {
    execFile(
      file,
      args,
      { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1
        resolve({ code, stdout, stderr })
      }
    )
  })
}

const TF_ENV = { TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' }

/** terraform in `cwd`; every warning about the missing CLI config goes to stderr, so parse stdout. */
async function terraform(cwd: string, ...args: string[]): Promise<Run> {
  return run('terraform', args, cwd, TF_ENV)
}

async function ok(result: Promise<Run>): Promise<string> {
  const r = await result
  if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

interface PlanJson {
  resource_changes: Array<{
    address: string
    type: string
    change: { actions: string[]; after: { input?: { kind?: string } } | null }
  }>
  output_changes: Record<
    string,
    { actions: string[]; after?: unknown; after_unknown?: unknown; after_sensitive?: unknown }
  >
}

async function showPlan(dir: string, planFile: string): Promise<PlanJson> {
  return JSON.parse(await ok(terraform(dir, 'show', '-json', planFile))) as PlanJson
}

/** A copy of the demo stack's .tf files in a fresh directory. */
async function copyDemoStack(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'revive-demo-stack-'))
  for (const name of await readdir(DEMO_STACK)) {
    if (name.endsWith('.tf')) await cp(join(DEMO_STACK, name), join(dir, name))
  }
  return dir
}

const temps: string[] = []
afterAll(async () => {
  await Promise.all(temps.map(d => rm(d, { recursive: true, force: true })))
})

describe('terraform/ folder', () => {
  it('every .tf file under terraform/ is terraform fmt clean (and parses)', async () => {
    const r = await terraform(ROOT, 'fmt', '-check', '-recursive', '-list=true', 'terraform')
    expect(r.stdout.trim()).toBe('')
    expect(r.code).toBe(0)
  })

  it.each(['demo', 'example'])(
    '%s declares an empty backend "s3" block and the conventional outputs',
    async stack => {
      const dir = join(ROOT, 'terraform', stack)
      const text = (
        await Promise.all(
          (await readdir(dir))
            .filter(n => n.endsWith('.tf'))
            .map(n => readFile(join(dir, n), 'utf8'))
        )
      ).join('\n')
      expect(text).toMatch(/^\s*backend\s+"s3"\s*\{\s*\}/m)
      for (const name of ['frontend_bucket', 'cloudfront_distribution_id', 'site_url', 'api_url']) {
        expect(text).toMatch(new RegExp(`^output\\s+"${name}"\\s*\\{`, 'm'))
      }
    }
  )

  it('bootstrap has no backend block: its own state starts local', async () => {
    const dir = join(ROOT, 'terraform', 'bootstrap')
    const names = (await readdir(dir)).filter(n => n.endsWith('.tf'))
    expect(names.length).toBeGreaterThan(0)
    for (const name of names) {
      expect(await readFile(join(dir, name), 'utf8')).not.toMatch(/^\s*backend\s+"/m)
    }
  })
})

describe('terraform/demo stack, offline', () => {
  it('init -backend=false and validate -json: valid, no diagnostics', async () => {
    const dir = await copyDemoStack()
    temps.push(dir)
    await ok(terraform(dir, 'init', '-backend=false', '-input=false', '-no-color'))
    const result = JSON.parse(await ok(terraform(dir, 'validate', '-json', '-no-color'))) as {
      valid: boolean
      error_count: number
      diagnostics: unknown[]
    }
    expect(result.valid).toBe(true)
    expect(result.error_count).toBe(0)
    expect(result.diagnostics).toEqual([])
  })

  describe('with local state', () => {
    let dir = ''

    beforeAll(async () => {
      dir = await copyDemoStack()
      temps.push(dir)
      // An override file swaps the empty s3 backend for local state in this copy only.
      await writeFile(join(dir, 'backend_override.tf'), 'terraform {\n  backend "local" {}\n}\n')
      await ok(terraform(dir, 'init', '-input=false', '-no-color'))
    })

    it('plans the application: 7 functions, 6 tables, API, schedule, bucket, distribution', async () => {
      const r = await terraform(
        dir,
        'plan',
        '-input=false',
        '-no-color',
        '-detailed-exitcode',
        '-out=first.tfplan'
      )
      expect(r.code).toBe(2)
      const plan = await showPlan(dir, 'first.tfplan')
      const changes = plan.resource_changes
      expect(changes.every(c => c.type === 'terraform_data')).toBe(true)
      expect(changes.every(c => c.change.actions.join() === 'create')).toBe(true)

      const kinds: Record<string, number> = {}
      for (const c of changes) {
        const kind = c.change.after?.input?.kind ?? '?'
        kinds[kind] = (kinds[kind] ?? 0) + 1
      }
      expect(kinds).toMatchObject({
        aws_lambda_function: 7,
        aws_dynamodb_table: 6,
        aws_apigatewayv2_api: 1,
        aws_apigatewayv2_stage: 1,
        aws_cloudwatch_event_rule: 1,
        aws_s3_bucket: 1,
        aws_cloudfront_distribution: 1
      })
      expect(kinds['aws_apigatewayv2_route']).toBeGreaterThan(0)
      expect(kinds['?']).toBeUndefined()
      expect(changes.length).toBe(Object.values(kinds).reduce((a, b) => a + b, 0))

      // The conventional outputs are known at plan time, so a PR comment can show them.
      const out = plan.output_changes
      expect(out['frontend_bucket']?.after).toBe('revive-demo-site')
      expect(out['cloudfront_distribution_id']?.after).toBe('EDEMO1234567')
      expect(out['site_url']?.after).toMatch(/^https:\/\/d[0-9a-f]{13}\.cloudfront\.net$/)
      expect(out['api_url']?.after).toMatch(
        /^https:\/\/[0-9a-f]{10}\.execute-api\.us-east-1\.amazonaws\.com\/v1$/
      )
      const sensitive = Object.entries(out).filter(([, o]) => o.after_sensitive === true)
      expect(sensitive.map(([name]) => name)).toEqual(['webhook_api_key'])
      expect(sensitive[0]?.[1].after_unknown).toBe(true)
    })

    it('applies; the second plan has no changes; the sensitive output stays hidden', async () => {
      const applied = await ok(terraform(dir, 'apply', '-input=false', '-no-color', 'first.tfplan'))
      expect(applied).toMatch(/Apply complete! Resources: \d+ added, 0 changed, 0 destroyed\./)
      expect(applied).toMatch(/webhook_api_key = <sensitive>/)

      const again = await terraform(dir, 'plan', '-input=false', '-no-color', '-detailed-exitcode')
      expect(again.code).toBe(0)

      const outputs = JSON.parse(await ok(terraform(dir, 'output', '-json'))) as Record<
        string,
        { sensitive: boolean; value: unknown }
      >
      expect(outputs['frontend_bucket']).toEqual({
        sensitive: false,
        type: 'string',
        value: 'revive-demo-site'
      })
      expect(outputs['webhook_api_key']?.sensitive).toBe(true)
      expect(outputs['webhook_api_key']?.value).toMatch(/^rk_[0-9a-f]{40}$/)
    })

    it('a new app_version updates the 7 functions in place and nothing else', async () => {
      const r = await terraform(
        dir,
        'plan',
        '-input=false',
        '-no-color',
        '-detailed-exitcode',
        '-var=app_version=9.9.9',
        '-out=version.tfplan'
      )
      expect(r.code).toBe(2)
      const plan = await showPlan(dir, 'version.tfplan')
      const changed = plan.resource_changes.filter(c => c.change.actions.join() !== 'no-op')
      expect(changed.every(c => c.change.actions.join() === 'update')).toBe(true)
      expect(changed.map(c => c.address).sort()).toEqual(
        ['authorizer', 'callbacks', 'calls', 'customers', 'reports', 'settings', 'shop-sync'].map(
          k => `terraform_data.function["${k}"]`
        )
      )
    })
  })
})

describe('demo/frontend build', () => {
  let dir = ''
  // npm must not need the registry: an unreachable one makes any download fail.
  const NPM_ENV = {
    npm_config_registry: 'http://127.0.0.1:9/',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false'
  }
  const API = 'https://api.example.test/v1?stage=a&b="c"'

  async function build(vite: Record<string, string>): Promise<Map<string, Buffer>> {
    await ok(run('sh', ['-c', 'npm ci && npm run build'], dir, { ...NPM_ENV, ...vite }))
    return snapshot(join(dir, 'dist'))
  }

  async function snapshot(root: string): Promise<Map<string, Buffer>> {
    const files = new Map<string, Buffer>()
    const walk = async (sub: string): Promise<void> => {
      for (const entry of await readdir(join(root, sub), { withFileTypes: true })) {
        const rel = sub === '' ? entry.name : `${sub}/${entry.name}`
        if (entry.isDirectory()) await walk(rel)
        else files.set(rel, await readFile(join(root, rel)))
      }
    }
    await walk('')
    return new Map([...files].sort(([a], [b]) => (a < b ? -1 : 1)))
  }

  const sha8 = (b: Buffer): string => createHash('sha256').update(b).digest('hex').slice(0, 8)

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'revive-demo-frontend-'))
    temps.push(dir)
    await cp(DEMO_FRONTEND, dir, {
      recursive: true,
      filter: src => !/[\\/](dist|node_modules)$/.test(src)
    })
  })

  it('builds offline twice with byte-identical output and content-hashed names', async () => {
    const first = await build({ VITE_API_URL: API })
    const second = await build({ VITE_API_URL: API })
    expect([...second.keys()]).toEqual([...first.keys()])
    for (const [path, content] of first) expect(second.get(path)?.equals(content)).toBe(true)

    const names = [...first.keys()]
    expect(names).toContain('index.html')
    expect(names.filter(n => /^app\.[0-9a-f]{8}\.js$/.test(n))).toHaveLength(1)
    expect(names.filter(n => /^style\.[0-9a-f]{8}\.css$/.test(n))).toHaveLength(1)
    expect(names.filter(n => /^assets\/[\w-]+\.[0-9a-f]{8}\.svg$/.test(n)).length).toBeGreaterThan(
      1
    )
    for (const name of names) {
      const hashed = /\.([0-9a-f]{8})\.[a-z]+$/.exec(name)
      if (hashed) expect(hashed[1]).toBe(sha8(first.get(name) as Buffer))
      else expect(['index.html', 'robots.txt']).toContain(name)
    }

    // index.html refers to exactly the emitted files, and carries the API URL, escaped.
    const html = (first.get('index.html') as Buffer).toString('utf8')
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map(m => m[1] as string)
    expect(refs.length).toBeGreaterThan(2)
    for (const ref of refs) expect(names).toContain(ref)
    expect(html).toContain('app.')
    expect(html).toContain(
      '<meta name="api-url" content="https://api.example.test/v1?stage=a&amp;b=&quot;c&quot;" />'
    )
    expect(html).not.toMatch(/%VITE_/)
    // The stylesheet's asset references were rewritten too.
    const css = [...first].find(([n]) => n.startsWith('style.'))?.[1].toString('utf8') ?? ''
    for (const m of css.matchAll(/url\('([^']+)'\)/g)) expect(names).toContain(m[1])
  })

  it('another API URL changes index.html only; a source change renames only its file', async () => {
    const base = await build({ VITE_API_URL: API })
    const other = await build({ VITE_API_URL: 'https://other.example.test' })
    const differing = [...base.keys()].filter(k => !other.get(k)?.equals(base.get(k) as Buffer))
    expect(differing).toEqual(['index.html'])
    expect([...other.keys()]).toEqual([...base.keys()])

    const app = join(dir, 'src', 'app.js')
    await writeFile(app, (await readFile(app, 'utf8')) + '\n// changed\n')
    const changed = await build({ VITE_API_URL: API })
    const oldApp = [...base.keys()].find(n => n.startsWith('app.'))
    const newApp = [...changed.keys()].find(n => n.startsWith('app.'))
    expect(newApp).toMatch(/^app\.[0-9a-f]{8}\.js$/)
    expect(newApp).not.toBe(oldApp)
    expect(changed.has(oldApp as string)).toBe(false)
    const same = [...changed.keys()].filter(n => n !== newApp && n !== 'index.html')
    for (const n of same) expect(changed.get(n)?.equals(base.get(n) as Buffer)).toBe(true)
  })
})
