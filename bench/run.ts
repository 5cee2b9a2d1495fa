/**
 * `npm run bench`: sync against the S3 stand-in (revive-deploy and `aws s3 sync`), invalidation
 * paths, report rendering, the backend check, the action's overhead on a no-change deploy, and the
 * bundle. Prints markdown and writes bench/results/latest.json. See bench/README.md.
 *
 *   npm run bench -- [--only sync,report,backend,action,bundle] [--sizes 200,2000,10000] [--repeat 3]
 *                    [--latency 20,50] [--latency-files 2000] [--concurrency 16,32,64]
 *   npm run bench -- --render bench/results/latest.json   (the tables again, from saved figures)
 *   npm run bench -- --stacks   (stack discovery and change detection, 200 stacks / 2,000 files)
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { parseArgs } from 'node:util'
import { DEFAULT_UPLOAD_CONCURRENCY } from '../src/frontend/s3-sync'
import { actionBench, findTerraform } from './lib/action-bench'
import { findAwsCliV2 } from './lib/aws-cli'
import { backendBench } from './lib/backend-bench'
import { bundleBench } from './lib/bundle-bench'
import { buildClient } from './lib/client-build'
import { measuredNode, REPO_ROOT, RESULTS_DIR, scratchDir } from './lib/paths'
import { runProcess } from './lib/proc'
import { reportBench } from './lib/report-bench'
import { StandInsProcess } from './lib/standins-process'
import { syncBench } from './lib/sync-bench'
import { checkTargets, markdown, type BenchResults } from './lib/table'

// `--stacks`: stack discovery and change detection alone (bench/stacks.ts), nothing else.
if (process.argv.includes('--stacks')) {
  await import('./stacks')
  process.exit(process.exitCode ?? 0)
}

const SECTIONS = ['sync', 'report', 'backend', 'action', 'bundle'] as const
type Section = (typeof SECTIONS)[number]

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    sizes: { type: 'string', default: '200,2000,10000' },
    'report-sizes': { type: 'string', default: '100,1000,10000' },
    repeat: { type: 'string', default: '3' },
    'action-files': { type: 'string', default: '2000' },
    out: { type: 'string', default: path.join(RESULTS_DIR, 'latest.json') },
    render: { type: 'string' },
    'no-cli': { type: 'boolean', default: false },
    latency: { type: 'string', default: '20,50' },
    'latency-files': { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '16,32,64' }
  }
})
if (values.render) {
  const saved = JSON.parse(fs.readFileSync(values.render, 'utf8')) as BenchResults
  saved.targets = checkTargets(saved)
  process.stdout.write(markdown(saved))
  process.exit(0)
}
const only = new Set((values.only ?? SECTIONS.join(',')).split(',').map(s => s.trim()) as Section[])
for (const s of only) {
  if (!SECTIONS.includes(s))
    throw new Error(`--only: unknown section ${s} (${SECTIONS.join(', ')})`)
}
const numbers = (text: string): number[] => text.split(',').map(s => Number(s.replace(/_/g, '')))
const repeat = Math.max(1, Number(values.repeat))
const region = 'eu-west-1'
const log = (line: string): void => void process.stderr.write(`${line}\n`)

const scratch = scratchDir('revive-bench-')
const results: BenchResults = {
  date: new Date().toISOString().slice(0, 10),
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.versions.node,
    os: `${os.type()} ${os.release()}`
  },
  awsCli: {},
  load: { start: os.loadavg()[0] ?? 0 }
}
const nodeVersion = await runProcess(measuredNode(), ['--version'])
results.measuredNode = nodeVersion.stdout.trim().replace(/^v/, '')
const head = await runProcess('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT }).catch(
  () => undefined
)
if (head?.code === 0) {
  const changed = await runProcess('git', ['status', '--porcelain', 'src', 'standins', 'dist'], {
    cwd: REPO_ROOT
  })
  results.commit = `${head.stdout.trim()}${changed.stdout.trim() ? '+changes' : ''}`
} else if (process.env.BENCH_COMMIT) results.commit = process.env.BENCH_COMMIT

let standins: StandInsProcess | undefined
try {
  log(`bench: scratch ${scratch}`)
  const needsClient = only.has('sync') || only.has('report') || only.has('backend')
  const client = needsClient ? await buildClient(path.join(scratch, 'client')) : ''
  if (needsClient) log('bench: bench/client.ts bundled with ncc')
  const terraform = findTerraform()
  if (terraform) {
    const version = await runProcess(terraform, ['version'])
    results.terraform = /Terraform v(\S+)/.exec(version.stdout)?.[1] ?? 'unknown'
  }
  if (only.has('sync')) {
    const lookup = values['no-cli'] ? { missing: 'not run (--no-cli)' } : await findAwsCliV2()
    results.awsCli = lookup.cli
      ? { version: lookup.cli.version }
      : { missing: lookup.missing ?? '' }
    log(`bench: AWS CLI ${lookup.cli ? lookup.cli.version : `missing: ${lookup.missing}`}`)
    standins = await StandInsProcess.start()
    results.sync = await syncBench(standins, {
      sizes: numbers(values.sizes),
      region,
      repeat,
      scratch,
      client,
      cli: lookup,
      log,
      latencies: values.latency ? numbers(values.latency).filter(ms => ms > 0) : [],
      latencyFiles: Number(values['latency-files']),
      concurrencies: numbers(values.concurrency),
      defaultConcurrency: DEFAULT_UPLOAD_CONCURRENCY
    })
    // A fresh S3 stand-in for what follows: the sites' objects stay out of the other figures.
    await standins.stop()
    standins = undefined
  }
  if (only.has('report')) {
    results.report = await reportBench({
      sizes: numbers(values['report-sizes']),
      repeat,
      scratch,
      client,
      terraform,
      log
    })
  }
  if (only.has('backend') || only.has('action') || only.has('bundle')) {
    standins = await StandInsProcess.start()
  }
  if (only.has('backend') && standins) {
    results.backend = await backendBench(standins, { region, repeat, scratch, client })
    log(`backend: existing backend checked in ${results.backend.checkMs.toFixed(0)} ms`)
  }
  if (only.has('action') && standins) {
    if (!terraform) results.action = { skipped: 'terraform is not on PATH' }
    else {
      results.action = await actionBench(standins, {
        region,
        repeat,
        scratch,
        siteFiles: Number(values['action-files']),
        terraform,
        log
      })
    }
  }
  if (only.has('bundle') && standins) {
    results.bundle = await bundleBench({ repeat: Math.max(repeat, 5), scratch, env: standins.env })
    log(`bundle: first line after ${results.bundle.firstLineMs.toFixed(0)} ms`)
  }
} finally {
  await standins?.stop()
  fs.rmSync(scratch, { recursive: true, force: true })
}

if (results.load) results.load.end = os.loadavg()[0] ?? 0
results.targets = checkTargets(results)
fs.mkdirSync(path.dirname(values.out), { recursive: true })
fs.writeFileSync(values.out, `${JSON.stringify(results, null, 2)}\n`)
process.stdout.write(markdown(results))
log(`bench: figures written to ${path.relative(process.cwd(), values.out)}`)
