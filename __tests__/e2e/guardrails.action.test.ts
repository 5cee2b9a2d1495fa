import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readProtectedLine } from '../../src/terraform/protect'
import {
  explain,
  GITHUB_BOT,
  GITHUB_REPO,
  makeWorkspace,
  pullRequestEvent,
  pushEvent,
  startTestbed,
  type Testbed
} from '../helpers/testbed'

// Protected resources through the bundled action, the real Terraform binary and the GitHub stand-in.
// The app stack's terraform_data.api is replaced when api_revision changes (triggers_replace); it
// plays the DynamoDB table (protect names it, as `stateful` names aws_dynamodb_table).
const REPO = GITHUB_REPO
const BOT = GITHUB_BOT
const bucket = 'shop-terraform-state-123456789012'
const PROTECT = { protect: 'terraform_data.api' }
const REPLACE_API = { variables: 'api_revision=2' }

const pullRequest = pullRequestEvent
const push = pushEvent

describe('protected resources', () => {
  let bed: Testbed
  beforeAll(async () => {
    bed = await startTestbed('eu-west-1')
  })
  afterAll(async () => bed.stop())

  const comment = (pr: number): string =>
    bed.standins.github.comments(REPO, pr).find(c => c.user.login === BOT)?.body ?? ''
  /** The api resource's replacement trigger in the state ("1" until a replace is applied). */
  const apiRevision = async (key: string): Promise<unknown> => {
    const state = (await bed.state(bucket, key)) as unknown as {
      resources: Array<{
        name: string
        instances: Array<{ attributes: { triggers_replace?: { value?: unknown } } }>
      }>
    }
    return state.resources.find(r => r.name === 'api')?.instances[0]?.attributes.triggers_replace
      ?.value
  }

  it('a PR plan flags the replacement first; the merge deploy refuses it, nothing applied; the label allows it', async () => {
    const key = 'guard/terraform.tfstate'
    const workspace = makeWorkspace('app')
    const base = { 'state-key': key, ...PROTECT }
    const first = await bed.run(workspace, { ...base, mode: 'apply' })
    expect([first.exitCode, explain(first)]).toEqual([0, explain(first)])
    expect(first.outputs.protected).toBe('[]')

    // Pull request #31, no label: the plan's comment names the protected replacement first.
    const mergeA = '3131313131313131313131313131313131313131'
    bed.standins.github.addPullRequest(REPO, { number: 31, headSha: 'head31' })
    const plan = await bed.run(workspace, { ...base, ...REPLACE_API }, pullRequest(31))
    expect([plan.exitCode, explain(plan)]).toEqual([0, explain(plan)])
    expect(plan.outputs.protected).toBe('["terraform_data.api"]')
    expect(plan.outputs.allowed).toBe('[]')
    const body = comment(31)
    const firstSection = body.split('\n#### ')[0] ?? ''
    expect(firstSection).toMatch(
      /\*\*Protected resources:\*\* this plan deletes or replaces 1 protected resource/
    )
    expect(firstSection).toMatch(
      /\| `terraform_data\.api` \| replace \| triggers\\?_replace forces replacement \| no \|/
    )
    expect(plan.log).toMatch(
      /::warning::This plan deletes or replaces protected resources: terraform_data\.api \(replace/
    )
    expect(readProtectedLine(body)).toEqual(new Set(['terraform_data.api replace']))

    bed.standins.github.addPullRequest(REPO, {
      number: 31,
      headSha: 'head31',
      merged: true,
      mergeCommitSha: mergeA
    })
    const refused = await bed.run(
      workspace,
      { ...base, ...REPLACE_API, mode: 'apply' },
      push(mergeA)
    )
    expect(refused.exitCode).toBe(1)
    expect(refused.errors).toHaveLength(1)
    expect(refused.errors[0]).toMatch(
      /Protected resources would be deleted or replaced: terraform_data\.api \(replace: triggers_replace forces replacement\); nothing was applied/
    )
    expect(refused.errors[0]).toContain("add the label 'allow-destroy' to the pull request")
    expect(refused.log).not.toMatch(/terraform apply/)
    expect(await apiRevision(key)).toEqual(['1'])

    // Pull request #32 carries the label: its merge deploy applies what its plan showed.
    const mergeB = '3232323232323232323232323232323232323232'
    bed.standins.github.addPullRequest(REPO, {
      number: 32,
      headSha: 'head32',
      labels: ['allow-destroy']
    })
    expect((await bed.run(workspace, { ...base, ...REPLACE_API }, pullRequest(32))).exitCode).toBe(
      0
    )
    bed.standins.github.addPullRequest(REPO, {
      number: 32,
      headSha: 'head32',
      merged: true,
      mergeCommitSha: mergeB,
      labels: ['allow-destroy']
    })
    const allowed = await bed.run(
      workspace,
      { ...base, ...REPLACE_API, mode: 'apply' },
      push(mergeB)
    )
    expect([allowed.exitCode, explain(allowed)]).toEqual([0, explain(allowed)])
    expect(allowed.outputs.protected).toBe('["terraform_data.api"]')
    expect(allowed.outputs.allowed).toBe('["terraform_data.api"]')
    expect(allowed.log).toMatch(
      /allowed in this run: terraform_data\.api \(replace.*\) by label 'allow-destroy' on #32/
    )
    expect(await apiRevision(key)).toEqual(['2'])
  })

  it('a label does not allow what the pull request plan did not show', async () => {
    const key = 'guard-unshown/terraform.tfstate'
    const workspace = makeWorkspace('app')
    const base = { 'state-key': key, ...PROTECT }
    expect((await bed.run(workspace, { ...base, mode: 'apply' })).exitCode).toBe(0)
    // The labelled pull request's plan replaced nothing protected; the merge's plan does.
    const merge = '3333333333333333333333333333333333333333'
    bed.standins.github.addPullRequest(REPO, {
      number: 33,
      headSha: 'head33',
      labels: ['allow-destroy']
    })
    expect((await bed.run(workspace, base, pullRequest(33))).exitCode).toBe(0)
    bed.standins.github.addPullRequest(REPO, {
      number: 33,
      merged: true,
      mergeCommitSha: merge,
      labels: ['allow-destroy']
    })
    const run = await bed.run(workspace, { ...base, ...REPLACE_API, mode: 'apply' }, push(merge))
    expect(run.exitCode).toBe(1)
    expect(run.errors[0]).toMatch(
      /Protected resources would be deleted or replaced: terraform_data\.api/
    )
    expect(await apiRevision(key)).toEqual(['1'])
  })

  it('allow-destroy matching, or protect: none, applies; deleting an unprotected resource is not blocked', async () => {
    const key = 'guard-inputs/terraform.tfstate'
    const workspace = makeWorkspace('app')
    const base = { 'state-key': key, ...PROTECT, mode: 'apply' }
    expect((await bed.run(workspace, base)).exitCode).toBe(0)

    const byInput = await bed.run(workspace, {
      ...base,
      ...REPLACE_API,
      'allow-destroy': 'terraform_data.api'
    })
    expect([byInput.exitCode, explain(byInput)]).toEqual([0, explain(byInput)])
    expect(byInput.outputs.allowed).toBe('["terraform_data.api"]')
    expect(await apiRevision(key)).toEqual(['2'])

    const unprotected = await bed.run(workspace, {
      ...base,
      protect: 'none',
      variables: 'api_revision=3'
    })
    expect([unprotected.exitCode, explain(unprotected)]).toEqual([0, explain(unprotected)])
    expect(unprotected.outputs.protected).toBe('[]')
    expect(await apiRevision(key)).toEqual(['3'])

    // Dropping a function deletes terraform_data.function["users"]: not protected, applied.
    const deleted = await bed.run(workspace, {
      ...base,
      variables: 'api_revision=3\nfunctions=["orders","payments"]'
    })
    expect([deleted.exitCode, explain(deleted)]).toEqual([0, explain(deleted)])
    expect(deleted.outputs['to-destroy']).toBe('1')
    expect(deleted.outputs.protected).toBe('[]')
  })
})
