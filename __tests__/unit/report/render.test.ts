import { describe, it, expect } from '@jest/globals'
import { readFileSync } from 'node:fs'
import v8 from 'node:v8'
import { runInNewContext } from 'node:vm'
import { join } from 'node:path'
import { summarizePlan, type PlanSummary } from '../../../src/terraform/plan'
import { sensitiveStrings } from '../../../src/terraform/sensitive'
import { findsMarker, stackMarker } from '../../../src/github/marker'
import { renderReport } from '../../../src/report/render'
import { codeSpan, escapeText, fencedBlock, safeUrl, truncate } from '../../../src/report/markdown'
import { codeBlocks, expectInert, prContext, reportStack } from '../../helpers/markdown'
import { formatDuration } from '../../../src/format'

const FIXTURES = join(process.cwd(), '__tests__', 'fixtures', 'plans')
const readFixture = (file: string): string => readFileSync(join(FIXTURES, file), 'utf8')
const plan = (name: string): PlanSummary => summarizePlan(readFixture(`${name}.json`))
const planText = (name: string): string => readFixture(`${name}.txt`)

const stack = reportStack
const context = prContext

// --- a small model of how GitHub (cmark-gfm) reads the markdown, for the escaping checks --------

/** Removes fenced code blocks and inline code spans, as CommonMark delimits them. */
function outsideCode(md: string): string {
  const kept: string[] = []
  const lines = md.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,})/.exec(lines[i] ?? '')
    if (open) {
      const fence = open[1] ?? '```'
      let j = i + 1
      const closes = new RegExp(`^ {0,3}\`{${fence.length},}\\s*$`)
      while (j < lines.length && !closes.test(lines[j] ?? '')) j++
      i = j
      continue
    }
    kept.push(lines[i] ?? '')
  }
  const text = kept.join('\n')
  let out = ''
  let pos = 0
  const runs = /`+/g
  let m: RegExpExecArray | null
  while ((m = runs.exec(text)) !== null) {
    const n = m[0].length
    const closer = new RegExp(`(?<!\`)\`{${n}}(?!\`)`, 'g')
    closer.lastIndex = m.index + n
    const c = closer.exec(text)
    if (!c) continue
    out += text.slice(pos, m.index) + '`CODE`'
    pos = c.index + n
    runs.lastIndex = pos
  }
  out += text.slice(pos)
  // <code> elements whose text is all character references (see codeSpan)
  return out.replace(/<code>[^<>]*<\/code>/g, '`CODE`')
}

/** Cells of a table row the way cmark-gfm splits it (a | after a backslash stays in the cell). */
function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\|/, '')
    .replace(/(?<!\\)\|$/, '')
    .split(/(?<!\\)\|/)
}

/** The rows of the table that follows `heading`. */
function tableAfter(md: string, heading: string): string[] {
  const lines = md.split('\n')
  const start = lines.indexOf(heading)
  expect(start).toBeGreaterThanOrEqual(0)
  const rows: string[] = []
  let i = lines.findIndex((l, k) => k > start && l.startsWith('|'))
  while (i >= 0 && i < lines.length && (lines[i] ?? '').startsWith('|')) rows.push(lines[i++] ?? '')
  return rows
}

/** Our own HTML only: one <details>, one </details>, <sub>, and the marker when asked for. */
function expectOnlyOurHtml(md: string, opts: { marker: boolean; details: number }): void {
  const text = outsideCode(md)
  expect(text).not.toMatch(/<script|<img|<a\s|<\/?table|<\/?pre|<\/?code|<style|<iframe/i)
  expect(text.split('<details>').length - 1).toBe(opts.details)
  expect(text.split('</details>').length - 1).toBe(opts.details)
  const comments = text.split('<!--').length - 1
  expect(comments).toBe(opts.marker ? 1 : 0)
  expect(text.split('-->').length - 1).toBe(opts.marker ? 1 : 0)
  if (opts.marker) expect(text.startsWith('<!-- revive-deploy:stack=')).toBe(true)
}

// ---------------------------------------------------------------------------------------------

