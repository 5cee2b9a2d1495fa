import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {
  driftFindings,
  driftIssueSection,
  driftSection,
  findingsLine
} from '../../../src/drift/check'
import { driftMarker, findsDriftMarker, syncDriftIssue } from '../../../src/drift/issue'
import { readConfig, type Config } from '../../../src/inputs'
import { RunReport } from '../../../src/report/publish'
import { summarizePlan, type PlanSummary, type ResourceChange } from '../../../src/terraform/plan'
import { startGitHubStandIn, type GitHubStandIn } from '../../../standins/github'

// Drift findings from real plan JSON (a refresh-only plan's resource_drift cannot be produced with
// terraform_data, so the drifted fixture is used here), and the drift issue against the GitHub
// stand-in through Octokit.

const FIXTURES = path.join(process.cwd(), '__tests__', 'fixtures', 'plans')
const load = (name: string, refreshOnly = false): PlanSummary =>
  summarizePlan(JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')), {
    refreshOnly
  })

let gh: GitHubStandIn
let workspace: string
const repo = 'acme/drift'

function config(inputs: Record<string, string> = {}): Config {
  return readConfig(name => inputs[name] ?? '', {
    GITHUB_WORKSPACE: workspace,
    GITHUB_REPOSITORY: repo,
    GITHUB_EVENT_NAME: 'schedule',
    GITHUB_API_URL: gh.url,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: '77',
    GITHUB_SHA: 'b'.repeat(40),
    AWS_REGION: 'eu-west-1'
  })
}

beforeAll(async () => {
  gh = await startGitHubStandIn()
  gh.addRepository(repo)
  gh.addToken('ghp_someone', 'someone', 'write', 'User')
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'drift-'))
  fs.mkdirSync(path.join(workspace, 'terraform'))
  fs.mkdirSync(path.join(workspace, 'infra'))
})
afterAll(async () => {
  await gh.stop()
  fs.rmSync(workspace, { recursive: true, force: true })
})

