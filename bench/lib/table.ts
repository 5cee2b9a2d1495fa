/** The benchmark figures as markdown tables, and the targets checked against them. */
import type { ActionResult } from './action-bench'
import type { BackendResult } from './backend-bench'
import type { BundleResult } from './bundle-bench'
import type { ReportResult } from './report-bench'
import type { SizeResult, SyncMeasurement } from './sync-bench'

export interface BenchResults {
  date: string
  /** The commit measured (src/, standins/, dist/), with `+changes` when the tree differed from it. */
  commit?: string
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; os: string }
  /** Node version of the measured processes (ACTION_NODE, or the bench's own). */
  measuredNode?: string
  /** 1-minute load average when the run started and ended (other work on the machine). */
  load?: { start: number; end?: number }
  awsCli: { version?: string; missing?: string }
  terraform?: string
  sync?: SizeResult[]
  report?: ReportResult[]
  backend?: BackendResult
  action?: ActionResult | { skipped: string }
  bundle?: BundleResult
  targets?: TargetCheck[]
}

export interface TargetCheck {
  target: string
  figure: string
  met: boolean | undefined
}

const count = (n: number): string => Math.round(n).toLocaleString('en-US')

export function seconds(ms: number): string {
  const s = ms / 1000
  return s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

function pair(
  ours: number,
  cli: number | undefined,
  format: (n: number) => string = count
): string {
  return cli === undefined ? format(ours) : `${format(ours)} / ${format(cli)}`
}

export function syncTable(sizes: SizeResult[], cliMissing: string | undefined): string {
  const lines = [
    '| Files | Scenario | revive-deploy | AWS CLI v2 | Ratio | Client CPU | Stand-in CPU | PUT | LIST | HEAD | DELETE | Other | Bytes sent |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
  ]
  for (const size of sizes) {
    for (const s of size.scenarios) {
      const cli: SyncMeasurement | undefined = s.cli
      const files = `${count(size.site.files)} (${bytes(size.site.bytes)})`
      lines.push(
        `| ${files} | ${s.scenario} | ${seconds(s.ours.wallMs)} | ${cli ? seconds(cli.wallMs) : 'not run'} | ` +
          `${s.ratio !== undefined ? `${s.ratio.toFixed(2)}×` : '–'} | ` +
          `${pair(s.ours.cpuMs ?? NaN, cli?.cpuMs, seconds)} | ${pair(s.ours.serverCpuMs, cli?.serverCpuMs, seconds)} | ` +
          `${pair(s.ours.requests.put, cli?.requests.put)} | ${pair(s.ours.requests.list, cli?.requests.list)} | ` +
          `${pair(s.ours.requests.head, cli?.requests.head)} | ${pair(s.ours.requests.delete, cli?.requests.delete)} | ` +
          `${pair(s.ours.requests.other, cli?.requests.other)} | ${pair(s.ours.bytesSent, cli?.bytesSent, bytes)} |`
      )
    }
  }
  const notes = [
    '',
    'Times are process wall times (start to exit), the no-op re-sync the median of several runs. ' +
      'Request columns are "ours / CLI" from the stand-in\'s request log: PUT counts PutObject and ' +
      'each UploadPart of a multipart upload; Other is CreateMultipartUpload + CompleteMultipartUpload; ' +
      'DELETE counts requests (DeleteObjects takes up to 1,000 keys). Bytes sent: what the client ' +
      'wrote to the S3 endpoint, headers included. Ratio: revive-deploy ÷ AWS CLI. Client CPU: ' +
      "user + system time of the client process; stand-in CPU: the stand-ins' process meanwhile " +
      '(when it is close to the wall time, the stand-in is the bottleneck, not the client).'
  ]
  if (cliMissing) notes.push('', `**AWS CLI: ${cliMissing}.** Its columns were not measured.`)
  return [...lines, ...notes].join('\n')
}

export function phasesTable(sizes: SizeResult[]): string {
  const lines = [
    '| Files | Bundle loaded | Scan + hash (CPU) | Listing (CPU) | Plan | Scan and listing at once | No-op re-sync, whole process |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
  ]
  for (const size of sizes) {
    const p = size.phases
    const noop = size.scenarios.find(s => s.scenario === 'no-op re-sync')
    if (!p || !noop) continue
    lines.push(
      `| ${count(size.site.files)} | ${p.loadedMs.toFixed(0)} ms | ${p.scanMs.toFixed(0)} ms (${p.scanCpuMs.toFixed(0)} ms) | ` +
        `${p.listMs.toFixed(0)} ms (${p.listCpuMs.toFixed(0)} ms) | ${p.planMs.toFixed(0)} ms | ` +
        `${p.overlapMs !== undefined ? `${p.overlapMs.toFixed(0)} ms` : '–'} | ${seconds(noop.ours.wallMs)} |`
    )
  }
  return lines.join('\n')
}

export function latencyTable(sizes: SizeResult[]): string {
  const lines = [
    '| Files | Latency | Scenario | revive-deploy (uploads in flight) | AWS CLI v2 | Ratio | Client CPU |',
    '| --- | ---: | --- | --- | ---: | ---: | ---: |'
  ]
  for (const size of sizes) {
    for (const l of size.latency ?? []) {
      const files = count(size.site.files)
      for (const u of l.uploads) {
        const cli = l.cliUpload
        lines.push(
          `| ${files} | ${l.latencyMs} ms | first upload | ${seconds(u.ours.wallMs)} (${u.concurrency}${u.concurrency === l.defaultConcurrency ? ', default' : ''}) | ` +
            `${cli ? seconds(cli.wallMs) : 'not run'} | ${cli ? `${(u.ours.wallMs / cli.wallMs).toFixed(2)}×` : '–'} | ` +
            `${pair(u.ours.cpuMs ?? NaN, cli?.cpuMs, seconds)} |`
        )
      }
      const { ours, cli } = l.noop
      lines.push(
        `| ${files} | ${l.latencyMs} ms | no-op re-sync | ${seconds(ours.wallMs)} | ${cli ? seconds(cli.wallMs) : 'not run'} | ` +
          `${cli ? `${(ours.wallMs / cli.wallMs).toFixed(2)}×` : '–'} | ${pair(ours.cpuMs ?? NaN, cli?.cpuMs, seconds)} |`
      )
    }
  }
  return [
    ...lines,
    '',
    'Every request to every stand-in waits the given latency before it is handled (bench/standins-server.ts), ' +
      'as requests to AWS from a hosted runner wait for the network. One run each; the AWS CLI at its default ' +
      '10 requests at a time.'
  ].join('\n')
}

export function invalidationTable(sizes: SizeResult[]): string {
  const lines = [
    '| Files | Changed files | revive-deploy paths (wildcards) | Every uploaded path | `/*` |',
    '| --- | ---: | ---: | ---: | --- |'
  ]
  for (const size of sizes) {
    const inv = size.invalidation
    lines.push(
      `| ${count(size.site.files)} | ${count(inv.changedFiles)} | ${count(inv.ours.length)} (${inv.oursWildcards}) | ` +
        `${count(inv.everyUploadedPath)} | 1 path, every object of the site evicted |`
    )
  }
  return lines.join('\n')
}

export function reportTable(results: ReportResult[]): string {
  const lines = [
    '| Plan | Resource changes | Plan JSON / text | Time (all / render only) | Peak RSS (process / step) | Heap needed | Comment |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |'
  ]
  for (const r of results) {
    lines.push(
      `| ${r.source === 'terraform' ? 'Terraform, `terraform_data` creates' : 'AWS-like, mixed actions'} | ` +
        `${count(r.resources)} | ${bytes(r.planJsonBytes)} / ${bytes(r.planTextBytes)} | ` +
        `${r.totalMs.toFixed(0)} ms / ${r.renderMs.toFixed(0)} ms | ${bytes(r.peakRssBytes)} / ${bytes(r.stepRssBytes)} | ` +
        `${r.minOldSpaceMb !== undefined ? `≤ ${r.minOldSpaceMb} MB` : '?'} | ${count(r.commentLength)} chars |`
    )
  }
  lines.push(
    '',
    'AWS-like: written in the shape of `terraform show -json` (bench/lib/plans.ts): a dozen attributes ' +
      'before and after per resource, tags, a sensitive variable everywhere and a unique secret on 1% ' +
      'of them; 30% create, 30% update, 10% delete, 30% replace. Terraform: real Terraform output for ' +
      'a stack of N `terraform_data` resources (small, all created).',
    '',
    'A fresh bundled process per run, as the action does it: Terraform.plan() (the `terraform show -json` output ' +
      'read piece by piece from its file: sensitive strings, then the summary), the fingerprint, redact on the plan text, renderReport (medians). Peak RSS: the ' +
      "process's peak resident set (VmHWM), Node and the bundle included; step: peak minus the " +
      'RSS just before the step (the plan texts already read). Heap needed: the smallest ' +
      '`--max-old-space-size` under which the step still completes (binary search, 8 MB steps).'
  )
  return lines.join('\n')
}

function calls(record: Record<string, number>): string {
  const entries = Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1))
  return entries.length ? entries.map(([op, n]) => `${op} ×${n}`).join(', ') : 'none'
}