describe('report content', () => {
  it('shows counts, a table by action with replacements called out, outputs, plan text and provenance', () => {
    const summary = plan('lifecycle')
    const md = renderReport(summary, context({ planText: planText('lifecycle') }))
    expect(md).toContain('### Terraform plan: `terraform` (`production`)')
    expect(md).toContain(
      '**Plan: 1 to add, 1 to change, 0 to destroy, 2 to replace, 1 to read, 1 to import, 1 to move, 1 to forget.**'
    )
    expect(md).toContain(
      '**Downtime risk:** 2 replacements destroy the existing object before creating the new one.'
    )
    const rows = tableAfter(md, '#### Resource changes')
    expect(rows[0]).toBe('| Action | Resource | Details |')
    // risky first: replacements, then forget, update, create, read, move
    expect(rows.slice(2).map(r => cells(r)[0]?.trim())).toEqual([
      '**replace**',
      '**replace**',
      'forget',
      'update',
      'create',
      'read',
      'move'
    ])
    expect(rows[2]).toContain('`terraform_data.requested`')
    // the explanations two rows share are said once under the table, with their addresses
    expect(md).toContain(
      '- Destroys the old object before creating the new one (downtime risk): `terraform_data.requested`, `terraform_data.tainted`.'
    )
    expect(md).toContain('- Replacement requested (-replace): `terraform_data.requested`.')
    expect(md).toContain('- Tainted: `terraform_data.tainted`.')
    expect(md).toContain('moved from `terraform_data.old_name`')
    expect(md).toContain(
      '| update | `terraform_data.imported` | changes `input`, `output`; imported |'
    )
    // the plan text, collapsed, whole
    expect(md).toContain('<details><summary>Plan text (62 lines)</summary>')
    expect(codeBlocks(md).at(-1)).toBe(planText('lifecycle').trim())
    // provenance
    expect(md).toContain(
      'commit [`0123456`](https://github.com/acme/shop/commit/0123456789abcdef0123456789abcdef01234567)'
    )
    expect(md).toContain('[workflow run](https://github.com/acme/shop/actions/runs/4242)')
    expect(md).toContain('event `pull_request` by `octocat`')
    expect(md).toContain('state key `production/terraform.tfstate`')
    expect(md).toContain('2025-03-04 05:06:07 UTC')
    expect(md).toContain('Terraform `1.11.')
    expect(md).not.toMatch(/[\u{1F300}-\u{1FAFF}\u{2600}-\u{27BF}]/u) // no emoji
  })

  it('calls out create-before-destroy replacements without the downtime warning', () => {
    const md = renderReport(plan('replace-create-first'), context())
    expect(md).toContain('| replace | `terraform_data.web` | forced by `triggers_replace` |')
    expect(md).toContain(
      '- Creates the new object before destroying the old one: `terraform_data.web`.\n- Cannot be updated in place: `terraform_data.web`.'
    )
    expect(md).not.toContain('Downtime risk')
  })

  it('warns about destruction and lists the reason', () => {
    const md = renderReport(plan('delete'), context())
    expect(md).toContain('**2 resources will be destroyed.**')
    expect(md).toContain('| **destroy** | `terraform_data.old[0]` |  |')
    expect(md).toContain(
      '- No longer in the configuration: `terraform_data.old[0]`, `terraform_data.old[1]`.'
    )
  })

  it('shows drift in its own table', () => {
    const md = renderReport(plan('drift'), context())
    const rows = tableAfter(md, '#### Changed outside Terraform')
    // only the drift relevant to the plan (see plan.test.ts), with the attributes that drifted
    expect(rows).toEqual([
      '| Change | Resource | Attributes |',
      '| --- | --- | --- |',
      '| changed | `terraform_data.same` | `input` |'
    ])
  })

  it('shows output changes; sensitive ones as (sensitive), unknown ones as (known after apply)', () => {
    const md = renderReport(plan('outputs'), context({ planText: planText('outputs') }))
    expect(tableAfter(md, '#### Output changes')).toEqual([
      '| Output | Action | Before | After |',
      '| --- | --- | --- | --- |',
      '| `config` | create |  | `{"ports":[80,443],"tier":"gold"}` |',
      '| `fresh_id` | create |  | (known after apply) |',
      '| `removed` | delete | `"bye"` |  |',
      '| `same` | create |  | `"unchanged"` |',
      '| `url` | update | `"https://old.example.com"` | `"https://new.example.com"` |'
    ])
    const secret = renderReport(
      plan('outputs-secret-change'),
      context({ planText: planText('outputs-secret-change') })
    )
    expect(secret).toContain('| `password` | update | (sensitive) | (sensitive) |')
  })

  it('never shows a sensitive value, from any fixture, even where terraform show prints it', () => {
    for (const name of ['outputs', 'outputs-secret-change']) {
      const json = readFixture(`${name}.json`)
      const error = `Error: apply failed for input "old-secret-hunter2"`
      const md = renderReport(
        summarizePlan(json),
        context({
          planText: planText(name),
          apply: { status: 'failed', error },
          sections: [
            { title: 'Health', markdown: 'checked https://x.example/?k=old-secret-hunter2' }
          ],
          secrets: sensitiveStrings(json)
        })
      )
      expect(md).not.toContain('hunter2')
      expect(md).not.toContain('correcthorse')
      expect(md).toContain('(sensitive value)')
    }
    // the job summary of the same run with no secrets given would leak Terraform's own text
    expect(planText('outputs-secret-change')).toContain('old-secret-hunter2')
  })

  it('no changes: says so; a run without a plan says that', () => {
    const md = renderReport(plan('no-changes'), context({ note: 'No changes now.' }))
    expect(md).toContain(
      '**Plan: 0 to add, 0 to change, 0 to destroy, 0 to replace.** No changes: the infrastructure matches the configuration.'
    )
    expect(md).toContain('> No changes now\\.')
    expect(md).not.toContain('#### Resource changes')
    const frontendOnly = renderReport(undefined, context({ mode: 'frontend' }))
    expect(frontendOnly).toContain('### Frontend deploy:')
    expect(frontendOnly).toContain('No Terraform plan in this run (mode `frontend`).')
  })

  it('an errored plan says it cannot be applied, and nothing that contradicts it', () => {
    const md = renderReport(plan('errored'), context({ planText: planText('errored') }))
    const head = md.split('#### Resource changes')[0] ?? ''
    expect(head).toContain(
      '**Planning failed.** Terraform hit an error while planning, so this plan cannot be applied (the error is in the log). Before the error it planned the changes below: 0 to add, 1 to change, 0 to destroy, 0 to replace.'
    )
    expect(head).not.toMatch(/\*\*Plan:|No changes/)
    expect(md).toContain('| update | `terraform_data.api` | changes `input`, `output` |')

    // errored with nothing planned before the error: no "No changes" headline above the failure
    const doc = JSON.parse(readFixture('errored.json')) as Record<string, unknown>
    const nothing = summarizePlan({ ...doc, resource_changes: [], output_changes: {} })
    const empty = renderReport(nothing, context())
    expect(empty).toContain(
      '**Planning failed.** Terraform hit an error while planning, so this plan cannot be applied (the error is in the log).'
    )
    expect(empty).not.toMatch(/No changes|to add|will be destroyed/)
  })

  it('a failed plan shows the error instead of the table', () => {
    const error =
      'Error: Resource precondition failed\n\n  on main.tf line 7, in resource "terraform_data" "guarded":\n   7:       condition     = terraform_data.api.input == "v1"\n\napi must stay at v1'
    const md = renderReport(plan('errored'), context({ planError: error, planText: 'ignored' }))
    expect(md).toContain(
      '**Plan failed.** Terraform could not produce a plan, so nothing was applied. The error:'
    )
    expect(codeBlocks(md)).toEqual([error])
    expect(md).not.toContain('#### Resource changes')
    expect(md).not.toContain('<details>')
  })

  it('a failure before the plan is the headline, with its error escaped like plan text', () => {
    const error =
      'terraform init failed in terraform (exit code 1): Invalid block definition (terraform/main.tf line 7)\n\nError: Invalid block definition\n\n  on main.tf line 7:\n   7:   oops ```</details><!-- @octocat -->\n\nsecret-value-123'
    const md = renderReport(
      undefined,
      context({ failure: { phase: 'Terraform init', text: error }, secrets: ['secret-value-123'] })
    )
    expect(md).toContain(
      '**Terraform init failed** before a plan was made; nothing was applied. The error:'
    )
    expect(md).not.toContain('No Terraform plan in this run')
    expect(codeBlocks(md)).toEqual([error.replace('secret-value-123', '(sensitive value)')])
    expect(outsideCode(md)).not.toMatch(/<\/details>|<!--|@octocat/)

    // after the plan (the frontend, the health checks): the plan stays, the failure follows it
    const later = renderReport(
      plan('update'),
      context({ mode: 'deploy', failure: { phase: 'Health checks', text: 'GET / answered 503' } })
    )
    expect(later).toContain('**Plan: 0 to add, 1 to change')
    expect(later).toContain('**Health checks failed.** The error:')
    expect(codeBlocks(later)[0]).toBe('GET / answered 503')
  })

  it('shows the apply outcome: applied, failed with the error, not run', () => {
    const applied = renderReport(
      plan('update'),
      context({ mode: 'deploy', apply: { status: 'applied', seconds: 125 } })
    )
    expect(applied).toContain('### Terraform apply:')
    expect(applied).toContain('**Apply: succeeded** in 2 min 5 s.')

    const failure =
      'Error: creating Lambda Function (api): ResourceConflictException: Function already exist: api'
    const failed = renderReport(
      plan('update'),
      context({ mode: 'deploy', apply: { status: 'failed', error: failure, seconds: 9 } })
    )
    expect(failed).toContain('**Apply: failed** in 9.0 s.')
    expect(codeBlocks(failed)[0]).toBe(failure)

    const notRun = renderReport(plan('update'), context({ apply: { status: 'not-run' } }))
    expect(notRun).toContain('**Apply: not run.**')
    expect(notRun).toContain('### Terraform plan:')
  })

  it('includes the extra sections in order', () => {
    const md = renderReport(
      plan('update'),
      context({
        sections: [
          { title: 'Frontend sync', markdown: '| uploaded | deleted |\n|---|---|\n| 3 | 1 |' },
          { title: 'Phase timings', markdown: '- plan: 12 s\n- apply: 30 s' }
        ]
      })
    )
    const a = md.indexOf('#### Frontend sync\n\n| uploaded | deleted |')
    const b = md.indexOf('#### Phase timings\n\n- plan: 12 s')
    expect(a).toBeGreaterThan(0)
    expect(b).toBeGreaterThan(a)
    expect(b).toBeLessThan(md.indexOf('<sub>'))
  })
})

