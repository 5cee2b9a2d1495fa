import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { readFingerprint } from '../../src/terraform/fingerprint'
import {
  explain,
  instanceCount,
  makeWorkspace,
  startTestbed,
  type Testbed,
  GITHUB_BOT,
  GITHUB_REPO,
  GITHUB_WRITE_TOKEN,
  pullRequestEvent,
  pushEvent
} from '../helpers/testbed'

// "Apply only what was reviewed" through the bundled action, the real Terraform binary and the
// GitHub stand-in.
const REPO = GITHUB_REPO
const BOT = GITHUB_BOT
const bucket = 'shop-terraform-state-123456789012'

const pullRequest = pullRequestEvent
const push = pushEvent
const TOKEN = GITHUB_WRITE_TOKEN

describe('require-reviewed-plan', () => {
  let bed: Testbed
  beforeAll(async () => {
    bed = await startTestbed('eu-west-1')
  })
  afterAll(async () => bed.stop())
  const comment = (pr: number) =>
    bed.standins.github.comments(REPO, pr).find(c => c.user.login === BOT)

  it('applies a merge whose plan matches the reviewed one, and marks the comment applied', async () => {
    const sha = '1111111111111111111111111111111111111111'
    const pr = bed.standins.github.addPullRequest(REPO, {
      number: 21,
      headSha: 'head21',
      merged: true,
      mergeCommitSha: sha
    }).number
    const workspace = makeWorkspace('app')
    const inputs = { 'state-key': 'match/terraform.tfstate' }
    const plan = await bed.run(workspace, inputs, pullRequest(pr))
    expect([plan.exitCode, explain(plan)]).toEqual([0, explain(plan)])
    const reviewed = readFingerprint(comment(pr)?.body ?? '')
    expect(reviewed?.digest).toMatch(/^[0-9a-f]{64}$/)

    // Planning the same change again gives the same fingerprint.
    await bed.run(workspace, inputs, pullRequest(pr))
    expect(readFingerprint(comment(pr)?.body ?? '')?.digest).toBe(reviewed?.digest)

    const apply = await bed.run(
      workspace,
      { ...inputs, mode: 'apply', 'require-reviewed-plan': 'true' },
      push(sha)
    )
    expect([apply.exitCode, explain(apply)]).toEqual([0, explain(apply)])
    expect(instanceCount(await bed.state(bucket, 'match/terraform.tfstate'))).toBe(6)
    const body = comment(pr)?.body ?? ''
    expect(body).toMatch(/Applied after merge/)
    expect(body).toMatch(/\*\*Apply: succeeded\*\*/)
    expect(body).toMatch(/`api_url` \| `"https:\/\/api\.example\.test\/1\.0\.0"`/)
    expect(body).toMatch(/`api_key` \| \(sensitive\)/)
    expect(body).not.toContain('demo-api-key-value-123')
    expect(bed.standins.github.comments(REPO, pr).filter(c => c.user.login === BOT)).toHaveLength(1)
  })

  it('refuses a merge whose plan changed after review, naming the difference, and says so on the PR', async () => {
    const sha = '2222222222222222222222222222222222222222'
    const pr = bed.standins.github.addPullRequest(REPO, {
      number: 22,
      headSha: 'head22',
      merged: true,
      mergeCommitSha: sha
    }).number
    const workspace = makeWorkspace('app')
    const inputs = { 'state-key': 'changed/terraform.tfstate' }
    expect((await bed.run(workspace, { ...inputs, mode: 'apply' })).exitCode).toBe(0)

    const plan = await bed.run(
      workspace,
      { ...inputs, variables: 'app_version=2.0.0' },
      pullRequest(pr)
    )
    expect(plan.exitCode).toBe(0)
    expect(plan.outputs['to-change']).toBe('3')
    const state = await bed.state(bucket, 'changed/terraform.tfstate')

    // Another change reached main in between: the same resources would get other values.
    const apply = await bed.run(
      workspace,
      { ...inputs, mode: 'apply', 'require-reviewed-plan': 'true', variables: 'app_version=3.0.0' },
      push(sha)
    )
    expect(apply.exitCode).toBe(1)
    const message = apply.errors.at(-1) ?? ''
    expect(message).toMatch(/plan changed after review of pull request #22/)
    expect(message).toMatch(
      /planned with other values than reviewed: .*resource terraform_data\.function\["orders"\] update/
    )
    expect(message).toContain('output api_url update')
    expect(message).toMatch(/Nothing was applied/)
    expect((await bed.state(bucket, 'changed/terraform.tfstate'))?.serial).toBe(state?.serial)
    expect(comment(pr)?.body).toMatch(/Plan changed after review/)

    // An extra resource is named as planned now but not reviewed.
    const added = await bed.run(
      workspace,
      {
        ...inputs,
        mode: 'apply',
        'require-reviewed-plan': 'true',
        variables: 'app_version=2.0.0\nfunctions=["orders","payments","users","search"]'
      },
      push(sha)
    )
    expect(added.exitCode).toBe(1)
    expect(added.errors.at(-1)).toMatch(
      /planned now but not reviewed: .*resource terraform_data\.function\["search"\] create/
    )
  })

  it('reformatting the Terraform code keeps the fingerprint', async () => {
    const pr = bed.standins.github.addPullRequest(REPO, { number: 23 }).number
    const workspace = makeWorkspace('app')
    const inputs = { 'state-key': 'format/terraform.tfstate' }
    expect((await bed.run(workspace, inputs, pullRequest(pr))).exitCode).toBe(0)
    const before = readFingerprint(comment(pr)?.body ?? '')

    // Same configuration, other layout: blocks reordered, split into files, other spacing and comments.
    const main = path.join(workspace, 'terraform', 'main.tf')
    const text = fs.readFileSync(main, 'utf8')
    const blocks = text.split(/\n(?=(?:resource|output|variable|terraform) )/)
    fs.writeFileSync(
      main,
      blocks.slice().reverse().join('\n\n# reordered\n\n').replace(/ = /g, '   =   ')
    )
    const run = await bed.run(workspace, inputs, pullRequest(pr))
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(readFingerprint(comment(pr)?.body ?? '')?.digest).toBe(before?.digest)
  })

  it('fails clearly when no pull request is associated with the commit', async () => {
    const workspace = makeWorkspace('app')
    const run = await bed.run(
      workspace,
      { 'state-key': 'dispatch/terraform.tfstate', mode: 'apply', 'require-reviewed-plan': 'true' },
      {
        event: { name: 'workflow_dispatch', payload: {} },
        env: { GITHUB_TOKEN: TOKEN, GITHUB_SHA: '3333333333333333333333333333333333333333' }
      }
    )
    expect(run.exitCode).toBe(1)
    expect(run.errors.at(-1)).toMatch(
      /commit 3333333 is not the merge commit of a merged pull request.*workflow_dispatch.*require-reviewed-plan: false/
    )
    expect(await bed.state(bucket, 'dispatch/terraform.tfstate')).toBeUndefined()
  })

  it('workflow_dispatch without the requirement applies as usual', async () => {
    const run = await bed.run(
      makeWorkspace('app'),
      { 'state-key': 'dispatch2/terraform.tfstate', mode: 'apply' },
      {
        event: { name: 'workflow_dispatch', payload: {} },
        env: { GITHUB_SHA: '4444444444444444444444444444444444444444' }
      }
    )
    expect(run.exitCode).toBe(0)
    expect(instanceCount(await bed.state(bucket, 'dispatch2/terraform.tfstate'))).toBe(6)
  })
})

const TOKEN_KINDS: Array<[string, string, string, 'Bot' | 'User']> = [
  ['a GitHub App installation token', 'ghs_app_installation_token', 'deploy-helper[bot]', 'Bot'],
  ['a personal access token', 'ghp_personal_token', 'maintainer', 'User']
]

describe.each(TOKEN_KINDS)('comments and reviewed plans with %s', (_what, token, login, type) => {
  let bed: Testbed
  beforeAll(async () => {
    bed = await startTestbed('eu-west-1')
    bed.standins.github.addToken(token, login, 'write', type)
  })
  afterAll(async () => bed.stop())

  it('two PR plans leave one comment, and the merge finds the reviewed plan', async () => {
    const sha = '5555555555555555555555555555555555555555'
    const pr = bed.standins.github.addPullRequest(REPO, {
      number: 41,
      headSha: 'head41',
      merged: true,
      mergeCommitSha: sha
    }).number
    const workspace = makeWorkspace('app')
    const env = { GITHUB_TOKEN: token }
    const event = {
      name: 'pull_request',
      payload: { pull_request: { number: pr, head: { sha: 'head41' } } }
    }
    for (let i = 0; i < 2; i++) {
      const plan = await bed.run(workspace, {}, { event, env })
      expect([plan.exitCode, explain(plan)]).toEqual([0, explain(plan)])
    }
    const ours = bed.standins.github.comments(REPO, pr).filter(c => c.user.login === login)
    expect(ours).toHaveLength(1)
    expect(bed.standins.github.comments(REPO, pr)).toHaveLength(1)

    const apply = await bed.run(
      workspace,
      { mode: 'apply', 'require-reviewed-plan': 'true' },
      { event: { name: 'push', payload: { after: sha } }, env: { ...env, GITHUB_SHA: sha } }
    )
    expect([apply.exitCode, explain(apply)]).toEqual([0, explain(apply)])
    expect(instanceCount(await bed.state(bucket))).toBe(6)
    expect(bed.standins.github.comments(REPO, pr)[0]?.body).toMatch(/Applied after merge/)
  })
})
