import { describe, expect, it } from '@jest/globals'
import { summarizePlan, type PlanSummary } from '../../../src/terraform/plan'
import {
  protectedChanges,
  protectedLine,
  readGuardConfig,
  readProtectedLine,
  STATEFUL_TYPES,
  type GuardConfig
} from '../../../src/terraform/protect'
import { renderReport } from '../../../src/report/render'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { repoRoot } from '../../../standins/run-action'
import { expectInert } from '../../helpers/markdown'

/** A JSON plan with the given resource changes (address, type, actions, extra change fields). */
function planOf(
  changes: Array<{
    address: string
    type: string
    actions: string[]
    extra?: object
    changeExtra?: object
  }>
): PlanSummary {
  return summarizePlan({
    format_version: '1.2',
    terraform_version: '1.11.4',
    planned_values: { root_module: {} },
    resource_changes: changes.map(c => ({
      address: c.address,
      mode: 'managed',
      type: c.type,
      name: c.address.split('.').at(-1)?.replace(/\[.*$/, '') ?? c.type,
      provider_name: 'registry.terraform.io/hashicorp/aws',
      change: { actions: c.actions, before: {}, after: {}, after_unknown: {}, ...c.changeExtra },
      ...c.extra
    }))
  })
}

const inputs =
  (values: Record<string, string>) =>
  (name: string): string =>
    values[name] ?? ''

const guard = (values: Record<string, string> = {}): GuardConfig =>
  readGuardConfig(inputs({ 'allow-destroy-label': 'allow-destroy', ...values }))

const REPLACE = ['delete', 'create']

describe('protected changes', () => {
  const summary = planOf([
    {
      address: 'aws_dynamodb_table.orders',
      type: 'aws_dynamodb_table',
      actions: REPLACE,
      changeExtra: { replace_paths: [['hash_key']] }
    },
    { address: 'aws_s3_bucket.logs', type: 'aws_s3_bucket', actions: ['delete'] },
    { address: 'aws_lambda_function.api', type: 'aws_lambda_function', actions: ['delete'] },
    { address: 'aws_sqs_queue.jobs', type: 'aws_sqs_queue', actions: ['update'] },
    {
      address: 'module.data.aws_dynamodb_table.users["eu"]',
      type: 'aws_dynamodb_table',
      actions: ['delete']
    },
    {
      address: 'aws_kms_key.state',
      type: 'aws_kms_key',
      actions: ['delete'],
      extra: { deposed: '0badc0de' }
    }
  ])

  it('stateful (the default) protects data-holding types deleted or replaced, not deposed objects', () => {
    const changes = protectedChanges(summary, guard())
    expect(changes.map(c => [c.address, c.action, c.allowed])).toEqual([
      ['aws_dynamodb_table.orders', 'replace', false],
      ['aws_s3_bucket.logs', 'delete', false],
      ['module.data.aws_dynamodb_table.users["eu"]', 'delete', false]
    ])
    expect(changes[0]?.why).toBe('hash_key forces replacement')
  })

  it('all, none and globs on addresses, addresses without keys, and types', () => {
    expect(protectedChanges(summary, guard({ protect: 'all' }))).toHaveLength(4)
    expect(protectedChanges(summary, guard({ protect: 'none' }))).toEqual([])
    const globs = protectedChanges(
      summary,
      guard({ protect: 'module.data.aws_dynamodb_table.users\naws_lambda_function' })
    )
    expect(globs.map(c => c.address)).toEqual([
      'aws_lambda_function.api',
      'module.data.aws_dynamodb_table.users["eu"]'
    ])
  })

  it('allow-destroy globs or true mark changes allowed; the label allows only the keys it recorded', () => {
    const byGlob = protectedChanges(summary, guard({ 'allow-destroy': 'aws_s3_bucket.*' }))
    expect(byGlob.filter(c => c.allowed).map(c => c.address)).toEqual(['aws_s3_bucket.logs'])
    expect(
      protectedChanges(summary, guard({ 'allow-destroy': 'true' })).every(c => c.allowed)
    ).toBe(true)
    const label = {
      label: "'allow-destroy' on #5",
      addresses: new Set(['aws_dynamodb_table.orders replace', 'aws_s3_bucket.logs replace'])
    }
    const byLabel = protectedChanges(summary, guard(), label)
    // The bucket is deleted now, but the pull request's plan showed a replace: not allowed.
    expect(byLabel.map(c => [c.address, c.allowed, c.allowedBy])).toEqual([
      ['aws_dynamodb_table.orders', true, "label 'allow-destroy' on #5"],
      ['aws_s3_bucket.logs', false, undefined],
      ['module.data.aws_dynamodb_table.users["eu"]', false, undefined]
    ])
  })

  it('the hidden line round-trips and cannot end the HTML comment early', () => {
    const changes = protectedChanges(
      planOf([{ address: 'aws_s3_bucket.x["-->"]', type: 'aws_s3_bucket', actions: ['delete'] }]),
      guard()
    )
    const line = protectedLine(changes)
    expect(line.slice(4, -4)).not.toContain('--')
    expect(readProtectedLine(`<!-- marker -->\n${line}\n### title`)).toEqual(
      new Set(['aws_s3_bucket.x["-->"] delete'])
    )
    expect(readProtectedLine('<!-- marker -->\n### title')).toBeUndefined()
  })

  it('the report names them first, under the headline, with a hostile address escaped', () => {
    const hostile = planOf([
      {
        address: 'aws_dynamodb_table.t["<img src=x> @admin"]',
        type: 'aws_dynamodb_table',
        actions: ['delete']
      }
    ])
    const markdown = renderReport(hostile, {
      stack: { workingDirectory: 'terraform', stateKey: 'k', environment: 'production' },
      mode: 'plan',
      eventName: 'pull_request',
      timestamp: new Date(0),
      protectedChanges: protectedChanges(hostile, guard())
    })
    const head = markdown.split('\n#### ')[0] ?? ''
    expect(head).toMatch(
      /\*\*Protected resources:\*\* this plan deletes or replaces 1 protected resource; an apply refuses it/
    )
    expect(head).toContain('| delete |')
    expectInert(markdown)
  })
})

describe('inputs', () => {
  it('reads defaults, keywords and glob lines (comments and blanks skipped)', () => {
    expect(guard()).toEqual({
      protect: { kind: 'stateful' },
      allowDestroy: { kind: 'globs', globs: [] },
      allowDestroyLabel: 'allow-destroy'
    })
    expect(guard({ protect: '# data\naws_dynamodb_table.*\n\nmodule.db.*' }).protect).toEqual({
      kind: 'globs',
      globs: ['aws_dynamodb_table.*', 'module.db.*']
    })
    expect(() => guard({ 'allow-destroy-label': 'x'.repeat(51) })).toThrow(
      /Input 'allow-destroy-label'.*at most 50 characters/
    )
  })

  it('docs/protected-resources.md lists exactly the stateful types', () => {
    const doc = fs.readFileSync(path.join(repoRoot, 'docs', 'protected-resources.md'), 'utf8')
    const listed = doc
      .slice(doc.indexOf('## The `stateful` list'))
      .split('\n')
      .filter(line => line.startsWith('- `'))
      .map(line => line.slice(3, -1))
    expect(listed).toEqual([...STATEFUL_TYPES])
  })
})