describe('what a reviewer needs (issue 15)', () => {
  const updateDoc = (): Record<string, unknown> =>
    JSON.parse(readFixture('update.json')) as Record<string, unknown>
  const withChanges = (changes: unknown[], extra: Record<string, unknown> = {}): PlanSummary =>
    summarizePlan({ ...updateDoc(), resource_changes: changes, ...extra })
  const template = (): Record<string, unknown> =>
    (updateDoc().resource_changes as Array<Record<string, unknown>>)[0] as Record<string, unknown>

  it("shows each changed resource's attributes, before and after, in a collapsed diff", () => {
    const md = renderReport(plan('replace-destroy-first'), context())
    expect(md).toContain('#### Changes by resource')
    expect(md).toContain(
      '<details><summary><code>terraform_data.db</code> (replace, 2 attributes)</summary>\n\n```diff\n' +
        '- id = "7204af09-6e27-de42-d8b5-1a908c6331f7"\n+ id = (known after apply)\n' +
        '- triggers_replace[0] = "one"\n+ triggers_replace[0] = "two"  # forces replacement\n```\n\n</details>'
    )
    // nested attributes by path; unchanged ones left out
    const nested = withChanges([
      {
        ...template(),
        change: {
          actions: ['update'],
          before: { tags: { Name: 'a', Team: 'x' }, rules: [{ port: 80 }], same: 1 },
          after: { tags: { Name: 'b', Team: 'x' }, rules: [{ port: 8080 }], same: 1 },
          after_unknown: {},
          before_sensitive: {},
          after_sensitive: {}
        }
      }
    ])
    const diff = codeBlocks(renderReport(nested, context()))[0]
    expect(diff).toBe(
      '- rules[0].port = 80\n+ rules[0].port = 8080\n- tags.Name = "a"\n+ tags.Name = "b"'
    )
  })

  it('shows sensitive attributes as (sensitive), never their values', () => {
    const raw = readFixture('outputs-secret-change.json')
    const md = renderReport(
      plan('outputs-secret-change'),
      context({ secrets: sensitiveStrings(raw) })
    )
    expect(codeBlocks(md)[0]).toBe(
      '- input = (sensitive)\n+ input = (sensitive)\n- output = (sensitive)\n+ output = (known after apply)'
    )
    expect(md).not.toMatch(/hunter2|correcthorse/)
    // an attribute not marked sensitive whose value holds a sensitive string is masked too
    const leaked = withChanges(
      [
        {
          ...template(),
          change: {
            actions: ['update'],
            before: { input: 'plain' },
            after: { input: 'prefix-top-secret-value' },
            after_unknown: {},
            before_sensitive: {},
            after_sensitive: {}
          }
        }
      ],
      {
        variables: { pw: { value: 'top-secret-value' } },
        configuration: { root_module: { variables: { pw: { sensitive: true } } } }
      }
    )
    const text = renderReport(leaked, context())
    expect(codeBlocks(text)[0]).toBe('- input = "plain"\n+ input = (sensitive)')
    expect(text).not.toContain('top-secret')
  })

  it('cuts the per-resource diffs first, saying how many, and keeps every table row', () => {
    const many = Array.from({ length: 60 }, (_, i) => ({
      ...template(),
      address: `terraform_data.r[${i}]`,
      change: {
        actions: ['update'],
        before: { input: 'x'.repeat(150) },
        after: { input: 'y'.repeat(150) },
        after_unknown: {},
        before_sensitive: {},
        after_sensitive: {}
      }
    }))
    const md = renderReport(withChanges(many), context(), { maxLength: 12_000 })
    expect(md.length).toBeLessThanOrEqual(12_000)
    expect(tableAfter(md, '#### Resource changes')).toHaveLength(62)
    const shown = md.split('<details><summary><code>').length - 1
    expect(shown).toBeGreaterThan(0)
    expect(shown).toBeLessThan(60)
    expect(md).toContain(`… and ${60 - shown} more resources with changed attributes`)
  })

  it('shows only relevant drift, and all drift in a refresh-only plan, saying which it is', () => {
    const doc = JSON.parse(readFixture('drift.json')) as Record<string, unknown>
    const refresh = summarizePlan({ ...doc, resource_changes: [] })
    const md = renderReport(refresh, context())
    expect(md).toContain('Refresh-only plan: 2 objects changed outside Terraform (below)')
    expect(md).toContain('This is a refresh-only plan')
    expect(tableAfter(md, '#### Changed outside Terraform').slice(2)).toEqual([
      '| deleted | `terraform_data.gone` |  |',
      // every drifted attribute in a refresh-only plan (a plan shows the relevant ones only)
      '| changed | `terraform_data.same` | `input`, `output` |'
    ])
    expect(md).not.toContain('No changes')
  })

  it("shows Terraform's own Plan: line beside the breakdown", () => {
    const md = renderReport(plan('lifecycle'), context())
    const line = /^Plan: .*$/m.exec(planText('lifecycle'))?.[0]
    expect(line).toBe('Plan: 1 to import, 3 to add, 1 to change, 2 to destroy.')
    expect(md).toContain(
      `**Plan: 1 to add, 1 to change, 0 to destroy, 2 to replace, 1 to read, 1 to import, 1 to move, 1 to forget.** As Terraform counts it (a replacement is one to add and one to destroy): \`${line}\``
    )
    expect(renderReport(plan('no-changes'), context())).not.toContain('As Terraform counts it')
  })

  it('orders addresses as people read them and prints unknown output parts unquoted', () => {
    const rows = tableAfter(
      renderReport(
        withChanges([10, 2, 1].map(i => ({ ...template(), address: `terraform_data.r[${i}]` }))),
        context()
      ),
      '#### Resource changes'
    )
    expect(rows.slice(2).map(r => cells(r)[1]?.trim())).toEqual([
      '`terraform_data.r[1]`',
      '`terraform_data.r[2]`',
      '`terraform_data.r[10]`'
    ])
    const outputs = withChanges([], {
      output_changes: {
        endpoint: {
          actions: ['create'],
          before: null,
          after: { host: 'a.example' },
          after_unknown: { port: true },
          before_sensitive: false,
          after_sensitive: false
        }
      }
    })
    expect(renderReport(outputs, context())).toContain(
      '| `endpoint` | create |  | `{"host":"a.example","port":(known after apply)}` |'
    )
  })

  it('keeps hostile addresses and values inert in the diff blocks', () => {
    const address =
      'terraform_data.x["</code></summary></details><!-- @octocat #1 `t` [a](https://evil.example)"]'
    const md = renderReport(
      withChanges([
        {
          ...template(),
          address,
          change: {
            actions: ['update'],
            before: { input: 'a' },
            after: { input: '```\n</details>\n<!-- x -->\n<script>alert(1)</script>' },
            after_unknown: {},
            before_sensitive: {},
            after_sensitive: {}
          }
        }
      ]),
      context()
    )
    expectInert(md, ['https://github.com/acme/shop/'])
    const summaryLine = md.split('\n').find(l => l.startsWith('<details><summary><code>')) ?? ''
    expect(summaryLine).toBe(
      '<details><summary><code>terraform_data.x&#91;&#34;&#60;/code&#62;&#60;/summary&#62;&#60;/details&#62;&#60;!-- &#64;octocat &#35;1 &#96;t&#96; &#91;a&#93;(https://evil.example)&#34;&#93;</code> (update, 1 attribute)</summary>'
    )
    expect(codeBlocks(md)[0]).toBe(
      '- input = "a"\n+ input = "```\\n</details>\\n<!-- x -->\\n<script>alert(1)</script>"'
    )
  })

  it('folds the backend and timings into one collapsed block in the PR comment only', () => {
    const sections = [
      {
        title: 'State backend',
        markdown: '| Resource | Name |\n| --- | --- |\n| S3 | b |',
        fold: true
      },
      { title: 'Health checks', markdown: 'All 2 URLs answered 200.' },
      { title: 'Timings', markdown: '| Phase | Time |\n| --- | ---: |\n| plan | 3 s |', fold: true }
    ]
    const comment = renderReport(plan('update'), context({ sections }), { foldSections: true })
    expect(comment).toContain(
      '<details><summary>State backend and Timings</summary>\n\n#### State backend\n\n| Resource | Name |'
    )
    expect(comment).toContain(
      '#### Timings\n\n| Phase | Time |\n| --- | ---: |\n| plan | 3 s |\n\n</details>'
    )
    expect(comment).toContain('#### Health checks\n\nAll 2 URLs answered 200.')
    expect(comment.split('<details>').length).toBe(comment.split('</details>').length)
    const jobSummary = renderReport(plan('update'), context({ sections }))
    expect(jobSummary).not.toContain('<summary>State backend')
    expect(jobSummary).toContain('#### State backend\n\n| Resource | Name |')
  })
})

