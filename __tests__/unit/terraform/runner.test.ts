/**
 * The Terraform runner with the REAL terraform binary against the local stand-ins (S3 state, DynamoDB
 * lock table, STS): stacks of built-in terraform_data resources in __tests__/fixtures/terraform/runner-*.
 * The step log (process.stdout) is captured, as the runner would show it.
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals'
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { STANDIN_CREDENTIALS, startStandIns, type StandIns } from '../../../standins/index'
import type { KeyValue } from '../../../src/inputs'
import { JsonArrayBytes } from '../../../src/terraform/json-scan'
import {
  Terraform,
  TerraformError,
  type BackendSettings,
  type TerraformOptions
} from '../../../src/terraform/runner'

const FIXTURES = path.join(process.cwd(), '__tests__', 'fixtures', 'terraform')
const REGION = 'eu-west-1'
const BUCKET = 'runner-terraform-state-123456789012'
const TABLE = 'runner-terraform-locks'

let si: StandIns
let work: string
let s3: S3Client

/** Everything written to the step log (process.stdout), with the time each piece arrived. */
const log: { at: number; text: string }[] = []
const logText = (): string => log.map(l => l.text).join('')
/** The log as people read it: without the ::add-mask:: commands (the runner consumes those). */
const visibleLog = (): string => logText().replace(/^::add-mask::.*\n/gm, '')
const realWrite = process.stdout.write.bind(process.stdout)

/** The action's backend settings plus the stand-ins' endpoint lines (as backend-config input). */
function backend(key: string): BackendSettings {
  const extra: KeyValue[] = si.backendConfig().map(line => ({
    key: line.slice(0, line.indexOf('=')),
    value: line.slice(line.indexOf('=') + 1)
  }))
  return { bucket: BUCKET, key, region: REGION, table: TABLE, extra }
}

/** A fresh copy of a fixture stack (Terraform writes .terraform/ and lock files into it). */
function copyStack(fixture: string, name = fixture): string {
  const dir = path.join(work, name)
  fs.cpSync(path.join(FIXTURES, fixture), dir, { recursive: true })
  return dir
}

function terraform(cwd: string, options: Partial<TerraformOptions> = {}): Terraform {
  return new Terraform({
    bin: 'terraform',
    cwd,
    env: si.env,
    lockTimeout: '30s',
    planFile: path.join(work, `${path.basename(cwd)}-${Date.now()}.tfplan`),
    ...options
  })
}

/** Resource instance addresses in the state object the S3 stand-in holds. */
async function stateAddresses(key: string): Promise<string[]> {
  const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
  const state = JSON.parse((await object.Body?.transformToString()) ?? '{}') as {
    resources?: {
      mode: string
      type: string
      name: string
      module?: string
      instances: { index_key?: string | number }[]
    }[]
  }
  const addresses: string[] = []
  for (const r of state.resources ?? []) {
    for (const i of r.instances) {
      const index = i.index_key === undefined ? '' : `[${JSON.stringify(i.index_key)}]`
      addresses.push(`${r.module ? `${r.module}.` : ''}${r.type}.${r.name}${index}`)
    }
  }
  return addresses.sort()
}

const counts = (s: { add: number; change: number; destroy: number; replace: number }) => ({
  add: s.add,
  change: s.change,
  destroy: s.destroy,
  replace: s.replace
})

beforeAll(async () => {
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    log.push({
      at: Date.now(),
      text: typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()
    })
    const callback = rest.find(r => typeof r === 'function') as (() => void) | undefined
    callback?.()
    return true
  }) as typeof process.stdout.write
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-runner-'))
  si = await startStandIns()
  s3 = new S3Client({
    region: REGION,
    endpoint: si.s3.url,
    forcePathStyle: true,
    credentials: STANDIN_CREDENTIALS
  })
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }))
  const ddb = new DynamoDBClient({
    region: REGION,
    endpoint: si.dynamodb.url,
    credentials: STANDIN_CREDENTIALS
  })
  await ddb.send(
    new CreateTableCommand({
      TableName: TABLE,
      AttributeDefinitions: [{ AttributeName: 'LockID', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'LockID', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST'
    })
  )
  for (;;) {
    const t = await ddb.send(new DescribeTableCommand({ TableName: TABLE }))
    if (t.Table?.TableStatus === 'ACTIVE') break
    await new Promise(r => setTimeout(r, 25))
  }
})

