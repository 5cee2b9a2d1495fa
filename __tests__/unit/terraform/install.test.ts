/**
 * Installing Terraform from a release mirror: a local HTTP server (127.0.0.1) serves the release layout
 * (`<version>/terraform_<version>_<os>_<arch>.zip`, `<version>/terraform_<version>_SHA256SUMS`,
 * `index.json`) with a zip of the machine's real terraform binary, built here by a small stored-zip
 * writer (no `zip` command needed; unzipping uses the `unzip` that @actions/tool-cache requires).
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import * as tc from '@actions/tool-cache'
import {
  checksumFor,
  findOnPath,
  latestStableVersion,
  locateTerraform,
  terraformPlatform
} from '../../../src/terraform/install'
import {
  generateSigningKey,
  platform,
  publish,
  sha256,
  startMirror,
  storedZip,
  zipName,
  type Mirror
} from '../../helpers/mirror'
import { DeployError } from '../../../src/errors'
import { formatFingerprint } from '../../../src/terraform/signature'

const REAL_TERRAFORM = '/usr/local/bin/terraform'
const REAL_VERSION = '1.11.4'

/**
 * A new empty tool cache, RUNNER_TEMP and GITHUB_PATH under `work`, set in the environment, so a test
 * finds only what it installed itself (in any order: `jest --randomize`).
 */