describe('stack marker', () => {
  it('is a hidden comment first in the PR comment, and absent from the job summary', () => {
    const comment = renderReport(plan('update'), context(), { includeMarker: true })
    expect(stackMarker(stack)).toMatch(/^<!-- revive-deploy:stack=[0-9a-f]{16} -->$/)
    expect(comment.startsWith(`${stackMarker(stack)}\n`)).toBe(true)
    expect(findsMarker(comment, stack)).toBe(true)
    const summary = renderReport(plan('update'), context())
    expect(summary).not.toContain('revive-deploy:stack=')
    expect(findsMarker(summary, stack)).toBe(false)
  })

  it('identifies the stack by working directory and state key', () => {
    const other = { ...stack, stateKey: 'staging/terraform.tfstate' }
    expect(stackMarker(other)).not.toBe(stackMarker(stack))
    expect(stackMarker({ ...stack, workingDirectory: 'infra' })).not.toBe(stackMarker(stack))
    expect(stackMarker({ ...stack, workingDirectory: './terraform/' })).toBe(stackMarker(stack))
    const comment = renderReport(plan('update'), context(), { includeMarker: true })
    expect(findsMarker(comment, other)).toBe(false)
  })

  it('cannot be forged by Terraform text, notes or sections', () => {
    const marker = stackMarker(stack)
    const forged = `terraform_data.x["${marker}"]`
    const summary: PlanSummary = {
      ...plan('update'),
      resources: [{ address: forged, type: 'terraform_data', name: 'x', action: 'update' }]
    }
    const md = renderReport(
      summary,
      context({
        planText: `${marker}\n--> <!-- hidden`,
        note: `${marker} <!-- hide the rest`,
        sections: [{ title: `${marker}`, markdown: `<!-- ${marker}` }]
      })
    )
    // the job summary (no marker) is not taken for the stack's comment although it holds copies
    expect(findsMarker(md, stack)).toBe(false)
    expect(findsMarker(`\n${marker}\n`, stack)).toBe(false)
    expect(findsMarker(`> ${marker}`, stack)).toBe(false)
    expect(findsMarker(`${marker}x`, stack)).toBe(false)
    // and no HTML comment is opened anywhere outside code
    expectOnlyOurHtml(md, { marker: false, details: 1 })
    const withMarker = renderReport(summary, context({ note: `<!-- ${marker} -->` }), {
      includeMarker: true
    })
    expect(findsMarker(withMarker, stack)).toBe(true)
    expectOnlyOurHtml(withMarker, { marker: true, details: 0 })
  })
})