afterAll(async () => {
  process.stdout.write = realWrite
  await si?.stop()
  fs.rmSync(work, { recursive: true, force: true })
})

beforeEach(() => {
  log.length = 0
})

describe('a stack deployed again and again (runner-stack, state key stack/terraform.tfstate)', () => {
  const KEY = 'stack/terraform.tfstate'
  let dir: string
  let token = ''

  beforeAll(() => {
    dir = copyStack('runner-stack')
  })

  it('first deploy: plans 5 creations, applies the saved plan, masks the sensitive output', async () => {
    const tf = terraform(dir)
    const init = await tf.init(backend(KEY))
    expect(init.output).toContain('Successfully configured the backend "s3"!')
    expect(init.args).toEqual(
      expect.arrayContaining([
        '-input=false',
        '-reconfigure',
        `-backend-config=bucket=${BUCKET}`,
        `-backend-config=key=${KEY}`,
        `-backend-config=dynamodb_table=${TABLE}`,
        '-backend-config=encrypt=true'
      ])
    )

    const plan = await tf.plan()
    expect(plan.changes).toBe(true)
    expect(counts(plan.summary)).toEqual({ add: 5, change: 0, destroy: 0, replace: 0 })
    expect(plan.summary.resources.map(r => r.address)).toEqual([
      'terraform_data.app',
      'terraform_data.item["alpha"]',
      'terraform_data.item["beta"]',
      'terraform_data.item["gamma"]',
      'terraform_data.release'
    ])
    expect(plan.text).toContain('Plan: 5 to add, 0 to change, 0 to destroy.')
    expect(fs.existsSync(plan.planFile)).toBe(true)
    // show -json and show -no-color went through files beside the plan file, removed once read
    expect(
      fs
        .readdirSync(path.dirname(plan.planFile))
        .filter(f => f.startsWith(path.basename(plan.planFile)))
    ).toEqual([path.basename(plan.planFile)])
    expect(plan.effect.resource_changes).toBeInstanceOf(JsonArrayBytes)
    // each command in its own log group, the plan streamed inside it
    const planLog = logText()
    expect(planLog).toContain('::group::terraform plan\n')
    expect(planLog).toMatch(
      /\[command\]terraform plan -input=false -no-color -lock-timeout=30s -detailed-exitcode -out=\S+\.tfplan\n/
    )
    expect(planLog).toContain('# terraform_data.item["beta"] will be created')

    log.length = 0
    const applied = await tf.apply(plan.planFile)
    expect(applied.log).toContain('Apply complete! Resources: 5 added, 0 changed, 0 destroyed.')
    expect(await stateAddresses(KEY)).toHaveLength(5)

    const { all, nonSensitive, sensitiveNames } = applied.outputs
    token = String(all.api_token?.value)
    expect(token).toMatch(/^tok-[0-9a-f]{64}$/)
    expect(all.api_token?.sensitive).toBe(true)
    expect(sensitiveNames).toEqual(['api_token'])
    expect(Object.keys(nonSensitive).sort()).toEqual(['frontend_bucket', 'item_ids', 'site_url'])
    expect(nonSensitive.site_url).toBe('https://example.test/hello')
    expect(Object.keys(nonSensitive.item_ids as object).sort()).toEqual(['alpha', 'beta', 'gamma'])
    expect(JSON.stringify(nonSensitive)).not.toContain(token)
    // masked in the log before anything could print it, and never printed in clear
    const text = logText()
    expect(text).toContain(`::add-mask::${token}\n`)
    expect(visibleLog()).not.toContain(token)
    expect(text).toContain(
      'Terraform outputs: api_token (sensitive), frontend_bucket, item_ids, site_url'
    )
    expect(text).toContain('::group::terraform apply\n')
  })

  it('second deploy: no changes, and the state still holds exactly the 5 instances', async () => {
    const tf = terraform(dir)
    await tf.init(backend(KEY))
    const plan = await tf.plan()
    expect(plan.changes).toBe(false)
    expect(plan.summary.hasChanges).toBe(false)
    expect(counts(plan.summary)).toEqual({ add: 0, change: 0, destroy: 0, replace: 0 })
    expect(plan.summary.resources).toEqual([])
    expect(plan.text).not.toContain('will be created')
    await tf.apply(plan.planFile)
    expect(await stateAddresses(KEY)).toEqual([
      'terraform_data.app',
      'terraform_data.item["alpha"]',
      'terraform_data.item["beta"]',
      'terraform_data.item["gamma"]',
      'terraform_data.release'
    ])
    expect(visibleLog()).not.toContain(token)
  })

  it('a changed -var updates one resource in place', async () => {
    const tf = terraform(dir, { variables: [{ key: 'greeting', value: 'hola' }] })
    await tf.init(backend(KEY))
    const plan = await tf.plan()
    expect(plan.changes).toBe(true)
    expect(counts(plan.summary)).toEqual({ add: 0, change: 1, destroy: 0, replace: 0 })
    expect(plan.summary.resources.map(r => [r.address, r.action])).toEqual([
      ['terraform_data.app', 'update']
    ])
    // the -var value is not echoed in the command line of the log
    expect(logText()).toContain(' -var greeting=…\n')
    const applied = await tf.apply(plan.planFile)
    expect(applied.outputs.nonSensitive.site_url).toBe('https://example.test/hola')
    expect(await stateAddresses(KEY)).toHaveLength(5)
  })

  it('a var-file with one more item creates exactly one resource', async () => {
    const tf = terraform(dir, {
      variables: [{ key: 'greeting', value: 'hola' }],
      varFiles: [path.join(dir, 'more-items.tfvars')]
    })
    await tf.init(backend(KEY))
    const plan = await tf.plan()
    expect(counts(plan.summary)).toEqual({ add: 1, change: 0, destroy: 0, replace: 0 })
    expect(plan.summary.resources.map(r => [r.address, r.action])).toEqual([
      ['terraform_data.item["delta"]', 'create']
    ])
    await tf.apply(plan.planFile)
    expect(await stateAddresses(KEY)).toHaveLength(6)
  })

  it('a triggers_replace change is one replacement, not an add plus a destroy', async () => {
    const tf = terraform(dir, {
      variables: [
        { key: 'greeting', value: 'hola' },
        { key: 'release', value: 'r2' }
      ],
      varFiles: [path.join(dir, 'more-items.tfvars')]
    })
    await tf.init(backend(KEY))
    const plan = await tf.plan()
    expect(counts(plan.summary)).toEqual({ add: 0, change: 0, destroy: 0, replace: 1 })
    expect(plan.summary.resources).toEqual([
      expect.objectContaining({
        address: 'terraform_data.release',
        action: 'replace',
        replacePaths: ['triggers_replace']
      })
    ])
    expect(plan.text).toContain('Plan: 1 to add, 0 to change, 1 to destroy.')
    const before = await stateAddresses(KEY)
    await tf.apply(plan.planFile)
    expect(await stateAddresses(KEY)).toEqual(before)
  })

  it('re-init with another backend key does not prompt; outputs can be read without applying', async () => {
    const tf = terraform(dir)
    await tf.init(backend('elsewhere/terraform.tfstate'))
    const empty = await tf.outputs()
    expect(empty).toEqual({ all: {}, nonSensitive: {}, sensitiveNames: [] })
    await tf.init(backend(KEY))
    const outputs = await tf.outputs()
    expect(outputs.nonSensitive.site_url).toBe('https://example.test/hola')
    expect(outputs.all.api_token?.value).toBe(token)
    expect(outputs.sensitiveNames).toEqual(['api_token'])
    expect(logText()).toContain(`::add-mask::${token}\n`)
  })
})

