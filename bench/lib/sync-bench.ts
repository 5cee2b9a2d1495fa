/**
 * Site sync: revive-deploy's sync (deployFrontend in a fresh bundled process, bench/client.ts) and
 * `aws s3 sync` against the same S3 stand-in (in its own process), on the same files, one after
 * the other in each scenario, so ratios are taken under the same machine load.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { invalidationPaths } from '../../src/frontend/invalidation'
import { runnerInputs } from './inputs'
import type { PhasesArgs, PhasesFigures, SyncArgs, SyncFigures } from '../client'
import { cliEnvironment, cliSync, type CliLookup } from './aws-cli'
import { lastJson, median, runProcess, sleep } from './proc'
import { s3Counts, type S3Counts } from './requests'
import { emptyHome, measuredNode } from './paths'
import { changeOnePercent, touchAll, writeSite, type SiteStats } from './site'
import type { StandInsProcess } from './standins-process'

export const SCENARIOS = ['first upload', 'no-op re-sync', 'fresh checkout', '1% changed'] as const
export type Scenario = (typeof SCENARIOS)[number]

export interface SyncMeasurement {
  /** Process wall time (spawn to exit), median of the runs. */
  wallMs: number
  runsMs: number[]
  requests: S3Counts
  /** Bytes the client sent to the S3 endpoint (headers and bodies) / received from it. */
  bytesSent: number
  bytesReceived: number
  /** CPU time of the client process (user + system), and of the stand-ins meanwhile. */
  cpuMs?: number
  serverCpuMs: number
  uploaded: number
  deleted: number
  /** Ours only: time until the bundle was loaded, and deployFrontend itself. */
  loadedMs?: number
  deployMs?: number
}

export interface ScenarioResult {
  scenario: Scenario
  ours: SyncMeasurement
  cli?: SyncMeasurement
  /** ours / CLI wall time. */
  ratio?: number
}

export interface InvalidationComparison {
  changedFiles: number
  /** invalidationPaths() for what our sync uploaded. */
  ours: string[]
  oursWildcards: number
  /** One path per file the CLI uploaded. */
  everyUploadedPath: number
}

export interface SizeResult {
  site: SiteStats
  scenarios: ScenarioResult[]
  invalidation: InvalidationComparison
  /** Our no-op re-sync taken apart (medians): scan, listing, plan. */
  phases?: PhasesFigures
  /** The first upload and the no-op re-sync again with a delay on every stand-in request. */
  latency?: LatencyResult[]
}

/** One injected latency: both tools' first upload (ours at several concurrencies) and no-op. */
export interface LatencyResult {
  latencyMs: number
  /** Our first upload at each upload concurrency tried (the default among them). */
  uploads: Array<{ concurrency: number; ours: SyncMeasurement }>
  /** The upload concurrency deployFrontend uses by default. */
  defaultConcurrency: number
  cliUpload?: SyncMeasurement
  noop: { ours: SyncMeasurement; cli?: SyncMeasurement }
}

export interface SyncBenchOptions {
  sizes: number[]
  region: string
  /** Runs of the no-op re-sync per tool (median reported). */
  repeat: number
  scratch: string
  client: string
  cli: CliLookup
  log: (line: string) => void
  /** Injected latencies (ms) for the latency runs, on the site of `latencyFiles` files. */
  latencies?: number[]
  latencyFiles?: number
  /** Upload concurrencies tried for our first upload under latency. */
  concurrencies?: number[]
  /** deployFrontend's default upload concurrency (DEFAULT_UPLOAD_CONCURRENCY). */
  defaultConcurrency: number
}

