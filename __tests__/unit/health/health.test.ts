/**
 * Health checks against local HTTP servers answering what a fresh deployment answers.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { DeployError } from '../../../src/errors'
import { HealthCheckError, runHealthChecks, type HealthOptions } from '../../../src/health/health'
import type { HealthCheckTarget } from '../../../src/inputs'
import { collectingLog } from '../../helpers/frontend-site'
import { renderHealthSection } from '../../../src/report/health'

/** Per path: the statuses to answer in turn (the last one repeats), and how many requests came. */
const scripts: Record<string, number[]> = {
  '/warming-up': [503, 503, 200],
  '/broken': [500],
  '/ok': [204]
}
const hits: Record<string, number> = {}
let server: http.Server
let base: string

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? '/'
    const n = hits[url] ?? 0
    hits[url] = n + 1
    const statuses = scripts[url] ?? [404]
    res.statusCode = statuses[Math.min(n, statuses.length - 1)] ?? 404
    res.end('body')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise(resolve => server.close(resolve))
})

const fast: HealthOptions = { attempts: 4, delayMs: 20, maxDelayMs: 40 }

function urls(...list: string[]): { healthChecks: HealthCheckTarget[] } {
  return { healthChecks: list.map(url => ({ kind: 'url', url })) }
}

async function rejection(p: Promise<unknown>): Promise<DeployError> {
  try {
    await p
  } catch (error) {
    if (error instanceof DeployError) return error
    throw error
  }
  throw new Error('expected a DeployError')
}

describe('runHealthChecks', () => {
  it('passes a URL that answers 503 twice, then 200', async () => {
    const log = collectingLog()
    const results = await runHealthChecks(urls(`${base}/warming-up`), {}, { ...fast, log })
    expect(results).toEqual([
      expect.objectContaining({ url: `${base}/warming-up`, ok: true, status: 200, attempts: 3 })
    ])
    expect(hits['/warming-up']).toBe(3)
    expect(log.lines[0]).toBe(
      `health-check ${base}/warming-up answered 503 (attempt 1 of 4); retrying in 0.02 s`
    )
  })

  it('fails the step for a URL answering 500 throughout, naming it and the answer', async () => {
    const error = await rejection(
      runHealthChecks(urls(`${base}/ok`, `${base}/broken`), {}, { ...fast, log: collectingLog() })
    )
    expect(error).toBeInstanceOf(HealthCheckError)
    expect(error.message).toBe(`health-check ${base}/broken answered 500 (after 4 attempts)`)
    expect(hits['/broken']).toBe(4)
    const results = (error as HealthCheckError).results
    expect(results.map(r => [r.url, r.ok, r.status])).toEqual([
      [`${base}/ok`, true, 204],
      [`${base}/broken`, false, 500]
    ])
    const md = renderHealthSection(results)
    expect(md).not.toMatch(/^#/m) // the report adds the section heading
    expect(md).toContain(`| \`${base}/broken\` | ❌ 500 | 4 |`)
    expect(md).toContain(`| \`${base}/ok\` | ✅ 204 | 1 |`)
  })

  it('says when a URL cannot be reached at all', async () => {
    const closed = http.createServer()
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise(resolve => closed.close(resolve))
    const error = await rejection(
      runHealthChecks(
        urls(`http://127.0.0.1:${port}/`),
        {},
        {
          attempts: 2,
          delayMs: 10,
          log: collectingLog()
        }
      )
    )
    expect(error.message).toBe(
      `health-check http://127.0.0.1:${port}/ could not be reached (ECONNREFUSED) (after 2 attempts)`
    )
  })

  it('reads output:<name> from the Terraform outputs', async () => {
    const results = await runHealthChecks(
      { healthChecks: [{ kind: 'output', output: 'site_url' }] },
      { site_url: `${base}/ok` },
      { ...fast, log: collectingLog() }
    )
    expect(results[0]).toMatchObject({ target: 'output:site_url', url: `${base}/ok`, ok: true })
    expect(renderHealthSection(results)).toContain(`output:site_url → ${base}/ok`)
  })

  it('a missing or non-URL output is a clear error', async () => {
    const missing = await rejection(
      runHealthChecks({ healthChecks: [{ kind: 'output', output: 'site_url' }] }, { api_url: 'x' })
    )
    expect(missing.message).toBe(
      'health-check: output:site_url names the Terraform output "site_url", which does not exist (non-sensitive outputs: api_url)'
    )
    const notUrl = await rejection(
      runHealthChecks({ healthChecks: [{ kind: 'output', output: 'site_url' }] }, { site_url: 42 })
    )
    expect(notUrl.message).toBe(
      'health-check: the Terraform output "site_url" is 42, not an http(s) URL'
    )
  })

  it('no targets: nothing to do', async () => {
    expect(await runHealthChecks({ healthChecks: [] }, {})).toEqual([])
    expect(renderHealthSection([])).toBe('')
  })
})
