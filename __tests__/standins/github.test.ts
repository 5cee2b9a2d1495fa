import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { getOctokit } from '@actions/github'
import { startGitHubStandIn, type GitHubStandIn } from '../../standins/github'

let gh: GitHubStandIn
const repo = 'acme/shop'
const [owner, name] = ['acme', 'shop']

function octokit(token: string): ReturnType<typeof getOctokit> {
  return getOctokit(token, { baseUrl: gh.url })
}

/** The HTTP status and message of a failed Octokit call. */
async function failure(
  p: Promise<unknown>
): Promise<{ status: number; message: string; data: unknown }> {
  try {
    await p
  } catch (error) {
    const e = error as { status?: number; message: string; response?: { data: unknown } }
    if (typeof e.status === 'number')
      return { status: e.status, message: e.message, data: e.response?.data }
    throw error
  }
  throw new Error('expected the call to fail')
}

beforeAll(async () => {
  gh = await startGitHubStandIn()
  gh.addToken('ghp_maintainer', 'maintainer', 'write', 'User')
  gh.addToken('ghs_app_installation', 'deploy-helper[bot]', 'write', 'Bot')
})

afterAll(async () => {
  await gh.stop()
})

describe('issue comments', () => {
  it('creates, gets and updates a comment in place', async () => {
    const pr = gh.addPullRequest(repo, { title: 'Add checkout' })
    gh.clearRequests()
    const kit = octokit('ghs_standin_write')
    const created = await kit.rest.issues.createComment({
      owner,
      repo: name,
      issue_number: pr.number,
      body: 'plan: 1 to add'
    })
    expect(created.status).toBe(201)
    expect(created.data).toMatchObject({
      body: 'plan: 1 to add',
      user: { login: 'github-actions[bot]', type: 'Bot' },
      html_url: `https://github.com/${repo}/pull/${pr.number}#issuecomment-${created.data.id}`
    })
    expect(created.data.node_id).toMatch(/^IC_/)
    expect(created.data.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)

    const updated = await kit.rest.issues.updateComment({
      owner,
      repo: name,
      comment_id: created.data.id,
      body: 'plan: no changes'
    })
    expect(updated.data.body).toBe('plan: no changes')
    const got = await kit.rest.issues.getComment({ owner, repo: name, comment_id: created.data.id })
    expect(got.data.body).toBe('plan: no changes')
    expect(gh.comments(repo, pr.number).map(c => c.body)).toEqual(['plan: no changes'])
    expect(gh.requests.map(r => r.operation)).toEqual([
      'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
      'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}',
      'GET /repos/{owner}/{repo}/issues/comments/{comment_id}'
    ])
  })

  it('lists every comment through octokit.paginate (30 a page by default, Link headers)', async () => {
    const pr = gh.addPullRequest(repo)
    for (let i = 0; i < 71; i++)
      gh.addComment(repo, pr.number, `comment ${i}`, i % 2 ? 'alice' : 'bob')
    gh.clearRequests()
    const kit = octokit('ghs_standin_read')
    const all = await kit.paginate(kit.rest.issues.listComments, {
      owner,
      repo: name,
      issue_number: pr.number
    })
    expect(all.map(c => c.body)).toEqual(Array.from({ length: 71 }, (_, i) => `comment ${i}`))
    expect(gh.requests.map(r => r.query)).toEqual(['', 'per_page=30&page=2', 'per_page=30&page=3'])

    const first = await kit.rest.issues.listComments({
      owner,
      repo: name,
      issue_number: pr.number,
      per_page: 100
    })
    expect(first.data).toHaveLength(71)
    expect(first.headers.link).toBeUndefined()
    const capped = await kit.rest.issues.listComments({
      owner,
      repo: name,
      issue_number: pr.number,
      per_page: 500
    })
    expect(capped.data).toHaveLength(71)
    const second = await kit.rest.issues.listComments({
      owner,
      repo: name,
      issue_number: pr.number,
      per_page: 25,
      page: 2
    })
    expect(second.data.map(c => c.body)).toEqual(
      Array.from({ length: 25 }, (_, i) => `comment ${i + 25}`)
    )
    expect(second.headers.link).toContain('rel="next"')
    expect(second.headers.link).toContain('page=3>; rel="last"')
    expect(second.headers.link).toContain('page=1>; rel="prev"')
  })

  it("enforces the 65,536-character limit with GitHub's validation error", async () => {
    const pr = gh.addPullRequest(repo)
    const kit = octokit('ghs_standin_write')
    const atLimit = 'x'.repeat(65536)
    await kit.rest.issues.createComment({
      owner,
      repo: name,
      issue_number: pr.number,
      body: atLimit
    })
    const e = await failure(
      kit.rest.issues.createComment({
        owner,
        repo: name,
        issue_number: pr.number,
        body: `${atLimit}y`
      })
    )
    expect(e.status).toBe(422)
    expect(e.data).toMatchObject({
      message: 'Validation Failed',
      errors: [
        {
          resource: 'IssueComment',
          code: 'custom',
          field: 'body',
          message: 'body is too long (maximum is 65536 characters)'
        }
      ]
    })
    // Characters, not UTF-16 units: 65,536 emoji are 131,072 code units and still fit.
    await kit.rest.issues.createComment({
      owner,
      repo: name,
      issue_number: pr.number,
      body: '🚀'.repeat(65536)
    })
    const [c] = gh.comments(repo, pr.number)
    const e2 = await failure(
      kit.rest.issues.updateComment({
        owner,
        repo: name,
        comment_id: c?.id ?? 0,
        body: '🚀'.repeat(65537)
      })
    )
    expect(e2.status).toBe(422)
    expect(gh.comments(repo, pr.number)).toHaveLength(2)
  })

  it('401 without or with an unknown token, 403 when a read-only token writes', async () => {
    const pr = gh.addPullRequest(repo)
    const bad = await failure(
      octokit('ghs_nope').rest.issues.listComments({ owner, repo: name, issue_number: pr.number })
    )
    expect(bad.status).toBe(401)
    expect(bad.message).toContain('Bad credentials')
    const anonymous = await fetch(`${gh.url}/repos/${repo}/issues/${pr.number}/comments`)
    expect(anonymous.status).toBe(401)

    const read = octokit('ghs_standin_read')
    expect(
      (await read.rest.issues.listComments({ owner, repo: name, issue_number: pr.number })).status
    ).toBe(200)
    const denied = await failure(
      read.rest.issues.createComment({ owner, repo: name, issue_number: pr.number, body: 'hi' })
    )
    expect(denied.status).toBe(403)
    expect(denied.message).toContain('Resource not accessible by integration')
    expect(gh.comments(repo, pr.number)).toEqual([])

    // A Bearer token works too, and a personal token posts as its user.
    const bearer = await fetch(`${gh.url}/repos/${repo}/issues/${pr.number}/comments`, {
      method: 'POST',
      headers: { authorization: 'Bearer ghp_maintainer', 'content-type': 'application/json' },
      body: JSON.stringify({ body: 'lgtm' })
    })
    expect(bearer.status).toBe(201)
    expect(gh.comments(repo, pr.number)[0]?.user).toMatchObject({
      login: 'maintainer',
      type: 'User'
    })

    const missing = await failure(
      octokit('ghs_standin_write').rest.issues.listComments({
        owner,
        repo: 'nope',
        issue_number: 1
      })
    )
    expect(missing.status).toBe(404)
  })
})

