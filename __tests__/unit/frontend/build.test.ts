/**
 * The build half of the frontend phase: build-env from Terraform outputs, build failures, the
 * build directory's checks, config-file. Runs real shell builds and syncs to the S3 stand-in.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { createClients } from '../../../src/aws/clients'
import { DeployError } from '../../../src/errors'
import { buildShell, mapBuildEnv } from '../../../src/frontend/build'
import { deployFrontend } from '../../../src/frontend/deploy'
import { startStandIns, type StandIns } from '../../../standins/index'
import {
  collectingLog,
  frontendConfig,
  makeWorkspace,
  type CollectingLog,
  type Workspace
} from '../../helpers/frontend-site'
import { renderFrontendSection } from '../../../src/report/frontend'
import { type FrontendResult } from '../../../src/frontend/result'

let standins: StandIns
let clients: ReturnType<typeof createClients>
let ws: Workspace
let bucketNumber = 0
let bucket: string

const outputs = {
  api_url: 'https://api.example.test/prod',
  user_pool: { id: 'eu-west-1_abc', clients: 2 },
  replicas: 3
}

beforeAll(async () => {
  standins = await startStandIns()
  Object.assign(process.env, standins.env)
  clients = createClients('eu-west-1')
})

afterAll(async () => {
  await standins.stop()
})

beforeEach(async () => {
  ws?.remove()
  ws = makeWorkspace()
  fs.writeFileSync(path.join(ws.source, 'index.html'), '<!doctype html><title>shop</title>')
  fs.writeFileSync(path.join(ws.source, 'app.js'), 'console.log(1)')
  bucket = `build-site-${++bucketNumber}`
  await clients.s3.send(
    new CreateBucketCommand({
      Bucket: bucket,
      CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' }
    })
  )
  standins.s3.clearRequests()
})

afterAll(() => ws?.remove())

async function deploy(
  inputs: Record<string, string>,
  out: Record<string, unknown> = { ...outputs, frontend_bucket: bucket }
): Promise<{ result: FrontendResult; log: CollectingLog }> {
  const log = collectingLog()
  const result = await deployFrontend(frontendConfig(ws, inputs), out, clients, { log })
  return { result, log }
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

async function text(key: string): Promise<string> {
  const object = await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
  return (object.Body as { transformToString(): Promise<string> }).transformToString()
}

/** S3 requests that change something. */
function writes(): string[] {
  return standins.s3.requests
    .map(r => r.operation)
    .filter(op => !['ListObjectsV2', 'HeadObject', 'GetObject'].includes(op))
}

