import { describe, it, expect } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  planSummaryLine,
  terraformPlanLine,
  summarizePlan,
  type PlanSummary
} from '../../../src/terraform/plan'
import { compareAddresses } from '../../../src/terraform/plan-address'
import { PlanFormatError } from '../../../src/terraform/plan-format'
import { redact, sensitiveStrings } from '../../../src/terraform/sensitive'

const FIXTURES = join(process.cwd(), '__tests__', 'fixtures', 'plans')

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as unknown
}

function load(name: string): PlanSummary {
  return summarizePlan(fixture(name))
}

function counts(s: PlanSummary): Record<string, number> {
  const { add, change, destroy, replace, read } = s
  return { add, change, destroy, replace, read, import: s.import, move: s.move, forget: s.forget }
}

const zero = { add: 0, change: 0, destroy: 0, replace: 0, read: 0, import: 0, move: 0, forget: 0 }

describe('summarizePlan on real Terraform 1.11 plans', () => {
  it('create: counts every new instance, keeps module and odd for_each addresses, sorted', () => {
    const s = load('create')
    expect(counts(s)).toEqual({ ...zero, add: 6 })
    expect(s.hasChanges).toBe(true)
    expect(s.errored).toBe(false)
    expect(s.terraformVersion).toMatch(/^1\.11\./)
    expect(s.resources.map(r => r.address)).toEqual([
      'module.site.terraform_data.inner',
      'terraform_data.api',
      'terraform_data.keyed["</details><!-- x -->"]',
      'terraform_data.keyed["pipe|key"]',
      'terraform_data.keyed["plain"]',
      'terraform_data.keyed["tick`key"]'
    ])
    expect(s.resources.every(r => r.action === 'create')).toBe(true)
    const inner = s.resources[0]
    expect(inner).toMatchObject({
      moduleAddress: 'module.site',
      type: 'terraform_data',
      name: 'inner'
    })
    expect(s.resources[1]?.moduleAddress).toBeUndefined()
    expect(planSummaryLine(s)).toBe('6 to add, 0 to change, 0 to destroy, 0 to replace')
  })

  it('create: new outputs, one only known after apply', () => {
    const s = load('create')
    expect(s.outputs).toEqual([
      { name: 'api_id', action: 'create', sensitive: false, afterUnknown: true },
      { name: 'greeting', action: 'create', sensitive: false, after: '"hello"' }
    ])
  })

  it('update in place: only the changed resource is listed; the no-op one is not', () => {
    const s = load('update')
    expect(counts(s)).toEqual({ ...zero, change: 1 })
    expect(s.resources).toEqual([
      {
        address: 'terraform_data.api',
        type: 'terraform_data',
        name: 'api',
        action: 'update',
        diff: '- input = "v1"\n+ input = "v2"\n- output = "v1"\n+ output = (known after apply)',
        attributesTotal: 2,
        changedAttributes: ['input', 'output']
      }
    ])
    expect(planSummaryLine(s)).toBe('0 to add, 1 to change, 0 to destroy, 0 to replace')
  })

  it('replace (default order) counts only as a replacement, destroy before create', () => {
    const s = load('replace-destroy-first')
    expect(counts(s)).toEqual({ ...zero, replace: 1 })
    expect(s.resources).toEqual([
      {
        address: 'terraform_data.db',
        type: 'terraform_data',
        name: 'db',
        action: 'replace',
        replaceOrder: 'destroy-before-create',
        actionReason: 'replace_because_cannot_update',
        replacePaths: ['triggers_replace'],
        diff:
          '- id = "7204af09-6e27-de42-d8b5-1a908c6331f7"\n+ id = (known after apply)\n' +
          '- triggers_replace[0] = "one"\n+ triggers_replace[0] = "two"  # forces replacement',
        attributesTotal: 2
      }
    ])
    expect(planSummaryLine(s)).toBe('0 to add, 0 to change, 0 to destroy, 1 to replace')
  })

  it('replace with create_before_destroy is create-before-destroy, not add + destroy', () => {
    const s = load('replace-create-first')
    expect(counts(s)).toEqual({ ...zero, replace: 1 })
    expect(s.resources[0]).toMatchObject({
      address: 'terraform_data.web',
      action: 'replace',
      replaceOrder: 'create-before-destroy',
      replacePaths: ['triggers_replace']
    })
  })

  it('delete: counted instances with the reason', () => {
    const s = load('delete')
    expect(counts(s)).toEqual({ ...zero, destroy: 2 })
    expect(s.resources.map(r => [r.address, r.action, r.actionReason])).toEqual([
      ['terraform_data.old[0]', 'delete', 'delete_because_no_resource_config'],
      ['terraform_data.old[1]', 'delete', 'delete_because_no_resource_config']
    ])
  })

  it('moved, import, forget, tainted, -replace and a deferred data source read', () => {
    const s = load('lifecycle')
    // Terraform's own line for this plan: "1 to import, 3 to add, 1 to change, 2 to destroy."
    // (its 3 to add and 2 to destroy include the 2 replacements)
    expect(counts(s)).toEqual({
      add: 1,
      change: 1,
      destroy: 0,
      replace: 2,
      read: 1,
      import: 1,
      move: 1,
      forget: 1
    })
    const by = Object.fromEntries(s.resources.map(r => [r.address, r]))
    expect(by['data.terraform_remote_state.later']).toMatchObject({
      action: 'read',
      actionReason: 'read_because_config_unknown'
    })
    expect(by['terraform_data.forgotten']?.action).toBe('forget')
    expect(by['terraform_data.imported']).toMatchObject({ action: 'update', importing: true })
    expect(by['terraform_data.new_name']).toMatchObject({
      action: 'no-op',
      previousAddress: 'terraform_data.old_name'
    })
    expect(by['terraform_data.tainted']).toMatchObject({
      action: 'replace',
      replaceOrder: 'destroy-before-create',
      actionReason: 'replace_because_tainted'
    })
    expect(by['terraform_data.requested']?.actionReason).toBe('replace_by_request')
    expect(planSummaryLine(s)).toBe(
      '1 to add, 1 to change, 0 to destroy, 2 to replace, 1 to read, 1 to import, 1 to move, 1 to forget'
    )
  })

  it('no changes: nothing listed, hasChanges false like -detailed-exitcode 0', () => {
    const s = load('no-changes')
    expect(counts(s)).toEqual(zero)
    expect(s.hasChanges).toBe(false)
    expect(s.resources).toEqual([])
    expect(s.outputs).toEqual([])
    expect(planSummaryLine(s)).toBe('No changes.')
  })

  it('every real fixture agrees with the exit code terraform plan -detailed-exitcode gave', () => {
    // exit codes printed by scripts/make-plan-fixtures.sh
    const exit2 = [
      'create',
      'update',
      'replace-destroy-first',
      'replace-create-first',
      'delete',
      'outputs',
      'outputs-secret-change',
      'lifecycle'
    ]
    for (const name of exit2) expect([name, load(name).hasChanges]).toEqual([name, true])
    expect(load('no-changes').hasChanges).toBe(false)
  })

  it('errored plan: flagged, with what was planned before the error', () => {
    const s = load('errored')
    expect(s.errored).toBe(true)
    expect(counts(s)).toEqual({ ...zero, change: 1 })
    expect(s.resources.map(r => r.address)).toEqual(['terraform_data.api'])
  })

  it('errored plan: its line says planning failed, never "No changes."', () => {
    expect(planSummaryLine(load('errored'))).toBe(
      'Planning failed: Terraform hit an error while planning, so this plan cannot be applied.'
    )
    const doc = fixture('errored') as Record<string, unknown>
    const nothing = summarizePlan({ ...doc, resource_changes: [], output_changes: {} })
    expect(planSummaryLine(nothing)).not.toMatch(/No changes/)
  })
})