describe('pull requests', () => {
  it('gets a pull request and finds pull requests of a commit', async () => {
    const merged = gh.addPullRequest(repo, {
      title: 'Ship it',
      merged: true,
      headRef: 'ship-it',
      commits: ['0123456789abcdef0123456789abcdef01234567'],
      labels: ['allow-destroy', 'infra']
    })
    const kit = octokit('ghs_standin_read')
    const got = await kit.rest.pulls.get({ owner, repo: name, pull_number: merged.number })
    expect(got.data).toMatchObject({
      number: merged.number,
      title: 'Ship it',
      merged: true,
      state: 'closed'
    })
    expect(got.data.head.ref).toBe('ship-it')
    expect(got.data.labels.map(l => l.name)).toEqual(['allow-destroy', 'infra'])

    for (const sha of [
      merged.merge_commit_sha ?? '',
      merged.head.sha,
      '0123456789abcdef0123456789abcdef01234567'
    ]) {
      const res = await kit.rest.repos.listPullRequestsAssociatedWithCommit({
        owner,
        repo: name,
        commit_sha: sha
      })
      expect(res.data.map(p => p.number)).toEqual([merged.number])
      expect(res.data[0]?.labels.map(l => l.name)).toEqual(['allow-destroy', 'infra'])
    }
    const none = await kit.rest.repos.listPullRequestsAssociatedWithCommit({
      owner,
      repo: name,
      commit_sha: 'fedcba9876543210fedcba9876543210fedcba98'
    })
    expect(none.data).toEqual([])
    expect(
      (await failure(kit.rest.pulls.get({ owner, repo: name, pull_number: 999 }))).status
    ).toBe(404)
  })
})