describe('build', () => {
  it('is skipped with a reason when there is no frontend directory', async () => {
    fs.rmSync(ws.frontend, { recursive: true })
    const log = collectingLog()
    const config = frontendConfig(ws, { 'frontend-directory': '' })
    const result = await deployFrontend(config, {}, clients, { log })
    expect(result.skipped).toBe('no frontend directory; frontend phase skipped')
    expect(log.notices[0]).toContain('frontend phase skipped')
    expect(standins.s3.requests).toHaveLength(0)
    expect(renderFrontendSection(result)).toContain('Skipped: no frontend directory')
  })

  it('runs the build command with a shell, build-env mapped from outputs, in its own log group', async () => {
    const { result, log } = await deploy({
      'build-command':
        'rm -rf dist && cp -R site dist && printf "%s|%s|%s" "$VITE_API_URL" "$POOL" "$REPLICAS" > dist/env.txt && echo built-ok',
      'build-env': 'VITE_API_URL=api_url\nPOOL=user_pool\nREPLICAS=replicas'
    })
    expect(await text('env.txt')).toBe(
      'https://api.example.test/prod|{"id":"eu-west-1_abc","clients":2}|3'
    )
    expect(result.uploaded).toBe(3)
    expect(result.buildSeconds).toBeGreaterThanOrEqual(0)
    expect(log.groups).toEqual(['Build frontend (frontend)'])
    expect(log.lines).toContain('built-ok')
    expect(log.lines).toContain('(with VITE_API_URL, POOL, REPLICAS from Terraform outputs)')
  })

  it('a build-env line naming a missing output fails before the build, naming input, line, key and the outputs there are, not the value', async () => {
    const marker = path.join(ws.root, 'built')
    const error = await rejection(
      deploy({
        'build-command': `touch ${marker}`,
        'build-env': '# outputs\nVITE_API_URL=api_url\nVITE_KEY=ghp_pastedTokenValue123'
      })
    )
    expect(error.message).toBe(
      'build-env line 3 (key "VITE_KEY"): the Terraform output this line names does not exist ' +
        '(non-sensitive outputs: api_url, frontend_bucket, replicas, user_pool); add the output to the Terraform module or fix the line'
    )
    expect(fs.existsSync(marker)).toBe(false)
  })

  it('a failing build uploads nothing', async () => {
    const error = await rejection(
      deploy({
        'build-command':
          'mkdir -p dist && cp site/* dist/ && echo "src/App.tsx(3,1): error TS2304" >&2 && exit 3'
      })
    )
    expect(error.message).toBe(
      'build-command failed with exit code 3 in frontend (last output: "src/App.tsx(3,1): error TS2304"); nothing was uploaded. See the build group in the log.'
    )
    expect(standins.s3.requests).toHaveLength(0)
  })

  it('without a site bucket it fails before building, saying how to set one', async () => {
    const marker = path.join(ws.root, 'built')
    const error = await rejection(deploy({ 'build-command': `touch ${marker}` }, outputs))
    expect(error.message).toBe(
      'No site bucket: set the site-bucket input, or add a frontend_bucket output to the Terraform module'
    )
    expect(fs.existsSync(marker)).toBe(false)
  })

  it('site-bucket and distribution-id inputs win over the outputs', async () => {
    standins.cloud.addDistribution('EINPUT12345')
    const { result } = await deploy(
      { 'site-bucket': bucket, 'distribution-id': 'EINPUT12345' },
      { frontend_bucket: 'someone-else', cloudfront_distribution_id: 'EOUTPUT1234' }
    )
    expect(result.bucket).toBe(bucket)
    expect(result.distributionId).toBe('EINPUT12345')
  })
})

describe('build directory', () => {
  it('uses dist, else build; a missing one is a clear error', async () => {
    const { result } = await deploy({ 'build-command': 'rm -rf build && cp -R site build' })
    expect(result.uploaded).toBe(2)

    const none = await rejection(deploy({ 'build-command': 'rm -rf build' }))
    expect(none.message).toBe(
      `Neither dist nor build exists in ${ws.frontend} after the build; set build-directory to where build-command writes its output`
    )
    const named = await rejection(deploy({ 'build-command': 'true', 'build-directory': 'out' }))
    expect(named.message).toMatch(/^build-directory "out" does not exist after the build/)
  })

  it('refuses a symlink to a file outside the build directory, uploading nothing', async () => {
    const outside = path.join(ws.root, 'secrets.env')
    fs.writeFileSync(outside, 'TOKEN=abc')
    const error = await rejection(
      deploy({
        'build-command': `rm -rf dist && cp -R site dist && ln -s ${outside} dist/leak.txt`
      })
    )
    expect(error.message).toMatch(
      /^Symlink .*dist\/leak\.txt -> .*secrets\.env points outside the build directory .*refusing to upload it/
    )
    expect(writes()).toEqual([])
  })

  it('follows a symlink inside the build directory', async () => {
    const { result } = await deploy({
      'build-command': 'rm -rf dist && cp -R site dist && ln -s app.js dist/alias.js'
    })
    expect(result.uploadedKeys.sort()).toEqual(['alias.js', 'app.js', 'index.html'])
  })

  it('refuses a build directory that is a symlink leaving the workspace', async () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'elsewhere-'))
    try {
      fs.writeFileSync(path.join(elsewhere, 'index.html'), 'x')
      const error = await rejection(
        deploy({ 'build-command': `rm -rf dist && ln -s ${elsewhere} dist` })
      )
      expect(error.message).toMatch(
        /^build-directory: .*dist resolves to .*, outside the workspace/
      )
      expect(writes()).toEqual([])
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true })
    }
  })

  it('an empty build output is refused rather than emptying the site', async () => {
    const error = await rejection(deploy({ 'build-command': 'rm -rf dist && mkdir dist' }))
    expect(error.message).toMatch(/^The build output has no files; refusing to sync it/)
    expect(writes()).toEqual([])
  })
})

