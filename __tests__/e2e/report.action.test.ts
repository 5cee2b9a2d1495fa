import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { explain, makeWorkspace, startTestbed, type Testbed } from '../helpers/testbed'
import type { RunActionOptions } from '../../standins/run-action'
import { codeBlocks, expectInert, stripCode } from '../helpers/markdown'

// The plan report through the bundled action: the sticky PR comment on the GitHub stand-in and the
// job summary, with the real Terraform binary.
const REPO = 'acme/shop'
const BOT = 'github-actions[bot]'
const WRITE_TOKEN = 'ghs_standin_write'
const READ_TOKEN = 'ghs_standin_read'

function prEvent(number: number, token = WRITE_TOKEN): Partial<RunActionOptions> {
  return {
    event: {
      name: 'pull_request',
      payload: { pull_request: { number, head: { sha: 'a1b2c3d4e5f6' } } }
    },
    env: { GITHUB_TOKEN: token }
  }
}

describe('pull-request comment and job summary', () => {
  let bed: Testbed
  beforeAll(async () => {
    bed = await startTestbed('eu-west-1')
  })
  afterAll(async () => bed.stop())
  const ours = (pr: number) =>
    bed.standins.github.comments(REPO, pr).filter(c => c.user.login === BOT)

  it('keeps one comment per stack, updated in place, found on the second page, others untouched', async () => {
    const pr = bed.standins.github.addPullRequest(REPO, { number: 1 }).number
    for (let i = 0; i < 150; i++)
      bed.standins.github.addComment(REPO, pr, `review remark ${i}`, 'octocat')
    const workspace = makeWorkspace('app')

    const first = await bed.run(workspace, {}, prEvent(pr))
    expect([first.exitCode, explain(first)]).toEqual([0, explain(first)])
    expect(ours(pr)).toHaveLength(1)
    const comment = ours(pr)[0]
    expect(first.outputs['comment-url']).toBe(comment?.html_url)
    expect(comment?.body).toMatch(/6 to add/)
    // as the job log has it, the resources' changed attributes, and the background folded away
    expect(comment?.body).toContain('`Plan: 6 to add, 0 to change, 0 to destroy.`')
    expect(comment?.body).toMatch(/^#### Changes by resource$/m)
    expect(comment?.body).toMatch(
      /^<details><summary><code>[^<]+<\/code> \(create, \d+ attributes?\)<\/summary>$/m
    )
    expect(comment?.body).toContain('<details><summary>State backend and Timings</summary>')
    expect(first.summary).toMatch(/^#### State backend$/m)
    expect(first.summary).not.toContain('<summary>State backend')

    bed.standins.github.clearRequests()
    const second = await bed.run(workspace, { variables: 'app_version=2.0.0' }, prEvent(pr))
    expect(second.exitCode).toBe(0)
    expect(ours(pr)).toHaveLength(1)
    expect(ours(pr)[0]?.id).toBe(comment?.id)
    expect(bed.standins.github.requests.map(r => r.method)).toContain('PATCH')
    // No new comment (the one POST is GraphQL's viewer query for the token's login).
    expect(
      bed.standins.github.requests.some(r => r.method === 'POST' && /\/comments$/.test(r.path))
    ).toBe(false)
    const listPages = bed.standins.github.requests.filter(
      r => r.method === 'GET' && /\/comments$/.test(r.path)
    )
    expect(listPages.length).toBe(2)

    // Another stack (its own state key) on the same PR gets its own comment.
    const other = await bed.run(
      workspace,
      { 'state-key': 'staging/terraform.tfstate' },
      prEvent(pr)
    )
    expect(other.exitCode).toBe(0)
    expect(ours(pr)).toHaveLength(2)

    const people = bed.standins.github.comments(REPO, pr).filter(c => c.user.login === 'octocat')
    expect(people).toHaveLength(150)
    people.forEach((c, i) => expect(c.body).toBe(`review remark ${i}`))
    expect(people.every(c => c.updated_at === c.created_at)).toBe(true)
  })

  it('a 5,000-change plan fits in one comment with the full counts', async () => {
    const pr = bed.standins.github.addPullRequest(REPO, { number: 2 }).number
    const run = await bed.run(
      makeWorkspace('many'),
      { 'state-key': 'many/terraform.tfstate' },
      prEvent(pr)
    )
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(run.outputs['to-add']).toBe('5000')
    const body = ours(pr)[0]?.body ?? ''
    console.log(
      `5,000-change plan: comment of ${body.length} characters; job summary of ${run.summary.length}`
    )
    expect(body.length).toBeGreaterThan(10_000)
    expect(body.length).toBeLessThanOrEqual(65_536)
    expect(body).toMatch(/5,000 to add/)
    expect(body).toMatch(/and [\d,]+ more/)
  })

  it('hostile text from Terraform renders inert, and the next run still finds the comment', async () => {
    const pr = bed.standins.github.addPullRequest(REPO, { number: 3 }).number
    const workspace = makeWorkspace('hostile')
    const inputs = { 'state-key': 'hostile/terraform.tfstate' }
    const first = await bed.run(workspace, inputs, prEvent(pr))
    expect([first.exitCode, explain(first)]).toEqual([0, explain(first)])
    const body = ours(pr)[0]?.body ?? ''
    const [markerLine, fingerprintLine, ...rest] = body.split('\n')
    expect(markerLine).toMatch(/^<!-- revive-deploy:stack=[0-9a-f]{16} -->$/)
    expect(fingerprintLine).toMatch(/^<!-- revive-deploy:reviewed-plan [A-Za-z0-9_-]+ -->$/)
    // Outside code (fenced blocks and code spans, where GitHub shows text literally) nothing may
    // open a comment, a script or close the plan's <details>.
    const outsideCode = stripCode(rest.join('\n'))
    expect(outsideCode).not.toContain('<!--')
    expect(outsideCode).not.toContain('-->')
    expect(outsideCode).not.toMatch(/<script/i)
    expect(outsideCode.match(/<details/g)?.length).toBe(outsideCode.match(/<\/details>/g)?.length)
    expect(body).toContain('<script>alert(1)</script>') // shown, as code

    const second = await bed.run(workspace, inputs, prEvent(pr))
    expect(second.exitCode).toBe(0)
    expect(ours(pr)).toHaveLength(1)
  })

  it('keeps sensitive values out of the comment and the summary', async () => {
    const pr = bed.standins.github.addPullRequest(REPO, { number: 4 }).number
    const secret = 'hunter2-very-secret-key'
    const run = await bed.run(
      makeWorkspace('app'),
      { 'state-key': 'secret/terraform.tfstate', variables: `api_key=${secret}` },
      prEvent(pr)
    )
    expect(run.exitCode).toBe(0)
    expect(ours(pr)[0]?.body).not.toContain(secret)
    expect(run.summary).not.toContain(secret)
    expect(run.summary).toMatch(/6 to add/)
  })

  it('a read-only token (fork PR) is a warning; the summary still has the report', async () => {
    const pr = bed.standins.github.addPullRequest(REPO, { number: 5 }).number
    const run = await bed.run(
      makeWorkspace('app'),
      { 'state-key': 'fork/terraform.tfstate' },
      prEvent(pr, READ_TOKEN)
    )
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(run.stdout).toMatch(/::warning::Could not post the plan to the pull request.*403/)
    expect(run.summary).toMatch(/6 to add/)
    expect(ours(pr)).toHaveLength(0)
    expect(run.outputs['comment-url']).toBeUndefined()
  })

  it('on-change skips a no-change plan but updates an existing comment; never posts nothing', async () => {
    const workspace = makeWorkspace('app')
    const inputs = { 'state-key': 'quiet/terraform.tfstate' }
    const applied = await bed.run(workspace, { ...inputs, mode: 'apply' })
    expect(applied.exitCode).toBe(0)

    const quiet = bed.standins.github.addPullRequest(REPO, { number: 6 }).number
    const skipped = await bed.run(workspace, { ...inputs, comment: 'on-change' }, prEvent(quiet))
    expect(skipped.exitCode).toBe(0)
    expect(skipped.outputs.changes).toBe('false')
    expect(ours(quiet)).toHaveLength(0)

    const changed = await bed.run(
      workspace,
      { ...inputs, comment: 'on-change', variables: 'app_version=9' },
      prEvent(quiet)
    )
    expect(changed.exitCode).toBe(0)
    expect(ours(quiet)).toHaveLength(1)
    const again = await bed.run(workspace, { ...inputs, comment: 'on-change' }, prEvent(quiet))
    expect(again.exitCode).toBe(0)
    expect(ours(quiet)).toHaveLength(1)
    expect(ours(quiet)[0]?.body).toMatch(/No changes now/)

    const silent = bed.standins.github.addPullRequest(REPO, { number: 8 }).number
    bed.standins.github.clearRequests()
    const never = await bed.run(
      workspace,
      { ...inputs, comment: 'never', variables: 'app_version=10' },
      prEvent(silent)
    )
    expect(never.exitCode).toBe(0)
    expect(ours(silent)).toHaveLength(0)
    expect(bed.standins.github.requests).toHaveLength(0)
    expect(never.summary).toMatch(/3 to change/)
  })

  it('a failed plan still updates the comment and the summary with the error', async () => {
    const pr = bed.standins.github.addPullRequest(REPO, { number: 9 }).number
    const workspace = makeWorkspace('app')
    const inputs = { 'state-key': 'broken/terraform.tfstate' }
    const good = await bed.run(workspace, inputs, prEvent(pr))
    expect(good.exitCode).toBe(0)
    const broken = await bed.run(workspace, { ...inputs, variables: 'functions=42' }, prEvent(pr))
    expect(broken.exitCode).toBe(1)
    expect(broken.errors.at(-1)).toMatch(/terraform plan failed/)
    expect(ours(pr)).toHaveLength(1)
    expect(ours(pr)[0]?.body).toMatch(/Plan failed/i)
    expect(ours(pr)[0]?.body).toMatch(/Invalid value for input variable|functions/)
    expect(broken.summary).toMatch(/Plan failed/i)
  })

  it('a syntax error fails init: the comment and the summary show the error, its file and line', async () => {
    const pr = bed.standins.github.addPullRequest(REPO, { number: 11 }).number
    // A pull request whose Terraform does not parse (the <b> and @ would be live markup unescaped).
    const workspace = makeWorkspace('app', {
      'terraform/broken.tf':
        'resource "terraform_data" "broken" {\n  input = "<b>@octocat</b>"\n  oops oops\n}\n'
    })
    const run = await bed.run(workspace, { 'state-key': 'syntax/terraform.tfstate' }, prEvent(pr))
    expect(run.exitCode).toBe(1)
    // The step's error line: the real error and where it is, not init's wrapper.
    expect(run.errors.at(-1)).toBe(
      'terraform init failed in terraform (exit code 1): Invalid block definition (terraform/broken.tf line 3); the Terraform diagnostics are in the log'
    )
    const body = ours(pr)[0]?.body ?? ''
    for (const markdown of [body, run.summary]) {
      expect(markdown).toContain(
        '**Terraform init failed** before a plan was made; nothing was applied. The error:'
      )
      const [block] = codeBlocks(markdown)
      expect(block).toContain('Error: Invalid block definition')
      expect(block).toContain('on broken.tf line 3, in resource "terraform_data" "broken":')
      expect(block).toContain('3:   oops oops')
      expect(markdown).not.toContain('No Terraform plan in this run')
      expectInert(markdown, ['https://github.com/acme/shop'])
    }
  })

  it('with a personal token, finds its own comment through the token user', async () => {
    bed.standins.github.addToken('ghp_personal_deployer', 'deployer', 'write', 'User')
    const pr = bed.standins.github.addPullRequest(REPO, { number: 10 }).number
    const workspace = makeWorkspace('app')
    const options = { ...prEvent(pr, 'ghp_personal_deployer') }
    const inputs = { 'state-key': 'personal/terraform.tfstate' }
    expect((await bed.run(workspace, inputs, options)).exitCode).toBe(0)
    expect(
      (await bed.run(workspace, { ...inputs, variables: 'app_version=3' }, options)).exitCode
    ).toBe(0)
    const mine = bed.standins.github.comments(REPO, pr).filter(c => c.user.login === 'deployer')
    expect(mine).toHaveLength(1)
    expect(mine[0]?.body).toMatch(/3 to change|6 to add/)
  })
})
