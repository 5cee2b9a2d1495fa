/**
 * The measured side of the benchmarks, bundled with ncc like dist/index.js (bench/lib/client-build.ts)
 * and started as a fresh process per measurement, so its wall time has what the action's has:
 * Node's start, loading one bundled file, creating the SDK clients, then the work.
 *
 *   node client.js sync    '<json SyncArgs>'    deployFrontend with a Config read from inputs
 *   node client.js report  '<json ReportArgs>'  plan JSON + plan text -> PR comment markdown
 *   node client.js backend '<json BackendArgs>' ensureBackend + the state-loss guard
 *   node client.js phases  '<json PhasesArgs>'  the sync's scan, listing and plan timed one by one
 *
 * Prints one line of JSON (the figures) last on stdout.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { createClients } from '../src/aws/clients'
import { checkStateLoss } from '../src/backend/guard'
import { ensureBackend } from '../src/backend/backend'
import { deployFrontend } from '../src/frontend/deploy'
import { scanBuildDirectory } from '../src/frontend/local-files'
import { listRemote } from '../src/frontend/s3-sync'
import { planSync } from '../src/frontend/sync-plan'
import type { Log } from '../src/log'
import { readConfig } from '../src/inputs'
import { renderReport, type ReportContext } from '../src/report/render'
import { Terraform } from '../src/terraform/runner'

/** Milliseconds from process start until the bundle was loaded and this line ran. */
const loadedMs = performance.now()

/** The environment (endpoints, credentials, GITHUB_*) is the process's own, as in the action. */
export interface SyncArgs {
  /** Every input, defaults included (as the runner passes them). */
  inputs: Record<string, string>
  /** Uploads in flight (default: deployFrontend's). */
  uploadConcurrency?: number
}

export interface SyncFigures {
  loadedMs: number
  /** deployFrontend, from its call to its return. */
  deployMs: number
  buildSeconds: number
  uploaded: number
  deleted: number
  unchanged: number
  bytesUploaded: number
  uploadedKeys: string[]
  deletedKeys: string[]
  logLines: string[]
}

export interface ReportArgs {
  planJsonFile: string
  planTextFile: string
}

export interface ReportFigures {
  loadedMs: number
  /** RSS after the bundle was loaded and the inputs read, before the report step. */
  rssBeforeBytes: number
  /** Peak RSS of the whole process (VmHWM, see peakRss). */
  peakRssBytes: number
  heapUsedBeforeBytes: number
  heapUsedAfterBytes: number
  /** Terraform.plan() (secrets, summary, redact) + planFingerprint + renderReport, as the action runs them. */
  totalMs: number
  renderMs: number
  summarizeMs: number
  resources: number
  commentLength: number
  planJsonBytes: number
  planTextBytes: number
}

export interface BackendArgs {
  inputs: Record<string, string>
}

export interface BackendFigures {
  loadedMs: number
  ensureMs: number
  guardMs: number
  created: boolean
  stateFound: boolean
  bucket: string
  key: string
  table: string
}

export interface PhasesArgs {
  directory: string
  bucket: string
  region: string
  /** Scan and list at the same time (Promise.all) instead: what deployFrontend could do. */
  overlap?: boolean
}

/** Where a sync's time goes when nothing is uploaded. */
export interface PhasesFigures {
  loadedMs: number
  scanMs: number
  /** CPU time (all threads) of the scan. */
  scanCpuMs: number
  listMs: number
  listCpuMs: number
  planMs: number
  /** With `overlap`: scan and listing together, as one wall time. */
  overlapMs?: number
  files: number
  objects: number
}

const quietLog = (lines: string[]): Log => ({
  debug: () => undefined,
  info: message => void lines.push(message),
  warning: message => void lines.push(`warning: ${message}`),
  notice: message => void lines.push(`notice: ${message}`),
  group: async (name, fn) => {
    lines.push(`group: ${name}`)
    return fn()
  }
})

