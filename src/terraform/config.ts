/** Terraform's configuration (version, mirror, variables, locking, the destroy guard), read and checked. */
import * as fs from 'node:fs'
import { InputError } from '../errors'
import { insideWorkspace } from '../workspace-paths'
import {
  bool,
  keyValueLines,
  lines,
  optional,
  withDefault,
  type InputReader,
  type KeyValue
} from '../input-reader'
import { downloadUrlProblem } from './download-url'
import { readGuardConfig, type GuardConfig } from './protect'

export interface TerraformInputs {
  lockTimeout: string
  /** `plan-lock`: false runs plan-only modes with `-lock=false`. */
  planLock: boolean
  terraformVersion?: string
  /** Base URL of the Terraform release mirror (for installs): https, or http to a loopback host. */
  terraformDownloadUrl: string
  /**
   * Armored public key that signs the mirror's SHA256SUMS (terraform-signing-key); undefined:
   * HashiCorp's release key.
   */
  terraformSigningKey?: string
  variables: KeyValue[]
  /** Absolute paths of the var files. */
  varFiles: string[]
  requireReviewedPlan: boolean
  /** What a plan may not delete or replace without an allowance (protect, allow-destroy, label). */
  guard: GuardConfig
}

/** Where var-files are resolved: the workspace and the root module (absolute, and as given). */
export interface TerraformScope {
  workspace: string
  workingDirectory: string
  workingDirectoryInput: string
}

export function readTerraformConfig(input: InputReader, scope: TerraformScope): TerraformInputs {
  const lockTimeout = withDefault(input, 'lock-timeout')
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(lockTimeout)) {
    throw new InputError(
      'lock-timeout',
      lockTimeout,
      'use a Terraform duration such as 30s, 5m or 1h'
    )
  }

  const terraformVersion = optional(input('terraform-version'))
  if (
    terraformVersion !== undefined &&
    terraformVersion !== 'latest' &&
    !/^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/.test(terraformVersion)
  ) {
    throw new InputError(
      'terraform-version',
      terraformVersion,
      'use a release version such as 1.11.4, or latest, or leave it empty to use terraform on PATH'
    )
  }
  const terraformDownloadUrl = readDownloadUrl(input)
  const terraformSigningKey = readSigningKey(input)

  const variables = keyValueLines(
    input,
    'variables',
    /^[A-Za-z_][A-Za-z0-9_-]*$/,
    'a variable name'
  )
  const varFiles = lines(input('var-files')).map(file => {
    const absolute = insideWorkspace('var-files', file, scope.workspace, scope.workingDirectory)
    if (!fs.existsSync(absolute)) {
      throw new InputError(
        'var-files',
        file,
        `no such file relative to ${scope.workingDirectoryInput}`
      )
    }
    return absolute
  })

  return {
    lockTimeout,
    planLock: bool(input, 'plan-lock'),
    ...(terraformVersion !== undefined && { terraformVersion }),
    terraformDownloadUrl,
    ...(terraformSigningKey !== undefined && { terraformSigningKey }),
    variables,
    varFiles,
    requireReviewedPlan: bool(input, 'require-reviewed-plan'),
    guard: readGuardConfig(input)
  }
}

function readDownloadUrl(input: InputReader): string {
  const given = optional(input('terraform-download-url'))
  if (given === undefined) return withDefault(input, 'terraform-download-url')
  let url: URL
  try {
    url = new URL(given)
  } catch {
    throw new InputError(
      'terraform-download-url',
      given,
      'use an http(s) URL of a Terraform release mirror'
    )
  }
  const problem = downloadUrlProblem(url)
  if (problem !== undefined) throw new InputError('terraform-download-url', given, problem)
  return given.replace(/\/+$/, '')
}

/**
 * terraform-signing-key: an armored OpenPGP public key (checked fully when Terraform is installed);
 * undefined means HashiCorp's release key. The key is never quoted back in an error.
 */
function readSigningKey(input: InputReader): string | undefined {
  const given = optional(input('terraform-signing-key'))
  if (given === undefined) return undefined
  if (/-----BEGIN PGP PRIVATE KEY BLOCK-----/.test(given)) {
    throw new InputError(
      'terraform-signing-key',
      undefined,
      'this is a private key; give the public key only (gpg --armor --export <key id>), and revoke the private key if it was stored where others can read it'
    )
  }
  if (
    !/-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]+-----END PGP PUBLIC KEY BLOCK-----/.test(given)
  ) {
    throw new InputError(
      'terraform-signing-key',
      undefined,
      "give an armored OpenPGP public key (-----BEGIN PGP PUBLIC KEY BLOCK----- … , from gpg --armor --export <key id>), or leave it empty for HashiCorp's release key"
    )
  }
  return given
}
