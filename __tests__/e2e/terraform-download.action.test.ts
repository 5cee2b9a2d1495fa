import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { formatFingerprint } from '../../src/terraform/signature'
import {
  generateSigningKey,
  publish,
  startMirror,
  storedZip,
  type Mirror,
  type SigningKey
} from '../helpers/mirror'
import { explain, makeWorkspace, startTestbed, type Testbed } from '../helpers/testbed'
import type { ActionRun } from '../../standins/run-action'

// Installing Terraform through the bundled action: the runner has no terraform on PATH, so the
// action downloads the pinned version from a mirror. The mirror signs its SHA256SUMS with its own
// key; the action trusts only HashiCorp's key unless terraform-signing-key names another.

const REAL_TERRAFORM = '/usr/local/bin/terraform'
/** A PATH without terraform: node and unzip only. */
const NO_TERRAFORM = [path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter)

describe('Terraform downloads through the action', () => {
  let bed: Testbed
  let mirror: Mirror
  let stranger: SigningKey
  let version: string
  beforeAll(async () => {
    bed = await startTestbed('eu-west-1')
    mirror = await startMirror()
    stranger = await generateSigningKey('Someone else')
    version = (
      JSON.parse(execFileSync(REAL_TERRAFORM, ['version', '-json'], { encoding: 'utf8' })) as {
        terraform_version: string
      }
    ).terraform_version
    await publish(mirror, version, storedZip('terraform', fs.readFileSync(REAL_TERRAFORM)))
  })
  afterAll(async () => {
    await mirror.close()
    await bed.stop()
  })

  const install = (inputs: Record<string, string>): Promise<ActionRun> => {
    mirror.requests.length = 0
    return bed.run(
      makeWorkspace('app'),
      {
        mode: 'plan',
        'terraform-version': version,
        'terraform-download-url': mirror.url,
        ...inputs
      },
      { env: { PATH: NO_TERRAFORM } }
    )
  }
  const installed = (run: ActionRun): string[] => {
    const dir = path.join(run.runnerDir, 'tool-cache', 'terraform')
    return fs.existsSync(dir) ? fs.readdirSync(dir) : []
  }
  const zipRequests = (): string[] => mirror.requests.filter(r => r.endsWith('.zip'))

  it("refuses sums signed by the mirror's key when only HashiCorp's key is trusted: one line, nothing installed", async () => {
    const run = await install({})
    expect(run.exitCode).toBe(1)
    expect(run.errors).toHaveLength(1)
    const message = run.errors[0] ?? ''
    expect(message).toContain(
      `Refusing Terraform ${version}: ${mirror.url}/${version}/terraform_${version}_SHA256SUMS.72D7468F.sig is not a signature by HashiCorp's release key 72D7468F (C874 011F 0AB4 0511 0D02 1055 3436 5D94 72D7 468F)`
    )
    expect(message).toContain('needs its public key in terraform-signing-key')
    expect(zipRequests()).toEqual([])
    expect(installed(run)).toEqual([])
    expect(run.log).not.toContain('terraform plan')
  })

  it('refuses sums signed by a key other than terraform-signing-key, naming that input', async () => {
    const run = await install({ 'terraform-signing-key': stranger.publicKey })
    expect(run.exitCode).toBe(1)
    expect(run.errors).toHaveLength(1)
    expect(run.errors[0]).toContain(
      `is not a signature by the key in terraform-signing-key (${formatFingerprint(stranger.fingerprint)})`
    )
    expect(run.errors[0]).toContain(
      `set terraform-signing-key to the public key that signs the SHA256SUMS at terraform-download-url (${mirror.url})`
    )
    expect(mirror.requests).toEqual([
      `/terraform/${version}/terraform_${version}_SHA256SUMS`,
      `/terraform/${version}/terraform_${version}_SHA256SUMS.sig`
    ])
    expect(installed(run)).toEqual([])
  })

  it("with terraform-signing-key set to the mirror's key, installs from it and plans", async () => {
    const run = await install({ 'terraform-signing-key': mirror.key.publicKey })
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(run.log).toContain(
      `signature by the key in terraform-signing-key (${formatFingerprint(mirror.key.fingerprint)}) verified`
    )
    expect(zipRequests()).toHaveLength(1)
    expect(installed(run)).toEqual([version])
    expect(run.outputs['to-add']).toBe('6')
  })

  it('refuses a plain-http terraform-download-url off this machine before any download or AWS call', async () => {
    const url = 'http://mirror.invalid/terraform'
    const run = await install({
      'terraform-download-url': url,
      'terraform-signing-key': mirror.key.publicKey
    })
    expect(run.exitCode).toBe(1)
    expect(run.errors).toEqual([
      `Input 'terraform-download-url' has an invalid value "${url}": plain http is refused (anyone on the way could see and delay what is downloaded); use https://mirror.invalid/terraform (http is accepted only for a mirror on this machine: 127.0.0.0/8, ::1, localhost)`
    ])
    expect(run.log).not.toMatch(/State backend|Installing Terraform/)
    expect(run.outputs['backend-created']).toBeUndefined()
    expect(installed(run)).toEqual([])
  })
})