/**
 * This process's peak resident set size. Linux: VmHWM from /proc/self/status. Not getrusage's
 * maxrss: that survives fork and exec, so a child reports its parent's peak when that is larger.
 */
function peakRss(): number {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1]
    if (kb) return Number(kb) * 1024
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024
}

function reader(inputs: Record<string, string>): (name: string) => string {
  return name => (inputs[name] ?? '').trim()
}

async function sync(args: SyncArgs): Promise<SyncFigures> {
  const config = readConfig(reader(args.inputs))
  const clients = createClients(config.region)
  const lines: string[] = []
  const started = performance.now()
  const result = await deployFrontend(config, {}, clients, {
    log: quietLog(lines),
    ...(args.uploadConcurrency && { uploadConcurrency: args.uploadConcurrency })
  })
  const deployMs = performance.now() - started
  clients.s3.destroy()
  clients.cloudfront.destroy()
  return {
    loadedMs,
    deployMs,
    buildSeconds: result.buildSeconds ?? 0,
    uploaded: result.uploaded,
    deleted: result.deleted,
    unchanged: result.unchanged,
    bytesUploaded: result.bytesUploaded,
    uploadedKeys: result.uploadedKeys,
    deletedKeys: result.deletedKeys,
    logLines: lines
  }
}

/**
 * A stand-in `terraform` for the report step: `plan` finds changes (exit 2), `show -json` and
 * `show -no-color` print the bench's plan files, so `Terraform.plan()` runs as in the action.
 */
