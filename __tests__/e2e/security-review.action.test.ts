import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { runnerCommands, type RunActionOptions } from '../../standins/run-action'
import { readFingerprint } from '../../src/terraform/fingerprint'
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand
} from '@aws-sdk/client-s3'
import { PutItemCommand } from '@aws-sdk/client-dynamodb'
import { expectInert, shownText } from '../helpers/markdown'
import { decodeS3Url } from '../../src/frontend/s3-sync'
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

// The second security review (issue 14): each defect it found, through the bundled action.

const STATE_BUCKET = 'shop-terraform-state-123456789012'
const SITE_BUCKET = APP_SITE.bucket

describe('the frontend sync deletes only what it uploaded', () => {
  let bed: Testbed
  beforeAll(async () => {
    bed = await startSiteTestbed()
  })
  afterAll(async () => bed.stop())

  // Listed URL-encoded, so that keys with characters XML cannot carry come back as they are.
  const keys = async (bucket: string): Promise<string[]> =>
    (
      (await bed.s3().send(new ListObjectsV2Command({ Bucket: bucket, EncodingType: 'url' })))
        .Contents ?? []
    )
      .map(o => decodeS3Url(o.Key ?? ''))
      .sort()

  const stateText = async (): Promise<string> => {
    const state = await bed
      .s3()
      .send(new GetObjectCommand({ Bucket: STATE_BUCKET, Key: 'production/terraform.tfstate' }))
    return (await state.Body?.transformToString()) ?? ''
  }

  it("keeps access logs, another team's files and state-like keys, and reports them", async () => {
    const workspace = makeWorkspace('app')
    writeSite(workspace, SMALL_SITE)
    const first = await bed.run(workspace, { mode: 'deploy', ...COPY_BUILD })
    expect([first.exitCode, explain(first)]).toEqual([0, explain(first)])
    const s3 = bed.s3()
    const foreign = {
      'logs/E2EXAMPLE.2026-12-04-10.abcd.gz': 'cloudfront access log',
      'reports/q4.pdf': "another team's file",
      'backup/terraform.tfstate': '{"version":4}'
    }
    for (const [Key, Body] of Object.entries(foreign)) {
      await s3.send(new PutObjectCommand({ Bucket: SITE_BUCKET, Key, Body }))
    }
    // A state-like key the action uploaded once (it carries the action's metadata) is kept too.
    const withState = { ...SMALL_SITE, 'old/app.tfstate.backup': '{}' }
    writeSite(workspace, withState)
    expect((await bed.run(workspace, { mode: 'deploy', ...COPY_BUILD })).exitCode).toBe(0)

    // The next build drops about/ and the state-like file.
    const { 'about/index.html': _about, ...smaller } = SMALL_SITE
    writeSite(workspace, smaller, { clean: true })
    const run = await bed.run(workspace, { mode: 'deploy', ...COPY_BUILD })
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(run.outputs.deleted).toBe('1')
    expect(await keys(SITE_BUCKET)).toEqual(
      [...Object.keys(foreign), ...Object.keys(smaller), 'old/app.tfstate.backup'].sort()
    )
    expect(run.log).toMatch(
      /::notice::Kept 4 objects under s3:\/\/app-site\/ not uploaded by revive-deploy \(or named like Terraform state\): backup\/terraform.tfstate logs\/E2EXAMPLE.2026-12-04-10.abcd.gz old\/app.tfstate.backup reports\/q4.pdf/
    )
    expect(run.summary).toMatch(/\| Kept \(not uploaded by revive-deploy\) \| 4 \|/)
  })

  it('a file name with a carriage return or a plus is in sync after one deploy', async () => {
    const workspace = makeWorkspace('app')
    const names = ['odd\rname.txt', 'a+b c.txt', 'ünï\u0001code.txt']
    writeSite(workspace, { ...SMALL_SITE, ...Object.fromEntries(names.map(n => [n, n])) })
    const first = await bed.run(workspace, { mode: 'deploy', ...COPY_BUILD })
    expect([first.exitCode, explain(first)]).toEqual([0, explain(first)])
    const again = await bed.run(workspace, { mode: 'deploy', ...COPY_BUILD })
    expect([again.exitCode, explain(again)]).toEqual([0, explain(again)])
    expect([again.outputs.uploaded, again.outputs.deleted]).toEqual(['0', '0'])
    expect(again.outputs['invalidation-id'] ?? '').toBe('')
    for (const name of names) expect(await keys(SITE_BUCKET)).toContain(name)
  })

  it('refuses to sync into the state bucket, before building or uploading anything', async () => {
    const workspace = makeWorkspace('app')
    writeSite(workspace, SMALL_SITE)
    const first = await bed.run(workspace, { mode: 'apply' })
    expect([first.exitCode, explain(first)]).toEqual([0, explain(first)])
    const before = await keys(STATE_BUCKET)
    expect(before).toContain('production/terraform.tfstate')
    const stateBefore = await stateText()

    const run = await bed.run(workspace, {
      mode: 'frontend',
      ...COPY_BUILD,
      'site-bucket': STATE_BUCKET
    })
    expect(run.exitCode).toBe(1)
    expect(run.errors).toEqual([
      expect.stringMatching(
        /^The site bucket shop-terraform-state-123456789012 \(site-bucket input\) is the Terraform state bucket: refusing to sync a site into it .*nothing was built, uploaded or deleted\.$/
      )
    ])
    expect(await keys(STATE_BUCKET)).toEqual(before)
    expect(await stateText()).toBe(stateBefore)
    expect(JSON.parse(stateBefore).resources.length).toBeGreaterThan(0)
    expect(run.log).not.toMatch(/Uploading|Build finished/)
  })
})

