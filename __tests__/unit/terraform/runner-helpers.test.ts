/** The runner's pure parts: init arguments, the logged command line, output masking. */
import { describe, it, expect, afterEach } from '@jest/globals'
import { displayArgs, terraformEnv } from '../../../src/terraform/cli'
import {
  backendSettings,
  initArgs,
  readOutputs,
  secretStrings
} from '../../../src/terraform/runner'

const realWrite = process.stdout.write.bind(process.stdout)
function captureStdout(): () => string {
  const chunks: string[] = []
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString())
    return true
  }) as typeof process.stdout.write
  return () => chunks.join('')
}
afterEach(() => {
  process.stdout.write = realWrite
})

describe('init arguments', () => {
  it('pass the managed backend settings, kms_key_id when given, then backend-config lines', () => {
    const backend = backendSettings(
      {
        stateKmsKeyId: 'alias/state',
        backendConfig: [
          { key: 'use_path_style', value: 'true' },
          { key: 'endpoints', value: '{s3="http://127.0.0.1:9000"}' }
        ]
      },
      { bucket: 'b', table: 't', key: 'production/terraform.tfstate', region: 'eu-west-1' }
    )
    expect(initArgs(backend)).toEqual([
      'init',
      '-input=false',
      '-no-color',
      '-reconfigure',
      '-backend-config=bucket=b',
      '-backend-config=key=production/terraform.tfstate',
      '-backend-config=region=eu-west-1',
      '-backend-config=dynamodb_table=t',
      '-backend-config=encrypt=true',
      '-backend-config=kms_key_id=alias/state',
      '-backend-config=use_path_style=true',
      '-backend-config=endpoints={s3="http://127.0.0.1:9000"}'
    ])
    const withoutKms = backendSettings(
      { backendConfig: [] },
      { bucket: 'b', table: 't', key: 'k', region: 'us-east-1' }
    )
    expect(initArgs(withoutKms).some(a => a.includes('kms_key_id'))).toBe(false)
  })
})

describe('the command line shown in the log', () => {
  it('hides variable values and the values of every backend setting the user passes', () => {
    expect(
      displayArgs([
        'plan',
        '-var',
        'db_password=hunter2=x',
        '-var=token=abc',
        '-var-file=/w/prod.tfvars',
        '-backend-config=bucket=b',
        '-backend-config=secret_key=SECRET',
        '-backend-config=access_key=AKIA',
        '-backend-config=token=T',
        '-backend-config=role_arn=arn:aws:iam::1:role/deploy',
        '-backend-config=backend.hcl'
      ])
    ).toEqual([
      'plan',
      '-var',
      'db_password=…',
      '-var=token=…',
      '-var-file=/w/prod.tfvars',
      '-backend-config=bucket=b',
      '-backend-config=secret_key=…',
      '-backend-config=access_key=…',
      '-backend-config=token=…',
      '-backend-config=role_arn=…',
      '-backend-config=backend.hcl'
    ])
  })

  it('runs Terraform in automation mode with input disabled, whatever the environment says', () => {
    const env = terraformEnv({ TF_INPUT: '1', AWS_REGION: 'eu-west-1' })
    expect(env.TF_IN_AUTOMATION).toBe('1')
    expect(env.TF_INPUT).toBe('0')
    expect(env.AWS_REGION).toBe('eu-west-1')
    expect(env.PATH).toBe(process.env.PATH)
  })
})

describe('sensitive outputs', () => {
  it('collects each string leaf, its lines and escaped form, and the JSON of the whole', () => {
    const value = { user: 'admin', password: 'p"w\nline2', port: 5432, nested: ['tok-1', ''] }
    const secrets = secretStrings(value)
    expect(secrets).toEqual(
      expect.arrayContaining([
        'admin',
        'p"w\nline2',
        'p\\"w\\nline2',
        'p"w',
        'line2',
        'tok-1',
        JSON.stringify(value),
        JSON.stringify(value, null, 2)
      ])
    )
    expect(secrets).not.toContain('')
    expect(secretStrings('plain')).toEqual(['plain'])
    expect(secretStrings(null)).toEqual([])
  })

  it('masks every sensitive value before returning, and returns only the others as non-sensitive', () => {
    const output = captureStdout()
    const outputs = readOutputs(
      JSON.stringify({
        api_url: { sensitive: false, type: 'string', value: 'https://api.example.test' },
        db: {
          sensitive: true,
          type: ['object', { password: 'string' }],
          value: { password: 'correct horse' }
        },
        key: {
          sensitive: true,
          type: 'string',
          value: '-----BEGIN KEY-----\nAAAA\n-----END KEY-----'
        }
      })
    )
    const log = output()
    expect(log).toContain('::add-mask::correct horse\n')
    expect(log).toContain(`::add-mask::${JSON.stringify({ password: 'correct horse' })}\n`)
    expect(log).toContain('::add-mask::-----BEGIN KEY-----%0AAAAA%0A-----END KEY-----\n')
    expect(log).toContain('::add-mask::AAAA\n')
    expect(log).not.toContain('https://api.example.test')
    expect(outputs.nonSensitive).toEqual({ api_url: 'https://api.example.test' })
    expect(outputs.sensitiveNames).toEqual(['db', 'key'])
    expect(outputs.all.db).toEqual({
      value: { password: 'correct horse' },
      type: ['object', { password: 'string' }],
      sensitive: true
    })
  })

  it('treats an output without a sensitive flag as sensitive, and refuses what is not JSON', () => {
    captureStdout()
    expect(readOutputs('{"x":{"value":"v"}}').sensitiveNames).toEqual(['x'])
    expect(() => readOutputs('Warning: no outputs')).toThrow(
      'terraform output -json did not print JSON'
    )
    expect(() => readOutputs('[]')).toThrow('terraform output -json did not print a JSON object')
  })
})