function planPrinter(args: ReportArgs): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'revive-bench-tf-'))
  const bin = path.join(dir, 'terraform')
  const q = (file: string): string => `'${file.replace(/'/g, `'\\''`)}'`
  fs.writeFileSync(
    bin,
    [
      '#!/bin/sh',
      'case "$1 $2" in',
      '  "plan "*) exit 2 ;;',
      `  "show -json") exec cat ${q(args.planJsonFile)} ;;`,
      `  "show -no-color") exec cat ${q(args.planTextFile)} ;;`,
      'esac',
      'exit 1',
      ''
    ].join('\n'),
    { mode: 0o755 }
  )
  return bin
}

async function report(args: ReportArgs): Promise<ReportFigures> {
  const bin = planPrinter(args)
  const terraform = new Terraform({
    bin,
    cwd: path.dirname(bin),
    lockTimeout: '1m',
    planFile: path.join(path.dirname(bin), 'plan.tfplan'),
    log: () => undefined
  })
  const rssBeforeBytes = process.memoryUsage().rss
  const heapUsedBeforeBytes = process.memoryUsage().heapUsed
  const started = performance.now()
  // What the action runs: Terraform.plan() (show -json read once: secrets, summary, fingerprint
  // input; show -no-color redacted), the reviewed-plan fingerprint of a pull request's plan, then
  // the report.
  // On a pull request the key is read before the plan, and the fingerprint made while it is read.
  const stack = { workingDirectory: 'terraform', stateKey: 'production/terraform.tfstate' }
  const plan = await terraform.plan({
    fingerprint: { key: Buffer.alloc(32, 7), stack, head: '0123456789abcdef' }
  })
  const { summary, secrets } = plan
  const planText = plan.text
  if (!plan.fingerprint) throw new Error('no fingerprint')
  const summarized = performance.now()
  const ctx: ReportContext = {
    stack: {
      workingDirectory: 'terraform',
      stateKey: 'production/terraform.tfstate',
      environment: 'production'
    },
    mode: 'plan',
    eventName: 'pull_request',
    repository: 'acme/shop',
    sha: '0123456789abcdef0123456789abcdef01234567',
    actor: 'octocat',
    runUrl: 'https://github.com/acme/shop/actions/runs/4242',
    timestamp: new Date(),
    planText,
    fullPlanLocation: '[the job summary](https://github.com/acme/shop/actions/runs/4242)',
    secrets
  }
  const renderStart = performance.now()
  const markdown = renderReport(summary, ctx, { includeMarker: true })
  const ended = performance.now()
  fs.rmSync(path.dirname(bin), { recursive: true, force: true })
  const heapUsedAfterBytes = process.memoryUsage().heapUsed
  return {
    loadedMs,
    rssBeforeBytes,
    peakRssBytes: peakRss(),
    heapUsedBeforeBytes,
    heapUsedAfterBytes,
    totalMs: ended - started,
    renderMs: ended - renderStart,
    summarizeMs: summarized - started,
    resources: summary.resources.length,
    commentLength: markdown.length,
    planJsonBytes: fs.statSync(args.planJsonFile).size,
    planTextBytes: fs.statSync(args.planTextFile).size
  }
}

async function backend(args: BackendArgs): Promise<BackendFigures> {
  const config = readConfig(reader(args.inputs))
  const clients = createClients(config.region)
  const started = performance.now()
  const found = await ensureBackend(config, clients)
  const ensured = performance.now()
  const guard = await checkStateLoss(
    { bucket: found.bucket, key: found.key, table: found.table, region: found.region },
    clients,
    config.allowFreshState
  )
  const guarded = performance.now()
  clients.s3.destroy()
  clients.dynamodb.destroy()
  clients.sts.destroy()
  return {
    loadedMs,
    ensureMs: ensured - started,
    guardMs: guarded - ensured,
    created: found.bucketCreated || found.tableCreated,
    stateFound: guard.stateFound,
    bucket: found.bucket,
    key: found.key,
    table: found.table
  }
}

async function phases(args: PhasesArgs): Promise<PhasesFigures> {
  const clients = createClients(args.region)
  let cpu = process.cpuUsage()
  const cpuMs = (): number => {
    const used = process.cpuUsage(cpu)
    cpu = process.cpuUsage()
    return (used.user + used.system) / 1000
  }
  if (args.overlap) {
    const start = performance.now()
    // As deployFrontend's scanAndRead: the listing first, the calling thread joining the hashing
    // threads once it is read.
    const listing = listRemote(clients.s3, args.bucket, '')
    const [local, remote] = await Promise.all([
      scanBuildDirectory(args.directory, { sha256: false, joinAfter: listing }),
      listing
    ])
    const overlapMs = performance.now() - start
    clients.s3.destroy()
    return {
      loadedMs,
      scanMs: NaN,
      scanCpuMs: NaN,
      listMs: NaN,
      listCpuMs: NaN,
      planMs: NaN,
      overlapMs,
      files: local.length,
      objects: remote.length
    }
  }
  const t0 = performance.now()
  const local = await scanBuildDirectory(args.directory, { sha256: false })
  const t1 = performance.now()
  const scanCpuMs = cpuMs()
  const remote = await listRemote(clients.s3, args.bucket, '')
  const t2 = performance.now()
  const listCpuMs = cpuMs()
  planSync(local, remote, { prefix: '', deleteRemoved: true })
  const t3 = performance.now()
  clients.s3.destroy()
  return {
    loadedMs,
    scanMs: t1 - t0,
    scanCpuMs,
    listMs: t2 - t1,
    listCpuMs,
    planMs: t3 - t2,
    files: local.length,
    objects: remote.length
  }
}

const [mode = '', raw = '{}'] = process.argv.slice(2)
const args: unknown = JSON.parse(raw)
let figures: unknown
if (mode === 'sync') figures = await sync(args as SyncArgs)
else if (mode === 'report') figures = await report(args as ReportArgs)
else if (mode === 'backend') figures = await backend(args as BackendArgs)
else if (mode === 'phases') figures = await phases(args as PhasesArgs)
else throw new Error(`unknown mode ${mode}: sync, report, backend or phases`)
process.stdout.write(`${JSON.stringify(figures)}\n`)