describe('outputs and sensitive values', () => {
  it('lists created, updated and deleted outputs with values; no-op outputs are left out', () => {
    const s = load('outputs')
    expect(s.outputs).toEqual([
      {
        name: 'config',
        action: 'create',
        sensitive: false,
        after: '{"ports":[80,443],"tier":"gold"}'
      },
      { name: 'fresh_id', action: 'create', sensitive: false, afterUnknown: true },
      { name: 'removed', action: 'delete', sensitive: false, before: '"bye"' },
      { name: 'same', action: 'create', sensitive: false, after: '"unchanged"' },
      {
        name: 'url',
        action: 'update',
        sensitive: false,
        before: '"https://old.example.com"',
        after: '"https://new.example.com"'
      }
    ])
    // the unchanged sensitive output is a no-op and the resource using the sensitive variable did not change
    expect(counts(s)).toEqual({ ...zero, add: 1 })
  })

  it('a changed sensitive output keeps its name and action but neither value', () => {
    const raw = readFileSync(join(FIXTURES, 'outputs-secret-change.json'), 'utf8')
    // the plan JSON itself holds the secrets: the summary must not
    expect(raw).toContain('old-secret-hunter2')
    expect(raw).toContain('new-secret-correcthorse')
    const s = summarizePlan(JSON.parse(raw))
    expect(s.outputs).toEqual([
      // not marked sensitive by Terraform, but its old value is the sensitive input's value
      { name: 'derived', action: 'update', sensitive: true, afterUnknown: true },
      { name: 'password', action: 'update', sensitive: true }
    ])
    // the resource's attributes under the sensitivity masks read (sensitive), never their values
    expect(s.resources).toEqual([
      {
        address: 'terraform_data.db',
        type: 'terraform_data',
        name: 'db',
        action: 'update',
        diff: '- input = (sensitive)\n+ input = (sensitive)\n- output = (sensitive)\n+ output = (known after apply)',
        attributesTotal: 2,
        changedAttributes: ['input', 'output']
      }
    ])
    const serialized = JSON.stringify(s)
    expect(serialized).not.toContain('hunter2')
    expect(serialized).not.toContain('correcthorse')
  })

  it('no summary of any fixture contains a sensitive value', () => {
    for (const name of ['outputs', 'outputs-secret-change']) {
      const text = JSON.stringify(load(name))
      expect(text).not.toContain('secret')
    }
  })

  it('honours nested sensitivity and partially unknown values', () => {
    const s = summarizePlan({
      format_version: '1.2',
      planned_values: {},
      output_changes: {
        nested: {
          actions: ['update'],
          before: { user: 'app', token: 'tok-old-123' },
          after: { user: 'app', token: 'tok-new-456' },
          after_unknown: false,
          before_sensitive: { token: true },
          after_sensitive: { token: true }
        },
        list: {
          actions: ['create'],
          before: null,
          after: { ids: ['a', null], name: 'n' },
          after_unknown: { ids: [false, true] },
          before_sensitive: false,
          after_sensitive: [false, { deep: [true] }]
        },
        partial: {
          actions: ['create'],
          before: null,
          after: { ids: ['a', null], name: 'n' },
          after_unknown: { ids: [false, true] },
          before_sensitive: false,
          after_sensitive: false
        }
      }
    })
    expect(s.outputs).toEqual([
      { name: 'list', action: 'create', sensitive: true, afterUnknown: true },
      { name: 'nested', action: 'update', sensitive: true },
      {
        name: 'partial',
        action: 'create',
        sensitive: false,
        afterUnknown: true,
        // unknown parts unquoted, as Terraform prints them
        after: '{"ids":["a",(known after apply)],"name":"n"}'
      }
    ])
    expect(JSON.stringify(s)).not.toContain('tok-')
  })

  it('an output-only plan has changes and says so in its line', () => {
    const s = summarizePlan({
      format_version: '1.2',
      planned_values: {},
      resource_changes: [],
      output_changes: {
        a: { actions: ['update'], before: '1', after: '2', after_unknown: false },
        b: { actions: ['no-op'], before: 'x', after: 'x' }
      }
    })
    expect(s.hasChanges).toBe(true)
    expect(planSummaryLine(s)).toBe(
      '0 to add, 0 to change, 0 to destroy, 0 to replace, 1 output to change'
    )
  })
})

