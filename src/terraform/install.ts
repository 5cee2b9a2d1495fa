/**
 * Finding Terraform: the one on PATH when it will do, else the tool cache, else a download from the
 * release site (or a mirror): the SHA256SUMS file is trusted only when its OpenPGP signature by
 * HashiCorp's release key (or the key given in terraform-signing-key) verifies, and the zip only
 * when its sum is the one listed there; nothing is unpacked before both checks pass.
 *
 * Release layout (releases.hashicorp.com and its mirrors):
 *   <base>/<version>/terraform_<version>_<os>_<arch>.zip
 *   <base>/<version>/terraform_<version>_SHA256SUMS
 *   <base>/<version>/terraform_<version>_SHA256SUMS.72D7468F.sig   detached signature, HashiCorp's key
 *   <base>/<version>/terraform_<version>_SHA256SUMS.sig            the same for the current key (fetched
 *                                                                 when terraform-signing-key is set)
 *   <base>/index.json      every release: { "versions": { "1.11.4": { "builds": [{ "os", "arch", … }] } } }
 *
 * `latest` is resolved from `<base>/index.json` rather than HashiCorp's checkpoint API because the
 * index is part of the release tree itself, so it also works against a mirror (terraform-download-url).
 */
import * as core from '@actions/core'
import { getExecOutput } from '@actions/exec'
import * as tc from '@actions/tool-cache'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { childEnv } from '../child-env'
import { DeployError, errorMessage } from '../errors'
import type { Config } from '../inputs'
import {
  checksumFor,
  download,
  requireAcceptedUrl,
  requireRunnerDirs,
  sha256,
  signedSums
} from './install-fetch'
import { resolveLatestVersion, terraformPlatform } from './install-release'
import { describeConstraints, satisfies, type VersionRequirement } from './version-requirement'

export { checksumFor } from './install-fetch'
export {
  compareVersions,
  latestStableVersion,
  resolveLatestVersion,
  terraformPlatform
} from './install-release'

export interface TerraformInstallation {
  /** Absolute path of the terraform binary. */
  bin: string
  version: string
  /** path: found on PATH; cache: already in the runner's tool cache; download: installed now. */
  source: 'path' | 'cache' | 'download'
}

/** The version a terraform binary reports (`terraform version -json`), or undefined if it won't run. */
export async function terraformVersionOf(bin: string): Promise<string | undefined> {
  try {
    const { exitCode, stdout } = await getExecOutput(bin, ['version', '-json'], {
      silent: true,
      ignoreReturnCode: true,
      env: childEnv({ TF_IN_AUTOMATION: '1' })
    })
    if (exitCode !== 0) return undefined
    const version = (JSON.parse(stdout) as { terraform_version?: unknown }).terraform_version
    return typeof version === 'string' ? version : undefined
  } catch {
    return undefined
  }
}

/** The first executable `name` on PATH (with .exe on Windows), or undefined. */
export function findOnPath(
  name: string,
  searchPath: string = process.env.PATH ?? ''
): string | undefined {
  const file = process.platform === 'win32' && !name.endsWith('.exe') ? `${name}.exe` : name
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue
    const candidate = path.join(dir, file)
    try {
      if (!fs.statSync(candidate).isFile()) continue
      fs.accessSync(candidate, fs.constants.X_OK)
      return path.resolve(candidate)
    } catch {
      continue
    }
  }
  return undefined
}

export interface InstallOptions {
  /**
   * Armored public key that signs the mirror's SHA256SUMS (terraform-signing-key), replacing
   * HashiCorp's release key; undefined: HashiCorp's key.
   */
  signingKey?: string | undefined
}

/**
 * Install one Terraform version into the tool cache (or take it from there): download SHA256SUMS and
 * its signature, refuse sums the trusted key did not sign, download the zip, refuse a checksum
 * mismatch, unpack, check the binary runs and reports that version.
 */
export async function installTerraform(
  version: string,
  baseUrl: string,
  options: InstallOptions = {}
): Promise<TerraformInstallation> {
  requireRunnerDirs()
  requireAcceptedUrl(baseUrl)
  const exe = process.platform === 'win32' ? 'terraform.exe' : 'terraform'
  const cached = tc.find('terraform', version)
  if (cached && fs.existsSync(path.join(cached, exe))) {
    core.addPath(cached)
    return { bin: path.join(cached, exe), version, source: 'cache' }
  }
  const platform = terraformPlatform()
  const zipName = `terraform_${version}_${platform.os}_${platform.arch}.zip`
  const zipUrl = `${baseUrl}/${version}/${zipName}`
  const sumsUrl = `${baseUrl}/${version}/terraform_${version}_SHA256SUMS`
  const hint = `check terraform-version (${version}) and terraform-download-url (${baseUrl})`
  core.info(`Installing Terraform ${version} from ${zipUrl}`)

  const sums = await signedSums(version, baseUrl, options.signingKey, hint)
  const expected = checksumFor(sums, zipName)
  if (!expected) {
    throw new DeployError(
      `${sumsUrl} has no checksum for ${zipName}: Terraform ${version} may not be built for ${platform.os}_${platform.arch}; ${hint}`
    )
  }
  const zip = await download(
    zipUrl,
    `Terraform ${version} for ${platform.os}_${platform.arch}`,
    hint
  )
  let dir: string | undefined
  try {
    const actual = await sha256(zip)
    if (actual !== expected) {
      throw new DeployError(
        `Refusing Terraform ${version}: ${zipName} has SHA256 ${actual} but ${sumsUrl} says ${expected}; the download is corrupt or the mirror is wrong, and nothing was installed`
      )
    }
    dir = await tc.extractZip(zip)
    const bin = path.join(dir, exe)
    if (!fs.existsSync(bin)) {
      throw new DeployError(`${zipUrl} does not contain ${exe}; ${hint}`)
    }
    await fs.promises.chmod(bin, 0o755)
    const reported = await terraformVersionOf(bin)
    if (reported === undefined) {
      throw new DeployError(
        `The Terraform ${version} downloaded from ${zipUrl} does not run on this runner (${platform.os}_${platform.arch})`
      )
    }
    if (reported !== version) {
      throw new DeployError(
        `The Terraform downloaded as ${version} from ${zipUrl} reports version ${reported}; ${hint}`
      )
    }
    const toolDir = await tc.cacheDir(dir, 'terraform', version)
    core.addPath(toolDir)
    core.info(
      `Terraform ${version} installed in ${toolDir} (SHA256SUMS signature and SHA256 ${actual} verified)`
    )
    return { bin: path.join(toolDir, exe), version, source: 'download' }
  } finally {
    await fs.promises.rm(zip, { force: true })
    if (dir) await fs.promises.rm(dir, { recursive: true, force: true })
  }
}