describe('the reviewed-plan fingerprint and the pull request it came from', () => {
  const REPO = 'acme/shop'
  const BOT = 'github-actions[bot]'
  const TOKEN = 'ghs_standin_write'
  let bed: Testbed
  beforeAll(async () => {
    bed = await startSiteTestbed()
  })
  afterAll(async () => bed.stop())
  const prEvent = (number: number, head: string): Partial<RunActionOptions> => ({
    event: { name: 'pull_request', payload: { pull_request: { number, head: { sha: head } } } },
    env: { GITHUB_TOKEN: TOKEN, GITHUB_SHA: head }
  })
  const ours = (pr: number) =>
    bed.standins.github.comments(REPO, pr).find(c => c.user.login === BOT)

  it('a short secret cannot be found from the comment with a dictionary', async () => {
    const secret = 'hunter2!'
    const pr = bed.standins.github.addPullRequest(REPO, { number: 61, headSha: 'head61' }).number
    const workspace = makeWorkspace('app')
    const run = await bed.run(
      workspace,
      { 'state-key': 'dict/terraform.tfstate', variables: `api_key=${secret}` },
      prEvent(pr, 'head61')
    )
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    const fingerprint = readFingerprint(ours(pr)?.body ?? '')
    const shown = fingerprint?.entries?.['output api_key create']
    expect(shown).toMatch(/^[0-9a-f]{12}$/)
    // What an attacker who reads the pull request can compute for each guess: the entry of the
    // sensitive output `api_key = "sk-${var.api_key}"`, hashed as the fingerprint hashes it.
    const sha = (text: string): string => createHash('sha256').update(text).digest('hex')
    const entryHash = (guess: string): string =>
      sha(JSON.stringify(`(sensitive ${sha(JSON.stringify(`sk-${guess}`)).slice(0, 16)})`)).slice(
        0,
        12
      )
    const dictionary = ['password', 'letmein', 'hunter2', secret, 'correct horse', 'sk-hunter2!']
    expect(dictionary.filter(guess => entryHash(guess) === shown)).toEqual([])
    // The key is a private object next to the state, not in the comment.
    const key = await bed.s3().send(
      new GetObjectCommand({
        Bucket: STATE_BUCKET,
        Key: 'dict/terraform.tfstate.revive-deploy-hmac-key'
      })
    )
    const keyText = (await key.Body?.transformToString()) ?? ''
    expect(keyText).toMatch(/^[0-9a-f]{64}$/)
    expect(ours(pr)?.body).not.toContain(keyText)
  })

  it('a workflow_dispatch of an open pull request\'s head is not "reviewed": nothing applied', async () => {
    const head = 'a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0'
    const pr = bed.standins.github.addPullRequest(REPO, { number: 62, headSha: head }).number
    const workspace = makeWorkspace('app')
    const inputs = { 'state-key': 'open/terraform.tfstate' }
    const plan = await bed.run(workspace, inputs, prEvent(pr, head))
    expect([plan.exitCode, explain(plan)]).toEqual([0, explain(plan)])
    const run = await bed.run(
      workspace,
      { ...inputs, mode: 'apply', 'require-reviewed-plan': 'true' },
      {
        event: { name: 'workflow_dispatch', payload: {} },
        env: { GITHUB_TOKEN: TOKEN, GITHUB_SHA: head }
      }
    )
    expect(run.exitCode).toBe(1)
    expect(run.errors.at(-1)).toMatch(
      /require-reviewed-plan: commit a0a0a0a is not the merge commit of a merged pull request.*Nothing was applied\.$/
    )
    expect(await bed.state(STATE_BUCKET, 'open/terraform.tfstate')).toBeUndefined()
  })

  it('a push to the pull request after its last plan: the merge is refused, naming both heads', async () => {
    const planned = 'b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1'
    const final = 'b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2'
    const merge = 'b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3'
    const pr = bed.standins.github.addPullRequest(REPO, {
      number: 63,
      headSha: final,
      merged: true,
      mergeCommitSha: merge
    }).number
    const workspace = makeWorkspace('app')
    const inputs = { 'state-key': 'late/terraform.tfstate' }
    const plan = await bed.run(workspace, inputs, prEvent(pr, planned))
    expect([plan.exitCode, explain(plan)]).toEqual([0, explain(plan)])
    expect(readFingerprint(ours(pr)?.body ?? '')?.head).toBe(planned)
    const run = await bed.run(
      workspace,
      { ...inputs, mode: 'apply', 'require-reviewed-plan': 'true' },
      {
        event: { name: 'push', payload: { after: merge } },
        env: { GITHUB_TOKEN: TOKEN, GITHUB_SHA: merge }
      }
    )
    expect(run.exitCode).toBe(1)
    expect(run.errors.at(-1)).toMatch(
      /the reviewed plan on pull request #63 was made for head b1b1b1b, but the pull request's final head is b2b2b2b \(pushed after the last plan\)\. Nothing was applied\.$/
    )
    expect(await bed.state(STATE_BUCKET, 'late/terraform.tfstate')).toBeUndefined()
    expect(shownText(ours(pr)?.body ?? '')).toMatch(
      /Not applied: the plan shown here was made for b1b1b1b/
    )
  })
})