describe('drift findings', () => {
  it('drift comes from the refresh-only plan, changes from the normal plan', () => {
    // The drift fixture read as drift mode reads its refresh-only plan: every drift entry counts,
    // whether or not a planned change depends on it.
    const drifted = load('drift', true)
    const clean = load('no-changes', true)
    expect(drifted.drift.map(d => [d.address, d.action])).toEqual([
      ['terraform_data.gone', 'delete'],
      ['terraform_data.same', 'update']
    ])
    const both = driftFindings(drifted, drifted)
    expect([both.drift, both.changes]).toEqual([true, true])
    expect(findingsLine(both)).toMatch(
      /^Drift check: 2 resources changed outside Terraform; the plan has unapplied changes \(1 to add, 2 to change/
    )
    // Configuration not yet applied, nothing changed outside Terraform.
    const unapplied = driftFindings(clean, load('update'))
    expect([unapplied.drift, unapplied.changes]).toEqual([false, true])
    expect(unapplied.summary.drift).toEqual([])
    const none = driftFindings(clean, clean)
    expect([none.drift, none.changes]).toEqual([false, false])
    expect(findingsLine(none)).toBe(
      'Drift check: no resource changed outside Terraform; the plan has no changes.'
    )
    expect(driftSection(both)).toContain('listed under "Changed outside Terraform"')
    expect(driftSection(none)).toContain('| Changes the plan would make (not yet applied) | no |')
    expect(driftIssueSection({ driftIssue: false }, undefined)).toBe('Off (drift-issue: false).')
    expect(
      driftIssueSection(
        { driftIssue: true },
        { status: 'opened', number: 4, url: 'https://github.com/a/b/issues/4' }
      )
    ).toBe('Opened: [#4](https://github.com/a/b/issues/4).')
  })

  it('the marker names the stack: working directory and state key', () => {
    const a = {
      workingDirectory: 'terraform',
      stateKey: 'production/terraform.tfstate',
      environment: 'production'
    }
    expect(driftMarker(a)).toMatch(/^<!-- revive-deploy:drift=[0-9a-f]{16} -->$/)
    expect(driftMarker({ ...a, workingDirectory: 'terraform/' })).toBe(driftMarker(a))
    expect(driftMarker({ ...a, workingDirectory: 'infra' })).not.toBe(driftMarker(a))
    expect(driftMarker({ ...a, stateKey: 'staging/terraform.tfstate' })).not.toBe(driftMarker(a))
    expect(findsDriftMarker(`${driftMarker(a)}\nreport`, a)).toBe(true)
    expect(findsDriftMarker(`quoted: ${driftMarker(a)}\nreport`, a)).toBe(false)
    expect(findsDriftMarker(`${driftMarker(a)}tail`, a)).toBe(false)
  })
})

describe('the drift issue', () => {
  it('lists the drifted resources, keeps to 65,536 characters, blanks secrets, and ignores look-alike issues of other authors and other stacks', async () => {
    const cfg = config({ 'github-token': 'ghs_standin_write' })
    const stack = {
      workingDirectory: 'terraform',
      stateKey: cfg.stateKey,
      environment: 'production'
    }
    // Someone pasted the marker into an issue of their own; another stack has its own issue.
    const { data: forged } = await fetchJson(`/repos/${repo}/issues`, 'ghp_someone', {
      title: 'copied',
      body: `${driftMarker(stack)}\nnot the action's`
    })
    const otherConfig = config({
      'github-token': 'ghs_standin_write',
      'working-directory': 'infra'
    })
    const other = await syncDriftIssue(
      otherConfig,
      new RunReport(otherConfig),
      driftFindings(load('drift'), load('drift'))
    )
    expect(other.status).toBe('opened')

    const summary = load('drift')
    // 3,000 more drifted resources: far over the limit if listed whole.
    const many: ResourceChange[] = Array.from({ length: 3000 }, (_, i) => ({
      ...(summary.drift[0] as ResourceChange),
      address: `terraform_data.extra["${String(i).padStart(4, '0')}"]`
    }))
    const big = { ...summary, drift: [...summary.drift, ...many] }
    const report = new RunReport(cfg)
    report.secrets.push('hunter2-secret-value')
    report.planText = `# terraform_data.same will be updated\n  input = "hunter2-secret-value"\n${'~ line\n'.repeat(20000)}`
    const opened = await syncDriftIssue(cfg, report, driftFindings(big, summary))
    expect(opened).toMatchObject({ status: 'opened' })
    const issue = gh.issues(repo).find(i => i.number === (opened as { number: number }).number)
    const body = issue?.body ?? ''
    expect(body.startsWith(`${driftMarker(stack)}\n### Drift check: \`terraform\``)).toBe(true)
    expect([...body].length).toBeLessThanOrEqual(65536)
    expect(body).toContain('#### Changed outside Terraform')
    expect(body).toContain('`terraform_data.gone`')
    expect(body).toMatch(/and [\d,]+ more drifted resources/)
    expect(body).not.toContain('hunter2-secret-value')
    expect(gh.issues(repo).find(i => i.number === forged.number)?.body).toBe(
      `${driftMarker(stack)}\nnot the action's`
    )

    // Clean again: a comment and the issue closed; the other stack's issue stays open.
    const closed = await syncDriftIssue(
      cfg,
      new RunReport(cfg),
      driftFindings(load('no-changes'), load('no-changes'))
    )
    expect(closed).toMatchObject({ status: 'closed', number: issue?.number })
    const states = Object.fromEntries(gh.issues(repo).map(i => [i.number, i.state]))
    expect(states).toEqual({
      [forged.number]: 'open',
      [(other as { number: number }).number]: 'open',
      [issue?.number ?? 0]: 'closed'
    })
    expect(gh.comments(repo, issue?.number ?? 0)[0]?.body).toContain(
      '[this run](https://github.com/acme/drift/actions/runs/77) at commit `bbbbbbbbbbbb`'
    )
  })

  it('without a token, or with one that may not write issues: a warning naming the fix, never a throw', async () => {
    const findings = driftFindings(load('drift'), load('drift'))
    const noToken = config({ 'github-token': '' })
    expect(await syncDriftIssue(noToken, new RunReport(noToken), findings)).toEqual({
      status: 'failed',
      warning: expect.stringContaining('No github-token') as unknown as string
    })
    const readOnly = config({
      'github-token': 'ghs_standin_read',
      'working-directory': 'infra',
      'state-key': 'ro/terraform.tfstate'
    })
    const outcome = await syncDriftIssue(readOnly, new RunReport(readOnly), findings)
    expect(outcome.status).toBe('failed')
    expect((outcome as { warning: string }).warning).toMatch(
      /may not write issues \(403.*issues: write.*drift-issue: false.*job summary has the report/
    )
  })
})

/** A raw POST to the stand-in (as another user would, through the web UI). */
async function fetchJson(
  route: string,
  token: string,
  body: unknown
): Promise<{ data: { number: number } }> {
  const res = await fetch(`${gh.url}${route}`, {
    method: 'POST',
    headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })
  return { data: (await res.json()) as { number: number } }
}
