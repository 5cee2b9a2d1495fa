import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { planFingerprint } from '../../../src/terraform/fingerprint'
import { summarizePlan } from '../../../src/terraform/plan'
import { readPlanJson } from '../../../src/terraform/plan-json'
import { sensitiveStrings } from '../../../src/terraform/sensitive'

const FIXTURES = path.join(process.cwd(), '__tests__', 'fixtures', 'plans')
const stack = { workingDirectory: 'terraform', stateKey: 'production/terraform.tfstate' }
const KEY = Buffer.alloc(32, 7)

describe('readPlanJson: the JSON plan read once', () => {
  const names = fs
    .readdirSync(FIXTURES)
    .filter(n => n.endsWith('.json') && !n.startsWith('not-a-plan'))

  it.each(names)('%s: the fingerprint of the kept effect is the whole plan’s', name => {
    const text = fs.readFileSync(path.join(FIXTURES, name), 'utf8')
    const read = readPlanJson(text)
    expect(planFingerprint(read.effect, stack, KEY)).toEqual(planFingerprint(text, stack, KEY))
    expect(read.secrets).toEqual(sensitiveStrings(text))
    expect(read.summary).toEqual(summarizePlan(JSON.parse(text) as unknown))
  })

  it('not JSON: the summary says what is wrong, as before', () => {
    expect(() => readPlanJson('not json')).toThrow(/Not a Terraform plan: the text is not JSON/)
  })

  it('masks every secret before it returns', () => {
    const text = fs.readFileSync(path.join(FIXTURES, 'outputs-secret-change.json'), 'utf8')
    const masked: string[] = []
    const read = readPlanJson(text, { mask: s => masked.push(s) })
    expect(read.secrets.length).toBeGreaterThan(0)
    expect(masked).toEqual(read.secrets)
  })

  it('keeps no JSON text: the effect holds the changes only', () => {
    const text = fs.readFileSync(path.join(FIXTURES, 'outputs-secret-change.json'), 'utf8')
    expect(Object.keys(readPlanJson(text).effect).sort()).toEqual([
      'output_changes',
      'resource_changes'
    ])
  })
})