describe('text from outside the action renders inert in every section', () => {
  const REPO = 'acme/shop'
  const BOT = 'github-actions[bot]'
  const TOKEN = 'ghs_standin_write'
  const HOSTILE =
    '@octocat <img src=x onerror=alert(1)> [click](https://evil.example/x) </details> #1'
  let bed: Testbed
  beforeAll(async () => {
    bed = await startSiteTestbed()
  })
  afterAll(async () => bed.stop())
  const ours = (pr: number) =>
    bed.standins.github.comments(REPO, pr).find(c => c.user.login === BOT)
  // The links the action writes itself: the run, the commit.
  const OWN_LINKS = ['https://github.com/acme/shop/']

  it('a refusal that names hostile addresses, the plan, the actor: comment and summary inert', async () => {
    const merge = 'c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3'
    const pr = bed.standins.github.addPullRequest(REPO, {
      number: 71,
      headSha: 'head71',
      merged: true,
      mergeCommitSha: merge
    }).number
    const workspace = makeWorkspace('hostile')
    const inputs = { 'state-key': 'hostile-review/terraform.tfstate' }
    const env = { GITHUB_TOKEN: TOKEN, GITHUB_ACTOR: HOSTILE }
    const plan = await bed.run(workspace, inputs, {
      event: {
        name: 'pull_request',
        payload: { pull_request: { number: pr, head: { sha: 'head71' } } }
      },
      env: { ...env, GITHUB_SHA: 'head71' }
    })
    expect([plan.exitCode, explain(plan)]).toEqual([0, explain(plan)])
    expectInert(ours(pr)?.body ?? '', OWN_LINKS)
    expectInert(plan.summary, OWN_LINKS)

    // At merge the inputs of every resource differ: the refusal lists the hostile addresses.
    const run = await bed.run(
      workspace,
      { ...inputs, mode: 'apply', 'require-reviewed-plan': 'true', variables: 'marker=changed' },
      { event: { name: 'push', payload: { after: merge } }, env: { ...env, GITHUB_SHA: merge } }
    )
    expect(run.exitCode).toBe(1)
    const body = ours(pr)?.body ?? ''
    expect(shownText(body)).toMatch(
      /planned with other values than reviewed: .*resource terraform_data\.hostile\["<img src=x onerror=alert\(1\)>"\] create/
    )
    expect(shownText(body)).toContain('resource terraform_data.hostile["@octocat please look"]')
    expectInert(body, OWN_LINKS)
    expectInert(run.summary, OWN_LINKS)
  })

  it("a diagnostic and a lock holder's Who and Info render inert", async () => {
    const workspace = makeWorkspace('hostile')
    const failed = await bed.run(workspace, {
      'state-key': 'hostile-diag/terraform.tfstate',
      variables: 'fail=yes'
    })
    expect(failed.exitCode).toBe(1)
    expect(failed.summary).toContain('@octocat <img src=x onerror=alert(1)>')
    expectInert(failed.summary, OWN_LINKS)

    const key = 'hostile-lock/terraform.tfstate'
    const path = `${STATE_BUCKET}/${key}`
    expect((await bed.run(workspace, { 'state-key': key, mode: 'apply' })).exitCode).toBe(0)
    await bed.dynamodb().send(
      new PutItemCommand({
        TableName: 'shop-terraform-locks',
        Item: {
          LockID: { S: path },
          Info: {
            S: JSON.stringify({
              ID: 'f4c1b0de-0000-4000-8000-00000000cafe',
              Operation: 'OperationTypeApply',
              Info: HOSTILE,
              Who: HOSTILE,
              Version: '1.11.4',
              Created: new Date().toISOString(),
              Path: path
            })
          }
        }
      })
    )
    const locked = await bed.run(workspace, {
      'state-key': key,
      mode: 'apply',
      'lock-timeout': '2s',
      variables: 'marker=changed'
    })
    expect(locked.exitCode).toBe(1)
    expect(locked.summary).toContain('held by @octocat <img src=x')
    expectInert(locked.summary, OWN_LINKS)
  })

  it('hostile file names in the frontend section render inert', async () => {
    const workspace = makeWorkspace('app')
    writeSite(workspace, {
      ...SMALL_SITE,
      '@octocat <img src=x onerror=alert(1)>.html': '<p>x</p>',
      '[click](https:/evil.example/x) #1.txt': 'x'
    })
    const run = await bed.run(workspace, { mode: 'deploy', ...COPY_BUILD })
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(run.summary).toContain('@octocat <img src=x onerror=alert(1)>.html')
    expectInert(run.summary, OWN_LINKS)
  })
})

