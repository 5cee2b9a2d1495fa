/**
 * The OpenPGP check on a release's SHA256SUMS (src/terraform/signature.ts) and the rule for download
 * URLs (src/terraform/download-url.ts), on their own: keys generated here, no network.
 */
import { describe, it, expect, beforeAll } from '@jest/globals'
import * as openpgp from 'openpgp'
import {
  formatFingerprint,
  HASHICORP_KEY_FINGERPRINT,
  HASHICORP_RELEASE_KEY,
  readTrustedKeys,
  SignatureError,
  verifyDetached
} from '../../../src/terraform/signature'
import { downloadUrlProblem, isLoopbackHost } from '../../../src/terraform/download-url'
import { generateSigningKey, signDetached, type SigningKey } from '../../helpers/mirror'

const SUMS = Buffer.from(
  `${'a'.repeat(64)}  terraform_1.11.4_darwin_arm64.zip\n${'b'.repeat(64)}  terraform_1.11.4_linux_amd64.zip\n`
)

/** The SignatureError a verification ends with (fails the test if it verifies). */
async function refusal(promise: Promise<unknown>): Promise<SignatureError> {
  const error = await promise.then(
    () => new Error('verified, but a refusal was expected'),
    (e: unknown) => e
  )
  expect(error).toBeInstanceOf(SignatureError)
  return error as SignatureError
}

describe("HashiCorp's embedded release key", () => {
  it('is the key with fingerprint C874 011F 0AB4 0511 0D02 1055 3436 5D94 72D7 468F, valid today', async () => {
    const [key, ...others] = await readTrustedKeys(HASHICORP_RELEASE_KEY)
    expect(others).toEqual([])
    expect(formatFingerprint(key?.getFingerprint() ?? '')).toBe(
      'C874 011F 0AB4 0511 0D02 1055 3436 5D94 72D7 468F'
    )
    expect(HASHICORP_KEY_FINGERPRINT).toBe(key?.getFingerprint())
    expect(key?.getKeyID().toHex().toUpperCase().endsWith('72D7468F')).toBe(true)
    expect(key?.users.map(u => u.userID?.userID)).toEqual([
      'HashiCorp Security (hashicorp.com/security) <security@hashicorp.com>'
    ])
    expect(key?.isPrivate()).toBe(false)
    // It can verify signatures now: a signing (sub)key of it is valid at this date.
    const signing = await key?.getSigningKey()
    expect(signing?.getKeyID().toHex()).toMatch(/^[0-9a-f]{16}$/)
    const expires = await key?.getExpirationTime()
    expect(expires instanceof Date && expires > new Date()).toBe(true)
  })

  it("refuses sums signed with any other key, naming that key's id", async () => {
    const other = await generateSigningKey('Not HashiCorp')
    const hashicorp = await readTrustedKeys(HASHICORP_RELEASE_KEY)
    const error = await refusal(verifyDetached(SUMS, await signDetached(SUMS, other), hashicorp))
    expect(error.problem).toBe('other-key')
    const otherId = (await openpgp.readKey({ armoredKey: other.publicKey }))
      .getSigningKey()
      .then(k => k.getKeyID().toHex().toUpperCase())
    expect(error.message).toBe(`it is signed by key ${await otherId}, which is not the trusted key`)
  })
})