describe('sensitiveStrings and redact', () => {
  it('finds the sensitive values of a real plan: variables, outputs, attributes and what they flow into', () => {
    const secrets = sensitiveStrings(
      readFileSync(join(FIXTURES, 'outputs-secret-change.json'), 'utf8')
    )
    expect(secrets).toEqual(['new-secret-correcthorse', 'old-secret-hunter2'])
    // terraform show prints the value terraform_data copies into `output` in clear
    const text = readFileSync(join(FIXTURES, 'outputs-secret-change.txt'), 'utf8')
    expect(text).toContain('"old-secret-hunter2"')
    const clean = redact(text, secrets)
    expect(clean).not.toContain('hunter2')
    expect(clean).toContain('~ output = "(sensitive value)" -> (known after apply)')
    expect(clean).toContain('~ derived  = "(sensitive value)" -> (known after apply)')
  })

  it('covers nested masks, sensitive outputs, escaped and multi-line forms; skips short values', () => {
    const secrets = sensitiveStrings({
      format_version: '1.2',
      resource_changes: [
        {
          address: 'x.y',
          change: {
            actions: ['update'],
            before: { tags: { a: 'plain-value', key: 'line one\nline "two"' }, n: 1 },
            after: { list: ['x', 'deep-secret'] },
            before_sensitive: { tags: { key: true } },
            after_sensitive: { list: [false, true] }
          }
        }
      ],
      output_changes: {
        o: { actions: ['create'], after: { k: 'out-secret' }, after_sensitive: true }
      },
      prior_state: {
        values: {
          root_module: {
            child_modules: [
              {
                resources: [
                  { values: { p: 'pw-in-module', q: 'open' }, sensitive_values: { p: true } }
                ]
              }
            ]
          }
        }
      },
      variables: { v: { value: 'abc' }, w: { value: 'var-secret' } },
      configuration: {
        root_module: { variables: { v: { sensitive: true }, w: { sensitive: true } } }
      }
    })
    expect(secrets).toEqual(
      expect.arrayContaining([
        'line one\nline "two"',
        'line one\\nline \\"two\\"',
        'deep-secret',
        'out-secret',
        'pw-in-module',
        'var-secret'
      ])
    )
    expect(secrets).not.toContain('plain-value')
    expect(secrets).not.toContain('open')
    expect(secrets).not.toContain('abc') // too short to search for
    expect(redact('a deep-secret and pw-in-module, plain-value', secrets)).toBe(
      'a (sensitive value) and (sensitive value), plain-value'
    )
    expect(redact('text with $pecial.*', ['$pecial.*'])).toBe('text with (sensitive value)')
    expect(sensitiveStrings('not json')).toEqual([])
  })
})

