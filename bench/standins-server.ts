/**
 * The stand-ins in a process of their own, for the benchmarks: the measured clients (our sync, the
 * AWS CLI, the bundled action) run in other processes, so the server's CPU is not billed to them
 * and they do not share its event loop. Started by bench/lib/standins-process.ts over IPC:
 *
 *   node --import tsx bench/standins-server.ts
 *
 * Besides the stand-ins' request logs it counts the bytes on the S3 endpoint's connections (what
 * clients sent, headers and bodies included, and what they received), from Node's
 * `net.server.socket` diagnostics channel: no proxy in the path, nothing added per request.
 */
import dc from 'node:diagnostics_channel'
import type * as http from 'node:http'
import type { Socket } from 'node:net'
import { startStandIns, type RecordedRequest, type StandIns } from '../standins/index'

export type ServerCommand =
  | { id: number; cmd: 'clear' }
  | { id: number; cmd: 'requests' }
  | { id: number; cmd: 'addDistribution'; distributionId: string }
  | { id: number; cmd: 'latency'; ms: number }
  | { id: number; cmd: 'stop' }

export interface ServerReady {
  ready: true
  env: Record<string, string>
  backendConfig: string[]
}

export interface ServerAnswer {
  id: number
  error?: string
  requests?: RecordedRequest[]
  /** Bytes clients sent to / received from the S3 endpoint since the last `clear`. */
  s3Bytes?: { sent: number; received: number }
  /** CPU time of this process (the stand-ins) since the last `clear`, ms. */
  serverCpuMs?: number
}

let s3Port = -1
const live = new Set<Socket>()
const closed = { read: 0, written: 0 }
let baseline = { read: 0, written: 0 }
let cpuBaseline = process.cpuUsage()

dc.subscribe('net.server.socket', message => {
  const socket = (message as { socket: Socket }).socket
  if (socket.localPort !== s3Port) return
  live.add(socket)
  socket.once('close', () => {
    live.delete(socket)
    closed.read += socket.bytesRead
    closed.written += socket.bytesWritten
  })
})

function totals(): { read: number; written: number } {
  let read = closed.read
  let written = closed.written
  for (const socket of live) {
    read += socket.bytesRead
    written += socket.bytesWritten
  }
  return { read, written }
}

function allRequests(si: StandIns): RecordedRequest[] {
  return [
    ...si.s3.requests,
    ...si.dynamodb.requests,
    ...si.cloud.requests,
    ...si.github.requests
  ].sort((a, b) => a.at - b.at)
}

function clear(si: StandIns): void {
  si.s3.clearRequests()
  si.dynamodb.clearRequests()
  si.cloud.clearRequests()
  si.github.clearRequests()
  baseline = totals()
  cpuBaseline = process.cpuUsage()
}

/**
 * Latency injection: every request to every stand-in waits `latencyMs` before it is handled, as a
 * request to AWS from a hosted runner waits for the network (tens of milliseconds) where the
 * stand-ins answer in microseconds. The stand-ins' request handlers are moved behind a timer; the
 * body waits in the socket meanwhile.
 */
let latencyMs = 0
function delayRequests(server: http.Server): void {
  const handlers = server.listeners('request') as Array<(...args: unknown[]) => void>
  server.removeAllListeners('request')
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const handle = (): void => {
      for (const handler of handlers) handler.call(server, req, res)
    }
    if (latencyMs > 0) setTimeout(handle, latencyMs)
    else handle()
  })
}

const send = (message: ServerReady | ServerAnswer): void => {
  process.send?.(message)
}

const si = await startStandIns({ invalidationMs: 50 })
s3Port = Number(new URL(si.s3.url).port)
// The HTTP server of each stand-in (a protected member of standins/common.ts's HttpStandIn).
for (const standIn of [si.s3, si.dynamodb, si.cloud, si.github]) {
  delayRequests((standIn as unknown as { server: http.Server }).server)
}
process.on('message', (raw: ServerCommand) => {
  try {
    switch (raw.cmd) {
      case 'clear':
        clear(si)
        return send({ id: raw.id })
      case 'requests': {
        const now = totals()
        const cpu = process.cpuUsage(cpuBaseline)
        return send({
          id: raw.id,
          requests: allRequests(si),
          s3Bytes: { sent: now.read - baseline.read, received: now.written - baseline.written },
          serverCpuMs: (cpu.user + cpu.system) / 1000
        })
      }
      case 'latency':
        latencyMs = Math.max(0, raw.ms)
        return send({ id: raw.id })
      case 'addDistribution':
        si.cloud.addDistribution(raw.distributionId)
        return send({ id: raw.id })
      case 'stop':
        void si.stop().then(() => {
          send({ id: raw.id })
          process.disconnect()
        })
        return
    }
  } catch (error) {
    send({ id: raw.id, error: String(error) })
  }
})
// Stop with the parent, whatever way it ends.
process.on('disconnect', () => void si.stop().finally(() => process.exit(0)))
send({ ready: true, env: si.env, backendConfig: si.backendConfig() })
