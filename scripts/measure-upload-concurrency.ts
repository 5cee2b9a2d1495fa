/**
 * Measures the frontend upload at several concurrency levels against the S3 stand-in: a generated
 * site of small files uploaded into a fresh bucket per run, through the real SDK client.
 *
 *   NODE_OPTIONS=--openssl-legacy-provider npx tsx scripts/measure-upload-concurrency.ts [files] [levels] [latency-ms]
 *
 * e.g. `... 1500 4,8,16,32,64 30`. Prints every run (three rounds). With a latency, requests go
 * through a local proxy that holds each one for that long before passing it on, as a stand-in for
 * the round trip to a real S3 region (the stand-in itself answers in well under a millisecond, so
 * without it the figure only measures the CPU of this machine). The stand-ins (and the proxy)
 * run in a child process, so the uploader and the server do not share one event loop.
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3'
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { createClients } from '../src/aws/clients'
import { scanBuildDirectory } from '../src/frontend/local-files'
import { uploadItems } from '../src/frontend/s3-sync'
import { planSync } from '../src/frontend/sync-plan'
import { generateSite, writeSite } from '../__tests__/helpers/frontend-site'
import { startStandIns } from '../standins/index'

const count = Number(process.argv[2] ?? 1500)
const levels = (process.argv[3] ?? '4,8,16,32,64').split(',').map(Number)
const latencyMs = Number(process.argv[4] ?? 0)
const rounds = 3

if (process.argv[2] === '--serve') {
  // Child: run the stand-ins, print their environment, stop when stdin closes.
  const standins = await startStandIns()
  const delay = Number(process.argv[3] ?? 0)
  const proxy = delay > 0 ? await startLatencyProxy(standins.s3.url, delay) : undefined
  const env = { ...standins.env, ...(proxy && { AWS_ENDPOINT_URL_S3: proxy.url }) }
  process.stdout.write(`${JSON.stringify(env)}\n`)
  process.stdin.resume()
  process.stdin.on('end', () => void standins.stop().then(() => process.exit(0)))
} else {
  await measure()
}

async function measure(): Promise<void> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, process.argv[1] ?? '', '--serve', String(latencyMs)],
    {
      stdio: ['pipe', 'pipe', 'inherit']
    }
  )
  const env = await new Promise<Record<string, string>>((resolve, reject) => {
    let buffered = ''
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      const line = buffered.split('\n').find(l => l.startsWith('{'))
      if (line) resolve(JSON.parse(line) as Record<string, string>)
    })
    child.on('exit', code => reject(new Error(`stand-ins exited with ${code}`)))
  })
  Object.assign(process.env, env)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'measure-site-'))
  try {
    // Small files only: the large file is a multipart upload with its own limit.
    writeSite(
      dir,
      generateSite(count + 1).filter(f => f.relPath !== 'media/intro.mp4')
    )
    const local = await scanBuildDirectory(dir)
    const { s3 } = createClients('eu-west-1')
    const plan = planSync(local, [], { prefix: '', deleteRemoved: false })
    const bytes = plan.uploadBytes
    console.log(
      `${plan.uploads.length} files, ${(bytes / 1024 / 1024).toFixed(2)} MiB, added latency ${latencyMs} ms`
    )
    let bucketNumber = 0
    for (let round = 0; round < rounds; round++) {
      for (const level of levels) {
        const bucket = `measure-${level}-${bucketNumber++}`
        await s3.send(
          new CreateBucketCommand({
            Bucket: bucket,
            CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' }
          })
        )
        const start = performance.now()
        const outcome = await uploadItems(s3, bucket, plan.uploads, { concurrency: level })
        const seconds = (performance.now() - start) / 1000
        if (outcome.failure) throw outcome.failure.error
        console.log(
          `round ${round + 1} concurrency ${String(level).padStart(2)}: ${seconds.toFixed(2)} s, ` +
            `${Math.round(plan.uploads.length / seconds)} files/s`
        )
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
    child.stdin.end()
  }
}

/** An HTTP proxy that waits `latencyMs` before forwarding each request to `target`. */
async function startLatencyProxy(
  target: string,
  latencyMs: number
): Promise<{ url: string; server: http.Server }> {
  const upstream = new URL(target)
  const agent = new http.Agent({ keepAlive: true })
  const server = http.createServer((req, res) => {
    setTimeout(() => {
      const forward = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent
        },
        answer => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        }
      )
      forward.on('error', () => res.destroy())
      req.pipe(forward)
    }, latencyMs)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, server }
}
