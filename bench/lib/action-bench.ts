/**
 * Action overhead: a deploy with nothing to change, through the committed bundle (dist/index.js)
 * run like the runner runs it (standins/run-action.ts), with real Terraform on a small fixture
 * stack (__tests__/fixtures/stacks/app: 6 terraform_data resources) and a build that copies the
 * 2,000-file site into dist/ (fresh timestamps every run, as a real build).
 *
 * Overhead = the action process's wall time − the time inside Terraform − the time inside the build
 * command. Both are timed from the outside of those processes: `terraform` on PATH is a wrapper
 * script that records when each real Terraform invocation starts and ends, and the build command
 * records its own start and end; the action finds both the normal way (PATH, build-command).
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { runAction, type ActionRun } from '../../standins/run-action'
import { emptyHome, REPO_ROOT } from './paths'
import { median } from './proc'
import { ACTION_AGENT, operationCounts } from './requests'
import { writeSite } from './site'
import type { StandInsProcess } from './standins-process'

export interface TimedCommand {
  what: string
  /** When it started, ms from the start of the action's process (approximately: wall clocks). */
  startMs: number
  ms: number
}

export interface ActionRunFigures {
  wallMs: number
  terraformMs: number
  /** The build command's shell process, start to exit. */
  buildMs: number
  /** The build's own commands (rm, cp), timed inside the shell. */
  buildCommandsMs: number
  overheadMs: number
  terraform: TimedCommand[]
  /** Log groups as the output arrived (ms from the start), and when the first line came. */
  groups: Array<{ name: string; startMs: number; ms: number }>
  firstLineMs: number
}

export interface ActionResult {
  terraformVersion: string
  siteFiles: number
  /** Medians over the no-change runs. */
  wallMs: number
  terraformMs: number
  buildMs: number
  overheadMs: number
  runs: ActionRunFigures[]
  /** The no-change run's calls: the action's own (AWS SDK for JavaScript) and Terraform's. */
  actionCalls: Record<string, number>
  terraformCalls: Record<string, number>
  /** What the first deploy (apply + full upload) took, for context. */
  firstDeployMs: number
}

const SITE_BUCKET = 'app-site'
const DISTRIBUTION = 'EAPPDIST0001'

export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const bin = path.join(dir, name)
    if (dir && fs.existsSync(bin)) return bin
  }
  return undefined
}

export function findTerraform(): string | undefined {
  return findOnPath('terraform')
}