describe('drift', () => {
  it('reads resource_drift (hand-made from a real plan, see the fixture README)', () => {
    const s = load('drift')
    // As Terraform shows drift since 1.2: only what touches relevant_attributes (here `same`'s
    // input); `gone`, deleted outside Terraform, is no attribute the plan depends on.
    expect(s.drift).toEqual([
      {
        address: 'terraform_data.same',
        type: 'terraform_data',
        name: 'same',
        action: 'update',
        diff: '- input = "unchanged"\n+ input = "edited outside terraform"',
        attributesTotal: 1,
        changedAttributes: ['input']
      }
    ])
    expect(counts(s)).toEqual({ ...zero, add: 1, change: 2 })
  })

  it('reads format 0.2 (Terraform 0.15 to 1.0), whose drift entries can lack an address', () => {
    // Terraform 1.0 writes the same shape with format_version "0.2"; its resource_drift entries
    // carry module_address, mode, type, name and index but no address.
    const doc = structuredClone(fixture('drift')) as Record<string, unknown>
    doc.format_version = '0.2'
    doc.terraform_version = '1.0.11'
    const drift = doc.resource_drift as Array<Record<string, unknown>>
    const template = drift[0] as Record<string, unknown>
    drift.push(
      { ...template, module_address: 'module.site', mode: 'data', name: 'files', index: 'a"b' },
      { ...template, mode: 'managed', name: 'counted', index: 2 }
    )
    for (const entry of drift) delete entry.address
    const s = summarizePlan(doc)
    expect(s.drift.map(d => d.address)).toEqual([
      'module.site.data.terraform_data.files["a\\"b"]',
      'terraform_data.counted[2]',
      'terraform_data.gone',
      'terraform_data.same'
    ])
    expect(counts(s)).toEqual(counts(load('drift')))
  })

  it('drift alone is not a change (Terraform does not apply drift outside refresh-only mode)', () => {
    const doc = fixture('drift') as Record<string, unknown>
    const s = summarizePlan({ ...doc, resource_changes: [] })
    // no resource planned at all, only drift: a refresh-only plan, whose drift is all shown
    expect(s.refreshOnly).toBe(true)
    expect(s.drift).toHaveLength(2)
    expect(s.hasChanges).toBe(false)
  })

  it('a plan that changes nothing shows no drift; one that does shows only the relevant drift', () => {
    const doc = fixture('drift') as Record<string, unknown>
    const changes = doc.resource_changes as Array<{ change: Record<string, unknown> }>
    const noop = changes.map(rc => ({ ...rc, change: { ...rc.change, actions: ['no-op'] } }))
    const quiet = summarizePlan({ ...doc, resource_changes: noop })
    expect([quiet.refreshOnly, quiet.hasChanges, quiet.drift]).toEqual([false, false, []])
    // nothing relevant: nothing shown
    const none = summarizePlan({ ...doc, relevant_attributes: [] })
    expect(none.drift).toEqual([])
    // a relevant attribute that did not drift: the entry is not shown either
    const other = summarizePlan({
      ...doc,
      relevant_attributes: [{ resource: 'terraform_data.same', attribute: ['triggers_replace'] }]
    })
    expect(other.drift).toEqual([])
    // a nested path under a drifted attribute, and an entry for any resource, count
    const nested = summarizePlan({
      ...doc,
      relevant_attributes: [
        { resource: 'terraform_data.same', attribute: ['input', 'x'] },
        { resource: 'terraform_data.gone', attribute: ['id'] }
      ]
    })
    expect(nested.drift.map(d => `${d.address} ${d.action}`)).toEqual([
      'terraform_data.gone delete',
      'terraform_data.same update'
    ])
  })
})