export function backendTable(b: BackendResult): string {
  return [
    '| Backend | API calls | Time |',
    '| --- | --- | ---: |',
    `| existing (ensureBackend + state-loss guard) | ${calls(b.checkCalls)} | ${b.checkMs.toFixed(0)} ms |`,
    `| missing (created and hardened) | ${calls(b.createCalls)} | ${b.createMs.toFixed(0)} ms |`
  ].join('\n')
}

export function actionTable(a: ActionResult): string {
  return [
    '| Wall time | in Terraform | in the build | Overhead | First deploy (apply + upload) |',
    '| ---: | ---: | ---: | ---: | ---: |',
    `| ${seconds(a.wallMs)} | ${seconds(a.terraformMs)} | ${seconds(a.buildMs)} | **${seconds(a.overheadMs)}** | ${seconds(a.firstDeployMs)} |`,
    '',
    `Terraform ${a.terraformVersion}, ${count(a.siteFiles)}-file site, medians of ${a.runs.length} runs. ` +
      `Terraform invocations of one run: ${(a.runs[0]?.terraform ?? []).map(t => `${t.what} ${t.ms.toFixed(0)} ms`).join(', ')}.`,
    '',
    'Log groups of that run as their lines arrived (from the start of the process; ' +
      `first visible line at ${(a.runs[0]?.firstLineMs ?? NaN).toFixed(0)} ms): ` +
      (a.runs[0]?.groups ?? []).map(g => `${g.name} ${g.ms.toFixed(0)} ms`).join(', ') +
      '.',
    '',
    `The action's own AWS calls in a no-change deploy: ${calls(a.actionCalls)}.`,
    `Terraform's (backend): ${calls(a.terraformCalls)}.`
  ].join('\n')
}

