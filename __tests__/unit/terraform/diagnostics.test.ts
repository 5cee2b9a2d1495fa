import { describe, it, expect } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  alreadyExistsExplanation,
  alreadyExistsMessage,
  errorDiagnostics,
  failureLine,
  findAlreadyExists,
  importBlock,
  lockMessage,
  lockOperation,
  parseDiagnostics,
  parseLockCreated,
  parseLockInfo,
  plainText
} from '../../../src/terraform/diagnostics'

const FIXTURES = join(process.cwd(), '__tests__', 'fixtures', 'terraform', 'diagnostics')
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8')

describe('parseDiagnostics on real Terraform 1.11 stderr', () => {
  it('splits two configuration errors and leaves the CLI-config warning out of the errors', () => {
    const all = parseDiagnostics(fixture('config-errors.txt'))
    expect(all.map(d => [d.severity, d.summary])).toEqual([
      ['warning', 'Unable to open CLI configuration file'],
      ['error', 'Reference to undeclared input variable'],
      ['error', 'Reference to undeclared resource']
    ])
    const errors = errorDiagnostics(fixture('config-errors.txt'))
    expect(errors).toHaveLength(2)
    expect(errors[0]?.detail).toContain('on main.tf line 2, in resource "terraform_data" "a"')
    expect(errors[0]?.detail).toContain('An input variable with the name "missing" has not been')
    expect(errors[0]?.detail).not.toContain('undeclared resource')
    expect(errors[1]?.text.startsWith('Error: Reference to undeclared resource\n\n')).toBe(true)
    expect(errors[0]?.address).toBeUndefined()
  })

  it('reads a summary Terraform wrapped onto a second line whole', () => {
    const errors = errorDiagnostics(fixture('init-syntax-error.txt'))
    expect(errors.map(d => d.summary)).toEqual([
      'Terraform encountered problems during initialisation, including problems with the configuration, described below.',
      'Invalid block definition'
    ])
    expect(errors[0]?.detail.startsWith('The Terraform configuration must be valid')).toBe(true)
    expect(errors[1]?.location).toEqual({ file: 'main.tf', line: 7 })
    expect(errors[0]?.location).toBeUndefined()
  })

  it('a failed command is one line naming the first real error with its file and line', () => {
    // init's wrapper names no problem: the line names the syntax error under it
    expect(
      failureLine('init', 'terraform', 1, errorDiagnostics(fixture('init-syntax-error.txt')))
    ).toBe(
      'terraform init failed in terraform (exit code 1): Invalid block definition (terraform/main.tf line 7); the Terraform diagnostics are in the log'
    )
    expect(
      failureLine('plan', 'infra/app', 1, errorDiagnostics(fixture('config-errors.txt')))
    ).toBe(
      'terraform plan failed in infra/app (exit code 1): Reference to undeclared input variable (infra/app/main.tf line 2) and 1 more error(s); the Terraform diagnostics are in the log'
    )
    expect(failureLine('apply', '.', 1, errorDiagnostics(fixture('local-exec-exists.txt')))).toBe(
      'terraform apply failed in . (exit code 1): local-exec provisioner error (terraform_data.role, main.tf line 3); the Terraform diagnostics are in the log'
    )
    expect(failureLine('show', 'terraform', 1, [])).toBe(
      'terraform show failed in terraform (exit code 1); see its output in the log'
    )
  })

  it('reads the resource address from the "with" line', () => {
    const [error] = errorDiagnostics(fixture('local-exec-exists.txt'))
    expect(error?.summary).toBe('local-exec provisioner error')
    expect(error?.address).toBe('terraform_data.role')
    const [lambda] = errorDiagnostics(fixture('aws-lambda.txt'))
    expect(lambda?.address).toBe('module.api.aws_lambda_function.this["orders"]')
  })

  it('reads coloured output (box drawing and ANSI codes) like the -no-color form', () => {
    const colour = plainText(fixture('lock-colour.txt'))
    expect(colour).not.toMatch(/\x1b|│|╷|╵/)
    const a = errorDiagnostics(fixture('lock-colour.txt'))
    const b = errorDiagnostics(fixture('lock-no-color.txt'))
    expect(a.map(d => d.summary)).toEqual(['Error acquiring the state lock'])
    expect(a.map(d => d.summary)).toEqual(b.map(d => d.summary))
  })

  it('finds nothing in text without diagnostics', () => {
    expect(parseDiagnostics('Plan: 1 to add, 0 to change, 0 to destroy.\n')).toEqual([])
    expect(parseLockInfo('Apply complete!')).toBeUndefined()
  })
})