export async function syncBench(
  standins: StandInsProcess,
  opts: SyncBenchOptions
): Promise<SizeResult[]> {
  const s3 = new S3Client({
    region: opts.region,
    endpoint: standins.s3Url,
    forcePathStyle: true,
    credentials: {
      accessKeyId: standins.env.AWS_ACCESS_KEY_ID ?? '',
      secretAccessKey: standins.env.AWS_SECRET_ACCESS_KEY ?? ''
    }
  })
  const cliHome = path.join(opts.scratch, 'aws-cli-home')
  fs.mkdirSync(cliHome, { recursive: true })
  const cliEnv = cliEnvironment(cliHome, standins.env, opts.region)
  const results: SizeResult[] = []
  try {
    for (const size of opts.sizes) {
      results.push(await oneSize(size))
    }
  } finally {
    s3.destroy()
  }
  return results

  async function oneSize(count: number): Promise<SizeResult> {
    const workspace = path.join(opts.scratch, `site-${count}`)
    const siteDir = path.join(workspace, 'frontend', 'dist')
    fs.mkdirSync(path.join(workspace, 'terraform'), { recursive: true })
    fs.mkdirSync(siteDir, { recursive: true })
    const site = writeSite(siteDir, count)
    opts.log(
      `sync: ${site.files.toLocaleString('en-US')} files, ${(site.bytes / 2 ** 20).toFixed(1)} MiB (${site.largeFiles} over 8 MiB)`
    )
    const ourBucket = `bench-ours-${count}`
    const cliBucket = `bench-cli-${count}`
    for (const bucket of [ourBucket, cliBucket]) {
      await s3.send(
        new CreateBucketCommand({
          Bucket: bucket,
          CreateBucketConfiguration: { LocationConstraint: opts.region as 'eu-west-1' }
        })
      )
    }
    const inputs = runnerInputs({
      'aws-region': opts.region,
      'frontend-directory': 'frontend',
      'build-command': 'true',
      'site-bucket': ourBucket
    })
    const clientEnv: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: emptyHome(opts.scratch),
      ...standins.env,
      GITHUB_WORKSPACE: workspace,
      GITHUB_EVENT_NAME: 'push',
      GITHUB_REPOSITORY: 'acme/shop',
      GITHUB_RUN_ID: '1000',
      GITHUB_RUN_ATTEMPT: '1'
    }
    let lastCliEnd = 0
    let changedFiles = 0
    const scenarios: ScenarioResult[] = []
    let invalidation: InvalidationComparison | undefined
    let phases: PhasesFigures | undefined

    for (const [index, scenario] of SCENARIOS.entries()) {
      if (scenario === 'fresh checkout') {
        // The CLI compares timestamps with LastModified: they must be later than its last upload.
        await sleep(Math.max(0, lastCliEnd + 1500 - Date.now()))
        touchAll(siteDir, new Date(Math.floor(Date.now() / 1000) * 1000))
      }
      if (scenario === '1% changed') changedFiles = changeOnePercent(siteDir).length
      const runs = scenario === 'no-op re-sync' ? opts.repeat : 1
      const ourRuns: Array<{ m: SyncMeasurement; figures: SyncFigures }> = []
      const cliRuns: Array<{ m: SyncMeasurement; uploadedKeys: string[] }> = []
      for (let run = 0; run < runs; run++) {
        // Alternate who goes first, so neither always runs on a machine the other just warmed.
        const oursFirst = (index + run) % 2 === 0
        for (const tool of oursFirst ? ['ours', 'cli'] : ['cli', 'ours']) {
          if (tool === 'ours') ourRuns.push(await runOurs(inputs, clientEnv, ourBucket))
          else if (opts.cli.cli) {
            cliRuns.push(await runCli(siteDir, cliBucket))
            lastCliEnd = Date.now()
          }
        }
      }
      const ours = combine(ourRuns.map(r => r.m))
      const result: ScenarioResult = { scenario, ours }
      if (cliRuns.length) {
        result.cli = combine(cliRuns.map(r => r.m))
        result.ratio = ours.wallMs / result.cli.wallMs
      }
      scenarios.push(result)
      opts.log(
        `  ${scenario}: ours ${(ours.wallMs / 1000).toFixed(2)} s, ${ours.requests.put} PUT` +
          (result.cli
            ? `; CLI ${(result.cli.wallMs / 1000).toFixed(2)} s, ${result.cli.requests.put} PUT`
            : '')
      )
      if (scenario === 'no-op re-sync' || scenario === 'fresh checkout') {
        // Nothing should go up: say what did, so a stray upload can be traced.
        for (const { figures } of ourRuns) {
          if (figures.uploadedKeys.length > 0) {
            opts.log(`  ${scenario}: uploaded ${figures.uploadedKeys.slice(0, 10).join(' ')}`)
            for (const line of figures.logLines.slice(0, 20)) opts.log(`    ${line}`)
          }
        }
      }
      if (scenario === 'no-op re-sync') phases = await runPhases(siteDir, ourBucket, runs)
      if (scenario === '1% changed') {
        const figures = ourRuns[0]?.figures
        const paths = invalidationPaths(figures?.uploadedKeys ?? [], figures?.deletedKeys ?? [], {
          prefix: '',
          mode: 'changed'
        })
        invalidation = {
          changedFiles,
          ours: paths,
          oursWildcards: paths.filter(p => p.endsWith('*')).length,
          everyUploadedPath: cliRuns[0]?.uploadedKeys.length ?? changedFiles
        }
      }
    }
    const latency =
      count === opts.latencyFiles && opts.latencies?.length
        ? await latencyRuns(count, siteDir, clientEnv)
        : undefined
    fs.rmSync(workspace, { recursive: true, force: true })
    return {
      site,
      scenarios,
      ...(phases && { phases }),
      ...(latency && { latency }),
      invalidation: invalidation ?? {
        changedFiles,
        ours: [],
        oursWildcards: 0,
        everyUploadedPath: 0
      }
    }
  }

  /**
   * With each injected latency: a first upload by each tool into an empty bucket (ours at each of
   * `concurrencies`), then a no-op re-sync of each (the default concurrency's bucket).
   */
  async function latencyRuns(
    count: number,
    siteDir: string,
    env: Record<string, string>
  ): Promise<LatencyResult[]> {
    const results: LatencyResult[] = []
    const concurrencies = [...new Set([...(opts.concurrencies ?? []), opts.defaultConcurrency])]
    for (const latencyMs of opts.latencies ?? []) {
      const bucketOf = (tool: string, c?: number): string =>
        `bench-lat${latencyMs}-${tool}${c ? `-c${c}` : ''}-${count}`
      for (const bucket of [bucketOf('cli'), ...concurrencies.map(c => bucketOf('ours', c))]) {
        await s3.send(
          new CreateBucketCommand({
            Bucket: bucket,
            CreateBucketConfiguration: { LocationConstraint: opts.region as 'eu-west-1' }
          })
        )
      }
      const inputsFor = (bucket: string): Record<string, string> =>
        runnerInputs({
          'aws-region': opts.region,
          'frontend-directory': 'frontend',
          'build-command': 'true',
          'site-bucket': bucket
        })
      await standins.setLatency(latencyMs)
      try {
        const uploads: LatencyResult['uploads'] = []
        let cliUpload: SyncMeasurement | undefined
        if (opts.cli.cli) cliUpload = (await runCli(siteDir, bucketOf('cli'))).m
        for (const c of concurrencies) {
          const bucket = bucketOf('ours', c)
          uploads.push({
            concurrency: c,
            ours: (await runOurs(inputsFor(bucket), env, bucket, c)).m
          })
        }
        const home = bucketOf('ours', opts.defaultConcurrency)
        const ours = (await runOurs(inputsFor(home), env, home)).m
        const cli = opts.cli.cli ? (await runCli(siteDir, bucketOf('cli'))).m : undefined
        results.push({
          latencyMs,
          uploads,
          defaultConcurrency: opts.defaultConcurrency,
          ...(cliUpload && { cliUpload }),
          noop: { ours, ...(cli && { cli }) }
        })
        opts.log(
          `  ${latencyMs} ms latency: first upload ` +
            uploads
              .map(u => `ours(${u.concurrency}) ${(u.ours.wallMs / 1000).toFixed(2)} s`)
              .join(', ') +
            (cliUpload ? `, CLI ${(cliUpload.wallMs / 1000).toFixed(2)} s` : '') +
            `; no-op ours ${(ours.wallMs / 1000).toFixed(2)} s` +
            (cli ? `, CLI ${(cli.wallMs / 1000).toFixed(2)} s` : '')
        )
      } finally {
        await standins.setLatency(0)
      }
    }
    return results
  }

  async function runOurs(
    inputs: Record<string, string>,
    env: Record<string, string>,
    bucket: string,
    uploadConcurrency?: number
  ): Promise<{ m: SyncMeasurement; figures: SyncFigures }> {
    await standins.clear()
    const args: SyncArgs = { inputs, ...(uploadConcurrency && { uploadConcurrency }) }
    const run = await runProcess(
      measuredNode(),
      [...nodeArgs(), opts.client, 'sync', JSON.stringify(args)],
      { env, cpu: true }
    )
    const figures = lastJson<SyncFigures>(run, 'revive-deploy sync')
    const snap = await standins.snapshot()
    return {
      m: {
        wallMs: run.wallMs,
        runsMs: [run.wallMs],
        requests: s3Counts(snap.requests, bucket),
        bytesSent: snap.s3Bytes.sent,
        bytesReceived: snap.s3Bytes.received,
        ...(run.cpuMs !== undefined && { cpuMs: run.cpuMs }),
        serverCpuMs: snap.serverCpuMs,
        uploaded: figures.uploaded,
        deleted: figures.deleted,
        loadedMs: figures.loadedMs,
        deployMs: figures.deployMs
      },
      figures
    }
  }

  async function runPhases(
    directory: string,
    bucket: string,
    runs: number
  ): Promise<PhasesFigures> {
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: emptyHome(opts.scratch),
      ...standins.env
    }
    const once = async (overlap: boolean): Promise<PhasesFigures> => {
      const args: PhasesArgs = { directory, bucket, region: opts.region, overlap }
      const run = await runProcess(measuredNode(), [opts.client, 'phases', JSON.stringify(args)], {
        env
      })
      return lastJson<PhasesFigures>(run, 'sync phases')
    }
    const all: PhasesFigures[] = []
    const overlapped: number[] = []
    for (let i = 0; i < runs; i++) {
      all.push(await once(false))
      overlapped.push((await once(true)).overlapMs ?? NaN)
    }
    const first = all[0] as PhasesFigures
    const mid = (pick: (p: PhasesFigures) => number): number => median(all.map(pick))
    return {
      ...first,
      loadedMs: mid(p => p.loadedMs),
      scanMs: mid(p => p.scanMs),
      scanCpuMs: mid(p => p.scanCpuMs),
      listMs: mid(p => p.listMs),
      listCpuMs: mid(p => p.listCpuMs),
      planMs: mid(p => p.planMs),
      overlapMs: median(overlapped)
    }
  }

  async function runCli(
    dir: string,
    bucket: string
  ): Promise<{ m: SyncMeasurement; uploadedKeys: string[] }> {
    const cli = opts.cli.cli
    if (!cli) throw new Error('no AWS CLI')
    await standins.clear()
    const sync = await cliSync(cli, cliEnv, dir, bucket)
    const snap = await standins.snapshot()
    return {
      m: {
        wallMs: sync.run.wallMs,
        runsMs: [sync.run.wallMs],
        requests: s3Counts(snap.requests, bucket),
        bytesSent: snap.s3Bytes.sent,
        bytesReceived: snap.s3Bytes.received,
        ...(sync.run.cpuMs !== undefined && { cpuMs: sync.run.cpuMs }),
        serverCpuMs: snap.serverCpuMs,
        uploaded: sync.uploadedKeys.length,
        deleted: sync.deletedKeys.length
      },
      uploadedKeys: sync.uploadedKeys
    }
  }
}

/** Extra Node options for the measured client, e.g. BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'. */
function nodeArgs(): string[] {
  return (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)
}

/** Several runs of one tool in one scenario: the median wall time, the first run's counts. */
function combine(runs: SyncMeasurement[]): SyncMeasurement {
  const first = runs[0]
  if (!first) throw new Error('no runs')
  const runsMs = runs.map(r => r.wallMs)
  const combined: SyncMeasurement = { ...first, wallMs: median(runsMs), runsMs }
  if (first.cpuMs !== undefined) combined.cpuMs = median(runs.map(r => r.cpuMs ?? 0))
  combined.serverCpuMs = median(runs.map(r => r.serverCpuMs))
  if (first.deployMs !== undefined) combined.deployMs = median(runs.map(r => r.deployMs ?? 0))
  if (first.loadedMs !== undefined) combined.loadedMs = median(runs.map(r => r.loadedMs ?? 0))
  return combined
}
