/**
 * Synthetic Terraform plans for the report benchmark, in the shape of Terraform 1.11's
 * `terraform show -json <planfile>` (format_version 1.2) with the matching `terraform show -no-color`
 * text. A real plan of 10,000 changes needs a stack of 10,000 resources and minutes of planning; the
 * renderer only reads the JSON, so the JSON is written directly, with what a real AWS stack has per
 * resource: a dozen attributes before and after, tags, unknown-after-apply values, one sensitive
 * variable used everywhere, and a unique sensitive attribute on 1% of the resources.
 *
 * Mix of actions: 30% create, 30% update in place, 10% delete, 20% replace (destroy then create),
 * 10% replace (create before destroy); spread over 13 modules.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { runProcess } from './proc'

const TYPES = [
  'aws_lambda_function',
  'aws_iam_role',
  'aws_cloudwatch_log_group',
  'aws_s3_object',
  'aws_dynamodb_table',
  'aws_sqs_queue'
]

const ACTIONS: string[][] = [
  ['create'],
  ['create'],
  ['create'],
  ['update'],
  ['update'],
  ['update'],
  ['delete'],
  ['delete', 'create'],
  ['delete', 'create'],
  ['create', 'delete']
]

const DB_PASSWORD = 'correct-horse-battery-staple-42'

interface Change {
  address: string
  module: string
  type: string
  name: string
  index: string
  actions: string[]
  before: Record<string, unknown> | null
  after: Record<string, unknown> | null
  secret?: string
}

function attributes(
  type: string,
  i: number,
  version: number,
  secret?: string
): Record<string, unknown> {
  return {
    arn: `arn:aws:lambda:eu-west-1:123456789012:function:svc-${i}`,
    id: `svc-${i}-${(i * 2654435761) % 1e9}`,
    name: `svc-${i}`,
    description: `Service ${i} of the shop (${type})`,
    memory_size: 128 + (i % 8) * 64,
    timeout: 30,
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    source_code_hash: `${version}${'a'.repeat(42)}${i}`.slice(0, 44),
    role: `arn:aws:iam::123456789012:role/svc-${i}-role`,
    environment: [
      {
        variables: {
          DB_PASSWORD,
          TABLE_NAME: `orders-${i % 50}`,
          LOG_LEVEL: version > 1 ? 'debug' : 'info',
          ...(secret ? { API_TOKEN: secret } : {})
        }
      }
    ],
    tags: { app: 'shop', team: `team-${i % 9}`, version: `1.${version}.0` },
    tags_all: { app: 'shop', team: `team-${i % 9}`, version: `1.${version}.0`, env: 'production' }
  }
}

function sensitiveMask(value: Record<string, unknown> | null): unknown {
  if (!value) return false
  const env = (value.environment as Array<{ variables: Record<string, string> }>)[0]
  const vars: Record<string, boolean> = {}
  for (const key of Object.keys(env?.variables ?? {})) {
    vars[key] = key === 'DB_PASSWORD' || key === 'API_TOKEN'
  }
  return { environment: [{ variables: vars }], tags: {}, tags_all: {} }
}

function changes(n: number): Change[] {
  const list: Change[] = []
  for (let i = 0; i < n; i++) {
    const actions = ACTIONS[i % ACTIONS.length] as string[]
    const type = TYPES[i % TYPES.length] as string
    const module = `module.service_${i % 13}`
    const name = 'this'
    const index = `fn-${i}`
    const secret = i % 100 === 7 ? `tok_${i.toString(36)}_${'x'.repeat(20)}${i}` : undefined
    const before =
      actions[0] === 'create' && actions.length === 1 ? null : attributes(type, i, 1, secret)
    const after =
      actions[0] === 'delete' && actions.length === 1 ? null : attributes(type, i, 2, secret)
    list.push({
      address: `${module}.${type}.${name}["${index}"]`,
      module,
      type,
      name,
      index,
      actions,
      before,
      after,
      ...(secret && { secret })
    })
  }
  return list
}

function planJson(list: Change[]): unknown {
  const resourceChanges = list.map(c => {
    const replace = c.actions.length === 2
    return {
      address: c.address,
      module_address: c.module,
      mode: 'managed',
      type: c.type,
      name: c.name,
      index: c.index,
      provider_name: 'registry.terraform.io/hashicorp/aws',
      change: {
        actions: c.actions,
        before: c.before,
        after: c.after,
        after_unknown: c.after
          ? {
              arn: c.actions[0] !== 'update',
              id: c.actions[0] !== 'update',
              environment: [{ variables: {} }]
            }
          : false,
        before_sensitive: sensitiveMask(c.before),
        after_sensitive: sensitiveMask(c.after),
        ...(replace && { replace_paths: [['source_code_hash']] })
      },
      ...(replace && { action_reason: 'replace_because_cannot_update' })
    }
  })
  const byModule = new Map<string, Change[]>()
  for (const c of list) {
    if (c.after) byModule.set(c.module, [...(byModule.get(c.module) ?? []), c])
  }
  const planned = [...byModule].map(([address, items]) => ({
    address,
    resources: items.map(c => ({
      address: c.address,
      mode: 'managed',
      type: c.type,
      name: c.name,
      index: c.index,
      provider_name: 'registry.terraform.io/hashicorp/aws',
      schema_version: 0,
      values: c.after,
      sensitive_values: sensitiveMask(c.after)
    }))
  }))
  return {
    format_version: '1.2',
    terraform_version: '1.11.4',
    variables: { db_password: { value: DB_PASSWORD } },
    planned_values: { root_module: { child_modules: planned } },
    resource_changes: resourceChanges,
    output_changes: {
      api_url: {
        actions: ['update'],
        before: 'https://api.example.test/1.1.0',
        after: 'https://api.example.test/1.2.0',
        after_unknown: false,
        before_sensitive: false,
        after_sensitive: false
      }
    },
    configuration: {
      root_module: {
        variables: { db_password: { sensitive: true } }
      }
    },
    timestamp: '2025-03-04T05:06:07Z',
    applyable: true,
    complete: true,
    errored: false
  }
}

const VERB: Record<string, string> = {
  create: 'will be created',
  update: 'will be updated in-place',
  delete: 'will be destroyed',
  'delete,create': 'must be replaced',
  'create,delete': 'must be replaced'
}

function planText(list: Change[]): string {
  const lines: string[] = [
    'Terraform used the selected providers to generate the following execution plan. Resource',
    'actions are indicated with the following symbols:',
    '  + create',
    '  ~ update in-place',
    '  - destroy',
    '-/+ destroy and then create replacement',
    '+/- create replacement and then destroy',
    '',
    'Terraform will perform the following actions:',
    ''
  ]
  let add = 0
  let change = 0
  let destroy = 0
  for (const c of list) {
    const key = c.actions.join(',')
    const sign =
      { create: '+', update: '~', delete: '-', 'delete,create': '-/+', 'create,delete': '+/-' }[
        key
      ] ?? '~'
    if (key === 'create') add++
    else if (key === 'update') change++
    else if (key === 'delete') destroy++
    else {
      add++
      destroy++
    }
    lines.push(`  # ${c.address} ${VERB[key] ?? 'will change'}`)
    lines.push(`  ${sign} resource "${c.type}" "${c.name}" {`)
    const shown = c.after ?? c.before ?? {}
    for (const [attr, value] of Object.entries(shown)) {
      if (attr === 'environment') {
        lines.push(
          '      ~ environment {',
          '          ~ variables = (sensitive value)',
          '        }'
        )
        continue
      }
      const v = typeof value === 'object' ? '{ ... }' : JSON.stringify(value)
      lines.push(`      ${attr === 'source_code_hash' ? '~' : ' '} ${attr.padEnd(16)} = ${v}`)
    }
    lines.push('    }', '')
  }
  lines.push(`Plan: ${add} to add, ${change} to change, ${destroy} to destroy.`)
  return `${lines.join('\n')}\n`
}

/** Writes `<prefix>.json` and `<prefix>.txt` for a plan of `n` resource changes. */
export function writePlan(prefix: string, n: number): { jsonFile: string; textFile: string } {
  const list = changes(n)
  const jsonFile = `${prefix}.json`
  const textFile = `${prefix}.txt`
  fs.writeFileSync(jsonFile, JSON.stringify(planJson(list)))
  fs.writeFileSync(textFile, planText(list))
  return { jsonFile, textFile }
}

