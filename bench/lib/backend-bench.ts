/**
 * The state-backend step on an existing backend: ensureBackend (STS for the account id, HeadBucket,
 * DescribeTable) and the state-loss guard (HeadObject of the state), in a fresh bundled process
 * (bench/client.ts `backend`), against the stand-ins. The first run creates the backend (its
 * calls are reported too); a state object is then written, as Terraform would, and the measured
 * runs find everything in place.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { runnerInputs } from './inputs'
import type { BackendArgs, BackendFigures } from '../client'
import { emptyHome, measuredNode } from './paths'
import { lastJson, median, runProcess } from './proc'
import { operationCounts } from './requests'
import type { StandInsProcess } from './standins-process'

export interface BackendResult {
  /** API calls of the run that created the backend. */
  createCalls: Record<string, number>
  createMs: number
  /** API calls of a run on the existing backend (all from the action; nothing else runs). */
  checkCalls: Record<string, number>
  /** ensureBackend + guard, median, in-process (the SDK clients are cold, as in the action). */
  checkMs: number
  ensureMs: number
  guardMs: number
  runsMs: number[]
}

export async function backendBench(
  standins: StandInsProcess,
  opts: { region: string; repeat: number; scratch: string; client: string }
): Promise<BackendResult> {
  const workspace = path.join(opts.scratch, 'backend-ws')
  fs.mkdirSync(path.join(workspace, 'terraform'), { recursive: true })
  const args: BackendArgs = {
    inputs: runnerInputs({ 'aws-region': opts.region, mode: 'deploy' })
  }
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: emptyHome(opts.scratch),
    ...standins.env,
    GITHUB_WORKSPACE: workspace,
    GITHUB_EVENT_NAME: 'push',
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_RUN_ID: '1000',
    GITHUB_RUN_ATTEMPT: '1'
  }
  const once = async (): Promise<{ figures: BackendFigures; calls: Record<string, number> }> => {
    await standins.clear()
    const run = await runProcess(measuredNode(), [opts.client, 'backend', JSON.stringify(args)], {
      env
    })
    const figures = lastJson<BackendFigures>(run, 'backend check')
    const { requests } = await standins.snapshot()
    return { figures, calls: operationCounts(requests) }
  }

  const created = await once()
  if (!created.figures.created) throw new Error('the first backend run should have created it')
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
    new PutObjectCommand({
      Bucket: created.figures.bucket,
      Key: created.figures.key,
      Body: JSON.stringify({ version: 4, serial: 1, lineage: 'bench', resources: [] })
    })
  )
  s3.destroy()

  const checks: Array<{ figures: BackendFigures; calls: Record<string, number> }> = []
  for (let i = 0; i < opts.repeat; i++) checks.push(await once())
  const first = checks[0]
  if (!first || first.figures.created || !first.figures.stateFound) {
    throw new Error('the backend check runs should find the backend and the state')
  }
  const totals = checks.map(c => c.figures.ensureMs + c.figures.guardMs)
  return {
    createCalls: created.calls,
    createMs: created.figures.ensureMs + created.figures.guardMs,
    checkCalls: first.calls,
    checkMs: median(totals),
    ensureMs: median(checks.map(c => c.figures.ensureMs)),
    guardMs: median(checks.map(c => c.figures.guardMs)),
    runsMs: totals
  }
}
