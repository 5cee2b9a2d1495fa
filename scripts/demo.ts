// `npm run demo`: the whole deploy story on this machine, with no AWS account and no network.
//
// Starts the local stand-ins (S3, DynamoDB, CloudFront, STS, GitHub; see standins/README.md), copies
// the demo stack (terraform/demo) and the demo frontend (demo/frontend) into a temporary workspace,
// and runs the committed bundle (dist/index.js) four times the way the GitHub runner does:
//
//   1. pull_request       plan: creates the state backend, plans, posts the PR comment (printed here)
//   2. push               deploy of the merge: checks the plan equals the reviewed one
//                         (require-reviewed-plan), applies, builds, syncs, invalidates CloudFront
//   3. push               deploy again: no changes, nothing uploaded, no invalidation
//   4. workflow_dispatch  frontend mode after a one-file change: one upload, one invalidated path
//
// Then a table of what each run did, checked against what must hold; the exit code is 0 only when
// every run succeeded and every figure is as expected. Everything it started or created is removed
// at the end, also on failure or Ctrl-C. `--verbose` streams the action's full log;
// `--save-comment <file>` writes the pull request's comment, as posted, to a file.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { DEFAULT_GITHUB_TOKEN, startStandIns, type StandIns } from '../standins/index'
import { repoRoot, runAction, type ActionRun } from '../standins/run-action'
import { errorMessage } from '../src/errors'
import { ensureTerraform } from './dev-terraform'

const REGION = 'us-east-1'
const REPOSITORY = 'acme/revive-demo'
const PR_NUMBER = 7
const PR_TITLE = 'Add the callbacks stack'
const SITE_BUCKET = 'revive-demo-site' // terraform/demo's frontend_bucket output
const DISTRIBUTION = 'EDEMO1234567' // terraform/demo's cloudfront_distribution_id output
const CHANGED_FILE = 'public/robots.txt' // run 4's one-file change, relative to the frontend
const VERBOSE = process.argv.includes('--verbose')
/** `--save-comment <file>`: also write run 1's PR comment, as posted, to this file (docs/report.md shows one). */
const SAVE_COMMENT = ((i: number) => (i >= 0 ? process.argv[i + 1] : undefined))(
  process.argv.indexOf('--save-comment')
)
const color = process.stdout.isTTY && !process.env.NO_COLOR
const bold = (s: string): string => (color ? `\x1b[1m${s}\x1b[0m` : s)
const dim = (s: string): string => (color ? `\x1b[2m${s}\x1b[0m` : s)

/** The demo's own failures: one line, no stack trace. */
class DemoError extends Error {}

// ------------------------------------------------------------------------------------ preflight

/** Terraform on PATH, or installed into the developer cache (scripts/dev-terraform.ts). */
async function preflight(): Promise<void> {
  try {
    await ensureTerraform(line => console.log(dim(line)))
  } catch (error) {
    throw new DemoError(errorMessage(error))
  }
  if (!fs.existsSync(path.join(repoRoot, 'dist', 'index.js'))) {
    throw new DemoError('dist/index.js is missing: run `npm run build` first.')
  }
}

// ------------------------------------------------------------------------------------ the runs

interface RunSpec {
  title: string
  event: { name: string; payload: Record<string, unknown> }
  inputs: Record<string, string>
  /** GITHUB_SHA of the run. */
  sha: string
  /** Called before the run; returns a line saying what it did. */
  before?: (workspace: string, si: StandIns) => string | undefined
}

interface RunRow {
  run: number
  event: string
  mode: string
  resources: number
  changes: string
  uploaded: string
  deleted: string
  paths: string[] | undefined
  seconds: number
  exitCode: number | null
  outputs: Record<string, string>
  errors: string[]
}

const PR_HEAD = 'c0ffee0000000000000000000000000000000001'
const MERGE_COMMIT = 'c0ffee0000000000000000000000000000000002'
const LATER_COMMIT = 'c0ffee0000000000000000000000000000000003'

