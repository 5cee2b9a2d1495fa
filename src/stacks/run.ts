/**
 * `mode: stacks` (the matrix of the stacks a change touches, and its waves) and `mode: overview` (one
 * pull-request comment for every stack). Neither touches AWS or Terraform: they read the stacks
 * file, the checkout's git history and (overview) the pull request's comments.
 */
import * as core from '@actions/core'
import * as path from 'node:path'
import { errorMessage } from '../errors'
import { inputsFromEnv, INPUT_NAMES, withDefault, type InputReader } from '../input-reader'
import { readContext, type RunContext } from '../github/run-context'
import {
  commentsBy,
  githubClient,
  tokenLogin,
  upsertComment,
  type ExistingComment
} from '../github/client'
import { codeSpan, escapeText, tableHeader, tableRow } from '../report/markdown'
import { changedFiles, rangeOf, selectStacks, type Selection } from './changes'
import { commentOf, isOverview, overviewRow, renderOverview } from './overview'
import { explicitInputs } from './stack-input'
import { loadStacks, waves, type StackSet } from './stacks-file'

export interface StacksRunConfig {
  workspace: string
  context: RunContext
  stacksFile: string
  githubToken?: string
  comment: string
  input: InputReader
}

export function readStacksRunConfig(
  env: Record<string, string | undefined> = process.env
): StacksRunConfig {
  const input = inputsFromEnv(env)
  const token = input('github-token')
  return {
    workspace: path.resolve(env.GITHUB_WORKSPACE || process.cwd()),
    context: readContext(env),
    stacksFile: withDefault(input, 'stacks-file'),
    ...(token !== '' && { githubToken: token }),
    comment: input('comment') || 'always',
    input
  }
}

/** The stacks and which of them this event's change touches. */
export function selectForRun(config: StacksRunConfig): { set: StackSet; selection: Selection[] } {
  const explicit = explicitInputs(config.input)
  // The step's working-directory and state-key belong to one stack, not to all of them.
  const set = loadStacks({
    workspace: config.workspace,
    file: config.stacksFile,
    inputNames: INPUT_NAMES,
    explicit: name =>
      name === 'working-directory' || name === 'state-key' ? undefined : explicit(name)
  })
  const range = rangeOf(config.context)
  const changes = 'all' in range ? range : { files: changedFiles(config.workspace, range) }
  return { set, selection: selectStacks(config.workspace, set, changes) }
}

/** The matrix entries: the stack's name and its inputs. */
export function matrixOf(selection: readonly Selection[]): {
  include: Array<Record<string, string>>
} {
  return {
    include: selection
      .filter(s => s.included)
      .map(({ stack }) => ({
        ...stack.inputs,
        stack: stack.name,
        'working-directory': stack.directory,
        environment: stack.environment,
        'state-key': stack.stateKey
      }))
  }
}

function selectionTable(selection: readonly Selection[]): string {
  return [
    tableHeader(['Stack', 'Directory', 'Runs', 'Why']),
    ...selection.map(s =>
      tableRow([
        codeSpan(s.stack.name, { table: true }),
        codeSpan(s.stack.directory, { table: true }),
        s.included ? 'yes' : 'no',
        escapeText(s.reason)
      ])
    )
  ].join('\n')
}

export async function runStacksMode(config: StacksRunConfig): Promise<void> {
  const { set, selection } = selectForRun(config)
  const included = new Set(selection.filter(s => s.included).map(s => s.stack.name))
  const grouped = waves(set.stacks, included)
  for (const s of selection)
    core.info(`${s.included ? 'runs ' : 'skips'} ${s.stack.name}: ${s.reason}`)
  core.setOutput('mode', 'stacks')
  core.setOutput('matrix', JSON.stringify(matrixOf(selection)))
  core.setOutput('waves', JSON.stringify(grouped))
  core.info(
    `${included.size} of ${set.stacks.length} stacks run, in ${grouped.length} ${grouped.length === 1 ? 'wave' : 'waves'}: ${grouped.map(w => w.join(', ')).join(' → ') || 'none'}`
  )
  await writeSummary(
    `### Stacks for this change\n\n${included.size} of ${set.stacks.length} stacks run${grouped.length > 0 ? `, in ${grouped.length} ${grouped.length === 1 ? 'wave' : 'waves'}` : ''}.\n\n${selectionTable(selection)}\n`
  )
}

export async function runOverviewMode(config: StacksRunConfig): Promise<void> {
  core.setOutput('mode', 'overview')
  const { set, selection } = selectForRun(config)
  const { context } = config
  let comments: ExistingComment[] = []
  const pr =
    context.repository && context.pullRequest !== undefined
      ? { ...context.repository, number: context.pullRequest }
      : undefined
  if (pr && config.githubToken) {
    try {
      comments = await listOwnComments(config.githubToken, context.apiUrl, pr)
    } catch (error) {
      core.warning(`Could not read the pull request's comments: ${errorMessage(error)}`)
    }
  }
  const rows = selection.map(s => overviewRow(s, commentOf(s, comments)))
  const body = renderOverview(rows, {
    ...(set.file !== undefined && { file: set.file }),
    ...(context.sha !== undefined && { sha: context.sha }),
    ...(context.runUrl !== undefined && { runUrl: context.runUrl })
  })
  await writeSummary(body.slice(body.indexOf('\n') + 1))
  if (!pr) {
    core.notice(
      'mode overview: not a pull request, so no comment was written (the job summary has the overview)'
    )
    return
  }
  if (config.comment === 'never') return
  const outcome = await upsertComment(
    {
      ...(config.githubToken !== undefined && { token: config.githubToken }),
      apiUrl: context.apiUrl,
      pr
    },
    isOverview,
    body,
    true
  )
  if (outcome.status === 'failed') core.warning(outcome.warning)
  else if (outcome.status !== 'skipped') {
    core.info(`Overview comment ${outcome.status}: ${outcome.url}`)
    core.setOutput('comment-url', outcome.url)
  }
}

/** Every comment on the pull request by the token's user, read once (a busy PR has hundreds). */
async function listOwnComments(
  token: string,
  apiUrl: string,
  pr: { owner: string; repo: string; number: number }
): Promise<ExistingComment[]> {
  const octokit = githubClient(token, apiUrl)
  const login = await tokenLogin(octokit)
  const out: ExistingComment[] = []
  for await (const comment of commentsBy(octokit, pr, login)) out.push(comment)
  return out
}

async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  try {
    await core.summary.addRaw(markdown, true).write()
  } catch (error) {
    core.warning(`Could not write the job summary: ${errorMessage(error)}`)
  }
}

/** Entry of the two modes: one line on failure, as every run. */
export async function runStackMode(mode: 'stacks' | 'overview'): Promise<void> {
  try {
    const config = readStacksRunConfig()
    if (config.githubToken) core.setSecret(config.githubToken)
    await (mode === 'stacks' ? runStacksMode(config) : runOverviewMode(config))
  } catch (error) {
    core.setFailed(errorMessage(error))
  }
}
