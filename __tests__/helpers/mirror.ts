/**
 * A Terraform release mirror for tests: a local HTTP server (127.0.0.1) serving the release layout
 * (`<version>/terraform_<version>_<os>_<arch>.zip`, `<version>/terraform_<version>_SHA256SUMS`, its
 * detached signatures `…_SHA256SUMS.sig` and `…_SHA256SUMS.72D7468F.sig`, `index.json`), with zips
 * built by a small stored-zip writer (no `zip` command needed). The sums are signed with a key the
 * mirror generates: the installer trusts it only when told to (terraform-signing-key, or the
 * installer's signingKey option), as for a private mirror that signs its own builds.
 */
import { createHash } from 'node:crypto'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as zlib from 'node:zlib'
import * as openpgp from 'openpgp'
import { terraformPlatform } from '../../src/terraform/install'
import { HASHICORP_KEY_ID } from '../../src/terraform/signature'

/** A zip archive with one stored (uncompressed) file, marked executable for unzip. */
export function storedZip(name: string, data: Buffer): Buffer {
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

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex')

export interface SigningKey {
  /** Armored public key (what terraform-signing-key takes). */
  publicKey: string
  privateKey: openpgp.PrivateKey
  fingerprint: string
}

/** A fresh OpenPGP signing key (Ed25519: generated in milliseconds). */
export async function generateSigningKey(name = 'Test mirror'): Promise<SigningKey> {
  const { publicKey, privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name, email: 'mirror@example.test' }],
    format: 'object'
  })
  return {
    publicKey: publicKey.armor(),
    privateKey,
    fingerprint: publicKey.getFingerprint()
  }
}

/** A detached binary signature over `data`, as `gpg --detach-sign` makes. */
export async function signDetached(data: Buffer, key: SigningKey): Promise<Buffer> {
  const signature = await openpgp.sign({
    message: await openpgp.createMessage({ binary: data }),
    signingKeys: key.privateKey,
    detached: true,
    format: 'binary'
  })
  return Buffer.from(signature)
}

export interface Mirror {
  url: string
  requests: string[]
  files: Map<string, Buffer>
  /** The key the mirror signs its SHA256SUMS with. */
  key: SigningKey
  close(): Promise<void>
}

export async function startMirror(): Promise<Mirror> {
  const key = await generateSigningKey()
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
    key,
    close: () => new Promise<void>(resolve => server.close(() => resolve()))
  }
}

export const platform = terraformPlatform()
export const zipName = (version: string): string =>
  `terraform_${version}_${platform.os}_${platform.arch}.zip`

export interface PublishOptions {
  /** The sum listed for the zip (default: its real one). */
  sum?: string
  /** Who signs the sums (default: the mirror's key); null: no signature files at all. */
  signer?: SigningKey | null
}

/**
 * Publish `zip` as `version` on the mirror with a SHA256SUMS file and its detached signature under
 * both names HashiCorp uses (`.sig` and `.72D7468F.sig`).
 */
export async function publish(
  mirror: Mirror,
  version: string,
  zip: Buffer,
  options: PublishOptions = {}
): Promise<void> {
  const dir = `/terraform/${version}`
  mirror.files.set(`${dir}/${zipName(version)}`, zip)
  const other = `${'0'.repeat(64)}  terraform_${version}_plan9_mips.zip`
  const sums = Buffer.from(`${other}\n${options.sum ?? sha256(zip)}  ${zipName(version)}\n`)
  const sumsPath = `${dir}/terraform_${version}_SHA256SUMS`
  mirror.files.set(sumsPath, sums)
  const signer = options.signer === undefined ? mirror.key : options.signer
  if (signer === null) return
  const signature = await signDetached(sums, signer)
  mirror.files.set(`${sumsPath}.sig`, signature)
  mirror.files.set(`${sumsPath}.${HASHICORP_KEY_ID}.sig`, signature)
}