export function bundleTable(b: BundleResult): string {
  return [
    '| dist/index.js | gzip | Start → first log line | `node -e` → first line |',
    '| ---: | ---: | ---: | ---: |',
    `| ${bytes(b.bytes)} | ${bytes(b.gzipBytes)} | ${b.firstLineMs.toFixed(0)} ms | ${b.nodeFirstLineMs.toFixed(0)} ms |`
  ].join('\n')
}

const ALLOWED_BACKEND_READS = new Set([
  'sts GetCallerIdentity',
  's3 HeadBucket',
  'dynamodb DescribeTable',
  's3 HeadObject',
  // The state bucket's protection, read on every run (versioning, encryption, public access
  // block, TLS policy), the ownership record next to the state, and the site manifest next to it
  // (one GET: what the objects' headers were computed from, removed assets, pending invalidations).
  's3 GetBucketVersioning',
  's3 GetBucketEncryption',
  's3 GetPublicAccessBlock',
  's3 GetBucketPolicy',
  's3 GetObject'
])

/**
 * A backend read made more often than this on a no-change deploy is one per site object (a HEAD or
 * GET each), which the site manifest exists to avoid.
 */
const MAX_BACKEND_READS_PER_OPERATION = 10

export function checkTargets(r: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = []
  const sync = r.sync ?? []
  const scenario = (files: number, name: string) =>
    sync.find(s => s.site.files === files)?.scenarios.find(x => x.scenario === name)

  for (const size of sync) {
    const fresh = size.scenarios.find(x => x.scenario === 'fresh checkout')
    if (!fresh) continue
    checks.push({
      target: `Fresh checkout, no content change, ${count(size.site.files)} files: 0 PUTs`,
      figure:
        `${count(fresh.ours.requests.put)} PUTs` +
        (fresh.cli ? ` (AWS CLI: ${count(fresh.cli.requests.put)})` : ''),
      met: fresh.ours.requests.put === 0
    })
  }
  const ratioCheck = (files: number, name: string, label: string): void => {
    const s = scenario(files, name)
    if (!s) return
    checks.push({
      target: `${label}: ≤ 0.5× the AWS CLI's wall time`,
      figure:
        s.ratio === undefined
          ? `${seconds(s.ours.wallMs)}; AWS CLI not measured`
          : `${seconds(s.ours.wallMs)} vs ${seconds(s.cli?.wallMs ?? 0)} = ${s.ratio.toFixed(3)}×` +
            (s.ours.cpuMs !== undefined && s.cli?.cpuMs !== undefined
              ? ` (client CPU ${seconds(s.ours.cpuMs)} vs ${seconds(s.cli.cpuMs)} = ${(s.ours.cpuMs / s.cli.cpuMs).toFixed(2)}×; ` +
                `stand-in CPU during ours ${seconds(s.ours.serverCpuMs)})`
              : ''),
      met: s.ratio === undefined ? undefined : s.ratio <= 0.5
    })
  }
  ratioCheck(2000, 'first upload', 'Full upload of 2,000 files')
  ratioCheck(2000, 'no-op re-sync', 'No-op re-sync of 2,000 files')
  ratioCheck(10000, 'no-op re-sync', 'No-op re-sync of 10,000 files')
  const upload = scenario(2000, 'first upload')
  if (upload?.ours.cpuMs !== undefined && upload.cli?.cpuMs !== undefined) {
    const ratio = upload.ours.cpuMs / upload.cli.cpuMs
    checks.push({
      target: "Full upload of 2,000 files: ≤ 0.5× the AWS CLI's client CPU",
      figure: `${seconds(upload.ours.cpuMs)} vs ${seconds(upload.cli.cpuMs)} = ${ratio.toFixed(3)}×`,
      met: ratio <= 0.5
    })
  }
  for (const size of sync) {
    for (const l of size.latency ?? []) {
      const ours = l.uploads.find(u => u.concurrency === l.defaultConcurrency)?.ours
      if (!ours || !l.cliUpload) continue
      const ratio = ours.wallMs / l.cliUpload.wallMs
      checks.push({
        target: `Full upload of ${count(size.site.files)} files with ${l.latencyMs} ms latency: ≤ 0.5× the AWS CLI's wall time`,
        figure:
          `${seconds(ours.wallMs)} vs ${seconds(l.cliUpload.wallMs)} = ${ratio.toFixed(3)}× ` +
          `(${l.defaultConcurrency} uploads in flight against the CLI's 10)`,
        met: ratio <= 0.5
      })
    }
  }

  for (const size of sync) {
    const noop = size.scenarios.find(x => x.scenario === 'no-op re-sync')
    if (!noop) continue
    const pages = Math.ceil(size.site.files / 1000)
    const q = noop.ours.requests
    const others = q.put + q.head + q.delete + q.other
    checks.push({
      target: `Unchanged re-sync of ${count(size.site.files)} files: only listing pages (${pages})`,
      figure: `${q.list} LIST, ${others} other requests`,
      met: q.list === pages && others === 0
    })
  }
  if (r.action && 'actionCalls' in r.action) {
    const a = r.action
    const pages = Math.ceil(a.siteFiles / 1000)
    const list = a.actionCalls['s3 ListObjectsV2'] ?? 0
    const extra = Object.entries(a.actionCalls).filter(
      ([op, n]) =>
        op !== 's3 ListObjectsV2' &&
        (!ALLOWED_BACKEND_READS.has(op) || n > MAX_BACKEND_READS_PER_OPERATION)
    )
    checks.push({
      target: `Unchanged re-deploy (${count(a.siteFiles)} files): only listing pages (${pages}) and backend reads`,
      figure:
        `${list} ListObjectsV2; backend reads: ` +
        Object.entries(a.actionCalls)
          .filter(
            ([op, n]) => ALLOWED_BACKEND_READS.has(op) && n <= MAX_BACKEND_READS_PER_OPERATION
          )
          .map(([op, n]) => `${op} ×${n}`)
          .join(', ') +
        (extra.length
          ? `; other: ${extra.map(([op, n]) => `${op} ×${n}`).join(', ')}`
          : '; nothing else'),
      met: list === pages && extra.length === 0
    })
    checks.push({
      target: 'Action overhead on the no-change deploy: < 2 s',
      figure: `${seconds(a.overheadMs)} (wall ${seconds(a.wallMs)} − Terraform ${seconds(a.terraformMs)} − build ${seconds(a.buildMs)})`,
      met: a.overheadMs < 2000
    })
  }
  const big = (r.report ?? []).find(x => x.resources === 10000 && x.source === 'synthetic')
  const real = (r.report ?? []).find(x => x.resources === 10000 && x.source === 'terraform')
  if (big) {
    checks.push({
      target: '10,000-resource report: < 1 s',
      figure:
        `${big.totalMs.toFixed(0)} ms (render only ${big.renderMs.toFixed(0)} ms)` +
        (real
          ? `; real Terraform plan of 10,000 small resources: ${real.totalMs.toFixed(0)} ms`
          : ''),
      met: big.totalMs < 1000
    })
    checks.push({
      target: '10,000-resource report: < 200 MB peak',
      figure:
        `${(big.peakRssBytes / 1e6).toFixed(0)} MB peak RSS of the whole process (${(big.stepRssBytes / 1e6).toFixed(0)} MB above its RSS before the step; ` +
        `heap needed ≤ ${big.minOldSpaceMb ?? '?'} MB)` +
        (real
          ? `; real Terraform plan of 10,000 small resources: ${(real.peakRssBytes / 1e6).toFixed(0)} MB`
          : ''),
      met: big.peakRssBytes < 200e6
    })
    checks.push({
      target: '10,000-resource report: comment ≤ 65,536 characters',
      figure: `${count(big.commentLength)} characters`,
      met: big.commentLength <= 65536
    })
  }
  return checks
}

