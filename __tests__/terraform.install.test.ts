/**
 * Installing Terraform from a release mirror: a local HTTP server (127.0.0.1) serves the release layout
 * (`<version>/terraform_<version>_<os>_<arch>.zip`, `<version>/terraform_<version>_SHA256SUMS`,
 * `index.json`) with a zip of the machine's real terraform binary, built here by a small stored-zip
 * writer (no `zip` command needed; unzipping uses the `unzip` that @actions/tool-cache requires).
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals'
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import * as zlib from 'node:zlib'
import * as tc from '@actions/tool-cache'
import {
  checksumFor,
  findOnPath,
  latestStableVersion,
  locateTerraform,
  terraformPlatform
} from '../src/terraform/install'
import { DeployError } from '../src/errors'

const REAL_TERRAFORM = '/usr/local/bin/terraform'
const REAL_VERSION = '1.11.4'

/** A zip archive with one stored (uncompressed) file, marked executable for unzip. */
function storedZip(name: string, data: Buffer): Buffer {
  const nameBytes = Buffer.from(name, 'utf8')
  const crc = zlib.crc32(data)
  const dosTime = 0
  const dosDate = ((2025 - 1980) << 9) | (1 << 5) | 1
  const local = Buffer.alloc(30)
  local.writeUInt32LE(0x04034b50, 0)
  local.writeUInt16LE(10, 4) // version needed
  local.writeUInt16LE(0, 6) // flags
  local.writeUInt16LE(0, 8) // method: stored
  local.writeUInt16LE(dosTime, 10)
  local.writeUInt16LE(dosDate, 12)
  local.writeUInt32LE(crc, 14)
  local.writeUInt32LE(data.length, 18)
  local.writeUInt32LE(data.length, 22)
  local.writeUInt16LE(nameBytes.length, 26)
  local.writeUInt16LE(0, 28)
  const central = Buffer.alloc(46)
  central.writeUInt32LE(0x02014b50, 0)
  central.writeUInt16LE((3 << 8) | 20, 4) // made by: Unix, so the mode below counts
  central.writeUInt16LE(10, 6)
  central.writeUInt16LE(0, 8)
  central.writeUInt16LE(0, 10)
  central.writeUInt16LE(dosTime, 12)
  central.writeUInt16LE(dosDate, 14)
  central.writeUInt32LE(crc, 16)
  central.writeUInt32LE(data.length, 20)
  central.writeUInt32LE(data.length, 24)
  central.writeUInt16LE(nameBytes.length, 28)
  central.writeUInt32LE(((0o100755 << 16) >>> 0) as number, 38)
  central.writeUInt32LE(0, 42) // local header offset
  const centralOffset = local.length + nameBytes.length + data.length
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(1, 8)
  end.writeUInt16LE(1, 10)
  end.writeUInt32LE(central.length + nameBytes.length, 12)
  end.writeUInt32LE(centralOffset, 16)
  return Buffer.concat([local, nameBytes, data, central, nameBytes, end])
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex')

interface Mirror {
  url: string
  requests: string[]
  files: Map<string, Buffer>
  close(): Promise<void>
}

async function startMirror(): Promise<Mirror> {
  const files = new Map<string, Buffer>()
  const requests: string[] = []
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/'
    requests.push(url)
    const body = files.get(url)
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    res.writeHead(200, { 'content-length': body.length }).end(body)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/terraform`,
    requests,
    files,
    close: () => new Promise<void>(resolve => server.close(() => resolve()))
  }
}

const platform = terraformPlatform()
const zipName = (version: string): string =>
  `terraform_${version}_${platform.os}_${platform.arch}.zip`

/** Publish `zip` as `version` on the mirror with a SHA256SUMS file (its sum, or `sum` if given). */
function publish(mirror: Mirror, version: string, zip: Buffer, sum = sha256(zip)): void {
  mirror.files.set(`/terraform/${version}/${zipName(version)}`, zip)
  const other = `${'0'.repeat(64)}  terraform_${version}_plan9_mips.zip`
  mirror.files.set(
    `/terraform/${version}/terraform_${version}_SHA256SUMS`,
    Buffer.from(`${other}\n${sum}  ${zipName(version)}\n`)
  )
}

describe('installing Terraform from a mirror', () => {
  let mirror: Mirror
  let zip: Buffer
  let work: string
  let toolCache: string
  let runnerTemp: string
  const saved = {
    PATH: process.env.PATH,
    RUNNER_TOOL_CACHE: process.env.RUNNER_TOOL_CACHE,
    RUNNER_TEMP: process.env.RUNNER_TEMP,
    GITHUB_PATH: process.env.GITHUB_PATH
  }
  /** PATH without any terraform (unzip is still found in /usr/bin). */
  const noTerraformPath = '/usr/bin:/bin'
  const globals = globalThis as Record<string, unknown>

  beforeAll(async () => {
    expect(findOnPath('terraform', noTerraformPath)).toBeUndefined()
    const started = Date.now()
    zip = storedZip('terraform', fs.readFileSync(REAL_TERRAFORM))
    console.log(`zip of ${zip.length} bytes built in ${Date.now() - started} ms`)
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-install-'))
    toolCache = path.join(work, 'tool-cache')
    runnerTemp = path.join(work, 'runner-temp')
    fs.mkdirSync(toolCache)
    fs.mkdirSync(runnerTemp)
    process.env.RUNNER_TOOL_CACHE = toolCache
    process.env.RUNNER_TEMP = runnerTemp
    process.env.GITHUB_PATH = path.join(work, 'github-path')
    fs.writeFileSync(process.env.GITHUB_PATH, '')
    // @actions/tool-cache's own hook: retry a failed connection without its 10-20 s pauses.
    globals.TEST_DOWNLOAD_TOOL_RETRY_MIN_SECONDS = 0
    globals.TEST_DOWNLOAD_TOOL_RETRY_MAX_SECONDS = 0
    mirror = await startMirror()
    publish(mirror, REAL_VERSION, zip)
    publish(mirror, '1.10.0', zip, sha256(Buffer.from('something else')))
    publish(mirror, '1.10.1', zip) // a correct checksum, but the binary inside says 1.11.4
    mirror.files.set(
      '/terraform/index.json',
      Buffer.from(
        JSON.stringify({
          name: 'terraform',
          versions: {
            '1.9.8': { version: '1.9.8', builds: [{ os: platform.os, arch: platform.arch }] },
            [REAL_VERSION]: {
              version: REAL_VERSION,
              builds: [
                { os: 'darwin', arch: 'arm64' },
                { os: platform.os, arch: platform.arch }
              ]
            },
            '1.12.0-beta1': { builds: [{ os: platform.os, arch: platform.arch }] },
            '1.13.0': { builds: [{ os: 'darwin', arch: 'arm64' }] }
          }
        })
      )
    )
  })

  afterAll(async () => {
    await mirror.close()
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
    delete globals.TEST_DOWNLOAD_TOOL_RETRY_MIN_SECONDS
    delete globals.TEST_DOWNLOAD_TOOL_RETRY_MAX_SECONDS
    fs.rmSync(work, { recursive: true, force: true })
  })

  beforeEach(() => {
    process.env.PATH = noTerraformPath
    mirror.requests.length = 0
  })

  it('downloads, verifies and caches the requested version; the installed binary runs', async () => {
    const installed = await locateTerraform({
      terraformVersion: REAL_VERSION,
      terraformDownloadUrl: mirror.url
    })
    expect(installed.source).toBe('download')
    expect(installed.version).toBe(REAL_VERSION)
    expect(installed.bin).toBe(
      path.join(toolCache, 'terraform', REAL_VERSION, os.arch(), 'terraform')
    )
    expect(mirror.requests.sort()).toEqual(
      [
        `/terraform/${REAL_VERSION}/terraform_${REAL_VERSION}_SHA256SUMS`,
        `/terraform/${REAL_VERSION}/${zipName(REAL_VERSION)}`
      ].sort()
    )
    const out = execFileSync(installed.bin, ['version', '-json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore']
    })
    expect((JSON.parse(out) as { terraform_version: string }).terraform_version).toBe(REAL_VERSION)
    expect(fs.readFileSync(installed.bin).equals(fs.readFileSync(REAL_TERRAFORM))).toBe(true)
    // later steps of the job find it on PATH
    const toolDir = path.dirname(installed.bin)
    expect(process.env.PATH?.split(path.delimiter)[0]).toBe(toolDir)
    expect(fs.readFileSync(process.env.GITHUB_PATH ?? '', 'utf8')).toContain(toolDir)
    // nothing left behind in RUNNER_TEMP (zip, SHA256SUMS, extraction directory)
    expect(fs.readdirSync(runnerTemp)).toEqual([])
  })

  it('takes the version from the tool cache the second time, without downloading', async () => {
    const again = await locateTerraform({
      terraformVersion: REAL_VERSION,
      terraformDownloadUrl: mirror.url
    })
    expect(again.source).toBe('cache')
    expect(mirror.requests).toEqual([])
  })

  it('resolves latest from index.json: newest stable release built for this platform', async () => {
    expect(
      await locateTerraform({ terraformVersion: 'latest', terraformDownloadUrl: mirror.url })
    ).toMatchObject({ version: REAL_VERSION, source: 'cache' })
    expect(mirror.requests).toEqual(['/terraform/index.json'])
    // no terraform-version and none on PATH: the latest release as well
    mirror.requests.length = 0
    process.env.PATH = noTerraformPath // the call above put the cached version on PATH
    expect(await locateTerraform({ terraformDownloadUrl: mirror.url })).toMatchObject({
      version: REAL_VERSION,
      source: 'cache'
    })
    expect(mirror.requests).toEqual(['/terraform/index.json'])
  })

  it('uses terraform on PATH when no version is asked for, or when it is the asked version', async () => {
    process.env.PATH = `/usr/local/bin${path.delimiter}${noTerraformPath}`
    expect(await locateTerraform({ terraformDownloadUrl: mirror.url })).toEqual({
      bin: REAL_TERRAFORM,
      version: REAL_VERSION,
      source: 'path'
    })
    expect(
      await locateTerraform({ terraformVersion: REAL_VERSION, terraformDownloadUrl: mirror.url })
    ).toEqual({ bin: REAL_TERRAFORM, version: REAL_VERSION, source: 'path' })
    expect(mirror.requests).toEqual([])
  })

  it('refuses a zip whose SHA256 does not match SHA256SUMS and installs nothing', async () => {
    const attempt = locateTerraform({
      terraformVersion: '1.10.0',
      terraformDownloadUrl: mirror.url
    })
    await expect(attempt).rejects.toThrow(DeployError)
    await expect(attempt).rejects.toThrow(
      `Refusing Terraform 1.10.0: ${zipName('1.10.0')} has SHA256 ${sha256(zip)} but ${mirror.url}/1.10.0/terraform_1.10.0_SHA256SUMS says ${sha256(Buffer.from('something else'))}`
    )
    expect(tc.find('terraform', '1.10.0')).toBe('')
    expect(fs.existsSync(path.join(toolCache, 'terraform', '1.10.0'))).toBe(false)
    expect(fs.readdirSync(runnerTemp)).toEqual([])
  })

  it('refuses a binary that reports another version than the one asked for', async () => {
    await expect(
      locateTerraform({ terraformVersion: '1.10.1', terraformDownloadUrl: mirror.url })
    ).rejects.toThrow(
      `The Terraform downloaded as 1.10.1 from ${mirror.url}/1.10.1/${zipName('1.10.1')} reports version ${REAL_VERSION}`
    )
    expect(tc.find('terraform', '1.10.1')).toBe('')
    expect(fs.readdirSync(runnerTemp)).toEqual([])
  })

  it('says a version the mirror does not have was not found (HTTP 404)', async () => {
    await expect(
      locateTerraform({ terraformVersion: '1.2.3', terraformDownloadUrl: mirror.url })
    ).rejects.toThrow(
      `The SHA256SUMS of Terraform 1.2.3 was not found at ${mirror.url}/1.2.3/terraform_1.2.3_SHA256SUMS (HTTP 404); check terraform-version (1.2.3)`
    )
  })

  it('fails clearly when the download site cannot be reached', async () => {
    const closed = http.createServer()
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve))
    const { port } = closed.address() as AddressInfo
    await new Promise<void>(resolve => closed.close(() => resolve()))
    const base = `http://127.0.0.1:${port}/terraform`
    const attempt = locateTerraform({ terraformVersion: '1.11.5', terraformDownloadUrl: base })
    await expect(attempt).rejects.toThrow(DeployError)
    await expect(attempt).rejects.toThrow(
      new RegExp(
        `^Could not download the SHA256SUMS of Terraform 1\\.11\\.5 from ${base.replace(/\./g, '\\.')}/1\\.11\\.5/terraform_1\\.11\\.5_SHA256SUMS \\(.*ECONNREFUSED.*\\); the runner must reach 127\\.0\\.0\\.1:${port}: set terraform-download-url to a reachable mirror, or put terraform on PATH$`
      )
    )
    // latest needs the index: same clear error
    await expect(locateTerraform({ terraformDownloadUrl: base })).rejects.toThrow(
      /^Could not download the Terraform release index from .*\/index\.json/
    )
  })

  it('says what is missing when the runner has no tool cache directory', async () => {
    delete process.env.RUNNER_TOOL_CACHE
    try {
      await expect(
        locateTerraform({ terraformVersion: '1.11.4', terraformDownloadUrl: mirror.url })
      ).rejects.toThrow('Terraform has to be installed but RUNNER_TOOL_CACHE is not set')
    } finally {
      process.env.RUNNER_TOOL_CACHE = toolCache
    }
  })
})

