/**
 * Report rendering: a plan of N resource changes to the PR comment, in a fresh bundled process per
 * run (bench/client.ts `report`), as the action does it: Terraform.plan() with a stand-in terraform
 * (the `show -json` output read piece by piece: sensitive strings, summary), the reviewed-plan
 * fingerprint, redact on the plan text, renderReport. Peak memory is the process's
 * peak resident set size (VmHWM), so everything the step allocated counts, garbage included.
 */
import * as path from 'node:path'
import type { ReportArgs, ReportFigures } from '../client'
import { measuredNode } from './paths'
import { writePlan, writeTerraformPlan } from './plans'
import { lastJson, median, runProcess } from './proc'

export interface ReportResult {
  /** `synthetic` (AWS-like resources, written directly) or `terraform` (real Terraform output). */
  source: 'synthetic' | 'terraform'
  resources: number
  planJsonBytes: number
  planTextBytes: number
  /** Medians over the runs. */
  totalMs: number
  renderMs: number
  summarizeMs: number
  peakRssBytes: number
  /** Peak RSS minus the RSS before the step (after loading the bundle and reading the files). */
  stepRssBytes: number
  commentLength: number
  /**
   * The smallest V8 old-space limit (--max-old-space-size, MB, to 8 MB) under which the step still
   * completes: the heap it really needs, whatever the garbage collector's heuristics leave in RSS.
   */
  minOldSpaceMb?: number
  runs: ReportFigures[]
}

interface PlanFiles {
  jsonFile: string
  textFile: string
}

export async function reportBench(opts: {
  sizes: number[]
  repeat: number
  scratch: string
  client: string
  /** When given, also plans made by real Terraform. */
  terraform?: string | undefined
  log: (line: string) => void
}): Promise<ReportResult[]> {
  const results: ReportResult[] = []
  const plans: Array<{
    source: ReportResult['source']
    n: number
    files: () => Promise<PlanFiles>
  }> = opts.sizes.map(n => ({
    source: 'synthetic' as const,
    n,
    files: async () => writePlan(path.join(opts.scratch, `plan-${n}`), n)
  }))
  const terraform = opts.terraform
  if (terraform) {
    for (const n of opts.sizes) {
      plans.push({
        source: 'terraform',
        n,
        files: () => writeTerraformPlan(path.join(opts.scratch, `tf-plan-${n}`), n, terraform)
      })
    }
  }
  for (const { source, n, files } of plans) {
    const { jsonFile, textFile } = await files()
    const runs: ReportFigures[] = []
    for (let i = 0; i < opts.repeat; i++) {
      const args: ReportArgs = { planJsonFile: jsonFile, planTextFile: textFile }
      const run = await runProcess(measuredNode(), [opts.client, 'report', JSON.stringify(args)])
      runs.push(lastJson<ReportFigures>(run, 'report rendering'))
    }
    const minOldSpaceMb = await probeHeap(opts.client, {
      planJsonFile: jsonFile,
      planTextFile: textFile
    })
    const first = runs[0] as ReportFigures
    const result: ReportResult = {
      source,
      resources: first.resources,
      planJsonBytes: first.planJsonBytes,
      planTextBytes: first.planTextBytes,
      totalMs: median(runs.map(r => r.totalMs)),
      renderMs: median(runs.map(r => r.renderMs)),
      summarizeMs: median(runs.map(r => r.summarizeMs)),
      peakRssBytes: median(runs.map(r => r.peakRssBytes)),
      stepRssBytes: median(runs.map(r => r.peakRssBytes - r.rssBeforeBytes)),
      commentLength: first.commentLength,
      ...(minOldSpaceMb !== undefined && { minOldSpaceMb }),
      runs
    }
    results.push(result)
    opts.log(
      `report (${source}): ${n} changes (heap needed ≤ ${minOldSpaceMb ?? '?'} MB) -> ${result.commentLength} chars in ${result.totalMs.toFixed(0)} ms, peak RSS ${(result.peakRssBytes / 2 ** 20).toFixed(0)} MiB`
    )
  }
  return results
}

/** Binary search of the smallest --max-old-space-size (MB) the report step completes under. */
async function probeHeap(client: string, args: ReportArgs): Promise<number | undefined> {
  const fits = async (mb: number): Promise<boolean> => {
    const run = await runProcess(measuredNode(), [
      `--max-old-space-size=${mb}`,
      client,
      'report',
      JSON.stringify(args)
    ])
    return run.code === 0
  }
  let high = 1024
  if (!(await fits(high))) return undefined
  let low = 8
  while (high - low > 8) {
    const mid = Math.round((low + high) / 2)
    if (await fits(mid)) high = mid
    else low = mid
  }
  return high
}