describe('workflow commands in streamed output', () => {
  let bed: Testbed
  beforeAll(async () => {
    bed = await startSiteTestbed()
  })
  afterAll(async () => bed.stop())

  it('the runner stand-in acts on commands as the runner does (leading spaces, stop-commands)', () => {
    expect(
      runnerCommands(
        [
          '  ::error::one',
          'x ::error::not a command',
          '::stop-commands::t',
          '::error::off',
          '::t::',
          '::add-mask::m'
        ].join('\n')
      )
    ).toEqual({ errors: ['one'], masks: ['m'] })
  })

  it("Terraform's plan text and the build's output issue no command; the action's masks still work", async () => {
    const workspace = makeWorkspace('injection')
    writeSite(workspace, SMALL_SITE)
    const run = await bed.run(workspace, {
      mode: 'deploy',
      'build-command':
        'echo "::stop-commands::build" && echo "::error::injected by the build" && ' +
        COPY_BUILD['build-command']
    })
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    // The lines are in the log, as text.
    expect(run.log).toContain('::error::injected by the plan text')
    expect(run.log).toContain('::error::injected by the build')
    // The runner acted on none of them: no error, and the sensitive output's mask (registered after
    // the plan and the build) took effect.
    expect(run.errors).toEqual([])
    const state = await bed.state(STATE_BUCKET)
    const id = (state?.resources[0]?.instances[0] as { attributes: { id: string } }).attributes.id
    expect(run.masks).toContain(`pw-${id}-correct-horse`)
  })
})