const runs: RunSpec[] = [
  {
    title: `pull request #${PR_NUMBER}: plan and comment`,
    event: {
      name: 'pull_request',
      payload: { number: PR_NUMBER, pull_request: { number: PR_NUMBER, head: { sha: PR_HEAD } } }
    },
    sha: PR_HEAD,
    inputs: {}
  },
  {
    title: `push to main (merge of #${PR_NUMBER}): apply what was reviewed, build, sync, invalidate`,
    event: { name: 'push', payload: { after: MERGE_COMMIT } },
    sha: MERGE_COMMIT,
    // Apply only when the plan at merge time equals the one the pull request's comment showed.
    inputs: { 'require-reviewed-plan': 'true' },
    before: (_workspace, si) => {
      si.github.addPullRequest(REPOSITORY, {
        number: PR_NUMBER,
        title: PR_TITLE,
        headSha: PR_HEAD,
        merged: true,
        mergeCommitSha: MERGE_COMMIT
      })
      return `pull request #${PR_NUMBER} merged as ${MERGE_COMMIT.slice(0, 7)}`
    }
  },
  {
    title: 'push to main again, nothing changed',
    event: { name: 'push', payload: { after: LATER_COMMIT } },
    sha: LATER_COMMIT,
    inputs: { 'require-reviewed-plan': 'true' }
  },
  {
    title: `workflow_dispatch, mode frontend, after changing ${CHANGED_FILE}`,
    event: { name: 'workflow_dispatch', payload: { inputs: { mode: 'frontend' } } },
    sha: LATER_COMMIT,
    inputs: { mode: 'frontend' },
    before: workspace => {
      const file = path.join(workspace, 'frontend', CHANGED_FILE)
      fs.appendFileSync(file, 'Disallow: /admin/\n')
      return `changed frontend/${CHANGED_FILE} (added "Disallow: /admin/")`
    }
  }
]

/** Log lines worth showing when not verbose: what the action decided and did. */
const HIGHLIGHT =
  /^(revive-deploy: mode|Created |Creating |Hardened |State backend present|No state yet|Plan: (?!.*destroy\.$)|No changes: |Apply complete|Terraform outputs: |Build finished|Synced |CloudFront invalidation|Pull-request comment)/

function showLine(line: string): string | undefined {
  const command = /^::(notice|warning|error)[^:]*::(.*)$/.exec(line)
  if (command) return `${command[1]}: ${(command[2] ?? '').replace(/%0A/g, ' ')}`
  if (line.startsWith('::')) return undefined
  return HIGHLIGHT.test(line) ? line : undefined
}