describe('config-file', () => {
  it('puts the mapped outputs into the uploaded site, served no-cache as JSON', async () => {
    const { result, log } = await deploy({
      'build-env': 'VITE_API_URL=api_url\nUSER_POOL=user_pool',
      'config-file': 'config.json'
    })
    expect(result.uploadedKeys).toContain('config.json')
    expect(JSON.parse(await text('config.json'))).toEqual({
      VITE_API_URL: 'https://api.example.test/prod',
      USER_POOL: { id: 'eu-west-1_abc', clients: 2 }
    })
    const head = await clients.s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: 'config.json' })
    )
    expect(head.ContentType).toBe('application/json; charset=utf-8')
    expect(head.CacheControl).toBe('no-cache')
    expect(log.lines).toContain('Wrote config.json into the build output (VITE_API_URL, USER_POOL)')
  })

  it('a config file with another name and directory is no-cache too', async () => {
    await deploy({ 'build-env': 'API=api_url', 'config-file': 'runtime/settings.json' })
    const head = await clients.s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: 'runtime/settings.json' })
    )
    expect(head.CacheControl).toBe('no-cache')
    expect(JSON.parse(await text('runtime/settings.json'))).toEqual({
      API: 'https://api.example.test/prod'
    })
  })

  it("the user's cache-control rules come before the config file's", async () => {
    await deploy({
      'build-env': 'API=api_url',
      'config-file': 'runtime/settings.json',
      'cache-control': 'runtime/*.json=public, max-age=60'
    })
    const ruled = await clients.s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: 'runtime/settings.json' })
    )
    expect(ruled.CacheControl).toBe('public, max-age=60')
  })

  it('replaces a symlink the build left in its place instead of writing through it', async () => {
    const outside = path.join(ws.root, 'outside.json')
    fs.writeFileSync(outside, '{"keep":true}')
    await deploy({
      'build-command': `rm -rf dist && cp -R site dist && ln -s ${outside} dist/config.json`,
      'build-env': 'API=api_url',
      'config-file': 'config.json'
    })
    expect(fs.readFileSync(outside, 'utf8')).toBe('{"keep":true}')
    expect(JSON.parse(await text('config.json'))).toEqual({ API: 'https://api.example.test/prod' })
  })
})

describe('mapBuildEnv and buildShell', () => {
  it('passes strings as they are and other values as JSON', () => {
    expect(
      mapBuildEnv(
        [
          { env: 'A', output: 'a' },
          { env: 'B', output: 'b' },
          { env: 'C', output: 'c' },
          { env: 'D', output: 'd' }
        ],
        { a: 'x y', b: 42, c: ['p', 'q'], d: null }
      ).env
    ).toEqual({ A: 'x y', B: '42', C: '["p","q"]', D: '' })
  })

  it('prefers bash and falls back to sh', () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'bin-'))
    try {
      expect(buildShell({ PATH: bin })).toBe('sh')
      fs.writeFileSync(path.join(bin, 'bash'), '')
      expect(buildShell({ PATH: bin })).toBe('bash')
    } finally {
      fs.rmSync(bin, { recursive: true, force: true })
    }
  })
})