/**
 * A real plan: Terraform creating `n` `terraform_data` resources (local state, no provider to
 * download), shown as JSON and as text. Small resources (about 600 bytes of JSON each), all creates.
 */
export async function writeTerraformPlan(
  dir: string,
  n: number,
  terraform: string
): Promise<{ jsonFile: string; textFile: string }> {
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(
    path.join(dir, 'main.tf'),
    `resource "terraform_data" "item" {\n  count = ${n}\n  input = "item-\${count.index}"\n}\n`
  )
  const tf = async (args: string[]): Promise<string> => {
    const run = await runProcess(terraform, args, { cwd: dir, timeoutMs: 10 * 60_000 })
    if (run.code !== 0) throw new Error(`terraform ${args[0]} failed:\n${run.stderr.slice(-2000)}`)
    return run.stdout
  }
  await tf(['init', '-input=false', '-no-color'])
  await tf(['plan', '-input=false', '-no-color', '-out=plan.tfplan'])
  const jsonFile = path.join(dir, 'plan.json')
  const textFile = path.join(dir, 'plan.txt')
  fs.writeFileSync(jsonFile, await tf(['show', '-json', 'plan.tfplan']))
  fs.writeFileSync(textFile, await tf(['show', '-no-color', 'plan.tfplan']))
  return { jsonFile, textFile }
}