export function targetsTable(checks: TargetCheck[]): string {
  return [
    '| Target | Measured | Met |',
    '| --- | --- | :---: |',
    ...checks.map(
      c =>
        `| ${c.target} | ${c.figure} | ${c.met === undefined ? 'not measured' : c.met ? 'yes' : '**no**'} |`
    )
  ].join('\n')
}

export function markdown(r: BenchResults): string {
  const parts: string[] = [
    `## revive-deploy benchmarks, ${r.date}`,
    '',
    `${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, ${r.machine.os}; ` +
      `measured processes on Node ${r.measuredNode ?? r.machine.node} (the bench itself on ${r.machine.node}); ` +
      `AWS CLI: ${r.awsCli.version ?? r.awsCli.missing ?? 'not looked for'}` +
      (r.terraform ? `; Terraform ${r.terraform}` : '') +
      (r.commit ? `; commit ${r.commit}` : '') +
      (r.load
        ? `; load average ${r.load.start.toFixed(1)} at the start, ${r.load.end?.toFixed(1) ?? '?'} at the end`
        : '') +
      '. Stand-ins in their own process; every measured client a fresh process.'
  ]
  if (r.targets?.length) parts.push('', '### Targets', '', targetsTable(r.targets))
  if (r.sync?.length) {
    parts.push('', '### Site sync', '', syncTable(r.sync, r.awsCli.missing))
    parts.push(
      '',
      "### Where revive-deploy's no-op re-sync spends its time",
      '',
      phasesTable(r.sync),
      '',
      'Each phase timed on its own in a fresh process (scanBuildDirectory, listRemote, planSync); CPU ' +
        "is the process's user + system time, all threads. Scan and listing at once: both started " +
        'together in another fresh process, as deployFrontend does (the listing first; the hashing ' +
        'in a worker thread, the main thread joining it once the listing is read).'
    )
    if (r.sync.some(size => size.latency?.length)) {
      parts.push('', '### With injected latency', '', latencyTable(r.sync))
    }
    parts.push('', '### Invalidation paths for the 1% change', '', invalidationTable(r.sync))
  }
  if (r.report?.length)
    parts.push('', '### Report rendering (plan → PR comment)', '', reportTable(r.report))
  if (r.backend) parts.push('', '### State backend check', '', backendTable(r.backend))
  if (r.action) {
    parts.push('', '### Action overhead (no-change deploy through dist/index.js)', '')
    parts.push('skipped' in r.action ? `Not measured: ${r.action.skipped}.` : actionTable(r.action))
  }
  if (r.bundle) parts.push('', '### Bundle', '', bundleTable(r.bundle))
  return `${parts.join('\n')}\n`
}