describe('a bucket another account owns gets neither state nor site', () => {
  let bed: Testbed
  beforeAll(async () => {
    bed = await startSiteTestbed()
  })
  afterAll(async () => bed.stop())
  const keys = async (bucket: string): Promise<string[]> =>
    ((await bed.s3().send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map(
      o => o.Key ?? ''
    )

  it('a squatted default state bucket (open to our account by its policy) is refused before init', async () => {
    const squatted = 'squat-terraform-state-123456789012'
    await bed.s3().send(
      new CreateBucketCommand({
        Bucket: squatted,
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' }
      })
    )
    bed.standins.s3.setBucketOwner(squatted, '999999999999')
    // The stand-in lets our credentials in, as the squatter's bucket policy would.
    expect(await keys(squatted)).toEqual([])
    const run = await bed.run(makeWorkspace('app'), { project: 'squat', mode: 'apply' })
    expect(run.exitCode).toBe(1)
    expect(run.errors).toEqual([
      expect.stringMatching(
        /^The S3 bucket name squat-terraform-state-123456789012 is taken by another AWS account .*no state was written\.$/
      )
    ])
    expect(await keys(squatted)).toEqual([])
    expect(run.log).not.toMatch(/terraform init/)
  })

  it('a site bucket owned by another account: nothing uploaded or deleted, one clear error', async () => {
    const workspace = makeWorkspace('app')
    writeSite(workspace, SMALL_SITE)
    bed.standins.s3.setBucketOwner(SITE_BUCKET, '999999999999')
    const run = await bed.run(workspace, { mode: 'deploy', ...COPY_BUILD })
    expect(run.exitCode).toBe(1)
    expect(run.errors.at(-1)).toMatch(
      /s3:\/\/app-site.*AccessDenied.*the bucket app-site belongs to another AWS account than these credentials'/
    )
    expect(await keys(SITE_BUCKET)).toEqual([])
  })
})

describe('backend-config values stay out of the log', () => {
  let bed: Testbed
  beforeAll(async () => {
    bed = await startSiteTestbed()
  })
  afterAll(async () => bed.stop())

  it('the terraform init line names the keys of backend-config, never their values', async () => {
    const run = await bed.run(makeWorkspace('app'), {
      'state-key': 'config/terraform.tfstate',
      'backend-config': `${bed.backendConfig}\nmax_retries=48151623`
    })
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    const init = run.log.split('\n').find(l => l.startsWith('[command]terraform init')) ?? ''
    expect(init).toContain('-backend-config=max_retries=…')
    expect(init).toContain('-backend-config=key=config/terraform.tfstate')
    expect(run.log).not.toContain('48151623')
  })
})
