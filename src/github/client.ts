import * as core from '@actions/core'
import { getOctokit } from '@actions/github'
import { retry } from '@octokit/plugin-retry'
import { errorMessage } from '../errors'

export type GitHubClient = ReturnType<typeof getOctokit>

export interface PullRequestRef {
  owner: string
  repo: string
  number: number
}

export interface ExistingComment {
  id: number
  body: string
  url: string
  login: string
}

export type CommentOutcome =
  | { status: 'created' | 'updated'; url: string; id: number }
  | { status: 'skipped'; reason: string }
  | { status: 'failed'; warning: string }

/** An Octokit for the GitHub API (GITHUB_API_URL), retrying 5xx, 429 and network errors with backoff. */
export function githubClient(token: string, apiUrl: string, retries = 3): GitHubClient {
  return getOctokit(
    token,
    {
      baseUrl: apiUrl,
      // Only the plugin's own settings: a `request.retries` default would make it retry every
      // failure, 4xx included (GET /user's 403 for GITHUB_TOKEN cost seconds per run).
      retry: { retries, doNotRetry: [400, 401, 403, 404, 410, 422, 451] }
    },
    retry
  )
}

/**
 * The login the token comments as. GraphQL's `viewer { login }` answers for every kind of token:
 * the job's GITHUB_TOKEN (github-actions[bot]), a GitHub App installation token (<app-slug>[bot]),
 * a personal access token (its user). GET /user answers 403 for both installation tokens, so it is
 * only the fallback (e.g. a GitHub Enterprise Server without GraphQL), and after it the Actions bot.
 */
export async function tokenLogin(octokit: GitHubClient): Promise<string> {
  try {
    const data = await octokit.graphql<{ viewer?: { login?: unknown } }>(
      'query { viewer { login } }'
    )
    if (typeof data.viewer?.login === 'string' && data.viewer.login) return data.viewer.login
  } catch (error) {
    core.debug(`GraphQL viewer query failed: ${errorMessage(error)}`)
  }
  try {
    const { data } = await octokit.rest.users.getAuthenticated()
    return data.login
  } catch {
    return 'github-actions[bot]'
  }
}

/** The comments by `login` on the pull request, page by page (a busy PR has hundreds). */
export async function* commentsBy(
  octokit: GitHubClient,
  pr: PullRequestRef,
  login: string
): AsyncGenerator<ExistingComment> {
  for await (const page of octokit.paginate.iterator(octokit.rest.issues.listComments, {
    owner: pr.owner,
    repo: pr.repo,
    issue_number: pr.number,
    per_page: 100
  })) {
    for (const comment of page.data) {
      if (comment.user?.login === login && comment.body !== undefined) {
        yield { id: comment.id, body: comment.body, url: comment.html_url, login }
      }
    }
  }
}

/**
 * The stack's comment on the pull request: the first comment by `login` whose body `isOurs` accepts,
 * searched through every page of comments.
 */
export async function findComment(
  octokit: GitHubClient,
  pr: PullRequestRef,
  login: string,
  isOurs: (body: string) => boolean
): Promise<ExistingComment | undefined> {
  for await (const comment of commentsBy(octokit, pr, login)) {
    if (isOurs(comment.body)) return comment
  }
  return undefined
}

/**
 * Create or update the stack's comment. `create: false` only updates an existing one (comment:
 * on-change with a no-change plan). Never throws: a read-only token (fork PRs), a missing token or a
 * GitHub error becomes a warning, since the job summary still has the report.
 */
export async function upsertComment(
  options: { token?: string; apiUrl: string; pr: PullRequestRef },
  isOurs: (body: string) => boolean,
  body: string | ((existing: ExistingComment | undefined) => string),
  create: boolean
): Promise<CommentOutcome> {
  if (!options.token) {
    return {
      status: 'failed',
      warning:
        'No github-token: the plan was not posted to the pull request (the job summary has it).'
    }
  }
  const octokit = githubClient(options.token, options.apiUrl)
  const { pr } = options
  try {
    const login = await tokenLogin(octokit)
    const existing = await findComment(octokit, pr, login, isOurs)
    const text = typeof body === 'function' ? body(existing) : body
    if (!existing && !create)
      return { status: 'skipped', reason: 'no changes and no earlier comment' }
    const where = { owner: pr.owner, repo: pr.repo, body: text }
    const { data } = existing
      ? await octokit.rest.issues.updateComment({ ...where, comment_id: existing.id })
      : await octokit.rest.issues.createComment({ ...where, issue_number: pr.number })
    return { status: existing ? 'updated' : 'created', url: data.html_url, id: data.id }
  } catch (error) {
    return { status: 'failed', warning: commentWarning(error) }
  }
}

function commentWarning(error: unknown): string {
  const status = (error as { status?: number }).status
  const base = 'Could not post the plan to the pull request'
  if (status === 401)
    return `${base}: the github-token was refused (401 Bad credentials). The job summary has the report.`
  if (status === 403) {
    return `${base}: the token may not write comments (403: ${errorMessage(error)}). Pull requests from forks get a read-only token; give the workflow "pull-requests: write" for others. The job summary has the report.`
  }
  return `${base}: ${errorMessage(error)}. The job summary has the report.`
}

/**
 * The pull request that was merged as `sha` (GET /repos/{owner}/{repo}/commits/{sha}/pulls) (its merge commit is `sha`), with its final head commit;
 * an open or closed-unmerged pull request that merely contains the commit is not one.
 */
export async function mergedPullRequestOf(
  octokit: GitHubClient,
  repository: { owner: string; repo: string },
  sha: string
): Promise<{ pr: PullRequestRef; headSha: string; labels: string[] } | undefined> {
  const { data } = await octokit.rest.repos.listPullRequestsAssociatedWithCommit({
    ...repository,
    commit_sha: sha,
    per_page: 100
  })
  const merged = data.find(pr => pr.merged_at !== null && pr.merge_commit_sha === sha)
  if (!merged) return undefined
  return {
    pr: { ...repository, number: merged.number },
    headSha: merged.head.sha,
    labels: merged.labels.map(label => label.name)
  }
}