describe('install helpers (pure)', () => {
  it('maps Node platforms to HashiCorp build names', () => {
    expect(terraformPlatform('linux', 'x64')).toEqual({ os: 'linux', arch: 'amd64' })
    expect(terraformPlatform('darwin', 'arm64')).toEqual({ os: 'darwin', arch: 'arm64' })
    expect(terraformPlatform('win32', 'ia32')).toEqual({ os: 'windows', arch: '386' })
  })

  it('reads a SHA256SUMS file', () => {
    const sums = `${'a'.repeat(64)}  terraform_1.0.0_linux_amd64.zip\n${'B'.repeat(64)} *terraform_1.0.0_darwin_arm64.zip\n`
    expect(checksumFor(sums, 'terraform_1.0.0_linux_amd64.zip')).toBe('a'.repeat(64))
    expect(checksumFor(sums, 'terraform_1.0.0_darwin_arm64.zip')).toBe('b'.repeat(64))
    expect(checksumFor(sums, 'terraform_1.0.0_linux_arm.zip')).toBeUndefined()
  })

  it('picks the newest stable version numerically, skipping pre-releases', () => {
    const index = {
      versions: { '1.9.8': {}, '1.10.0': {}, '1.2.10': {}, '1.11.0-rc1': {}, '0.15.5': {} }
    }
    expect(latestStableVersion(index)).toBe('1.10.0')
    expect(latestStableVersion({})).toBeUndefined()
    expect(latestStableVersion({ versions: { '2.0.0-alpha1': {} } })).toBeUndefined()
  })
})
