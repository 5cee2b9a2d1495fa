import { describe, expect, it } from '@jest/globals'
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
} from '../src/terraform/fingerprint'

const FIXTURES = path.join(process.cwd(), '__tests__', 'fixtures', 'plans')
const load = (name: string): Record<string, unknown> =>
  JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')) as Record<string, unknown>
const stack = { workingDirectory: 'terraform', stateKey: 'production/terraform.tfstate' }

describe('plan fingerprint', () => {
  it('lists each change that is not a no-op, with its actions', () => {
    const entries = [...planEntries(load('replace-destroy-first.json')).keys()]
    expect(entries.some(e => /^resource .* delete,create$/.test(e))).toBe(true)
    expect(planEntries(load('no-changes.json')).size).toBe(0)
  })

  it('keeps no secret: sensitive values are hashed in the entries and only hashes are stored', () => {
    const doc = load('outputs-secret-change.json')
    const values = [...planEntries(doc).values()].join('\n')
    expect(values).not.toContain('new-secret-correcthorse')
    expect(values).toMatch(/\(sensitive [0-9a-f]{16}\)/)
    const line = fingerprintLine(planFingerprint(doc, stack))
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
    expect(planFingerprint(reversed, stack).digest).toBe(planFingerprint(doc, stack).digest)
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
    const a = planFingerprint(doc, stack)
    const b = planFingerprint(altered, stack)
    const diff = compareFingerprints(a, b)
    expect(diff.same).toBe(false)
    expect(diff.changed).toEqual([`resource ${first?.address} update`])
    expect(describeDifference(diff)).toContain(
      `planned with other values than reviewed: resource ${first?.address} update`
    )
    expect(
      planFingerprint(doc, { ...stack, stateKey: 'staging/terraform.tfstate' }).digest
    ).not.toBe(a.digest)
  })

  it('round-trips through the hidden comment line, which cannot end the comment early', () => {
    const fp = planFingerprint(load('create.json'), stack)
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
    const fp = planFingerprint(many, stack)
    const line = fingerprintLine(fp)
    expect(line.length).toBeLessThan(13_000)
    const back = readFingerprint(`x\n${line}`)
    expect(back).toEqual({ digest: fp.digest })
    expect(compareFingerprints(back ?? { digest: '' }, fp).same).toBe(true)
  })
})