export async function actionBench(
  standins: StandInsProcess,
  opts: {
    region: string
    repeat: number
    scratch: string
    siteFiles: number
    terraform: string
    log: (line: string) => void
  }
): Promise<ActionResult> {
  const root = path.join(opts.scratch, 'action')
  const workspace = path.join(root, 'workspace')
  const bin = path.join(root, 'bin')
  const timing = path.join(root, 'timing.log')
  fs.mkdirSync(bin, { recursive: true })
  fs.cpSync(
    path.join(REPO_ROOT, '__tests__', 'fixtures', 'stacks', 'app'),
    path.join(workspace, 'terraform'),
    { recursive: true }
  )
  const site = writeSite(path.join(workspace, 'frontend', 'site'), opts.siteFiles)

  // Every Terraform invocation, timed from outside (date +%s%N: nanoseconds).
  const wrapper = path.join(bin, 'terraform')
  fs.writeFileSync(
    wrapper,
    [
      '#!/bin/sh',
      'start=$(date +%s%N)',
      `${JSON.stringify(opts.terraform)} "$@"`,
      'code=$?',
      'end=$(date +%s%N)',
      `printf 'terraform %s %s %s\\n' "$start" "$end" "$1" >> ${JSON.stringify(timing)}`,
      'exit $code',
      ''
    ].join('\n'),
    { mode: 0o755 }
  )
  // The build command's shell (the action runs `bash -c`), timed from outside by a `bash` earlier on
  // PATH: the whole shell process counts as the build, start-up files included. Its commands also
  // time themselves.
  const realBash = findOnPath('bash')
  if (realBash) {
    fs.writeFileSync(
      path.join(bin, 'bash'),
      [
        `#!${realBash} --norc`,
        'start=$(date +%s%N)',
        // As the action's own `bash -c` would start: no SHLVL (bash reads ~/.bashrc when its stdin
        // is a socket, as Node's pipes are, and SHLVL is below 2).
        `env -u SHLVL ${JSON.stringify(realBash)} "$@"`,
        'code=$?',
        'end=$(date +%s%N)',
        `printf 'build %s %s\\n' "$start" "$end" >> ${JSON.stringify(timing)}`,
        'exit $code',
        ''
      ].join('\n'),
      { mode: 0o755 }
    )
  }
  const buildCommand =
    's=$(date +%s%N); rm -rf dist && cp -R site dist; c=$?; ' +
    `printf 'commands %s %s\\n' "$s" "$(date +%s%N)" >> ${JSON.stringify(timing)}; exit $c`

  const s3 = new S3Client({
    region: opts.region,
    endpoint: standins.s3Url,
    forcePathStyle: true,
    credentials: {
      accessKeyId: standins.env.AWS_ACCESS_KEY_ID ?? '',
      secretAccessKey: standins.env.AWS_SECRET_ACCESS_KEY ?? ''
    }
  })
  await s3.send(
    new CreateBucketCommand({
      Bucket: SITE_BUCKET,
      CreateBucketConfiguration: { LocationConstraint: opts.region as 'eu-west-1' }
    })
  )
  s3.destroy()
  await standins.addDistribution(DISTRIBUTION)

  const backendConfig = standins.backendConfig
    .filter(line => !line.startsWith('region='))
    .join('\n')
  let lines: Array<{ at: number; line: string }> = []
  let epochStart = 0
  const deploy = async (): Promise<ActionRun> => {
    fs.rmSync(timing, { force: true })
    lines = []
    epochStart = Date.now()
    const started = performance.now()
    let partial = ''
    const run = await runAction({
      onOutput: chunk => {
        const at = performance.now() - started
        const parts = (partial + chunk).split('\n')
        partial = parts.pop() ?? ''
        for (const line of parts) lines.push({ at, line })
      },
      workspace,
      event: { name: 'push', payload: {} },
      inputs: {
        mode: 'deploy',
        'aws-region': opts.region,
        'backend-config': backendConfig,
        'build-command': buildCommand,
        'build-env': 'API_URL=api_url'
      },
      env: {
        ...standins.env,
        PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
        HOME: emptyHome(opts.scratch),
        GITHUB_REPOSITORY: 'acme/shop',
        GITHUB_RUN_ID: '2001',
        GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567'
      },
      // runAction reads ACTION_NODE: a bash script running `node --cpu-prof "$@"` profiles the
      // action (bash, not sh: dash drops the INPUT_* variables whose names have a hyphen).
      timeoutMs: 10 * 60_000
    })
    if (run.exitCode !== 0) {
      throw new Error(
        `the deploy failed (exit ${run.exitCode}): ${run.errors.join(' | ')}\n${run.log.slice(-4000)}`
      )
    }
    return run
  }

  const first = await deploy()
  opts.log(
    `action: first deploy (apply, ${first.outputs.uploaded} files uploaded) ${(first.durationMs / 1000).toFixed(1)} s`
  )
  const runs: ActionRunFigures[] = []
  let actionCalls: Record<string, number> = {}
  let terraformCalls: Record<string, number> = {}
  for (let i = 0; i < opts.repeat; i++) {
    await standins.clear()
    const run = await deploy()
    if (run.outputs.uploaded !== '0' || run.outputs.changes !== 'false') {
      throw new Error(
        `the no-change deploy changed something: changes=${run.outputs.changes} uploaded=${run.outputs.uploaded}`
      )
    }
    if (process.env.BENCH_ACTION_LOG) {
      const events = [
        ...lines.map(l => ({ at: l.at, text: l.line })),
        ...readTiming(timing, epochStart).flatMap(t => [
          { at: t.startMs, text: `>>> ${t.what} starts` },
          { at: t.startMs + t.ms, text: `<<< ${t.what} ends (${t.ms.toFixed(0)} ms)` }
        ])
      ].sort((a, b) => a.at - b.at)
      fs.writeFileSync(
        process.env.BENCH_ACTION_LOG,
        events.map(e => `${e.at.toFixed(0).padStart(6)} ${e.text}`).join('\n')
      )
    }
    const timed = readTiming(timing, epochStart)
    const terraform = timed.filter(t => t.what.startsWith('terraform'))
    const terraformMs = terraform.reduce((sum, t) => sum + t.ms, 0)
    const sum = (what: string): number =>
      timed.filter(t => t.what === what).reduce((total, t) => total + t.ms, 0)
    const buildMs = sum('build') || sum('commands')
    runs.push({
      wallMs: run.durationMs,
      terraformMs,
      buildMs,
      overheadMs: run.durationMs - terraformMs - buildMs,
      buildCommandsMs: sum('commands'),
      terraform,
      groups: logGroups(lines),
      firstLineMs: lines.find(l => !/^::(add-mask|debug)::/.test(l.line))?.at ?? NaN
    })
    if (i === 0) {
      const { requests } = await standins.snapshot()
      actionCalls = operationCounts(requests, ACTION_AGENT)
      terraformCalls = operationCounts(requests.filter(r => !ACTION_AGENT.test(r.userAgent)))
    }
    opts.log(
      `action: no-change deploy ${(run.durationMs / 1000).toFixed(2)} s, Terraform ${(terraformMs / 1000).toFixed(2)} s, build ${(buildMs / 1000).toFixed(2)} s`
    )
  }
  const version = /Terraform v?(\d+\.\d+\.\d+)/.exec(first.log)?.[1] ?? ''
  fs.rmSync(root, { recursive: true, force: true })
  return {
    terraformVersion: version,
    siteFiles: site.files,
    wallMs: median(runs.map(r => r.wallMs)),
    terraformMs: median(runs.map(r => r.terraformMs)),
    buildMs: median(runs.map(r => r.buildMs)),
    overheadMs: median(runs.map(r => r.overheadMs)),
    runs,
    actionCalls,
    terraformCalls,
    firstDeployMs: first.durationMs
  }
}

/** `::group::name` … `::endgroup::` spans, by when their lines arrived. */
function logGroups(
  lines: Array<{ at: number; line: string }>
): Array<{ name: string; startMs: number; ms: number }> {
  const groups: Array<{ name: string; startMs: number; ms: number }> = []
  let open: { name: string; startMs: number } | undefined
  for (const { at, line } of lines) {
    if (line.startsWith('::group::')) open = { name: line.slice('::group::'.length), startMs: at }
    else if (line.startsWith('::endgroup::') && open) {
      groups.push({ ...open, ms: at - open.startMs })
      open = undefined
    }
  }
  return groups
}

function readTiming(file: string, epochStartMs: number): TimedCommand[] {
  if (!fs.existsSync(file)) return []
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(line => {
      const [kind = '', start = '0', end = '0', sub = ''] = line.split(' ')
      return {
        what: kind === 'terraform' ? `terraform ${sub}` : kind,
        startMs: Number(BigInt(start) / 1000n) / 1000 - epochStartMs,
        ms: Number((BigInt(end) - BigInt(start)) / 1000n) / 1000
      }
    })
}
