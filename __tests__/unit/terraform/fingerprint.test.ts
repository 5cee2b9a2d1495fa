import { describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { gunzipSync } from 'node:zlib'
import {
  compareFingerprints,
  describeDifference,
  fingerprintLine,
  planEntries,
  planFingerprint,
  readFingerprint
} from '../../../src/terraform/fingerprint'

const FIXTURES = path.join(process.cwd(), '__tests__', 'fixtures', 'plans')
const load = (name: string): Record<string, unknown> =>
  JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')) as Record<string, unknown>
const stack = { workingDirectory: 'terraform', stateKey: 'production/terraform.tfstate' }
const KEY = Buffer.alloc(32, 7)

describe('plan fingerprint', () => {
  it('is keyed: without the key, a guessed secret cannot be checked against the comment', () => {
    const doc = load('outputs-secret-change.json')
    const values = [...planEntries(doc, KEY).values()].join('\n')
    const shown = /\(sensitive ([0-9a-f]{16})\)/.exec(values)?.[1]
    // The secret in the fixture, hashed as an unkeyed fingerprint would: it is not what is shown.
    const secrets = JSON.stringify(doc).match(/"[^"]*(hunter2|correcthorse)[^"]*"/g) ?? []
    expect(secrets.length).toBeGreaterThan(0)
    for (const secret of secrets) {
      const guess = createHash('sha256').update(secret).digest('hex').slice(0, 16)
      expect(guess).not.toBe(shown)
    }
    // Another key, other hashes; the same key, the same fingerprint (comparable across runs).
    const other = planFingerprint(doc, stack, Buffer.alloc(32, 8))
    expect(other.digest).not.toBe(planFingerprint(doc, stack, KEY).digest)
    expect(planFingerprint(doc, stack, KEY)).toEqual(planFingerprint(doc, stack, KEY))
    expect(
      readFingerprint(`x\n${fingerprintLine(planFingerprint(doc, stack, KEY, 'abc1234'))}`)
    ).toMatchObject({
      keyed: true,
      head: 'abc1234'
    })
  })

  it('lists each change that is not a no-op, with its actions', () => {
    const entries = [...planEntries(load('replace-destroy-first.json'), KEY).keys()]
    expect(entries.some(e => /^resource .* delete,create$/.test(e))).toBe(true)
    expect(planEntries(load('no-changes.json'), KEY).size).toBe(0)
  })

  it('keeps no secret: sensitive values are hashed in the entries and only hashes are stored', () => {
    const doc = load('outputs-secret-change.json')
    const values = [...planEntries(doc, KEY).values()].join('\n')
    expect(values).not.toContain('new-secret-correcthorse')
    expect(values).toMatch(/\(sensitive [0-9a-f]{16}\)/)
    const line = fingerprintLine(planFingerprint(doc, stack, KEY))
    const payload = /reviewed-plan (\S+) -->/.exec(line)?.[1] ?? ''
    const decoded = gunzipSync(Buffer.from(payload, 'base64url')).toString('utf8')
    expect(decoded).not.toMatch(/hunter2|correcthorse/)
  })

  it('does not depend on the order of changes in the JSON', () => {
    const doc = load('create.json')
    const reversed = {
      ...doc,
      resource_changes: [...(doc.resource_changes as unknown[])].reverse()
    }
    expect(planFingerprint(reversed, stack, KEY).digest).toBe(
      planFingerprint(doc, stack, KEY).digest
    )
  })

  it('changes with a planned value, names the resource, and differs per stack', () => {
    const doc = load('update.json')
    const changes = doc.resource_changes as Array<{ address: string; change: { after: unknown } }>
    const first = changes.find(
      c => (c as { change: { actions?: string[] } }).change.actions?.[0] === 'update'
    )
    expect(first).toBeDefined()
    const altered = structuredClone(doc)
    const target = (altered.resource_changes as typeof changes).find(
      c => c.address === first?.address
    )
    if (target)
      target.change.after = { ...(target.change.after as object), input: 'something else' }
    const a = planFingerprint(doc, stack, KEY)
    const b = planFingerprint(altered, stack, KEY)
    const diff = compareFingerprints(a, b)
    expect(diff.same).toBe(false)
    expect(diff.changed).toEqual([`resource ${first?.address} update`])
    expect(describeDifference(diff)).toContain(
      `planned with other values than reviewed: resource ${first?.address} update`
    )
    expect(
      planFingerprint(doc, { ...stack, stateKey: 'staging/terraform.tfstate' }, KEY).digest
    ).not.toBe(a.digest)
  })

  it('covers imports, moves and forgets: each differs from an empty plan and from the others', () => {
    // One-change plans cut from the real lifecycle fixture. A pure import is the imported object
    // planned as a no-op with `importing` (the shape Terraform writes when the configuration
    // matches the imported object).
    const lifecycle = load('lifecycle.json')
    const changes = lifecycle.resource_changes as Array<Record<string, unknown>>
    const only = (address: string, edit?: (rc: Record<string, unknown>) => void) => {
      const rc = structuredClone(changes.find(c => c.address === address))
      expect(rc).toBeDefined()
      if (rc && edit) edit(rc)
      return { ...lifecycle, resource_changes: [rc], output_changes: {} }
    }
    const asNoOp = (rc: Record<string, unknown>): void => {
      const change = rc.change as Record<string, unknown>
      change.actions = ['no-op']
      change.after = change.before
      change.after_unknown = {}
    }
    const plans = {
      empty: { ...lifecycle, resource_changes: [], output_changes: {} },
      moveOnly: only('terraform_data.new_name'),
      forgetOnly: only('terraform_data.forgotten'),
      importOnly: only('terraform_data.imported', asNoOp),
      importOther: only('terraform_data.imported', rc => {
        asNoOp(rc)
        ;(rc.change as Record<string, unknown>).importing = { id: 'another-id' }
      }),
      moveOther: only('terraform_data.new_name', rc => {
        rc.previous_address = 'terraform_data.elsewhere'
      }),
      noOp: only('terraform_data.new_name', rc => {
        delete rc.previous_address
      })
    }
    const digests = Object.fromEntries(
      Object.entries(plans).map(([name, doc]) => [name, planFingerprint(doc, stack, KEY).digest])
    )
    // a no-op that neither moves nor imports is no effect at all
    expect(digests.noOp).toBe(digests.empty)
    const effects = Object.entries(digests).filter(([name]) => name !== 'noOp')
    expect(new Set(effects.map(([, d]) => d)).size).toBe(effects.length)
    // the difference names what was not reviewed
    const diff = compareFingerprints(
      planFingerprint(plans.empty, stack, KEY),
      planFingerprint(plans.moveOnly, stack, KEY)
    )
    expect(diff.added).toEqual([
      'resource terraform_data.new_name no-op moved from terraform_data.old_name'
    ])
    expect(Object.keys(planFingerprint(plans.importOnly, stack, KEY).entries ?? {})).toEqual([
      'resource terraform_data.imported no-op import'
    ])
  })

  it('covers data sources read during apply and tells deposed objects apart', () => {
    const lifecycle = load('lifecycle.json')
    const changes = lifecycle.resource_changes as Array<Record<string, unknown>>
    const read = changes.find(c => c.address === 'data.terraform_remote_state.later')
    const empty = { ...lifecycle, resource_changes: [], output_changes: {} }
    const withRead = { ...empty, resource_changes: [read] }
    expect(planFingerprint(withRead, stack, KEY).digest).not.toBe(
      planFingerprint(empty, stack, KEY).digest
    )
    const deposed = (key: string) => ({
      address: 'terraform_data.old',
      deposed: key,
      change: { actions: ['delete'], before: { id: key }, after: null }
    })
    const two = { ...empty, resource_changes: [deposed('aaaa1111'), deposed('bbbb2222')] }
    expect(planEntries(two, KEY).size).toBe(2)
  })

  it('round-trips through the hidden comment line, which cannot end the comment early', () => {
    const fp = planFingerprint(load('create.json'), stack, KEY)
    const line = fingerprintLine(fp)
    expect(line.slice(4, -4)).not.toContain('--')
    expect(readFingerprint(`<!-- marker -->\n${line}\n### report`)).toEqual(fp)
    expect(readFingerprint(`<!-- marker -->\n### report\n${line}`)).toBeUndefined()
    expect(
      readFingerprint('<!-- marker -->\n<!-- revive-deploy:reviewed-plan !!! -->')
    ).toBeUndefined()
  })

  it('keeps only the digest when the entries are too many for a comment', () => {
    const many = {
      format_version: '1.2',
      resource_changes: Array.from({ length: 5000 }, (_, i) => ({
        address: `terraform_data.item[${i}]`,
        change: { actions: ['create'], after: { input: `item-${i}` }, after_unknown: { id: true } }
      }))
    }
    const fp = planFingerprint(many, stack, KEY)
    const line = fingerprintLine(fp)
    expect(line.length).toBeLessThan(13_000)
    const back = readFingerprint(`x\n${line}`)
    expect(back).toEqual({ digest: fp.digest, keyed: true })
    expect(compareFingerprints(back ?? { digest: '' }, fp).same).toBe(true)
  })
})