/**
 * hashicorp/setup-terraform (with its default terraform_wrapper: true) renames the binary to
 * `terraform-bin` in the directory it exports as TERRAFORM_CLI_PATH and puts a Node script named
 * `terraform` on PATH, which exits 0 for Terraform's exit code 2 (losing -detailed-exitcode) and
 * copies Terraform's stdout and stderr into the calling step's outputs. The real binary is the one to
 * run. Version managers' shims (tfenv, tfswitch, asdf, mise) exec the chosen binary and are kept.
 */
export function realTerraformBinary(
  onPath: string | undefined,
  env: NodeJS.ProcessEnv = process.env
): string | undefined {
  const exe = process.platform === 'win32' ? 'terraform-bin.exe' : 'terraform-bin'
  const dirs = [env.TERRAFORM_CLI_PATH, onPath && path.dirname(onPath)].filter(
    (d): d is string => typeof d === 'string' && d !== ''
  )
  for (const dir of dirs) {
    const candidate = path.join(dir, exe)
    try {
      fs.accessSync(candidate, fs.constants.X_OK)
      if (fs.statSync(candidate).isFile()) return path.resolve(candidate)
    } catch {
      continue
    }
  }
  return undefined
}

function unwrapped(onPath: string | undefined): string | undefined {
  const real = realTerraformBinary(onPath)
  if (!real) return onPath
  core.info(
    `terraform on PATH${onPath ? ` (${onPath})` : ''} is hashicorp/setup-terraform's wrapper; running the real binary ${real}`
  )
  return real
}

/**
 * The Terraform binary to use. No terraform-version: terraform on PATH, else the latest release is
 * installed. A version (or `latest`): PATH's terraform when it is that version, else it is installed.
 */
export async function locateTerraform(
  config: Pick<Config, 'terraformDownloadUrl'> & {
    terraformVersion?: string | undefined
    terraformSigningKey?: string | undefined
  },
  requirement: VersionRequirement = { constraints: [] }
): Promise<TerraformInstallation> {
  const onPath = unwrapped(findOnPath('terraform'))
  const pathVersion = onPath ? await terraformVersionOf(onPath) : undefined
  const { constraints } = requirement
  const required =
    constraints.length > 0 ? `required_version ${describeConstraints(constraints)}` : ''
  const fits = (version: string): boolean => satisfies(version, constraints)

  // An explicit version: the input, else a version manager's file.
  const pinned =
    config.terraformVersion !== undefined
      ? { version: config.terraformVersion, source: 'the terraform-version input' }
      : requirement.pin
  if (pinned && pinned.version !== 'latest' && constraints.length > 0 && !fits(pinned.version)) {
    throw new DeployError(
      `Terraform ${pinned.version} (from ${pinned.source}) does not satisfy ${required}; change one of them`
    )
  }
  if (!pinned && onPath && pathVersion && (constraints.length === 0 || fits(pathVersion))) {
    core.info(
      `Using Terraform ${pathVersion} from PATH (${onPath})${required ? `: it satisfies ${required}` : ''}`
    )
    return { bin: onPath, version: pathVersion, source: 'path' }
  }
  let version: string
  if (pinned && pinned.version !== 'latest') {
    version = pinned.version
  } else {
    try {
      version = await resolveLatestVersion(
        config.terraformDownloadUrl,
        fits,
        required ? `release that satisfies ${required}` : 'stable release'
      )
    } catch (error) {
      if (!required) throw error
      throw new DeployError(
        `No Terraform that satisfies ${required} is at hand: ${onPath ? `PATH has ${pathVersion ?? 'an unreadable version'}` : 'none is on PATH'}, and ${errorMessage(error)}`,
        { cause: error }
      )
    }
  }
  const why = pinned
    ? `pinned by ${pinned.source}`
    : required
      ? `the newest that satisfies ${required}`
      : 'the latest release'
  if (onPath && pathVersion === version) {
    core.info(`Using Terraform ${pathVersion} from PATH (${onPath}): ${why}`)
    return { bin: onPath, version, source: 'path' }
  }
  core.info(`Terraform ${version}: ${why}`)
  return installTerraform(version, config.terraformDownloadUrl, {
    signingKey: config.terraformSigningKey
  })
}
