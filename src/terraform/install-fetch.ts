/**
 * Fetching a Terraform release: downloads into the runner's temp directory, the SHA256SUMS file
 * trusted only once its detached signature by the trusted key verifies, and the sums of files.
 */
import * as core from '@actions/core'
import * as tc from '@actions/tool-cache'
import { createHash } from 'node:crypto'
import type { PublicKey } from 'openpgp'
import * as fs from 'node:fs'
import { DeployError, errorMessage, InputError } from '../errors'
import { downloadUrlProblem } from './download-url'
import {
  formatFingerprint,
  HASHICORP_KEY_FINGERPRINT,
  HASHICORP_KEY_ID,
  HASHICORP_RELEASE_KEY,
  readTrustedKeys,
  SignatureError,
  verifyDetached
} from './signature'

/** The sum for `filename` in a SHA256SUMS file (`<hex>  <filename>` lines). Pure. */
export function checksumFor(sums: string, filename: string): string | undefined {
  for (const line of sums.split(/\r?\n/)) {
    const m = /^([0-9a-fA-F]{64})\s+\*?(\S+)\s*$/.exec(line.trim())
    if (m && m[2] === filename) return (m[1] ?? '').toLowerCase()
  }
  return undefined
}

export async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

export function requireRunnerDirs(): void {
  for (const name of ['RUNNER_TEMP', 'RUNNER_TOOL_CACHE']) {
    if (!process.env[name]) {
      throw new DeployError(
        `Terraform has to be installed but ${name} is not set (it is on GitHub runners); put terraform on PATH or set ${name}`
      )
    }
  }
}

/** The base URL's scheme rule (see download-url.ts), for callers that did not go through inputs. */
export function requireAcceptedUrl(baseUrl: string): void {
  const problem = downloadUrlProblem(new URL(baseUrl))
  if (problem !== undefined) {
    throw new DeployError(`Refusing to download Terraform from ${baseUrl}: ${problem}`)
  }
}

export async function download(url: string, what: string, hint: string): Promise<string> {
  try {
    return await tc.downloadTool(url)
  } catch (error) {
    if (error instanceof tc.HTTPError && error.httpStatusCode === 404) {
      throw new DeployError(
        `${what.charAt(0).toUpperCase()}${what.slice(1)} was not found at ${url} (HTTP 404); ${hint}`,
        { cause: error }
      )
    }
    const status =
      error instanceof tc.HTTPError ? `HTTP ${error.httpStatusCode}` : errorMessage(error)
    throw new DeployError(
      `Could not download ${what} from ${url} (${status}); the runner must reach ${new URL(url).host}: set terraform-download-url to a reachable mirror, or put terraform on PATH`,
      { cause: error }
    )
  }
}

/** A small file's bytes (the downloaded copy is removed). */
export async function downloadBytes(url: string, what: string, hint: string): Promise<Buffer> {
  const file = await download(url, what, hint)
  try {
    return await fs.promises.readFile(file)
  } finally {
    await fs.promises.rm(file, { force: true })
  }
}

/** The key the sums must be signed with, how to name it in messages, and its signature file. */
async function trustedSigner(
  version: string,
  signingKey: string | undefined
): Promise<{ keys: PublicKey[]; name: string; sigName: string }> {
  const sums = `terraform_${version}_SHA256SUMS`
  if (signingKey === undefined) {
    return {
      keys: await readTrustedKeys(HASHICORP_RELEASE_KEY),
      name: `HashiCorp's release key ${HASHICORP_KEY_ID} (${formatFingerprint(HASHICORP_KEY_FINGERPRINT)})`,
      sigName: `${sums}.${HASHICORP_KEY_ID}.sig`
    }
  }
  try {
    const keys = await readTrustedKeys(signingKey)
    const fingerprints = keys.map(key => formatFingerprint(key.getFingerprint())).join(', ')
    return {
      keys,
      name: `the key in terraform-signing-key (${fingerprints})`,
      sigName: `${sums}.sig`
    }
  } catch (error) {
    throw new InputError('terraform-signing-key', undefined, errorMessage(error))
  }
}

/** SHA256SUMS, once its detached signature by the trusted key verifies. */
export async function signedSums(
  version: string,
  baseUrl: string,
  signingKey: string | undefined,
  hint: string
): Promise<string> {
  const signer = await trustedSigner(version, signingKey)
  const sumsUrl = `${baseUrl}/${version}/terraform_${version}_SHA256SUMS`
  const sigUrl = `${baseUrl}/${version}/${signer.sigName}`
  const sums = await downloadBytes(sumsUrl, `the SHA256SUMS of Terraform ${version}`, hint)
  const signature = await downloadBytes(
    sigUrl,
    `the signature of Terraform ${version}'s SHA256SUMS`,
    `without it the sums cannot be trusted, and nothing was installed: point terraform-download-url (${baseUrl}) at a mirror that serves ${signer.sigName} next to the sums${signingKey === undefined ? ', as releases.hashicorp.com does' : ''}, or put terraform on PATH`
  )
  try {
    await verifyDetached(sums, signature, signer.keys)
  } catch (error) {
    if (!(error instanceof SignatureError)) throw error
    const fix =
      signingKey === undefined
        ? `use releases.hashicorp.com or a mirror that serves HashiCorp's files unchanged; a private mirror that signs its own builds needs its public key in terraform-signing-key`
        : `set terraform-signing-key to the public key that signs the SHA256SUMS at terraform-download-url (${baseUrl})`
    throw new DeployError(
      error.problem === 'other-key'
        ? `Refusing Terraform ${version}: ${sigUrl} is not a signature by ${signer.name}: ${error.message}; nothing was installed; ${fix}`
        : `Refusing Terraform ${version}: ${sumsUrl} is not what ${signer.name} signed in ${sigUrl} (${error.message}); the sums were altered or a file is corrupt, and nothing was installed; check the mirror at terraform-download-url (${baseUrl})`,
      { cause: error }
    )
  }
  core.info(`${sumsUrl}: signature by ${signer.name} verified`)
  return sums.toString('utf8')
}