describe('escaping text from Terraform', () => {
  const nasty = [
    'terraform_data.a["pipe|in|key"]',
    'terraform_data.b["new\nline"]',
    'terraform_data.c["<script>alert(1)</script>"]',
    'terraform_data.d["</details>"]',
    'terraform_data.e["```"]',
    'terraform_data.f["`tick` and ``double``"]',
    'terraform_data.g["<!-- open comment"]',
    'terraform_data.h["close -->"]',
    'terraform_data.i["back\\\\|slash pipe"]',
    'terraform_data.j["<img src=x onerror=alert(1)>"]',
    'terraform_data.k["@octocat #1 [link](https://evil.example)"]',
    'terraform_data.l["\u001b[31mred\u001b[0m \u202eoverride"]'
  ]
  const summary: PlanSummary = {
    ...plan('update'),
    change: nasty.length,
    resources: nasty.map(address => ({
      address,
      type: 'terraform_data',
      name: 'x',
      action: 'update' as const,
      actionReason: 'weird|reason<script>',
      replacePaths: ['tags["a|b"]']
    })),
    outputs: [
      {
        name: 'evil|name',
        action: 'update',
        sensitive: false,
        before: '"</details><script>x</script>"',
        after: '"a|b\\n```\\n<!--"'
      }
    ]
  }
  const nastyPlanText = [
    'Terraform will perform the following actions:',
    '```',
    '</details>',
    '<!-- revive-deploy:stack=0000000000000000 -->',
    '<script>alert(1)</script>',
    '````````',
    '  ~ resource "terraform_data" "x" {}'
  ].join('\n')
  const md = renderReport(summary, context({ planText: nastyPlanText }), { includeMarker: true })

  it('keeps every table row one line with the right number of cells', () => {
    const rows = tableAfter(md, '#### Resource changes')
    expect(rows).toHaveLength(2 + nasty.length)
    for (const row of rows) expect(cells(row)).toHaveLength(3)
    const outputs = tableAfter(md, '#### Output changes')
    expect(outputs).toHaveLength(3)
    for (const row of outputs) expect(cells(row)).toHaveLength(4)
  })

  it('uses an HTML code element with character references when a backslash precedes a pipe', () => {
    expect(md).toContain(
      '| update | <code>terraform&#95;data&#46;i&#91;&#34;back&#92;&#92;&#124;slash pipe&#34;&#93;</code> |'
    )
  })

  it('shows addresses inside code spans, pipes escaped for the table', () => {
    expect(md).toContain('| update | `terraform_data.a["pipe\\|in\\|key"]` |')
    expect(md).toContain('`terraform_data.b["new line"]`')
    expect(md).toContain('``terraform_data.e["```"]``')
    expect(md).toContain('```terraform_data.f["`tick` and ``double``"]```')
    expect(md).toContain('`terraform_data.l["red override"]`')
  })

  it('lets no HTML, comment, link or mention out of code', () => {
    expectOnlyOurHtml(md, { marker: true, details: 1 })
    const text = outsideCode(md)
    expect(text).not.toContain('@octocat')
    expect(text).not.toContain('](https://evil')
  })

  it('keeps the plan text whole inside a fence longer than any backtick run in it', () => {
    expect(md).toContain('\n`````````text\n')
    expect(codeBlocks(md)).toEqual([nastyPlanText])
  })

  it('escapes a plan error the same way', () => {
    const failed = renderReport(undefined, context({ planError: nastyPlanText }), {
      includeMarker: true
    })
    expect(codeBlocks(failed)).toEqual([nastyPlanText])
    expectOnlyOurHtml(failed, { marker: true, details: 0 })
  })
})

