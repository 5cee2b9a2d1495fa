/**
 * GitHub REST stand-in: the part of the API a deploy action uses on pull requests (issue
 * comments, pull requests, pulls of a commit) and for drift reports (issues: create, list, get,
 * update, close), with GitHub's pagination (`Link` headers),
 * the 65,536-character comment limit, and 401/403 answers for missing, unknown or read-only tokens.
 *
 * `operation` in the request log is the route as GitHub's docs and Octokit write it,
 * e.g. 'GET /repos/{owner}/{repo}/issues/{issue_number}/comments'.
 */
import type http from 'node:http'
import { readBody, resetConnection, send, type RecordedRequest, HttpStandIn } from './common'

export type TokenPermission = 'write' | 'read'

export interface GitHubToken {
  login: string
  permission: TokenPermission
  /** 'Bot' for an app/installation token (the default), 'User' for a personal token. */
  type?: 'Bot' | 'User'
}

export interface GitHubStandInOptions {
  /**
   * Tokens the stand-in accepts. Default: 'ghs_standin_write' (github-actions[bot], write) and
   * 'ghs_standin_read' (github-actions[bot], read: a fork pull request's token).
   */
  tokens?: Record<string, GitHubToken>
}

export interface GitHubUser {
  login: string
  id: number
  node_id: string
  type: 'Bot' | 'User'
  site_admin: boolean
}

export interface GitHubComment {
  id: number
  node_id: string
  url: string
  html_url: string
  issue_url: string
  body: string
  user: GitHubUser
  created_at: string
  updated_at: string
  author_association: string
}

export interface PullRequestSpec {
  number?: number
  title?: string
  body?: string
  state?: 'open' | 'closed'
  merged?: boolean
  headRef?: string
  headSha?: string
  baseRef?: string
  baseSha?: string
  mergeCommitSha?: string
  /** Commits (full SHAs) that GET /commits/{sha}/pulls associates with this pull request. */
  commits?: string[]
  login?: string
  /** Label names on the pull request. */
  labels?: string[]
}

export interface GitHubLabel {
  id: number
  node_id: string
  url: string
  name: string
  color: string
  default: boolean
  description: string | null
}

export interface GitHubPullRequest {
  id: number
  node_id: string
  number: number
  url: string
  html_url: string
  issue_url: string
  state: 'open' | 'closed'
  title: string
  body: string | null
  user: GitHubUser
  draft: boolean
  merged: boolean
  merged_at: string | null
  merge_commit_sha: string | null
  labels: GitHubLabel[]
  head: { label: string; ref: string; sha: string; repo: { full_name: string } }
  base: { label: string; ref: string; sha: string; repo: { full_name: string } }
  created_at: string
  updated_at: string
}

export interface GitHubIssue {
  id: number
  node_id: string
  number: number
  url: string
  html_url: string
  comments_url: string
  title: string
  body: string | null
  state: 'open' | 'closed'
  state_reason: 'completed' | 'not_planned' | 'reopened' | null
  user: GitHubUser
  labels: GitHubLabel[]
  comments: number
  created_at: string
  updated_at: string
  closed_at: string | null
  /** Present only on the pull requests the issue list returns (GitHub lists them as issues). */
  pull_request?: { url: string; html_url: string }
}

interface IssueEntry {
  pull: GitHubPullRequest | undefined
  /** The issue itself, for issues opened through the API (not pull requests). */
  issue?: GitHubIssue
  comments: GitHubComment[]
}

interface Repo {
  fullName: string
  id: number
  issues: Map<number, IssueEntry>
  commits: Map<string, number[]>
}

/** GitHub's limit on an issue comment body, in characters. */
export const MAX_COMMENT_LENGTH = 65536

const DOCS = 'https://docs.github.com/rest'

class GitHubError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly documentationUrl = DOCS,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {}
  ) {
    super(message)
  }
}

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
}

