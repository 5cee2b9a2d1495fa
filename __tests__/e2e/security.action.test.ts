import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { HeadObjectCommand } from '@aws-sdk/client-s3'
import { iamActions } from '../helpers/iam'
import { repoRoot } from '../../standins/run-action'
import {
  COPY_BUILD,
  explain,
  makeWorkspace,
  SMALL_SITE,
  writeSite,
  type Testbed,
  APP_SITE,
  startSiteTestbed
} from '../helpers/testbed'

const bucket = 'shop-terraform-state-123456789012'
const SITE_BUCKET = APP_SITE.bucket
const TOKEN = 'ghs_standin_write'

/** Every file the hostile inputs would create if a shell ever ran them. */
function pwned(dirs: string[]): string[] {
  return dirs.flatMap(dir =>
    fs.existsSync(dir) ? fs.readdirSync(dir).filter(f => f.startsWith('PWNED')) : []
  )
}

describe('hostile input', () => {
  let bed: Testbed
  beforeAll(async () => {
    bed = await startSiteTestbed()
  })
  afterAll(async () => bed.stop())

  it('shell metacharacters reach Terraform and AWS as literal values and execute nothing', async () => {
    const workspace = makeWorkspace('app')
    writeSite(workspace, SMALL_SITE)
    const version = '$(touch PWNED1); `touch PWNED2` && touch PWNED3 | cat -lock=false'
    const stateKey = 'prod/$(touch PWNED4)/`touch PWNED5`.tfstate'
    const prefix = '$(touch PWNED6)'
    const run = await bed.run(workspace, {
      mode: 'deploy',
      ...COPY_BUILD,
      variables: `app_version=${version}`,
      'state-key': stateKey,
      'site-prefix': prefix,
      'backend-config': `${bed.backendConfig}\nworkspace_key_prefix=$(touch PWNED7)`
    })
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(
      pwned([
        workspace,
        path.join(workspace, 'terraform'),
        path.join(workspace, 'frontend'),
        repoRoot,
        os.tmpdir(),
        process.cwd()
      ])
    ).toEqual([])

    // The literal value is what Terraform stored, as one -var (no extra argument was injected).
    const state = await bed.state(bucket, stateKey)
    const fn = state?.resources.find(r => r.type === 'terraform_data' && r.name === 'function')
    const input = (fn?.instances[0] as { attributes: { input: { value: { version: string } } } })
      .attributes.input
    expect(input.value.version).toBe(version)
    expect(JSON.parse(run.outputs['terraform-outputs'] ?? '{}').api_url).toBe(
      `https://api.example.test/${version}`
    )
    // The state key and the site prefix are literal S3 keys.
    const uploaded = await bed
      .s3()
      .send(new HeadObjectCommand({ Bucket: SITE_BUCKET, Key: `${prefix}/index.html` }))
    expect(uploaded.ContentType).toBe('text/html; charset=utf-8')
  })

  it('backend-config and variables lines cannot add arguments or options', async () => {
    const workspace = makeWorkspace('app')
    const backend = await bed.run(workspace, {
      mode: 'plan',
      'backend-config': `${bed.backendConfig}\n-reconfigure`
    })
    expect(backend.exitCode).toBe(1)
    expect(backend.errors[0]).toMatch(/Input 'backend-config'/)
    const variable = await bed.run(workspace, { mode: 'plan', variables: '-var-file=/etc/passwd' })
    expect(variable.exitCode).toBe(1)
    expect(variable.errors[0]).toMatch(/Input 'variables'/)
    const outside = await bed.run(workspace, {
      mode: 'plan',
      'var-files': '../../../../etc/hostname'
    })
    expect(outside.exitCode).toBe(1)
    expect(outside.errors[0]).toMatch(/Input 'var-files'.*leaves the workspace/)
  })
})