describe("reading order and Terraform's own line", () => {
  it('sorts numeric indexes by value and string keys alphabetically', () => {
    const addresses = [
      'aws_instance.web[10]',
      'aws_instance.web[2]',
      'module.a[1].x.y["b"]',
      'aws_instance.web["10"]',
      'aws_instance.web["2"]',
      'module.a[10].x.y',
      'module.a[1].x.y["a"]',
      'aws_instance.web'
    ]
    expect([...addresses].sort(compareAddresses)).toEqual([
      'aws_instance.web',
      'aws_instance.web[2]',
      'aws_instance.web[10]',
      'aws_instance.web["10"]',
      'aws_instance.web["2"]',
      'module.a[1].x.y["a"]',
      'module.a[1].x.y["b"]',
      'module.a[10].x.y'
    ])
    const doc = fixture('update') as { resource_changes: Array<Record<string, unknown>> }
    const template = doc.resource_changes[0] as Record<string, unknown>
    const s = summarizePlan({
      ...doc,
      resource_changes: [10, 2, 1].map(i => ({ ...template, address: `terraform_data.r[${i}]` }))
    })
    expect(s.resources.map(r => r.address)).toEqual([
      'terraform_data.r[1]',
      'terraform_data.r[2]',
      'terraform_data.r[10]'
    ])
  })

  it('counts as Terraform does: a replacement is one add and one destroy; imports named', () => {
    expect(terraformPlanLine(load('replace-destroy-first'))).toBe(
      'Plan: 1 to add, 0 to change, 1 to destroy.'
    )
    expect(terraformPlanLine(load('update'))).toBe('Plan: 0 to add, 1 to change, 0 to destroy.')
    expect(terraformPlanLine(load('no-changes'))).toBeUndefined()
    const doc = fixture('update') as { resource_changes: Array<Record<string, unknown>> }
    const template = doc.resource_changes[0] as { change: Record<string, unknown> }
    const imported = summarizePlan({
      ...doc,
      resource_changes: [
        {
          ...template,
          change: { ...template.change, actions: ['no-op'], importing: { id: 'i-1' } }
        },
        {
          ...template,
          address: 'data.x.y',
          mode: 'data',
          change: { ...template.change, actions: ['delete'] }
        }
      ]
    })
    // a removed data source is not counted by Terraform
    expect(terraformPlanLine(imported)).toBe(
      'Plan: 1 to import, 0 to add, 0 to change, 0 to destroy.'
    )
  })
})

