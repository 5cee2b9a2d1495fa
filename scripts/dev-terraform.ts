// Terraform for `npm test` and `npm run demo` on a machine that has none: the one on PATH when there
// is one; else the newest already in the developer cache; else the newest stable release, installed
// by the action's own installer (src/terraform/install.ts: signature on SHA256SUMS, then the
// zip's SHA256) into that cache.
//
//   TERRAFORM_VERSION       install this version instead of the newest
//   TERRAFORM_DOWNLOAD_URL  the release site or a mirror (default https://releases.hashicorp.com/terraform;
//                           https, or http to this machine only, as for the action's input)
//   TERRAFORM_SIGNING_KEY   armored public key that signs that mirror's SHA256SUMS, as the action's
//                           terraform-signing-key input (default HashiCorp's release key)
//   REVIVE_DEPLOY_CACHE     the cache directory (default $XDG_CACHE_HOME/revive-deploy, ~/.cache/revive-deploy)
//
// The directory holding the binary is put first on this process's PATH, so child processes (jest's
// workers, the action under test) find it.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { errorMessage } from '../src/errors'

export const DEFAULT_DOWNLOAD_URL = 'https://releases.hashicorp.com/terraform'

export interface DevTerraform {
  bin: string
  version?: string
  source: 'path' | 'cache' | 'download'
}

function cacheRoot(env: NodeJS.ProcessEnv): string {
  if (env.REVIVE_DEPLOY_CACHE) return env.REVIVE_DEPLOY_CACHE
  const xdg = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache')
  return path.join(xdg, 'revive-deploy')
}

/** Finds or installs Terraform and puts its directory first on PATH. */
export async function ensureTerraform(
  log: (line: string) => void = line => console.error(line)
): Promise<DevTerraform> {
  const install = await import('../src/terraform/install')
  const onPath = install.findOnPath('terraform')
  if (onPath) return { bin: onPath, source: 'path' }

  // The installer works in the runner's directories; outside a runner these are the cache's own.
  // Saved and restored, so the action under test still gets the directories its tests give it.
  const root = cacheRoot(process.env)
  const saved = {
    RUNNER_TOOL_CACHE: process.env.RUNNER_TOOL_CACHE,
    RUNNER_TEMP: process.env.RUNNER_TEMP
  }
  process.env.RUNNER_TOOL_CACHE = path.join(root, 'tool-cache')
  process.env.RUNNER_TEMP = fs.mkdtempSync(path.join(os.tmpdir(), 'revive-deploy-install-'))
  try {
    const tc = await import('@actions/tool-cache')
    const base = (process.env.TERRAFORM_DOWNLOAD_URL || DEFAULT_DOWNLOAD_URL).replace(/\/+$/, '')
    const asked = process.env.TERRAFORM_VERSION
    const cached = (await quietly(async () => tc.findAllVersions('terraform'))).sort((a, b) =>
      install.compareVersions(b, a)
    )[0]
    const failure = (what: string, fix: string, error: unknown): Error =>
      new Error(
        `terraform is not on PATH, and ${what}: ${errorMessage(error)}. Put terraform (1.5 or later) on PATH, or ${fix}`,
        { cause: error }
      )
    const version =
      asked ||
      cached ||
      (await quietly(() => install.resolveLatestVersion(base)).catch((error: unknown) => {
        throw failure(
          `the newest release could not be found at ${base}`,
          'set TERRAFORM_VERSION and TERRAFORM_DOWNLOAD_URL (a mirror of the release site)',
          error
        )
      }))
    if (!asked && !cached)
      log(`terraform is not on PATH: installing Terraform ${version} from ${base}`)
    const signingKey = process.env.TERRAFORM_SIGNING_KEY || undefined
    const found = await quietly(() =>
      install.installTerraform(version, base, { signingKey })
    ).catch((error: unknown) => {
      throw failure(
        `installing Terraform ${version} from ${base} failed`,
        'set TERRAFORM_DOWNLOAD_URL to a mirror of the release site',
        error
      )
    })
    process.env.PATH = [path.dirname(found.bin), process.env.PATH ?? ''].join(path.delimiter)
    log(
      `Terraform ${version} ${found.source === 'download' ? 'installed in' : 'from the cache'} ${path.dirname(found.bin)}`
    )
    return { bin: found.bin, version, source: found.source }
  } finally {
    fs.rmSync(process.env.RUNNER_TEMP, { recursive: true, force: true })
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  }
}

/**
 * The installer logs as an action does (`::add-path::` and info lines on stdout, the PATH change
 * through GITHUB_PATH when set); here nothing of that is wanted: the caller logs one line.
 */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const write = process.stdout.write.bind(process.stdout)
  const githubPath = process.env.GITHUB_PATH
  delete process.env.GITHUB_PATH
  process.stdout.write = (() => true) as typeof process.stdout.write
  try {
    return await fn()
  } finally {
    process.stdout.write = write
    if (githubPath !== undefined) process.env.GITHUB_PATH = githubPath
  }
}

// `tsx scripts/dev-terraform.ts`: prints the directory holding terraform (jest's global setup runs
// it this way, as @actions/core cannot be required from a CommonJS setup file).
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename ?? '')) {
  ensureTerraform()
    .then(found => process.stdout.write(`${path.dirname(found.bin)}\n`))
    .catch((error: unknown) => {
      console.error(errorMessage(error))
      process.exitCode = 1
    })
}