describe('state lock', () => {
  it('parses every Lock Info field, in both output forms', () => {
    for (const name of ['lock-no-color.txt', 'lock-colour.txt']) {
      const lock = parseLockInfo(fixture(name))
      expect(lock).toEqual({
        id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
        path: 'terraform.tfstate',
        operation: 'OperationTypeApply',
        who: 'root@vm',
        version: '1.11.4',
        created: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \+0000 UTC$/),
        errorMessage: 'resource temporarily unavailable'
      })
    }
  })

  it('parses the S3 backend form (DynamoDB error message over several lines, Info set)', () => {
    const text = [
      'Error: Error acquiring the state lock',
      '',
      'Error message: operation error DynamoDB: PutItem, https response error',
      'StatusCode: 400, RequestID: X1, ConditionalCheckFailedException: The',
      'conditional request failed',
      'Lock Info:',
      '  ID:        0b6e4c36-1d9c-2f27-7d1e-6f0e9c3a2b11',
      '  Path:      app-state/production/terraform.tfstate',
      '  Operation: OperationTypePlan',
      '  Who:       runner@fv-az123',
      '  Version:   1.11.4',
      '  Created:   2025-03-01 09:15:00.5 +0100 CET',
      '  Info:      run 42',
      '',
      'Terraform acquires a state lock to protect the state from being written'
    ].join('\n')
    expect(parseLockInfo(text)).toEqual({
      id: '0b6e4c36-1d9c-2f27-7d1e-6f0e9c3a2b11',
      path: 'app-state/production/terraform.tfstate',
      operation: 'OperationTypePlan',
      who: 'runner@fv-az123',
      version: '1.11.4',
      created: '2025-03-01 09:15:00.5 +0100 CET',
      info: 'run 42',
      errorMessage:
        'operation error DynamoDB: PutItem, https response error StatusCode: 400, RequestID: X1, ConditionalCheckFailedException: The conditional request failed'
    })
  })

  it('turns Go time text and operation names into readable values', () => {
    expect(parseLockCreated('2025-11-23 13:16:02.824626627 +0000 UTC')?.toISOString()).toBe(
      '2025-11-23T13:16:02.824Z'
    )
    expect(parseLockCreated('2025-03-01 09:15:00 +0100 CET')?.toISOString()).toBe(
      '2025-03-01T08:15:00.000Z'
    )
    expect(parseLockCreated('yesterday')).toBeUndefined()
    expect(lockOperation('OperationTypeApply')).toBe('apply')
    expect(lockOperation('OperationTypeInvalid')).toBe('invalid')
    expect(lockOperation(undefined)).toBeUndefined()
  })

  it('says who holds the lock, since when, for what, and how to release it, on one line', () => {
    const message = lockMessage(
      {
        id: 'abc-123',
        path: 'b/k',
        operation: 'OperationTypeApply',
        who: 'runner@host',
        version: '1.11.4',
        created: '2025-11-23 13:16:02.8 +0000 UTC'
      },
      { lockTimeout: '30s', workingDirectory: 'terraform', now: new Date('2025-11-23T13:46:02Z') }
    )
    expect(message).not.toContain('\n')
    expect(message).toContain('lock-timeout 30s')
    expect(message).toContain('held by runner@host since 2025-11-23T13:16:02.800Z (30 min ago)')
    expect(message).toContain('for a terraform apply')
    expect(message).toContain('lock abc-123 on b/k')
    expect(message).toContain('from terraform after terraform init')
    expect(message).toContain("this action's mode: unlock and lock-id: abc-123")
    expect(message).toMatch(/terraform force-unlock abc-123$/)
  })
})

describe('resources that already exist outside the state', () => {
  const cases: [string, string, string, string | undefined][] = [
    ['aws-iam-role.txt', 'EntityAlreadyExists', 'aws_iam_role.lambda', 'app-lambda'],
    [
      'aws-lambda.txt',
      'ResourceConflictException',
      'module.api.aws_lambda_function.this["orders"]',
      'app-orders'
    ],
    ['aws-s3-bucket.txt', 'BucketAlreadyOwnedByYou', 'aws_s3_bucket.site', 'app-site-123456789012'],
    ['aws-dynamodb.txt', 'ResourceInUseException', 'aws_dynamodb_table.items', 'app-items'],
    ['local-exec-exists.txt', 'EntityAlreadyExists', 'terraform_data.role', 'app-lambda']
  ]
  it.each(cases)('%s → %s at %s, id %s', (file, code, address, id) => {
    const found = findAlreadyExists(errorDiagnostics(fixture(file)))
    expect(found?.code).toBe(code)
    expect(found?.address).toBe(address)
    expect(found?.id).toBe(id)
    const block = importBlock(found!)
    expect(block).toBe(`import {\n  to = ${address}\n  id = ${JSON.stringify(id)}\n}`)
    const explanation = alreadyExistsExplanation(found!)
    expect(explanation).toContain('the Terraform state does not know it')
    expect(explanation).toContain(block)
    expect(explanation).toMatch(/Renaming the resource would only create a duplicate/)
    const message = alreadyExistsMessage(found!)
    expect(message).not.toContain('\n')
    expect(message).toContain(`${address} "${id}" already exists in AWS (${code})`)
    expect(message).toContain('import block')
    expect(message).toContain('instead of renaming it')
  })

  it('is not fooled by a bucket name another account owns, or by an update conflict', () => {
    expect(findAlreadyExists(errorDiagnostics(fixture('aws-bucket-taken.txt')))).toBeUndefined()
    expect(
      findAlreadyExists(errorDiagnostics(fixture('aws-lambda-update-conflict.txt')))
    ).toBeUndefined()
    expect(findAlreadyExists(errorDiagnostics(fixture('config-errors.txt')))).toBeUndefined()
    expect(findAlreadyExists(errorDiagnostics(fixture('lock-no-color.txt')))).toBeUndefined()
  })

  it('matches a plain "already exists" and leaves placeholders when nothing names the object', () => {
    const found = findAlreadyExists(
      parseDiagnostics(
        'Error: creating thing: the thing already\nexists somewhere\n\n  on main.tf line 1:\n'
      )
    )
    expect(found?.code).toBe('already exists')
    expect(found?.address).toBeUndefined()
    expect(found?.id).toBeUndefined()
    expect(importBlock(found!)).toContain('to = <resource address')
    expect(importBlock(found!)).toContain('id = "<the existing object')
  })
})