describe('fault injection seen by Octokit', () => {
  it("answers a rate limit with GitHub's headers, a 500, and a reset, once each", async () => {
    const pr = gh.addPullRequest(repo)
    const kit = octokit('ghs_standin_write')
    const list = (): Promise<unknown> =>
      kit.rest.issues.listComments({ owner, repo: name, issue_number: pr.number })
    gh.failNext(1, { operation: /comments$/, method: 'GET' }, 'throttle')
    const limited = await failure(list())
    expect(limited.status).toBe(403)
    expect(limited.message).toContain('API rate limit exceeded')
    const last = gh.requests.at(-1)
    expect(last?.fault).toBe('throttle')
    const raw = await (async () => {
      gh.failNext(1, {}, 'throttle')
      return fetch(`${gh.url}/repos/${repo}/pulls/${pr.number}`, {
        headers: { authorization: 'token ghs_standin_write' }
      })
    })()
    expect(raw.headers.get('x-ratelimit-remaining')).toBe('0')
    expect(Number(raw.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000)

    gh.failNext(1, {}, '5xx')
    expect((await failure(list())).status).toBe(500)
    gh.failNext(1, {}, 'reset')
    await expect(list()).rejects.toThrow()
    // Afterwards the same call works again.
    expect(await list()).toMatchObject({ status: 200 })
  })
})

describe('who a token is', () => {
  it('GraphQL viewer { login } answers for GITHUB_TOKEN, an App installation token and a personal token; GET /user only for the personal one', async () => {
    const viewer = async (token: string): Promise<unknown> =>
      (await octokit(token).graphql<{ viewer: { login: string } }>('query { viewer { login } }'))
        .viewer.login
    expect(await viewer('ghs_standin_write')).toBe('github-actions[bot]')
    expect(await viewer('ghs_app_installation')).toBe('deploy-helper[bot]')
    expect(await viewer('ghp_maintainer')).toBe('maintainer')

    const app = await failure(octokit('ghs_app_installation').rest.users.getAuthenticated())
    expect([app.status, app.message]).toEqual([
      403,
      expect.stringContaining('Resource not accessible by integration')
    ])
    expect((await octokit('ghp_maintainer').rest.users.getAuthenticated()).data.login).toBe(
      'maintainer'
    )
    // Without a valid token GraphQL answers 401 like REST.
    expect(
      (await failure(octokit('ghs_unknown').graphql('query { viewer { login } }'))).status
    ).toBe(401)
  })

  it("an App token's comment is by its bot", async () => {
    const pr = gh.addPullRequest(repo, { title: 'App comment' })
    const { data } = await octokit('ghs_app_installation').rest.issues.createComment({
      owner,
      repo: name,
      issue_number: pr.number,
      body: 'hello'
    })
    expect(data.user?.login).toBe('deploy-helper[bot]')
    expect(data.user?.type).toBe('Bot')
  })
})

describe('issues', () => {
  const issuesRepo = 'acme/issues'
  const at = { owner: 'acme', repo: 'issues' }

  it('creates, gets, lists (open, closed, by creator), updates and closes an issue', async () => {
    gh.addRepository(issuesRepo)
    const kit = octokit('ghs_standin_write')
    const created = await kit.rest.issues.create({ ...at, title: 'Drift', body: 'two changes' })
    expect(created.status).toBe(201)
    expect(created.data).toMatchObject({
      number: 1,
      title: 'Drift',
      body: 'two changes',
      state: 'open',
      user: { login: 'github-actions[bot]', type: 'Bot' },
      html_url: `https://github.com/${issuesRepo}/issues/1`,
      closed_at: null
    })
    expect(created.data.node_id).toMatch(/^I_/)
    // Someone else's issue and a pull request share the numbering.
    await octokit('ghp_maintainer').rest.issues.create({ ...at, title: 'A bug' })
    const pr = gh.addPullRequest(issuesRepo, { title: 'A change' })
    expect(pr.number).toBe(3)

    const open = await kit.rest.issues.listForRepo({ ...at, state: 'open' })
    expect(open.data.map(i => [i.number, i.pull_request === undefined])).toEqual([
      [3, false],
      [2, true],
      [1, true]
    ])
    const mine = await kit.rest.issues.listForRepo({ ...at, creator: 'github-actions[bot]' })
    expect(mine.data.map(i => i.number)).toEqual([1])

    const comment = await kit.rest.issues.createComment({ ...at, issue_number: 1, body: 'fixed' })
    expect(comment.data.html_url).toBe(
      `https://github.com/${issuesRepo}/issues/1#issuecomment-${comment.data.id}`
    )
    const updated = await kit.rest.issues.update({ ...at, issue_number: 1, body: 'one change' })
    expect(updated.data).toMatchObject({ body: 'one change', state: 'open', comments: 1 })
    const closed = await kit.rest.issues.update({
      ...at,
      issue_number: 1,
      state: 'closed',
      state_reason: 'completed'
    })
    expect(closed.data).toMatchObject({ state: 'closed', state_reason: 'completed' })
    expect(closed.data.closed_at).toMatch(/^\d{4}-\d\d-\d\dT/)
    expect((await kit.rest.issues.get({ ...at, issue_number: 1 })).data.state).toBe('closed')
    expect((await kit.rest.issues.listForRepo(at)).data.map(i => i.number)).toEqual([3, 2])
    const closedList = await kit.rest.issues.listForRepo({ ...at, state: 'closed' })
    expect(closedList.data.map(i => i.number)).toEqual([1])
    expect(gh.issues(issuesRepo).map(i => [i.number, i.state])).toEqual([
      [1, 'closed'],
      [2, 'open']
    ])
  })

  it('pages the issue list with Link headers (octokit.paginate)', async () => {
    const pagedRepo = 'acme/paged'
    gh.addRepository(pagedRepo)
    const kit = octokit('ghs_standin_write')
    for (let i = 0; i < 35; i++)
      await kit.rest.issues.create({ owner: 'acme', repo: 'paged', title: `issue ${i}` })
    const first = await kit.rest.issues.listForRepo({ owner: 'acme', repo: 'paged' })
    expect(first.data).toHaveLength(30)
    expect(first.headers.link).toContain('rel="next"')
    const all = await kit.paginate(kit.rest.issues.listForRepo, {
      owner: 'acme',
      repo: 'paged',
      per_page: 10
    })
    expect(all).toHaveLength(35)
  })

  it("refuses what GitHub refuses: no title, a body over 65,536 characters, a read-only token's writes, an unknown issue", async () => {
    gh.addRepository(issuesRepo)
    const kit = octokit('ghs_standin_write')
    const noTitle = await failure(
      kit.request('POST /repos/{owner}/{repo}/issues', { ...at, body: 'x' } as never)
    )
    expect(noTitle.status).toBe(422)
    const tooLong = await failure(
      kit.rest.issues.create({ ...at, title: 't', body: 'x'.repeat(65537) })
    )
    expect([tooLong.status, JSON.stringify(tooLong.data)]).toEqual([
      422,
      expect.stringContaining('body is too long (maximum is 65536 characters)')
    ])
    const read = octokit('ghs_standin_read')
    const denied = await failure(read.rest.issues.create({ ...at, title: 'Drift' }))
    expect([denied.status, denied.message]).toEqual([
      403,
      expect.stringContaining('Resource not accessible by integration')
    ])
    // A read-only token still reads.
    expect((await read.rest.issues.listForRepo(at)).status).toBe(200)
    expect(
      (await failure(kit.rest.issues.update({ ...at, issue_number: 999, body: 'x' }))).status
    ).toBe(404)
  })
})