describe('not a plan', () => {
  it('rejects Terraform state with an explanation', () => {
    expect(() => summarizePlan(fixture('not-a-plan-state'))).toThrow(
      /Not a Terraform plan: this is Terraform state \(`terraform show -json` was run without a plan file\)/
    )
  })

  it('refuses format 0.1 (Terraform 0.12 to 0.14), which marks no sensitive values, saying so', () => {
    const doc = { ...(fixture('create') as Record<string, unknown>), format_version: '0.1' }
    expect(() => summarizePlan(doc)).toThrow(PlanFormatError)
    expect(() => summarizePlan(doc)).toThrow(
      'Unsupported Terraform plan JSON format_version "0.1": Terraform 0.12 to 0.14 write it without marking sensitive values, so this action cannot keep them out of the report. Use Terraform 0.15 or later (the action is tested with 1.5 or later).'
    )
  })

  it('rejects an unsupported major format version', () => {
    expect(() => summarizePlan(fixture('not-a-plan-format-2'))).toThrow(
      /Unsupported Terraform plan JSON format_version "2.0": this action reads formats 0.2 and 1.x \(Terraform 0.15 and later\)\. Update the action\./
    )
  })

  it.each([
    ['null', null, /got null/],
    ['an array', [], /got an array/],
    ['a number', 42, /got a number/],
    ['broken JSON text', '{"format_version": ', /the text is not JSON/],
    ['no format_version', { planned_values: {} }, /format_version is missing/],
    [
      'no plan keys',
      { format_version: '1.2' },
      /no planned_values, resource_changes or output_changes/
    ],
    [
      'resource_changes not an array',
      { format_version: '1.2', resource_changes: {} },
      /resource_changes is an object, not an array/
    ],
    [
      'a change without actions',
      { format_version: '1.2', resource_changes: [{ address: 'a.b', change: {} }] },
      /resource_changes\[0\]\.change\.actions is not a list of action names/
    ],
    [
      'an entry without address',
      { format_version: '1.2', resource_changes: [{ change: { actions: ['create'] } }] },
      /resource_changes\[0\]\.address is missing/
    ],
    [
      'an unknown action combination',
      {
        format_version: '1.2',
        resource_changes: [{ address: 'a.b', change: { actions: ['explode'] } }]
      },
      /Unsupported action \["explode"\] at resource_changes\[0\]\.change\.actions/
    ]
  ])('rejects %s', (_label, input, message) => {
    expect(() => summarizePlan(input)).toThrow(PlanFormatError)
    expect(() => summarizePlan(input)).toThrow(message)
  })

  it('accepts the raw JSON text as well as the parsed object', () => {
    const text = readFileSync(join(FIXTURES, 'update.json'), 'utf8')
    expect(summarizePlan(text)).toEqual(load('update'))
  })
})

describe('large plans', () => {
  it('summarizes 10,000 changes built from the real shape quickly', () => {
    const base = fixture('replace-destroy-first') as {
      resource_changes: Array<Record<string, unknown>>
    }
    const template = base.resource_changes[0] as { change: Record<string, unknown> }
    const actions: string[][] = [
      ['create'],
      ['update'],
      ['delete'],
      ['delete', 'create'],
      ['create', 'delete']
    ]
    const changes = Array.from({ length: 10_000 }, (_, i) => ({
      ...template,
      address: `module.m${i % 7}.terraform_data.r[${i}]`,
      module_address: `module.m${i % 7}`,
      change: { ...template.change, actions: actions[i % actions.length] }
    }))
    const started = performance.now()
    const s = summarizePlan({ ...base, resource_changes: changes })
    const ms = performance.now() - started
    expect(counts(s)).toEqual({ ...zero, add: 2000, change: 2000, destroy: 2000, replace: 4000 })
    expect(s.resources).toHaveLength(10_000)
    // in reading order: module.m0.terraform_data.r[0], r[7], r[14], ... (indexes by value)
    const index = (a: string): number[] => [
      Number(/m(\d+)/.exec(a)?.[1]),
      Number(/\[(\d+)\]/.exec(a)?.[1])
    ]
    for (let i = 1; i < s.resources.length; i++) {
      const [m1, i1] = index(s.resources[i - 1]!.address)
      const [m2, i2] = index(s.resources[i]!.address)
      expect(m1! < m2! || (m1 === m2 && i1! < i2!)).toBe(true)
    }
    // Speed is measured by the benchmark (npm run bench), not asserted here.
    console.log(`summarizePlan: 10,000 changes in ${ms.toFixed(0)} ms`)
  })
})
