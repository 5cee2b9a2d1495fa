/**
 * Apply order across jobs: each stack's apply records its outcome for the workflow run in the state
 * bucket (`revive-deploy/stack-runs/<run id>/<stack>.json`), and a stack whose dependency failed (or
 * was itself held back) in the same run is not applied. A dependency with no record did not run in
 * this workflow run (nothing it depends on changed), so it does not hold anything back.
 *
 * Re-running the failed jobs of a run keeps its run id: a dependency that succeeds on the re-run
 * replaces its record, and the stacks after it apply.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { DeployError, errorMessage } from '../errors'
import type { StackRun } from './stack-input'

export type StackOutcome = 'applied' | 'failed' | 'held-back'

export interface OutcomeStore {
  s3: S3Client
  bucket: string
  runId: string
}

interface Recorded {
  stack: string
  outcome: StackOutcome
  sha?: string
  at: string
}

export function outcomeKey(runId: string, stack: string): string {
  return `revive-deploy/stack-runs/${encodeURIComponent(runId)}/${encodeURIComponent(stack)}.json`
}

async function readOutcome(store: OutcomeStore, stack: string): Promise<Recorded | undefined> {
  try {
    const out = await store.s3.send(
      new GetObjectCommand({ Bucket: store.bucket, Key: outcomeKey(store.runId, stack) })
    )
    return JSON.parse((await out.Body?.transformToString()) ?? '') as Recorded
  } catch (error) {
    const name = (error as { name?: string }).name
    if (name === 'NoSuchKey' || name === 'NotFound') return undefined
    throw error
  }
}

/**
 * Refuse to apply when a dependency failed or was held back in this workflow run. Throws a
 * DeployError naming the dependency; returns the dependencies that ran and succeeded.
 */
export async function checkDependencies(store: OutcomeStore, stack: StackRun): Promise<string[]> {
  const applied: string[] = []
  for (const dep of stack.dependsOn) {
    const recorded = await readOutcome(store, dep)
    if (!recorded) continue
    if (recorded.outcome !== 'applied') {
      throw new HeldBack(
        `Stack ${stack.name} was not applied: its dependency ${dep} ${recorded.outcome === 'failed' ? 'failed' : 'was not applied either'} in this workflow run. Fix ${dep} and re-run the failed jobs; ${stack.name} applies after it.`
      )
    }
    applied.push(dep)
  }
  return applied
}

/** A stack held back by a dependency (recorded as such, so the stacks after it wait too). */
export class HeldBack extends DeployError {
  constructor(message: string) {
    super(message)
    this.name = 'HeldBack'
  }
}

/** Record this stack's outcome for the stacks after it; a failure to record is only a warning. */
export async function recordOutcome(
  store: OutcomeStore,
  stack: StackRun,
  outcome: StackOutcome,
  sha: string | undefined,
  warn: (message: string) => void
): Promise<void> {
  const body: Recorded = {
    stack: stack.name,
    outcome,
    ...(sha !== undefined && { sha }),
    at: new Date().toISOString()
  }
  try {
    await store.s3.send(
      new PutObjectCommand({
        Bucket: store.bucket,
        Key: outcomeKey(store.runId, stack.name),
        Body: JSON.stringify(body),
        ContentType: 'application/json'
      })
    )
  } catch (error) {
    warn(
      `Could not record the outcome of stack ${stack.name} for the stacks after it (${errorMessage(error)}); they apply as if it had not run`
    )
  }
}

/**
 * One stack run's part in the apply order: after the state backend is known it checks the stack's
 * dependencies, and at the end it records how the stack's apply went. Does nothing for a run that
 * is not a stack of a stacks file, that does not apply, or has no workflow run id.
 */
export class StackGate {
  private store?: OutcomeStore
  private held = false

  constructor(
    private readonly stack: StackRun | undefined,
    private readonly applying: boolean,
    private readonly runId: string | undefined,
    private readonly sha: string | undefined
  ) {}

  get active(): boolean {
    return this.stack !== undefined && this.applying && this.runId !== undefined
  }

  attach(s3: S3Client, bucket: string): void {
    if (this.active && this.runId !== undefined) this.store = { s3, bucket, runId: this.runId }
  }

  async check(): Promise<void> {
    if (!this.store || !this.stack) return
    try {
      await checkDependencies(this.store, this.stack)
    } catch (error) {
      if (error instanceof HeldBack) this.held = true
      throw error
    }
  }

  /** Record the outcome: applied when the run succeeded, else failed (or held back). */
  async record(succeeded: boolean, warn: (message: string) => void): Promise<void> {
    if (!this.store || !this.stack) return
    const outcome: StackOutcome = succeeded ? 'applied' : this.held ? 'held-back' : 'failed'
    await recordOutcome(this.store, this.stack, outcome, this.sha, warn)
  }
}