async function main(): Promise<number> {
  await preflight()
  // The SDK's notice that its 2027 releases need Node 22 is noise here: on the runner the action runs
  // on node24 (action.yml); the demo runs it with this machine's node.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
  const started = Date.now()
  // One temporary root for everything the demo writes: the workspace and, through TMPDIR, the runner
  // directories runAction makes for each run, so an interrupted run leaves nothing behind either.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'revive-demo-'))
  const previousTmpdir = process.env.TMPDIR
  process.env.TMPDIR = root
  let standins: StandIns | undefined
  let s3: S3Client | undefined
  let cleaning: Promise<void> | undefined
  // Once, however often it is asked for (the end of main, a signal, a second Ctrl-C).
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      s3?.destroy()
      await standins?.stop().catch(() => undefined)
      if (previousTmpdir === undefined) delete process.env.TMPDIR
      else process.env.TMPDIR = previousTmpdir
      fs.rmSync(root, { recursive: true, force: true })
    })())
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: cleaning up`)
    void cleanup().finally(() => process.exit(130))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  try {
    console.log(
      bold('revive-deploy demo') + dim(' (local stand-ins, real Terraform, the bundled action)')
    )
    standins = await startStandIns({ invalidationMs: 200 })
    const si = standins
    console.log(
      `Stand-ins: S3 ${si.s3.url}, DynamoDB ${si.dynamodb.url}, CloudFront/STS ${si.cloud.url}, GitHub ${si.github.url}`
    )

    const workspace = path.join(root, 'workspace')
    fs.mkdirSync(workspace)
    const skip = /(^|\/)(\.terraform|node_modules|dist)(\/|$)|\.tfstate|\.terraform\.lock\.hcl$/
    const copy = (from: string, to: string): void =>
      fs.cpSync(path.join(repoRoot, from), path.join(workspace, to), {
        recursive: true,
        filter: src => !skip.test(path.relative(path.join(repoRoot, from), src))
      })
    copy('terraform/demo', 'terraform')
    copy('demo/frontend', 'frontend')
    console.log(
      `Workspace: ${workspace} (terraform/ from terraform/demo, frontend/ from demo/frontend)`
    )

    // In a real stack Terraform creates the site bucket and the distribution (terraform/example does);
    // terraform_data resources cannot, so the demo makes them in the stand-ins, once, up front.
    s3 = new S3Client({
      region: REGION,
      endpoint: si.s3.url,
      forcePathStyle: true,
      credentials: {
        accessKeyId: si.env.AWS_ACCESS_KEY_ID ?? '',
        secretAccessKey: si.env.AWS_SECRET_ACCESS_KEY ?? ''
      }
    })
    await s3.send(new CreateBucketCommand({ Bucket: SITE_BUCKET }))
    si.cloud.addDistribution(DISTRIBUTION)
    si.github.addPullRequest(REPOSITORY, { number: PR_NUMBER, title: PR_TITLE, headSha: PR_HEAD })
    console.log(
      dim(
        `Created site bucket ${SITE_BUCKET} and registered distribution ${DISTRIBUTION} in the stand-ins: ` +
          'a real stack creates them with Terraform (terraform/example), terraform_data cannot.'
      )
    )

    const backendConfig = si
      .backendConfig(REGION)
      .filter(line => !line.startsWith('region='))
      .join('\n')
    const rows: RunRow[] = []
    for (const [index, spec] of runs.entries()) {
      const n = index + 1
      console.log(`\n${bold(`Run ${n}/${runs.length}: ${spec.title}`)}`)
      const change = spec.before?.(workspace, si)
      if (change) console.log(`  ${change}`)
      let pending = ''
      const run = await runAction({
        workspace,
        event: spec.event,
        inputs: {
          'aws-region': REGION,
          'backend-config': backendConfig,
          'build-env': 'VITE_API_URL=api_url',
          ...spec.inputs
        },
        env: {
          ...si.env,
          GITHUB_REPOSITORY: REPOSITORY,
          GITHUB_RUN_ID: String(4200 + n),
          GITHUB_SHA: spec.sha,
          GITHUB_REF:
            spec.event.name === 'pull_request' ? `refs/pull/${PR_NUMBER}/merge` : 'refs/heads/main',
          GITHUB_ACTOR: 'octocat',
          GITHUB_TOKEN: DEFAULT_GITHUB_TOKEN,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true'
        },
        onOutput: chunk => {
          if (VERBOSE) {
            process.stdout.write(chunk)
            return
          }
          pending += chunk
          const lines = pending.split('\n')
          pending = lines.pop() ?? ''
          for (const line of lines) {
            const shown = showLine(line)
            if (shown) console.log(`  ${dim(shown)}`)
          }
        }
      })
      fs.rmSync(run.runnerDir, { recursive: true, force: true })
      const row = await describeRun(n, spec, run, si, s3)
      rows.push(row)
      if (run.exitCode !== 0) {
        console.log(`  Run ${n} failed (exit ${run.exitCode}): ${run.errors.join(' | ')}`)
        if (!VERBOSE) console.log(dim(run.log.split('\n').slice(-40).join('\n')))
        break
      }
      if (n === 1) printComment(si)
      if (n === 1 && SAVE_COMMENT) {
        fs.writeFileSync(SAVE_COMMENT, si.github.comments(REPOSITORY, PR_NUMBER).at(-1)?.body ?? '')
      }
      if (n === 2) printCommentNote(si)
    }

    console.log(`\n${bold('Summary')}`)
    console.log(renderTable(rows))
    const problems = checkFigures(rows)
    const total = ((Date.now() - started) / 1000).toFixed(1)
    if (problems.length > 0) {
      console.log(`\nThe demo FAILED (${total} s):`)
      for (const p of problems) console.log(`  - ${p}`)
      return 1
    }
    const n = rows[1]?.resources ?? 0
    console.log(
      `\nAll as expected (${total} s): ${n} resources after the first deploy and still ${n} after ` +
        'two more runs (no duplicates), a redeploy without changes uploads and invalidates nothing, ' +
        'and a one-file change uploads one file and invalidates one path.'
    )
    return 0
  } finally {
    await cleanup()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

async function describeRun(
  n: number,
  spec: RunSpec,
  run: ActionRun,
  si: StandIns,
  s3: S3Client
): Promise<RunRow> {
  const o = run.outputs
  const stateBucket = o['state-bucket']
  const resources = stateBucket ? await resourcesInState(s3, stateBucket) : 0
  const invalidation = o['invalidation-id']
  const frontendRan = o.uploaded !== undefined
  return {
    run: n,
    event: spec.event.name,
    mode: o.mode ?? '?',
    resources,
    changes: changesCell(o),
    uploaded: frontendRan ? (o.uploaded ?? '') : '-',
    deleted: frontendRan ? (o.deleted ?? '') : '-',
    paths: frontendRan
      ? invalidation
        ? (si.cloud.invalidations(DISTRIBUTION).find(i => i.id === invalidation)?.paths ?? [])
        : []
      : undefined,
    seconds: run.durationMs / 1000,
    exitCode: run.exitCode,
    outputs: o,
    errors: run.errors
  }
}

function changesCell(o: Record<string, string>): string {
  if (o.changes === undefined) return o.mode === 'frontend' ? 'not planned' : '-'
  if (o.changes === 'false') return 'none'
  const parts: string[] = []
  for (const [name, word] of [
    ['to-add', 'add'],
    ['to-change', 'change'],
    ['to-destroy', 'destroy'],
    ['to-replace', 'replace']
  ] as const) {
    const count = Number(o[name] ?? 0)
    if (count > 0) parts.push(`${count} to ${word}`)
  }
  return parts.join(', ') || 'outputs only'
}

/** Resource instances in the state object the action's backend holds (0 when there is none yet). */
async function resourcesInState(s3: S3Client, bucket: string): Promise<number> {
  try {
    const out = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: 'production/terraform.tfstate' })
    )
    const text = (await out.Body?.transformToString()) ?? ''
    if (!text) return 0
    const state = JSON.parse(text) as { resources?: Array<{ instances?: unknown[] }> }
    return (state.resources ?? []).reduce((sum, r) => sum + (r.instances?.length ?? 0), 0)
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return 0
    throw error
  }
}

// ------------------------------------------------------------------------------------ output

/** The PR comment as a person sees it, lightly formatted for a terminal. */
function printComment(si: StandIns): void {
  const comments = si.github.comments(REPOSITORY, PR_NUMBER)
  const ours = comments.at(-1)
  if (!ours) {
    console.log('  (no comment was posted)')
    return
  }
  console.log(
    `\n  ${bold(`Comment by ${ours.user.login} on ${REPOSITORY}#${PR_NUMBER}`)} ${dim(`(${ours.html_url})`)}`
  )
  const lines = ours.body.replace(/<!--[\s\S]*?-->\n?/g, '').split('\n')
  const shown: string[] = []
  let fence: string | undefined
  let fenceLines = 0
  let hidden = 0
  for (const raw of lines) {
    let line = raw
    const fenceMark = /^(`{3,}|~{3,})/.exec(line)?.[1]
    if (fence === undefined && fenceMark) {
      fence = fenceMark
      fenceLines = 0
      hidden = 0
      shown.push(line)
      continue
    }
    if (fence !== undefined) {
      if (line.startsWith(fence) && line.trim() === fence) {
        if (hidden > 0) shown.push(`… ${hidden} more lines (in the comment, collapsed)`)
        fence = undefined
        shown.push(line)
      } else if (fenceLines++ < 15) shown.push(line)
      else hidden++
      continue
    }
    line = line
      .replace(/<details>\s*<summary>(.*?)<\/summary>/g, '▸ $1 (collapsed)')
      .replace(/<\/?(details|summary)>/g, '')
      .replace(/<br\s*\/?>|<\/?sub>/g, '')
      .replace(/\\([\\`*_{}[\]()#+\-.!:<>~])/g, '$1')
    if (line.trim() === '' && shown.at(-1)?.trim() === '') continue
    shown.push(line)
  }
  for (const line of shown) console.log(`  │ ${line}`)
}

/** After the merge: what the pull request's comment says now. */
function printCommentNote(si: StandIns): void {
  const comment = si.github.comments(REPOSITORY, PR_NUMBER).at(-1)
  const lines = (comment?.body ?? '')
    .replace(/<!--[\s\S]*?-->\n?/g, '')
    .split('\n')
    .filter((line, i) => (i === 0 ? /^### / : /^(> |\*\*Apply)/).test(line))
    .map(line => line.replace(/^> /, '').replace(/\*\*/g, ''))
  if (lines.length === 0) return
  console.log(`\n  ${bold(`The comment on ${REPOSITORY}#${PR_NUMBER} now says:`)}`)
  for (const line of lines) console.log(`  │ ${line}`)
}

function renderTable(rows: RunRow[]): string {
  const header = [
    'run',
    'event',
    'mode',
    'resources in state',
    'changes',
    'uploaded',
    'deleted',
    'invalidated paths',
    'seconds'
  ]
  const body = rows.map(r => [
    String(r.run) + (r.exitCode === 0 ? '' : ' FAILED'),
    r.event,
    r.mode,
    String(r.resources),
    r.changes,
    r.uploaded,
    r.deleted,
    r.paths === undefined ? '-' : String(r.paths.length),
    r.seconds.toFixed(1)
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map(b => (b[i] ?? '').length)))
  const numeric = new Set([0, 3, 5, 6, 7, 8])
  const line = (cells: string[]): string =>
    `| ${cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join(' | ')} |`
  return [
    line(header),
    `|${widths.map(w => '-'.repeat(w + 2)).join('|')}|`,
    ...body.map(line)
  ].join('\n')
}

/** What must hold (issue 10's "done when"); each miss is one line. */
function checkFigures(rows: RunRow[]): string[] {
  const problems: string[] = []
  for (const r of rows) {
    if (r.exitCode !== 0)
      problems.push(`run ${r.run} failed: ${r.errors.join(' | ') || `exit ${r.exitCode}`}`)
  }
  if (rows.length < runs.length) {
    problems.push(`only ${rows.length} of ${runs.length} runs ran`)
    return problems
  }
  const [plan, deploy, again, frontend] = rows as [RunRow, RunRow, RunRow, RunRow]
  const expect = (ok: boolean, what: string): void => {
    if (!ok) problems.push(what)
  }
  expect(plan.mode === 'plan', `run 1 resolved mode ${plan.mode}, not plan`)
  expect(plan.outputs['backend-created'] === 'true', 'run 1 did not create the state backend')
  expect(plan.resources === 0, `run 1 (a plan) left ${plan.resources} resources in state, not 0`)
  expect(Boolean(plan.outputs['comment-url']), 'run 1 posted no pull-request comment')
  const n = deploy.resources
  const added = Number(deploy.outputs['to-add'] ?? NaN)
  expect(n > 0 && n === added, `run 2 left ${n} resources in state; its plan added ${added}`)
  expect(again.resources === n, `run 3 left ${again.resources} resources in state, not ${n}`)
  expect(frontend.resources === n, `run 4 left ${frontend.resources} resources in state, not ${n}`)
  expect(
    deploy.outputs.uploaded !== undefined && Number(deploy.uploaded) > 0,
    'run 2 uploaded nothing'
  )
  expect((deploy.paths?.length ?? 0) > 0, 'run 2 invalidated nothing')
  expect(again.outputs.changes === 'false', `run 3 planned changes: ${again.changes}`)
  expect(again.uploaded === '0', `run 3 uploaded ${again.uploaded} files, not 0`)
  expect(again.deleted === '0', `run 3 deleted ${again.deleted} objects, not 0`)
  expect(again.paths?.length === 0, `run 3 invalidated ${again.paths?.length ?? '?'} paths, not 0`)
  expect(frontend.mode === 'frontend', `run 4 resolved mode ${frontend.mode}, not frontend`)
  expect(frontend.uploaded === '1', `run 4 uploaded ${frontend.uploaded} files, not 1`)
  expect(frontend.deleted === '0', `run 4 deleted ${frontend.deleted} objects, not 0`)
  expect(
    frontend.paths?.length === 1 && frontend.paths[0] === `/${path.basename(CHANGED_FILE)}`,
    `run 4 invalidated ${JSON.stringify(frontend.paths)}, not ["/${path.basename(CHANGED_FILE)}"]`
  )
  return problems
}

// ------------------------------------------------------------------------------------ entry

let exitCode: number
try {
  // `--stacks`: the three-stack demo (scripts/demo-stacks.ts).
  exitCode = process.argv.includes('--stacks')
    ? await (await import('./demo-stacks')).demoStacks()
    : await main()
} catch (error) {
  console.error(
    error instanceof DemoError
      ? `Cannot run the demo: ${error.message}`
      : `\nThe demo FAILED: ${(error as Error).stack ?? String(error)}`
  )
  exitCode = 1
}
process.exit(exitCode)