describe('secrets', () => {
  let bed: Testbed
  beforeAll(async () => {
    bed = await startSiteTestbed()
  })
  afterAll(async () => bed.stop())

  it('a sensitive output, a sensitive variable and the GitHub token appear in no log, output, summary or comment', async () => {
    const secretVariable = 'tr0ub4dor-and-3-horses'
    const secretOutput = `sk-${secretVariable}`
    const workspace = makeWorkspace('app')
    writeSite(workspace, SMALL_SITE)
    const pr = bed.standins.github.addPullRequest('acme/shop', { number: 41 }).number
    const planRun = await bed.run(
      workspace,
      { variables: `api_key=${secretVariable}` },
      {
        event: { name: 'pull_request', payload: { pull_request: { number: pr } } },
        env: { GITHUB_TOKEN: TOKEN }
      }
    )
    const deployRun = await bed.run(
      workspace,
      { mode: 'deploy', ...COPY_BUILD, variables: `api_key=${secretVariable}` },
      { env: { GITHUB_TOKEN: TOKEN } }
    )
    for (const run of [planRun, deployRun]) {
      expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
      // The runner consumes ::add-mask:: lines (and masks those values everywhere after); nothing
      // else may carry a secret.
      const log = run.log
        .split('\n')
        .filter(line => !line.startsWith('::add-mask::'))
        .join('\n')
      const places = { log, outputs: JSON.stringify(run.outputs), summary: run.summary }
      for (const [where, text] of Object.entries(places)) {
        for (const secret of [secretVariable, secretOutput, TOKEN]) {
          expect([where, secret, text.includes(secret)]).toEqual([where, secret, false])
        }
      }
      expect(run.stdout).toContain(`::add-mask::${TOKEN}`)
    }
    const comments = bed.standins.github.comments('acme/shop', pr)
    expect(comments).toHaveLength(1)
    for (const secret of [secretVariable, secretOutput, TOKEN])
      expect(comments[0]?.body).not.toContain(secret)
    console.log(
      `secrets scan: 3 secrets x (log, outputs, summary) x 2 runs + the PR comment: none found`
    )
  })
})

describe('IAM permissions', () => {
  const documented = JSON.parse(
    fs.readFileSync(path.join(repoRoot, 'docs', 'iam-permissions.json'), 'utf8')
  ) as Record<string, string[]>

  it.each(['plan', 'apply', 'deploy', 'frontend'])(
    'mode %s uses no AWS call outside the documented list, from an empty account on',
    async mode => {
      const bed = await startSiteTestbed()
      try {
        const workspace = makeWorkspace('app')
        writeSite(workspace, SMALL_SITE)
        if (mode === 'frontend')
          expect((await bed.run(workspace, { mode: 'apply' })).exitCode).toBe(0)
        for (const s of [bed.standins.s3, bed.standins.dynamodb, bed.standins.cloud])
          s.clearRequests()
        // A plan on a pull request: the one that also writes the fingerprint key.
        const pr =
          mode === 'plan'
            ? {
                event: {
                  name: 'pull_request',
                  payload: { pull_request: { number: 5, head: { sha: 'head5' } } }
                }
              }
            : {}
        const run = await bed.run(
          workspace,
          { mode, ...COPY_BUILD, 'wait-for-invalidation': 'true' },
          pr
        )
        if (mode === 'plan') expect(run.log).not.toMatch(/No reviewed-plan fingerprint/)
        expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
        const requests = [
          ...bed.standins.s3.requests,
          ...bed.standins.dynamodb.requests,
          ...bed.standins.cloud.requests
        ].filter(
          r => !r.path.startsWith(`/${SITE_BUCKET}`) || mode === 'deploy' || mode === 'frontend'
        )
        const used = [...new Set(requests.flatMap(iamActions))].sort()
        console.log(`mode ${mode}: ${used.join(', ')}`)
        expect(used.filter(a => !(documented[mode] ?? []).includes(a))).toEqual([])
      } finally {
        await bed.stop()
      }
    },
    240_000
  )
})