function fakeSha(seed: string): string {
  let h = 0x811c9dc5
  let out = ''
  for (let round = 0; out.length < 40; round++) {
    for (const ch of `${seed}:${round}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0
    out += h.toString(16).padStart(8, '0')
  }
  return out.slice(0, 40)
}

export class GitHubStandIn extends HttpStandIn {
  private readonly tokens: Map<string, GitHubToken>
  private readonly repos = new Map<string, Repo>()
  private readonly users = new Map<string, GitHubUser>()
  private nextId = 1000
  private rateUsed = 0

  constructor(options: GitHubStandInOptions = {}) {
    super()
    this.tokens = new Map(
      Object.entries(
        options.tokens ?? {
          ghs_standin_write: { login: 'github-actions[bot]', permission: 'write' },
          ghs_standin_read: { login: 'github-actions[bot]', permission: 'read' }
        }
      )
    )
  }

  addToken(
    token: string,
    login: string,
    permission: TokenPermission,
    type: 'Bot' | 'User' = 'Bot'
  ): void {
    this.tokens.set(token, { login, permission, type })
  }

  /** Register a pull request in `owner/repo`; returns it as the API shows it. */
  addPullRequest(repo: string, spec: PullRequestSpec = {}): GitHubPullRequest {
    const r = this.repo(repo, true) as Repo
    const number = spec.number ?? Math.max(0, ...r.issues.keys()) + 1
    const headSha = spec.headSha ?? fakeSha(`${repo}#${number}:head`)
    const merged = spec.merged ?? false
    const mergeSha = spec.mergeCommitSha ?? (merged ? fakeSha(`${repo}#${number}:merge`) : null)
    const created = now()
    const pull: GitHubPullRequest = {
      id: this.nextId++,
      node_id: `PR_kwDO${Buffer.from(`${repo}#${number}`).toString('base64url')}`,
      number,
      url: `${this.url}/repos/${repo}/pulls/${number}`,
      html_url: `https://github.com/${repo}/pull/${number}`,
      issue_url: `${this.url}/repos/${repo}/issues/${number}`,
      state: spec.state ?? (merged ? 'closed' : 'open'),
      title: spec.title ?? `Pull request ${number}`,
      body: spec.body ?? null,
      user: this.user(spec.login ?? 'octocat', 'User'),
      draft: false,
      merged,
      merged_at: merged ? created : null,
      merge_commit_sha: mergeSha,
      labels: (spec.labels ?? []).map(name => ({
        id: this.nextId++,
        node_id: `LA_${Buffer.from(name).toString('base64url')}`,
        url: `${this.url}/repos/${repo}/labels/${encodeURIComponent(name)}`,
        name,
        color: 'ededed',
        default: false,
        description: null
      })),
      head: {
        label: `${repo.split('/')[0]}:${spec.headRef ?? `feature-${number}`}`,
        ref: spec.headRef ?? `feature-${number}`,
        sha: headSha,
        repo: { full_name: repo }
      },
      base: {
        label: `${repo.split('/')[0]}:${spec.baseRef ?? 'main'}`,
        ref: spec.baseRef ?? 'main',
        sha: spec.baseSha ?? fakeSha(`${repo}#${number}:base`),
        repo: { full_name: repo }
      },
      created_at: created,
      updated_at: created
    }
    const issue = r.issues.get(number)
    r.issues.set(number, { pull, comments: issue?.comments ?? [] })
    for (const sha of new Set([
      headSha,
      ...(mergeSha ? [mergeSha] : []),
      ...(spec.commits ?? [])
    ])) {
      const list = r.commits.get(sha) ?? []
      if (!list.includes(number)) list.push(number)
      r.commits.set(sha, list)
    }
    return structuredClone(pull)
  }

  /** A comment by someone else (or anyone), as if posted through the web UI. */
  addComment(repo: string, issue: number, body: string, login = 'octocat'): GitHubComment {
    const r = this.repo(repo, true) as Repo
    return structuredClone(this.createComment(r, issue, body, this.user(login, 'User')))
  }

  /** Make `owner/repo` exist (with no issues or pull requests yet). */
  addRepository(repo: string): void {
    this.repo(repo, true)
  }

  /** Issues (not pull requests) of a repository, by number, as the API shows them. */
  issues(repo: string): GitHubIssue[] {
    const found: GitHubIssue[] = []
    for (const [, entry] of [...(this.repos.get(repo)?.issues ?? [])].sort((a, b) => a[0] - b[0]))
      if (entry.issue) found.push(this.issueView(entry))
    return structuredClone(found)
  }

  /** Comments of an issue or pull request, oldest first. */
  comments(repo: string, issue: number): GitHubComment[] {
    return structuredClone(this.repos.get(repo)?.issues.get(issue)?.comments ?? [])
  }

  // ---------------------------------------------------------------- model

  private repo(fullName: string, create = false): Repo | undefined {
    let r = this.repos.get(fullName)
    if (!r && create) {
      r = { fullName, id: this.nextId++, issues: new Map(), commits: new Map() }
      this.repos.set(fullName, r)
    }
    return r
  }

  private user(login: string, type: 'Bot' | 'User'): GitHubUser {
    let u = this.users.get(login)
    if (!u) {
      const id = login === 'github-actions[bot]' ? 41898282 : this.nextId++
      u = { login, id, node_id: `U_kgDO${id}`, type, site_admin: false }
      this.users.set(login, u)
    }
    return u
  }

  private createComment(r: Repo, issue: number, body: string, user: GitHubUser): GitHubComment {
    const entry = r.issues.get(issue) ?? { pull: undefined, comments: [] }
    r.issues.set(issue, entry)
    const id = this.nextId++
    const created = now()
    const kind = entry.pull ? 'pull' : 'issues'
    const comment: GitHubComment = {
      id,
      node_id: `IC_kwDO${Buffer.from(String(id)).toString('base64url')}`,
      url: `${this.url}/repos/${r.fullName}/issues/comments/${id}`,
      html_url: `https://github.com/${r.fullName}/${kind}/${issue}#issuecomment-${id}`,
      issue_url: `${this.url}/repos/${r.fullName}/issues/${issue}`,
      body,
      user: { ...user },
      created_at: created,
      updated_at: created,
      author_association: user.type === 'Bot' ? 'NONE' : 'MEMBER'
    }
    entry.comments.push(comment)
    return comment
  }

  private findComment(r: Repo, id: number): GitHubComment | undefined {
    for (const { comments } of r.issues.values()) {
      const c = comments.find(x => x.id === id)
      if (c) return c
    }
    return undefined
  }

  /** The issue as the API shows it (its comment count is live). */
  private issueView(entry: IssueEntry): GitHubIssue {
    return { ...(entry.issue as GitHubIssue), comments: entry.comments.length }
  }

  /** A pull request as the issue list shows it. */
  private pullAsIssue(entry: IssueEntry): GitHubIssue {
    const pull = entry.pull as GitHubPullRequest
    return {
      id: pull.id,
      node_id: pull.node_id,
      number: pull.number,
      url: pull.issue_url,
      html_url: pull.html_url,
      comments_url: `${pull.issue_url}/comments`,
      title: pull.title,
      body: pull.body,
      state: pull.state,
      state_reason: null,
      user: pull.user,
      labels: pull.labels,
      comments: entry.comments.length,
      created_at: pull.created_at,
      updated_at: pull.updated_at,
      closed_at: pull.state === 'closed' ? pull.updated_at : null,
      pull_request: { url: pull.url, html_url: pull.html_url }
    }
  }

  /** The fields of a create/update issue request, checked as GitHub checks them. */
  private issueFields(
    raw: Buffer,
    docs: string,
    creating: boolean
  ): { title?: string; body?: string | null; state?: 'open' | 'closed'; reason?: string | null } {
    let input: Record<string, unknown>
    try {
      input = JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>
    } catch {
      throw new GitHubError(400, 'Problems parsing JSON', docs)
    }
    const invalid = (field: string, message: string): GitHubError =>
      new GitHubError(422, 'Validation Failed', docs, {
        errors: [{ resource: 'Issue', code: 'custom', field, message }]
      })
    const fields: ReturnType<GitHubStandIn['issueFields']> = {}
    if (input.title !== undefined || creating) {
      if (typeof input.title !== 'string' || input.title.trim() === '')
        throw creating
          ? new GitHubError(422, 'Invalid request.\n\n"title" wasn\'t supplied.', docs)
          : invalid('title', 'title cannot be blank')
      if ([...input.title].length > 256)
        throw invalid('title', 'title is too long (maximum is 256 characters)')
      fields.title = input.title
    }
    if (input.body !== undefined) {
      if (input.body !== null && typeof input.body !== 'string')
        throw new GitHubError(
          422,
          "Invalid request.\n\nFor 'properties/body', is not a string.",
          docs
        )
      if (typeof input.body === 'string' && [...input.body].length > MAX_COMMENT_LENGTH)
        throw invalid('body', `body is too long (maximum is ${MAX_COMMENT_LENGTH} characters)`)
      fields.body = input.body
    }
    if (input.state !== undefined) {
      if (input.state !== 'open' && input.state !== 'closed')
        throw new GitHubError(422, 'Validation Failed', docs, {
          errors: [{ resource: 'Issue', code: 'invalid', field: 'state' }]
        })
      fields.state = input.state
    }
    if (input.state_reason !== undefined) {
      if (
        input.state_reason !== null &&
        !['completed', 'not_planned', 'reopened'].includes(String(input.state_reason))
      )
        throw invalid('state_reason', 'state_reason is not included in the list')
      fields.reason = input.state_reason as string | null
    }
    return fields
  }

  // ---------------------------------------------------------------- request handling

  private rateHeaders(): Record<string, string> {
    this.rateUsed++
    return {
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': String(Math.max(0, 5000 - this.rateUsed)),
      'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 3600),
      'x-ratelimit-used': String(this.rateUsed),
      'x-ratelimit-resource': 'core'
    }
  }

  private json(
    res: http.ServerResponse,
    record: RecordedRequest,
    status: number,
    body: unknown,
    headers: Record<string, string> = {}
  ): void {
    send(
      res,
      record,
      status,
      {
        'content-type': 'application/json; charset=utf-8',
        'x-github-api-version-selected': '2022-11-28',
        'x-github-request-id': `${this.nextId.toString(16).toUpperCase()}:STANDIN`,
        ...this.rateHeaders(),
        ...headers
      },
      body === undefined ? undefined : JSON.stringify(body)
    )
  }

  protected override async handle(
    req: http.IncomingMessage,
    res: http.ServerResponse
  ): Promise<void> {
    const raw = await readBody(req)
    const url = new URL(req.url ?? '/', 'http://github.local')
    const method = (req.method ?? 'GET').toUpperCase()
    const route = matchRoute(method, url.pathname)
    const { record, fault } = this.log.record(
      'github',
      route?.operation ?? `${method} ${url.pathname}`,
      req
    )
    if (fault === 'reset') return resetConnection(req)
    try {
      if (fault === 'throttle') {
        const reset = Math.ceil(Date.now() / 1000) + 1
        throw new GitHubError(
          403,
          'API rate limit exceeded for installation ID 1.',
          `${DOCS}/overview/rate-limits-for-the-rest-api`,
          {},
          {
            'x-ratelimit-limit': '5000',
            'x-ratelimit-remaining': '0',
            'x-ratelimit-used': '5000',
            'x-ratelimit-reset': String(reset),
            'x-ratelimit-resource': 'core'
          }
        )
      }
      if (fault === '5xx') throw new GitHubError(500, 'Server Error')
      const token = this.authenticate(req)
      if (method === 'GET' && url.pathname.replace(/\/+$/, '') === '/user') {
        // An installation token (GITHUB_TOKEN) cannot read /user; a personal token reads its user.
        if ((token.type ?? 'Bot') === 'Bot') {
          throw new GitHubError(
            403,
            'Resource not accessible by integration',
            `${DOCS}/users/users#get-the-authenticated-user`
          )
        }
        return this.json(res, record, 200, this.user(token.login, 'User'))
      }
      if (method === 'POST' && url.pathname.replace(/\/+$/, '') === '/graphql') {
        return this.graphql(res, record, token, raw)
      }
      if (!route) throw new GitHubError(404, 'Not Found')
      const r = this.repo(`${route.params.owner}/${route.params.repo}`)
      if (!r) throw new GitHubError(404, 'Not Found', route.docs)
      if (route.write && token.permission !== 'write')
        throw new GitHubError(403, 'Resource not accessible by integration', route.docs)
      await this.route(res, record, route, r, token, url, raw)
    } catch (error) {
      if (!(error instanceof GitHubError)) throw error
      this.json(
        res,
        record,
        error.status,
        {
          message: error.message,
          ...error.extra,
          documentation_url: error.documentationUrl,
          status: String(error.status)
        },
        error.headers
      )
    }
  }

  /**
   * GitHub's GraphQL endpoint, for the one query the action makes: `viewer { login }`, which answers
   * for every kind of token (GITHUB_TOKEN: github-actions[bot]; an App installation token:
   * <app-slug>[bot]; a personal token: its user), unlike GET /user. Other queries get GraphQL's
   * error shape (HTTP 200 with `errors`).
   */
  private graphql(
    res: http.ServerResponse,
    record: Parameters<GitHubStandIn['json']>[1],
    token: GitHubToken,
    raw: Buffer
  ): void {
    let query = ''
    try {
      const doc = JSON.parse(raw.toString('utf8') || '{}') as { query?: unknown }
      if (typeof doc.query === 'string') query = doc.query
    } catch {
      throw new GitHubError(400, 'Problems parsing JSON')
    }
    if (/^\s*(query\b[^{]*)?\{\s*viewer\s*\{\s*login\s*\}\s*\}\s*$/.test(query)) {
      this.json(res, record, 200, { data: { viewer: { login: token.login } } })
      return
    }
    this.json(res, record, 200, {
      errors: [
        { type: 'UNSUPPORTED', message: 'The GitHub stand-in answers only { viewer { login } }' }
      ]
    })
  }

  private authenticate(req: http.IncomingMessage): GitHubToken {
    const header = req.headers.authorization
    if (header === undefined) throw new GitHubError(401, 'Requires authentication')
    const m = /^(?:token|bearer)\s+(\S+)$/i.exec(header.trim())
    const token = m ? this.tokens.get(m[1] ?? '') : undefined
    if (!token) throw new GitHubError(401, 'Bad credentials')
    return token
  }

  private commentBody(raw: Buffer, docs: string): string {
    let input: unknown
    try {
      input = JSON.parse(raw.toString('utf8') || '{}')
    } catch {
      throw new GitHubError(400, 'Problems parsing JSON', docs)
    }
    const body = (input as { body?: unknown }).body
    if (typeof body !== 'string') {
      throw new GitHubError(422, 'Invalid request.\n\n"body" wasn\'t supplied.', docs)
    }
    // GitHub counts characters, not UTF-16 code units.
    if ([...body].length > MAX_COMMENT_LENGTH) {
      throw new GitHubError(422, 'Validation Failed', docs, {
        errors: [
          {
            resource: 'IssueComment',
            code: 'custom',
            field: 'body',
            message: `body is too long (maximum is ${MAX_COMMENT_LENGTH} characters)`
          }
        ]
      })
    }
    return body
  }

  private async route(
    res: http.ServerResponse,
    record: RecordedRequest,
    route: Route,
    r: Repo,
    token: GitHubToken,
    url: URL,
    raw: Buffer
  ): Promise<void> {
    const p = route.params
    switch (route.operation) {
      case 'GET /repos/{owner}/{repo}/issues/{issue_number}/comments': {
        const entry = r.issues.get(Number(p.issue_number))
        if (!entry) throw new GitHubError(404, 'Not Found', route.docs)
        return this.page(res, record, url, entry.comments)
      }
      case 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments': {
        const issue = Number(p.issue_number)
        if (!r.issues.has(issue)) throw new GitHubError(404, 'Not Found', route.docs)
        const body = this.commentBody(raw, route.docs)
        const c = this.createComment(r, issue, body, this.user(token.login, token.type ?? 'Bot'))
        return this.json(res, record, 201, c, { location: c.url })
      }
      case 'GET /repos/{owner}/{repo}/issues/comments/{comment_id}': {
        const c = this.findComment(r, Number(p.comment_id))
        if (!c) throw new GitHubError(404, 'Not Found', route.docs)
        return this.json(res, record, 200, c)
      }
      case 'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}': {
        const c = this.findComment(r, Number(p.comment_id))
        if (!c) throw new GitHubError(404, 'Not Found', route.docs)
        c.body = this.commentBody(raw, route.docs)
        c.updated_at = now()
        return this.json(res, record, 200, c)
      }
      case 'DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}': {
        const id = Number(p.comment_id)
        for (const entry of r.issues.values()) {
          const i = entry.comments.findIndex(x => x.id === id)
          if (i >= 0) {
            entry.comments.splice(i, 1)
            return this.json(res, record, 204, undefined)
          }
        }
        throw new GitHubError(404, 'Not Found', route.docs)
      }
      case 'GET /repos/{owner}/{repo}/issues': {
        const state = url.searchParams.get('state') ?? 'open'
        if (!['open', 'closed', 'all'].includes(state))
          throw new GitHubError(422, 'Validation Failed', route.docs, {
            errors: [{ resource: 'Issue', code: 'invalid', field: 'state' }]
          })
        const creator = url.searchParams.get('creator')
        const ascending = url.searchParams.get('direction') === 'asc'
        const all = [...r.issues.values()]
          .filter(e => e.issue !== undefined || e.pull !== undefined)
          .map(e => (e.issue ? this.issueView(e) : this.pullAsIssue(e)))
          .filter(i => state === 'all' || i.state === state)
          .filter(i => creator === null || i.user.login === creator)
          .sort((a, b) => (ascending ? a.number - b.number : b.number - a.number))
        return this.page(res, record, url, all)
      }
      case 'POST /repos/{owner}/{repo}/issues': {
        const fields = this.issueFields(raw, route.docs, true)
        const number = Math.max(0, ...r.issues.keys()) + 1
        const created = now()
        const issueUrl = `${this.url}/repos/${r.fullName}/issues/${number}`
        const issue: GitHubIssue = {
          id: this.nextId++,
          node_id: `I_kwDO${Buffer.from(`${r.fullName}#${number}`).toString('base64url')}`,
          number,
          url: issueUrl,
          html_url: `https://github.com/${r.fullName}/issues/${number}`,
          comments_url: `${issueUrl}/comments`,
          title: fields.title ?? '',
          body: fields.body ?? null,
          state: 'open',
          state_reason: null,
          user: { ...this.user(token.login, token.type ?? 'Bot') },
          labels: [],
          comments: 0,
          created_at: created,
          updated_at: created,
          closed_at: null
        }
        const entry: IssueEntry = { pull: undefined, issue, comments: [] }
        r.issues.set(number, entry)
        return this.json(res, record, 201, this.issueView(entry), { location: issueUrl })
      }
      case 'GET /repos/{owner}/{repo}/issues/{issue_number}': {
        const entry = r.issues.get(Number(p.issue_number))
        if (!entry?.issue && !entry?.pull) throw new GitHubError(404, 'Not Found', route.docs)
        return this.json(
          res,
          record,
          200,
          entry.issue ? this.issueView(entry) : this.pullAsIssue(entry)
        )
      }
      case 'PATCH /repos/{owner}/{repo}/issues/{issue_number}': {
        const entry = r.issues.get(Number(p.issue_number))
        if (!entry?.issue) throw new GitHubError(404, 'Not Found', route.docs)
        const fields = this.issueFields(raw, route.docs, false)
        const issue = entry.issue
        if (fields.title !== undefined) issue.title = fields.title
        if (fields.body !== undefined) issue.body = fields.body
        if (fields.state !== undefined && fields.state !== issue.state) {
          issue.state = fields.state
          issue.closed_at = fields.state === 'closed' ? now() : null
          issue.state_reason =
            fields.state === 'closed'
              ? ((fields.reason ?? 'completed') as GitHubIssue['state_reason'])
              : 'reopened'
        } else if (fields.reason !== undefined && issue.state === 'closed') {
          issue.state_reason = fields.reason as GitHubIssue['state_reason']
        }
        issue.updated_at = now()
        return this.json(res, record, 200, this.issueView(entry))
      }
      case 'GET /repos/{owner}/{repo}/pulls/{pull_number}': {
        const pull = r.issues.get(Number(p.pull_number))?.pull
        if (!pull) throw new GitHubError(404, 'Not Found', route.docs)
        return this.json(res, record, 200, pull)
      }
      case 'GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls': {
        const sha = String(p.commit_sha)
        const numbers = r.commits.get(sha) ?? []
        const pulls = numbers
          .map(n => r.issues.get(n)?.pull)
          .filter((x): x is GitHubPullRequest => x !== undefined)
        if (!/^[0-9a-f]{7,40}$/.test(sha))
          throw new GitHubError(422, `No commit found for SHA: ${sha}`, route.docs)
        return this.page(res, record, url, pulls)
      }
      default:
        throw new GitHubError(404, 'Not Found')
    }
  }

  /** One page of a list with GitHub's per_page/page rules and RFC 5988 Link header. */
  private page(res: http.ServerResponse, record: RecordedRequest, url: URL, all: unknown[]): void {
    const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30))
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1)
    const last = Math.max(1, Math.ceil(all.length / perPage))
    const items = all.slice((page - 1) * perPage, page * perPage)
    const link = (n: number): string => {
      const u = new URL(url.pathname, this.url)
      for (const [k, v] of url.searchParams)
        if (k !== 'page' && k !== 'per_page') u.searchParams.set(k, v)
      u.searchParams.set('per_page', String(perPage))
      u.searchParams.set('page', String(n))
      return `<${u.toString()}>`
    }
    const rels: string[] = []
    if (page > 1) rels.push(`${link(page - 1)}; rel="prev"`)
    if (page < last) rels.push(`${link(page + 1)}; rel="next"`, `${link(last)}; rel="last"`)
    if (page > 1) rels.push(`${link(1)}; rel="first"`)
    this.json(res, record, 200, items, rels.length > 0 ? { link: rels.join(', ') } : {})
  }
}

