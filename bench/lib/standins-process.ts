/**
 * Starts bench/standins-server.ts in a child process and talks to it over IPC.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import * as path from 'node:path'
import type { RecordedRequest } from '../../standins/index'
import type { ServerAnswer, ServerCommand, ServerReady } from '../standins-server'
import { BENCH_DIR, REPO_ROOT } from './paths'

type Command = ServerCommand extends infer C ? (C extends unknown ? Omit<C, 'id'> : never) : never

export interface RequestSnapshot {
  requests: RecordedRequest[]
  s3Bytes: { sent: number; received: number }
  /** CPU time of the stand-ins process since the last clear(). */
  serverCpuMs: number
}

export class StandInsProcess {
  private nextId = 1
  private readonly pending = new Map<number, (answer: ServerAnswer) => void>()

  private constructor(
    private readonly child: ChildProcess,
    readonly env: Record<string, string>,
    readonly backendConfig: string[]
  ) {
    child.on('message', (message: ServerAnswer) => {
      const resolve = this.pending.get(message.id)
      this.pending.delete(message.id)
      resolve?.(message)
    })
  }

  static async start(): Promise<StandInsProcess> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(BENCH_DIR, 'standins-server.ts')],
      { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }
    )
    const ready = await new Promise<ServerReady>((resolve, reject) => {
      child.once('message', (message: ServerReady) => resolve(message))
      child.once('exit', code => reject(new Error(`the stand-ins process exited with ${code}`)))
      child.once('error', reject)
    })
    return new StandInsProcess(child, ready.env, ready.backendConfig)
  }

  get s3Url(): string {
    return this.env.AWS_ENDPOINT_URL_S3 ?? ''
  }

  private async call(command: Command): Promise<ServerAnswer> {
    const id = this.nextId++
    const answer = await new Promise<ServerAnswer>((resolve, reject) => {
      this.pending.set(id, resolve)
      this.child.send({ ...command, id }, error => {
        if (error) reject(error)
      })
    })
    if (answer.error) throw new Error(`stand-ins: ${answer.error}`)
    return answer
  }

  async clear(): Promise<void> {
    await this.call({ cmd: 'clear' })
  }

  async snapshot(): Promise<RequestSnapshot> {
    const answer = await this.call({ cmd: 'requests' })
    return {
      requests: answer.requests ?? [],
      s3Bytes: answer.s3Bytes ?? { sent: 0, received: 0 },
      serverCpuMs: answer.serverCpuMs ?? 0
    }
  }

  /** Every later request to the stand-ins waits `ms` before it is handled (0: none). */
  async setLatency(ms: number): Promise<void> {
    await this.call({ cmd: 'latency', ms })
  }

  async addDistribution(distributionId: string): Promise<void> {
    await this.call({ cmd: 'addDistribution', distributionId })
  }

  async stop(): Promise<void> {
    if (!this.child.connected) return
    const exited = new Promise(resolve => this.child.once('exit', resolve))
    await this.call({ cmd: 'stop' }).catch(() => undefined)
    await exited
  }
}