function freshRunnerDirs(work: string): { toolCache: string; runnerTemp: string } {
  const dir = fs.mkdtempSync(path.join(work, 'runner-'))
  const toolCache = path.join(dir, 'tool-cache')
  const runnerTemp = path.join(dir, 'runner-temp')
  fs.mkdirSync(toolCache)
  fs.mkdirSync(runnerTemp)
  process.env.RUNNER_TOOL_CACHE = toolCache
  process.env.RUNNER_TEMP = runnerTemp
  process.env.GITHUB_PATH = path.join(dir, 'github-path')
  fs.writeFileSync(process.env.GITHUB_PATH, '')
  return { toolCache, runnerTemp }
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
  /** The mirror, and the key its sums are signed with (a private mirror's own key). */
  const fromMirror = (): { terraformDownloadUrl: string; terraformSigningKey: string } => ({
    terraformDownloadUrl: mirror.url,
    terraformSigningKey: mirror.key.publicKey
  })
  /** PATH without any terraform (unzip is still found in /usr/bin). */
  const noTerraformPath = '/usr/bin:/bin'
  const globals = globalThis as Record<string, unknown>

  beforeAll(async () => {
    expect(findOnPath('terraform', noTerraformPath)).toBeUndefined()
    const started = Date.now()
    zip = storedZip('terraform', fs.readFileSync(REAL_TERRAFORM))
    console.log(`zip of ${zip.length} bytes built in ${Date.now() - started} ms`)
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-install-'))
    // @actions/tool-cache's own hook: retry a failed connection without its 10-20 s pauses.
    globals.TEST_DOWNLOAD_TOOL_RETRY_MIN_SECONDS = 0
    globals.TEST_DOWNLOAD_TOOL_RETRY_MAX_SECONDS = 0
    mirror = await startMirror()
    await publish(mirror, REAL_VERSION, zip)
    await publish(mirror, '1.10.0', zip, { sum: sha256(Buffer.from('something else')) })
    await publish(mirror, '1.10.1', zip) // a correct checksum, but the binary inside says 1.11.4
    await publish(mirror, '1.10.2', zip, { signer: null }) // no signature files
    await publish(mirror, '1.10.3', zip, { signer: await generateSigningKey('Someone else') })
    await publish(mirror, '1.10.4', zip)
    // Another platform's sum changed after signing: this zip's sum is right, only the signature can tell.
    const sumsPath = '/terraform/1.10.4/terraform_1.10.4_SHA256SUMS'
    const signed = mirror.files.get(sumsPath)?.toString() ?? ''
    mirror.files.set(sumsPath, Buffer.from(signed.replace(/^0{64}/, 'f'.repeat(64))))
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

  // Each test has its own empty tool cache, RUNNER_TEMP and GITHUB_PATH: none relies on another's install.
  beforeEach(() => {
    const dirs = freshRunnerDirs(work)
    toolCache = dirs.toolCache
    runnerTemp = dirs.runnerTemp
    process.env.PATH = noTerraformPath
    mirror.requests.length = 0
  })

  it('downloads, verifies and caches the requested version; the installed binary runs', async () => {
    const installed = await locateTerraform({
      terraformVersion: REAL_VERSION,
      ...fromMirror()
    })
    expect(installed.source).toBe('download')
    expect(installed.version).toBe(REAL_VERSION)
    expect(installed.bin).toBe(
      path.join(toolCache, 'terraform', REAL_VERSION, os.arch(), 'terraform')
    )
    expect(mirror.requests.sort()).toEqual(
      [
        `/terraform/${REAL_VERSION}/terraform_${REAL_VERSION}_SHA256SUMS`,
        `/terraform/${REAL_VERSION}/terraform_${REAL_VERSION}_SHA256SUMS.sig`,
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
    await locateTerraform({ terraformVersion: REAL_VERSION, ...fromMirror() })
    mirror.requests.length = 0
    process.env.PATH = noTerraformPath // the install put the cached version on PATH
    const again = await locateTerraform({
      terraformVersion: REAL_VERSION,
      ...fromMirror()
    })
    expect(again.source).toBe('cache')
    expect(mirror.requests).toEqual([])
  })

  it('resolves latest from index.json: newest stable release built for this platform', async () => {
    await locateTerraform({ terraformVersion: REAL_VERSION, ...fromMirror() })
    mirror.requests.length = 0
    process.env.PATH = noTerraformPath
    expect(await locateTerraform({ terraformVersion: 'latest', ...fromMirror() })).toMatchObject({
      version: REAL_VERSION,
      source: 'cache'
    })
    expect(mirror.requests).toEqual(['/terraform/index.json'])
    // no terraform-version and none on PATH: the latest release as well
    mirror.requests.length = 0
    process.env.PATH = noTerraformPath // the call above put the cached version on PATH
    expect(await locateTerraform({ ...fromMirror() })).toMatchObject({
      version: REAL_VERSION,
      source: 'cache'
    })
    expect(mirror.requests).toEqual(['/terraform/index.json'])
  })

  it('uses terraform on PATH when no version is asked for, or when it is the asked version', async () => {
    process.env.PATH = `/usr/local/bin${path.delimiter}${noTerraformPath}`
    expect(await locateTerraform({ ...fromMirror() })).toEqual({
      bin: REAL_TERRAFORM,
      version: REAL_VERSION,
      source: 'path'
    })
    expect(await locateTerraform({ terraformVersion: REAL_VERSION, ...fromMirror() })).toEqual({
      bin: REAL_TERRAFORM,
      version: REAL_VERSION,
      source: 'path'
    })
    expect(mirror.requests).toEqual([])
  })

  it('refuses a zip whose SHA256 does not match SHA256SUMS and installs nothing', async () => {
    const attempt = locateTerraform({
      terraformVersion: '1.10.0',
      ...fromMirror()
    })
    await expect(attempt).rejects.toThrow(DeployError)
    await expect(attempt).rejects.toThrow(
      `Refusing Terraform 1.10.0: ${zipName('1.10.0')} has SHA256 ${sha256(zip)} but ${mirror.url}/1.10.0/terraform_1.10.0_SHA256SUMS says ${sha256(Buffer.from('something else'))}`
    )
    expect(tc.find('terraform', '1.10.0')).toBe('')
    expect(fs.existsSync(path.join(toolCache, 'terraform', '1.10.0'))).toBe(false)
    expect(fs.readdirSync(runnerTemp)).toEqual([])
  })

  /** Nothing of `version` in the tool cache or RUNNER_TEMP, and its zip never requested. */
  const expectNothingInstalled = (version: string): void => {
    expect(tc.find('terraform', version)).toBe('')
    expect(fs.existsSync(path.join(toolCache, 'terraform', version))).toBe(false)
    expect(fs.readdirSync(runnerTemp)).toEqual([])
    expect(mirror.requests.filter(r => r.endsWith('.zip'))).toEqual([])
  }

  it('refuses sums without a signature (no .sig on the mirror): one line, nothing installed', async () => {
    const error = await locateTerraform({ terraformVersion: '1.10.2', ...fromMirror() }).catch(
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(DeployError)
    expect((error as Error).message).toBe(
      `The signature of Terraform 1.10.2's SHA256SUMS was not found at ${mirror.url}/1.10.2/terraform_1.10.2_SHA256SUMS.sig (HTTP 404); without it the sums cannot be trusted, and nothing was installed: point terraform-download-url (${mirror.url}) at a mirror that serves terraform_1.10.2_SHA256SUMS.sig next to the sums, or put terraform on PATH`
    )
    expectNothingInstalled('1.10.2')
  })

  it('refuses sums signed by a key other than terraform-signing-key, naming both', async () => {
    const error = await locateTerraform({ terraformVersion: '1.10.3', ...fromMirror() }).catch(
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(DeployError)
    const message = (error as Error).message
    expect(message).not.toContain('\n')
    expect(message).toMatch(
      new RegExp(
        `^Refusing Terraform 1\\.10\\.3: \\S+/1\\.10\\.3/terraform_1\\.10\\.3_SHA256SUMS\\.sig is not a signature by the key in terraform-signing-key \\(${formatFingerprint(mirror.key.fingerprint)}\\): it is signed by key [0-9A-F]{16}, which is not the trusted key; nothing was installed; set terraform-signing-key to the public key that signs the SHA256SUMS at terraform-download-url`
      )
    )
    expectNothingInstalled('1.10.3')
  })

  it('refuses sums changed after signing, although the zip matches them', async () => {
    const error = await locateTerraform({ terraformVersion: '1.10.4', ...fromMirror() }).catch(
      (e: unknown) => e
    )
    expect((error as Error).message).toMatch(
      /^Refusing Terraform 1\.10\.4: \S+_SHA256SUMS is not what the key in terraform-signing-key \([0-9A-F ]+\) signed in \S+_SHA256SUMS\.sig \(the signature does not verify \([0-9A-F]{16}: .+\)\); the sums were altered or a file is corrupt, and nothing was installed; check the mirror at terraform-download-url/
    )
    expectNothingInstalled('1.10.4')
  })

  it("without terraform-signing-key trusts HashiCorp's key only: the mirror's own signature is refused", async () => {
    const error = await locateTerraform({
      terraformVersion: '1.10.1',
      terraformDownloadUrl: mirror.url
    }).catch((e: unknown) => e)
    const message = (error as Error).message
    expect(message).toContain(
      `Refusing Terraform 1.10.1: ${mirror.url}/1.10.1/terraform_1.10.1_SHA256SUMS.72D7468F.sig is not a signature by HashiCorp's release key 72D7468F (C874 011F 0AB4 0511 0D02 1055 3436 5D94 72D7 468F): it is signed by key `
    )
    expect(message).toContain(
      'a private mirror that signs its own builds needs its public key in terraform-signing-key'
    )
    expect(mirror.requests).toEqual([
      '/terraform/1.10.1/terraform_1.10.1_SHA256SUMS',
      '/terraform/1.10.1/terraform_1.10.1_SHA256SUMS.72D7468F.sig'
    ])
    expectNothingInstalled('1.10.1')
  })

  it('refuses a plain-http mirror that is not on this machine before downloading anything', async () => {
    for (const base of ['http://mirror.example.com/terraform', 'http://10.0.0.8:8080/terraform']) {
      await expect(
        locateTerraform({ terraformVersion: '1.10.5', terraformDownloadUrl: base })
      ).rejects.toThrow(`Refusing to download Terraform from ${base}: plain http is refused`)
    }
    expect(mirror.requests).toEqual([])
  })

  it('refuses a binary that reports another version than the one asked for', async () => {
    await expect(locateTerraform({ terraformVersion: '1.10.1', ...fromMirror() })).rejects.toThrow(
      `The Terraform downloaded as 1.10.1 from ${mirror.url}/1.10.1/${zipName('1.10.1')} reports version ${REAL_VERSION}`
    )
    expect(tc.find('terraform', '1.10.1')).toBe('')
    expect(fs.readdirSync(runnerTemp)).toEqual([])
  })

  it('says a version the mirror does not have was not found (HTTP 404)', async () => {
    await expect(locateTerraform({ terraformVersion: '1.2.3', ...fromMirror() })).rejects.toThrow(
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
        locateTerraform({ terraformVersion: '1.11.4', ...fromMirror() })
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

describe('the Terraform version from the configuration', () => {
  let mirror: Mirror
  let work: string
  const saved = {
    PATH: process.env.PATH,
    RUNNER_TOOL_CACHE: process.env.RUNNER_TOOL_CACHE,
    RUNNER_TEMP: process.env.RUNNER_TEMP,
    GITHUB_PATH: process.env.GITHUB_PATH
  }
  const withRealTerraform = `${path.dirname(REAL_TERRAFORM)}:/usr/bin:/bin`
  const fromMirror = (): { terraformDownloadUrl: string; terraformSigningKey: string } => ({
    terraformDownloadUrl: mirror.url,
    terraformSigningKey: mirror.key.publicKey
  })
  const req = (text: string): { text: string; source: string } => ({
    text,
    source: 'terraform/versions.tf line 2'
  })

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-version-'))
    mirror = await startMirror()
    // A stand-in for the 1.9.8 release: it reports 1.9.8 and runs the real binary for the rest.
    const fake = `#!/bin/sh\nif [ "$1" = version ]; then echo '{"terraform_version":"1.9.8"}'; exit 0; fi\nexec ${REAL_TERRAFORM} "$@"\n`
    await publish(mirror, '1.9.8', storedZip('terraform', Buffer.from(fake)))
    mirror.files.set(
      '/terraform/index.json',
      Buffer.from(
        JSON.stringify({
          versions: {
            '1.9.8': { builds: [{ os: platform.os, arch: platform.arch }] },
            [REAL_VERSION]: { builds: [{ os: platform.os, arch: platform.arch }] }
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
    fs.rmSync(work, { recursive: true, force: true })
  })
  beforeEach(() => {
    freshRunnerDirs(work)
    process.env.PATH = withRealTerraform
    mirror.requests.length = 0
  })

  it('required_version "~> 1.11.0" with 1.11.4 on PATH uses PATH\'s, downloading nothing', async () => {
    const found = await locateTerraform({ ...fromMirror() }, { constraints: [req('~> 1.11.0')] })
    expect([found.source, found.version]).toEqual(['path', REAL_VERSION])
    expect(mirror.requests).toEqual([])
  })

  it('required_version "= 1.9.8" installs 1.9.8 from the mirror, checksum verified', async () => {
    const found = await locateTerraform({ ...fromMirror() }, { constraints: [req('= 1.9.8')] })
    expect([found.source, found.version]).toEqual(['download', '1.9.8'])
    expect(mirror.requests).toEqual([
      '/terraform/index.json',
      '/terraform/1.9.8/terraform_1.9.8_SHA256SUMS',
      '/terraform/1.9.8/terraform_1.9.8_SHA256SUMS.sig',
      `/terraform/1.9.8/${zipName('1.9.8')}`
    ])
    expect(execFileSync(found.bin, ['version', '-json'], { encoding: 'utf8' })).toContain('1.9.8')
  })

  it('"< 1.10" picks the newest release that satisfies it; a .terraform-version pin is used as given', async () => {
    const found = await locateTerraform(
      { ...fromMirror() },
      { constraints: [req('>= 1.5, < 1.10')] }
    )
    expect(found.version).toBe('1.9.8')
    mirror.requests.length = 0
    const pinned = await locateTerraform(
      { ...fromMirror() },
      { constraints: [], pin: { version: '1.9.8', source: '.terraform-version' } }
    )
    expect(pinned.version).toBe('1.9.8')
    expect(pinned.source).not.toBe('download') // installed by the test before
    expect(mirror.requests.filter(r => r.endsWith('.zip'))).toEqual([])
  })

  it('an unsatisfiable constraint fails with one line naming it and where it is', async () => {
    const error = await locateTerraform(
      { ...fromMirror() },
      { constraints: [req('>= 9.0')] }
    ).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DeployError)
    const message = (error as Error).message
    expect(message).not.toContain('\n')
    expect(message).toContain('required_version ">= 9.0" (terraform/versions.tf line 2)')
    expect(message).toContain('PATH has 1.11.4')
    // A pin that contradicts required_version is refused before anything is downloaded.
    const pinned = await locateTerraform(
      { ...fromMirror() },
      { constraints: [req('~> 1.11.0')], pin: { version: '1.9.8', source: '.tool-versions' } }
    ).catch((e: unknown) => (e as Error).message)
    expect(pinned).toBe(
      'Terraform 1.9.8 (from .tool-versions) does not satisfy required_version "~> 1.11.0" (terraform/versions.tf line 2); change one of them'
    )
  })
})