interface Route {
  operation: string
  params: Record<string, string>
  write: boolean
  docs: string
}

const ROUTES: Array<{ method: string; pattern: string; docs: string }> = [
  {
    method: 'GET',
    pattern: '/repos/{owner}/{repo}/issues',
    docs: 'issues/issues#list-repository-issues'
  },
  {
    method: 'POST',
    pattern: '/repos/{owner}/{repo}/issues',
    docs: 'issues/issues#create-an-issue'
  },
  {
    method: 'GET',
    pattern: '/repos/{owner}/{repo}/issues/{issue_number}',
    docs: 'issues/issues#get-an-issue'
  },
  {
    method: 'PATCH',
    pattern: '/repos/{owner}/{repo}/issues/{issue_number}',
    docs: 'issues/issues#update-an-issue'
  },
  {
    method: 'GET',
    pattern: '/repos/{owner}/{repo}/issues/{issue_number}/comments',
    docs: 'issues/comments#list-issue-comments'
  },
  {
    method: 'POST',
    pattern: '/repos/{owner}/{repo}/issues/{issue_number}/comments',
    docs: 'issues/comments#create-an-issue-comment'
  },
  {
    method: 'GET',
    pattern: '/repos/{owner}/{repo}/issues/comments/{comment_id}',
    docs: 'issues/comments#get-an-issue-comment'
  },
  {
    method: 'PATCH',
    pattern: '/repos/{owner}/{repo}/issues/comments/{comment_id}',
    docs: 'issues/comments#update-an-issue-comment'
  },
  {
    method: 'DELETE',
    pattern: '/repos/{owner}/{repo}/issues/comments/{comment_id}',
    docs: 'issues/comments#delete-an-issue-comment'
  },
  {
    method: 'GET',
    pattern: '/repos/{owner}/{repo}/pulls/{pull_number}',
    docs: 'pulls/pulls#get-a-pull-request'
  },
  {
    method: 'GET',
    pattern: '/repos/{owner}/{repo}/commits/{commit_sha}/pulls',
    docs: 'commits/commits#list-pull-requests-associated-with-a-commit'
  }
]

function matchRoute(method: string, pathname: string): Route | undefined {
  const parts = pathname.replace(/\/+$/, '').split('/')
  for (const r of ROUTES) {
    if (r.method !== method) continue
    const pattern = r.pattern.split('/')
    if (pattern.length !== parts.length) continue
    const params: Record<string, string> = {}
    const ok = pattern.every((seg, i) => {
      const actual = decodeURIComponent(parts[i] ?? '')
      if (seg.startsWith('{')) {
        params[seg.slice(1, -1)] = actual
        return (
          actual !== '' &&
          (!seg.endsWith('_number}') && !seg.endsWith('_id}') ? true : /^\d+$/.test(actual))
        )
      }
      return seg === actual
    })
    if (ok)
      return {
        operation: `${method} ${r.pattern}`,
        params,
        write: method !== 'GET',
        docs: `${DOCS}/${r.docs}`
      }
  }
  return undefined
}

export async function startGitHubStandIn(
  options: GitHubStandInOptions = {}
): Promise<GitHubStandIn> {
  return new GitHubStandIn(options).start()
}