describe('size', () => {
  const actions: string[][] = [
    ['create'],
    ['update'],
    ['delete'],
    ['delete', 'create'],
    ['create', 'delete']
  ]
  const template = (
    JSON.parse(readFixture('replace-destroy-first.json')) as {
      resource_changes: Array<{ change: Record<string, unknown> }>
    }
  ).resource_changes[0] as { change: Record<string, unknown> }

  /** A plan of n changes in the real JSON shape, and matching `terraform show` text. */
  function bigPlan(n: number): { summary: PlanSummary; text: string } {
    const base = JSON.parse(readFixture('replace-destroy-first.json')) as Record<string, unknown>
    const changes = Array.from({ length: n }, (_, i) => ({
      ...template,
      address: `module.service_${i % 13}.terraform_data.lambda_function_with_a_long_name["fn-${i}"]`,
      module_address: `module.service_${i % 13}`,
      change: { ...template.change, actions: actions[i % actions.length] }
    }))
    const summary = summarizePlan({ ...base, resource_changes: changes })
    const text: string[] = ['Terraform will perform the following actions:', '']
    for (const c of changes) {
      text.push(
        `  # ${c.address} will be updated in-place`,
        `  ~ resource "terraform_data" "lambda_function_with_a_long_name" {`,
        `        id     = "${'0'.repeat(36)}"`,
        `      ~ input  = "v1" -> "v2"`,
        `    }`,
        ''
      )
    }
    text.push(`Plan: ${n} to add, 0 to change, 0 to destroy.`)
    return { summary, text: text.join('\n') }
  }

  it('a 5,000-change plan fits in 65,536 characters with full counts and the table header', () => {
    const { summary, text } = bigPlan(5000)
    expect(text.length).toBeGreaterThan(1_000_000)
    const md = renderReport(
      summary,
      context({
        planText: text,
        fullPlanLocation:
          '[the job summary of run #12](https://github.com/acme/shop/actions/runs/4242)'
      }),
      { includeMarker: true }
    )
    expect(md.length).toBeLessThanOrEqual(65_536)
    expect(md.length).toBeGreaterThan(60_000) // uses the room it has
    expect(md).toContain(
      '**Plan: 1,000 to add, 1,000 to change, 1,000 to destroy, 2,000 to replace.**'
    )
    const rows = tableAfter(md, '#### Resource changes')
    expect(rows[0]).toBe('| Action | Resource | Details |')
    const shown = rows.length - 2
    expect(shown).toBeGreaterThan(100)
    expect(md).toContain(
      `… and ${(5000 - shown).toLocaleString('en-US')} more resource changes (all of them are in the plan text; the full plan is in [the job summary of run #12](https://github.com/acme/shop/actions/runs/4242)).`
    )
    // the riskiest rows are the ones kept
    expect(rows.slice(2).every(r => r.startsWith('| **replace** |'))).toBe(true)
    expect(findsMarker(md, stack)).toBe(true)
    expect(md).toContain('<sub>commit [`0123456`]')
  })

  it('shortens a long plan text first, keeping whole lines and saying where the full plan is', () => {
    const { text } = bigPlan(400)
    const summary = plan('update')
    const md = renderReport(
      summary,
      context({ planText: text, fullPlanLocation: 'the job summary of this run' }),
      { includeMarker: true }
    )
    expect(md.length).toBeLessThanOrEqual(65_536)
    expect(md).toContain('| update | `terraform_data.api` | changes `input`, `output` |')
    const lines = text.split('\n')
    const block = codeBlocks(md).at(-1) // after the per-resource diff
    const kept = (block ?? '').split('\n')
    const cutLine = kept.findIndex(l => /^\[… [\d,]+ lines cut here …\]$/.test(l))
    expect(cutLine).toBeGreaterThan(100)
    const cut = Number(/[\d,]+/.exec(kept[cutLine] ?? '')?.[0].replace(/,/g, ''))
    // whole lines: the head is the start of the plan, the tail its end (with the "Plan:" line)
    expect(kept.slice(0, cutLine)).toEqual(lines.slice(0, cutLine))
    const tail = kept.slice(cutLine + 1)
    expect(tail).toEqual(lines.slice(lines.length - tail.length))
    expect(tail.at(-1)).toBe('Plan: 400 to add, 0 to change, 0 to destroy.')
    expect(cutLine + tail.length + cut).toBe(lines.length)
    expect(md).toContain(
      `<details><summary>Plan text (${(lines.length - cut).toLocaleString('en-US')} of ${lines.length.toLocaleString('en-US')} lines shown)</summary>`
    )
    expect(md).toContain(
      `${cut.toLocaleString('en-US')} lines were cut from the middle of the plan. The full plan is in the job summary of this run.`
    )
  })

  it('respects a smaller limit and replaces an oversized section with a note', () => {
    const { summary, text } = bigPlan(300)
    const md = renderReport(
      summary,
      context({
        planText: text,
        sections: [
          { title: 'Frontend sync', markdown: 'x'.repeat(50_000) },
          { title: 'Health checks', markdown: 'All 2 URLs answered 200.' }
        ]
      }),
      { maxLength: 20_000 }
    )
    expect(md.length).toBeLessThanOrEqual(20_000)
    expect(md).toContain('**Plan: 60 to add, 60 to change, 60 to destroy, 120 to replace.**')
    expect(md).toContain('| Action | Resource | Details |')
    expect(md).toContain(
      '#### Frontend sync\n\n(Not shown: too long for this report. See the job log.)'
    )
    expect(md).toContain('All 2 URLs answered 200.')
    expect(md).toMatch(/… and [\d,]+ more resource changes/)
  })

  it('keeps counts and headers even with a tiny limit', () => {
    const { summary, text } = bigPlan(50)
    for (const maxLength of [1500, 3000, 8000]) {
      const md = renderReport(summary, context({ planText: text }), {
        maxLength,
        includeMarker: true
      })
      expect(md.length).toBeLessThanOrEqual(maxLength)
      expect(md).toContain('**Plan: 10 to add, 10 to change, 10 to destroy, 20 to replace.**')
      expect(md).toContain('| Action | Resource | Details |\n| --- | --- | --- |')
      expect(findsMarker(md, stack)).toBe(true)
    }
  })

  it('renders a 10,000-change plan well under a second, in modest memory', () => {
    const { summary, text } = bigPlan(10_000)
    const ctx = context({ planText: text, fullPlanLocation: 'the job summary' })
    renderReport(summary, ctx) // warm up
    v8.setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    gc()
    const heapBefore = process.memoryUsage().heapUsed
    const started = performance.now()
    const md = renderReport(summary, ctx, { includeMarker: true })
    const ms = performance.now() - started
    const heapRightAfter = process.memoryUsage().heapUsed
    gc()
    const retained = process.memoryUsage().heapUsed - heapBefore
    const mb = (n: number): string => (n / 1024 / 1024).toFixed(1)
    console.log(
      `renderReport: 10,000 resource changes + ${mb(text.length)} MB plan text -> ${md.length} chars in ${ms.toFixed(1)} ms; heap +${mb(heapRightAfter - heapBefore)} MB right after (garbage included), +${mb(retained)} MB retained`
    )
    expect(md.length).toBeLessThanOrEqual(65_536)
    expect(md).toContain('2,000 to add, 2,000 to change, 2,000 to destroy, 4,000 to replace')
    expect(heapRightAfter - heapBefore).toBeLessThan(64 * 1024 * 1024)
    // What stays on the heap afterwards is printed, not asserted: it moves with whatever else the
    // test process holds (CI saw 2.4 MB once under load); the memory target is the benchmark's.
  })
})

