/** The pure parts of locking: init settings per lock choice, the Terraform minimum, the lock-holder JSON. */
import { describe, expect, it } from '@jest/globals'
import { checkLockSupport, describeLock, lockHolder } from '../../../src/unlock/unlock'
import { backendSettings, initArgs } from '../../../src/terraform/runner'

const settings = (lock: 'dynamodb' | 's3' | 'both') =>
  initArgs(
    backendSettings(
      { backendConfig: [], lock },
      { bucket: 'b', table: 't', key: 'k', region: 'eu-west-1' }
    )
  ).filter(a => a.startsWith('-backend-config='))

describe('the lock choice', () => {
  it('dynamodb passes the table; s3 the lock file and no table; both passes the two', () => {
    expect(settings('dynamodb')).toContain('-backend-config=dynamodb_table=t')
    expect(settings('dynamodb').some(a => a.includes('use_lockfile'))).toBe(false)
    expect(settings('s3')).toContain('-backend-config=use_lockfile=true')
    expect(settings('s3').some(a => a.includes('dynamodb_table'))).toBe(false)
    expect(settings('both')).toEqual(
      expect.arrayContaining([
        '-backend-config=dynamodb_table=t',
        '-backend-config=use_lockfile=true'
      ])
    )
  })

  it('s3 and both need Terraform 1.10 or later: one error naming the input and the fix', () => {
    expect(() => checkLockSupport('dynamodb', '1.5.7')).not.toThrow()
    expect(() => checkLockSupport('s3', '1.10.0')).not.toThrow()
    expect(() => checkLockSupport('both', '1.11.4')).not.toThrow()
    expect(() => checkLockSupport('s3', '1.9.8')).toThrow(
      /^Input 'lock' has an invalid value "s3": Terraform 1.9.8 has no S3 lock file \(use_lockfile, Terraform 1.10.0 or later\); set terraform-version to 1.10.0 or later/
    )
    expect(() => checkLockSupport('both', '0.15.5')).toThrow(/Input 'lock'/)
  })
})

describe('the lock holder', () => {
  it('is JSON of id, who, created (ISO from either of Terraform’s forms) and operation', () => {
    const printed = {
      id: 'abc',
      who: 'runner@host',
      operation: 'OperationTypeApply',
      created: '2026-12-06 02:10:00.123456789 +0000 UTC'
    }
    expect(JSON.parse(lockHolder(printed))).toEqual({
      id: 'abc',
      who: 'runner@host',
      created: '2026-12-06T02:10:00.123Z',
      operation: 'apply'
    })
    const stored = { ...printed, created: '2026-12-06T02:10:00.123456789Z' }
    expect(JSON.parse(lockHolder(stored)).created).toBe('2026-12-06T02:10:00.123Z')
    expect(JSON.parse(lockHolder({ id: 'x' }))).toEqual({
      id: 'x',
      who: null,
      created: null,
      operation: null
    })
    expect(describeLock({ ...stored, where: 'DynamoDB table t' })).toBe(
      'held by runner@host since 2026-12-06T02:10:00.123Z for a terraform apply (lock abc, in DynamoDB table t)'
    )
  })
})