describe('a detached signature over SHA256SUMS', () => {
  let mirrorKey: SigningKey
  let otherKey: SigningKey
  let trusted: openpgp.PublicKey[]
  let signature: Buffer

  beforeAll(async () => {
    mirrorKey = await generateSigningKey('Private mirror')
    otherKey = await generateSigningKey('Someone else')
    trusted = await readTrustedKeys(mirrorKey.publicKey)
    signature = await signDetached(SUMS, mirrorKey)
  })

  it('a good signature by the trusted key verifies, binary or armored', async () => {
    expect(await verifyDetached(SUMS, signature, trusted)).toBe(mirrorKey.fingerprint)
    const armored = (await openpgp.readSignature({ binarySignature: signature })).armor()
    expect(await verifyDetached(SUMS, Buffer.from(armored), trusted)).toBe(mirrorKey.fingerprint)
  })

  it('a key ring with the trusted key among others verifies too', async () => {
    const ring = await readTrustedKeys(`${otherKey.publicKey}\n${mirrorKey.publicKey}`)
    expect(ring).toHaveLength(2)
    expect(await verifyDetached(SUMS, signature, ring)).toBe(mirrorKey.fingerprint)
  })

  it('tampered sums (one digit changed) are refused as a mismatch', async () => {
    const tampered = Buffer.from(SUMS.toString().replace(`${'b'.repeat(64)}`, `c${'b'.repeat(63)}`))
    const error = await refusal(verifyDetached(tampered, signature, trusted))
    expect(error.problem).toBe('mismatch')
    expect(error.message).toMatch(/^the signature does not verify \([0-9A-F]{16}: .+\)$/)
    // Even a changed line ending counts (binary signature: every byte is signed).
    const crlf = Buffer.from(SUMS.toString().replace(/\n/g, '\r\n'))
    expect((await refusal(verifyDetached(crlf, signature, trusted))).problem).toBe('mismatch')
  })

  it('a signature by another key is refused as such', async () => {
    const error = await refusal(verifyDetached(SUMS, await signDetached(SUMS, otherKey), trusted))
    expect(error.problem).toBe('other-key')
    expect(error.message).toMatch(
      /^it is signed by key [0-9A-F]{16}, which is not the trusted key$/
    )
  })

  it('a missing or garbled signature is refused as unreadable', async () => {
    for (const bytes of [
      Buffer.alloc(0),
      Buffer.from('not a signature\n'),
      signature.subarray(0, 20)
    ]) {
      expect((await refusal(verifyDetached(SUMS, bytes, trusted))).problem).toBe('unreadable')
    }
  })

  it('a private key or text that is no key is not accepted as the trusted key', async () => {
    await expect(readTrustedKeys(mirrorKey.privateKey.armor())).rejects.toThrow(
      'it holds a private key; give the public key only'
    )
    await expect(readTrustedKeys('hello')).rejects.toThrow('not an armored OpenPGP public key')
  })
})

describe('download URLs', () => {
  it('loopback is 127.0.0.0/8, ::1 and localhost', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '[::1]', 'localhost', 'LOCALHOST']) {
      expect([host, isLoopbackHost(host)]).toEqual([host, true])
    }
    for (const host of [
      '128.0.0.1',
      '10.0.0.1',
      '[::2]',
      'localhost.example.com',
      '127.0.0.1.nip.io'
    ]) {
      expect([host, isLoopbackHost(host)]).toEqual([host, false])
    }
  })

  it('https anywhere, http only to loopback (WHATWG URL normalises the ways to write 127.0.0.1)', () => {
    const accepted = [
      'https://releases.hashicorp.com/terraform',
      'https://10.0.0.8/terraform',
      'http://127.0.0.1:8080/terraform',
      'http://localhost/terraform',
      'http://[::1]:9000/terraform',
      'http://2130706433/terraform', // 127.0.0.1 as one number
      'http://0x7f.1/terraform'
    ]
    for (const url of accepted)
      expect([url, downloadUrlProblem(new URL(url))]).toEqual([url, undefined])
    const refused = [
      'http://releases.hashicorp.com/terraform',
      'http://10.0.0.8/terraform',
      'http://127.0.0.1.nip.io/terraform',
      'http://[::ffff:10.0.0.1]/terraform'
    ]
    for (const url of refused) {
      expect(downloadUrlProblem(new URL(url))).toMatch(
        /^plain http is refused .*; use https:\/\/\S+ \(http is accepted only for a mirror on this machine: 127\.0\.0\.0\/8, ::1, localhost\)$/
      )
    }
    expect(downloadUrlProblem(new URL('ftp://mirror.example.com/terraform'))).toBe(
      'use an http(s) URL of a Terraform release mirror'
    )
  })
})