describe('state lock contention (runner-lock, state key lock/terraform.tfstate)', () => {
  const KEY = 'lock/terraform.tfstate'
  let ours: string
  let holderDir: string

  beforeAll(async () => {
    ours = copyStack('runner-lock')
    holderDir = copyStack('runner-lock', 'runner-lock-holder')
    await terraform(holderDir).init(backend(KEY))
  })

  interface Holder {
    /** The lock item's Info as Terraform wrote it to DynamoDB. */
    info: {
      ID: string
      Operation: string
      Who: string
      Version: string
      Created: string
      Path: string
    }
    /** Resolves when the holder's terraform apply exits, with its exit code and the time. */
    done: Promise<{ code: number | null; at: number; output: string }>
  }

  /** A concurrent `terraform apply` (not through the runner) that holds the lock about `seconds`. */
  async function holdLock(marker: string, seconds: number): Promise<Holder> {
    const child = spawn(
      'terraform',
      [
        'apply',
        '-input=false',
        '-no-color',
        '-auto-approve',
        '-var',
        `marker=${marker}`,
        '-var',
        `sleep_seconds=${seconds}`
      ],
      { cwd: holderDir, env: { ...process.env, ...si.env, TF_IN_AUTOMATION: '1' } }
    )
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    const done = new Promise<{ code: number | null; at: number; output: string }>(resolve =>
      child.on('close', code => resolve({ code, at: Date.now(), output }))
    )
    const deadline = Date.now() + 20_000
    for (;;) {
      const lock = (await si.dynamodb.items(TABLE)).find(i => i.LockID === `${BUCKET}/${KEY}`)
      // hold until the provisioner runs: the lock is then certainly taken for the apply
      if (lock && output.includes(`working on ${marker}`)) {
        return { info: JSON.parse(String(lock.Info)) as Holder['info'], done }
      }
      if (Date.now() > deadline) throw new Error(`the holder never took the lock:\n${output}`)
      await new Promise(r => setTimeout(r, 100))
    }
  }

  it('a lock held longer than lock-timeout fails with who holds it, since when, the operation and the ID', async () => {
    const tf = terraform(ours, { lockTimeout: '2s' })
    await tf.init(backend(KEY))
    const holder = await holdLock('held-long', 8)
    const started = Date.now()
    const error = await tf.plan().then(
      () => undefined,
      (e: unknown) => e
    )
    const waited = Date.now() - started
    const held = await holder.done
    expect(held.code).toBe(0)
    expect(held.at).toBeGreaterThan(started + waited) // we gave up while it still held the lock
    expect(error).toBeInstanceOf(TerraformError)
    const failure = error as TerraformError
    expect(failure.lock).toMatchObject({
      id: holder.info.ID,
      who: holder.info.Who,
      operation: 'OperationTypeApply',
      path: `${BUCKET}/${KEY}`
    })
    const message = failure.message
    expect(message).not.toContain('\n')
    expect(message).toContain(`lock-timeout 2s for the lock ${holder.info.ID} on ${BUCKET}/${KEY}`)
    expect(message).toContain(
      `held by ${holder.info.Who} since ${new Date(holder.info.Created).toISOString()}`
    )
    expect(message).toContain('for a terraform apply')
    expect(message).toContain(`terraform force-unlock ${holder.info.ID}`)
    expect(message).toContain(`mode: unlock and lock-id: ${holder.info.ID}`)
    expect(message).toContain(`or from ${ours} after terraform init with the same backend settings`)
    expect(waited).toBeGreaterThanOrEqual(2000)
    // the diagnostic went to the log; the one error line is the thrown message
    expect(logText()).toMatch(/terraform plan: Error: Error acquiring the state lock/)
    expect(logText()).not.toContain('::error')
  })

  it('a lock released within lock-timeout: the run waits for it and succeeds', async () => {
    const holder = await holdLock('held-short', 3)
    const tf = terraform(ours, {
      lockTimeout: '60s',
      variables: [
        { key: 'marker', value: 'ours' },
        { key: 'sleep_seconds', value: '2' }
      ]
    })
    si.dynamodb.clearRequests()
    const planStarted = Date.now()
    const plan = await tf.plan()
    const held = await holder.done
    expect(held.code).toBe(0)
    // our plan started while the holder had the lock, was refused it (a conditional PutItem that
    // failed: only ours can fail, the holder has the lock), kept trying and got it
    expect(planStarted).toBeLessThan(held.at)
    const puts = si.dynamodb.requests.filter(r => r.operation === 'PutItem')
    expect(puts.some(r => r.status === 400)).toBe(true)
    expect(puts.at(-1)?.status).toBe(200)
    expect(plan.log).toContain('Acquiring state lock. This may take a few moments...')
    expect(plan.summary.resources.map(r => [r.address, r.action])).toEqual([
      ['terraform_data.slow', 'replace']
    ])

    // the apply streams while it runs: the provisioner's first line is in the log seconds before the end
    log.length = 0
    const applied = await tf.apply(plan.planFile)
    const finished = Date.now()
    expect(applied.outputs.nonSensitive.marker).toBe('ours')
    const first = log.find(l => l.text.includes('working on ours'))
    expect(first).toBeDefined()
    expect(finished - (first?.at ?? finished)).toBeGreaterThanOrEqual(1500)
    expect(logText()).toContain('done with ours')
    expect(await stateAddresses(KEY)).toEqual(['terraform_data.slow'])
  })
})