describe('markdown helpers', () => {
  it('codeSpan picks a fence longer than any backtick run and pads edge backticks', () => {
    expect(codeSpan('plain')).toBe('`plain`')
    expect(codeSpan('a`b')).toBe('``a`b``')
    expect(codeSpan('`x`')).toBe('`` `x` ``')
    expect(codeSpan('a|b', { table: true })).toBe('`a\\|b`')
    expect(codeSpan('a|b')).toBe('`a|b`')
    expect(codeSpan('line1\r\nline2')).toBe('`line1 line2`')
    // a backslash before a pipe: no literal pipe or backslash left for the table splitter
    expect(codeSpan('a\\|b', { table: true })).toBe('<code>a&#92;&#124;b</code>')
    expect(codeSpan('a\\', { table: true })).toBe('`a\\`')
  })

  it('a note naming addresses from the plan is escaped text, its link only when safe', () => {
    const note = 'Plan changed: resource x["@octocat <img src=x> [a](https://evil.example) #1"]'
    const md = renderReport(plan('no-changes'), context({ note, noteLink: 'javascript:alert(1)' }))
    const line = md.split('\n').find(l => l.startsWith('> ')) ?? ''
    expect(line).not.toMatch(/<img|\]\(|@o|#1/)
    expect(line).not.toContain('javascript')
    expect(line.replace(/\\|\u200b/g, '')).toContain('@octocat &lt;img src=x&gt;')
    const linked = renderReport(plan('no-changes'), context({ note, noteLink: 'https://ci/run/1' }))
    expect(linked).toContain('([run](https://ci/run/1))')
  })

  it('escapeText neutralises markdown and HTML', () => {
    expect(escapeText('**bold** <b>x</b> [a](b) | @me')).toBe(
      '\\*\\*bold\\*\\* &lt;b&gt;x&lt;/b&gt; \\[a\\]\\(b\\) \\| \\@\u200bme'
    )
  })

  it('fencedBlock outlasts backtick runs', () => {
    expect(fencedBlock('a\n`````\nb')).toBe('``````text\na\n`````\nb\n``````')
  })

  it('safeUrl accepts http(s) only and encodes what could end a link', () => {
    expect(safeUrl('javascript:alert(1)')).toBeUndefined()
    expect(safeUrl('not a url')).toBeUndefined()
    expect(safeUrl('https://x.example/a(b) c')).toBe('https://x.example/a%28b%29%20c')
  })

  it('truncate does not split a surrogate pair; durations read naturally', () => {
    expect(truncate('ab\u{1F600}cd', 4)).toBe('ab…')
    expect(truncate('short', 10)).toBe('short')
    expect(formatDuration(42)).toBe('42 s')
    expect(formatDuration(0.42)).toBe('0.4 s')
    expect(formatDuration(9.96)).toBe('10 s')
    expect(formatDuration(3725)).toBe('1 h 2 min')
  })
})