describe('failures', () => {
  it('an apply that hits an object existing outside the state ends with the import explanation', async () => {
    const dir = copyStack('runner-exists')
    const tf = terraform(dir)
    await tf.init(backend('exists/terraform.tfstate'))
    const plan = await tf.plan()
    expect(counts(plan.summary)).toEqual({ add: 1, change: 0, destroy: 0, replace: 0 })
    log.length = 0
    const error = await tf.apply(plan.planFile).then(
      () => undefined,
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(TerraformError)
    const failure = error as TerraformError
    expect(failure.alreadyExists).toMatchObject({
      code: 'EntityAlreadyExists',
      address: 'terraform_data.role',
      id: 'app-lambda'
    })
    expect(failure.message).toBe(
      'terraform apply failed: terraform_data.role "app-lambda" already exists in AWS (EntityAlreadyExists) but not in the Terraform state; import it with an import block (to = terraform_data.role, id = "app-lambda"; shown in the log) instead of renaming it'
    )
    // the log: Terraform's own diagnostic, then the explanation with the import block, last
    const text = logText()
    const diagnostic = text.indexOf('terraform apply: Error: local-exec provisioner error')
    const explanation = text.indexOf('import {\n  to = terraform_data.role\n  id = "app-lambda"\n}')
    expect(diagnostic).toBeGreaterThan(-1)
    expect(explanation).toBeGreaterThan(diagnostic)
    expect(text.slice(diagnostic)).toContain('the Terraform state does not know it')
    expect(text).not.toContain('::error')
  })

  it('a failing plan is one line naming the first Terraform error; the diagnostics are in the log', async () => {
    const dir = copyStack('runner-exists', 'runner-bad-var')
    const tf = terraform(dir, { variables: [{ key: 'no_such_variable', value: 'x' }] })
    await tf.init(backend('bad/terraform.tfstate'))
    const error = await tf.plan().then(
      () => undefined,
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(TerraformError)
    expect((error as TerraformError).message).toBe(
      `terraform plan failed in ${dir} (exit code 1): Value for undeclared variable; the Terraform diagnostics are in the log`
    )
    expect((error as TerraformError).diagnostics).toHaveLength(1)
    expect(logText()).toContain('terraform plan: Error: Value for undeclared variable')
  })

  it('a missing terraform binary is a clear error', async () => {
    const tf = terraform(work, { bin: path.join(work, 'no-terraform-here') })
    await expect(tf.outputs()).rejects.toThrow(
      `Could not run Terraform (${path.join(work, 'no-terraform-here')}) in ${work}`
    )
  })
})
