import { describe, expect, it, beforeAll, afterAll } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { runAction } from '../../standins/run-action'

// Each case runs the bundled action the way the runner does, with one bad input, and expects exit 1
// with a single error line naming that input. No AWS endpoint is reachable in these runs: a bad value
// must be refused before any call is made.
let workspace: string
beforeAll(() => {
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'bad-inputs-'))
  fs.mkdirSync(path.join(workspace, 'terraform'))
})
afterAll(() => fs.rmSync(workspace, { recursive: true, force: true }))

const env = {
  GITHUB_REPOSITORY: 'acme/shop',
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'secret',
  // Unreachable endpoints: any AWS call would fail with a connection error, not an input error.
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9'
}

const cases: Array<[string, string, RegExp]> = [
  ['mode', 'ship-it', /use one of auto, plan, apply, deploy, frontend/],
  ['aws-region', 'europe', /not an AWS region/],
  ['aws-region', 'EU-WEST-1', /not an AWS region/],
  ['project', 'My Project', /lower-case/],
  ['environment', 'prod/eu', /letters, digits/],
  ['state-bucket', 'My_Bucket', /lower-case letters/],
  ['state-bucket', 'ab', /3-63/],
  ['state-bucket', '192.168.1.1', /IP address/],
  ['state-bucket', 'xn--shop-state', /xn--/],
  ['state-bucket', 'shop..state', /adjacent dots/],
  ['state-key', '/production/terraform.tfstate', /cannot start or end/],
  ['state-key', 'production/../x.tfstate', /segments/],
  ['lock-table', 'locks!', /DynamoDB table names/],
  ['lock-table', 'ab', /DynamoDB table names/],
  ['create-backend', 'yes', /use true or false/],
  ['dry-run', 'maybe', /use true or false/],
  ['state-kms-key-id', 'my-key', /KMS key/],
  ['backend-config', 'no equals sign', /^Input 'backend-config' line 1: has no "="; .*key=value/],
  ['backend-config', 'bucket=other', /line 1 \(key "bucket"\): .*set by the action/],
  ['backend-config', '-reconfigure=true', /line 1: has no valid key; .*key=value/],
  ['lock-timeout', '5 minutes', /Terraform duration/],
  ['lock-timeout', '10', /Terraform duration/],
  ['terraform-version', 'v1.x', /release version/],
  ['variables', '$(rm -rf /)=1', /^Input 'variables' line 1: has no valid key; .*key=value/],
  ['variables', 'a=1\na=2', /line 2 \(key "a"\): .*given twice \(first on line 1\)/],
  ['var-files', '../../etc/passwd', /leaves the workspace/],
  ['var-files', 'missing.tfvars', /no such file/],
  ['working-directory', '../outside', /leaves the workspace/],
  ['working-directory', '/etc', /leaves the workspace/],
  ['working-directory', 'infra', /no such directory/],
  ['frontend-directory', 'web', /no such directory/],
  ['build-directory', '../../..', /leaves the workspace/],
  ['build-env', 'VITE API=api_url', /^Input 'build-env' line 1: has no valid key; .*key=value/],
  [
    'build-env',
    'VITE_API_URL=api url',
    /line 1 \(key "VITE_API_URL"\): .*ENV_NAME=terraform_output_name/
  ],
  ['config-file', '../config.json', /relative file name/],
  ['config-file', '/config.json', /relative file name/],
  ['site-bucket', 'Site_Bucket', /lower-case letters/],
  ['site-prefix', 'a/../b', /segments/],
  ['distribution-id', 'e-123', /CloudFront distribution id/],
  ['cache-control', 'assets/**', /glob=value/],
  ['cache-control', '*.html=no-cache\r\n=x', /glob=value/],
  ['invalidate', 'everything', /use one of changed, all, none/],
  ['wait-for-invalidation', 'sure', /use true or false/],
  ['health-check', 'ftp://example.com', /http\(s\) URL/],
  ['health-check', 'output:bad name', /output:<terraform_output_name>/],
  ['comment', 'sometimes', /use one of always, on-change, never/],
  ['require-reviewed-plan', 'on', /use true or false/],
  ['terraform-download-url', 'file:///tmp/x', /http\(s\) URL/],
  ['terraform-download-url', 'http://mirror.example.com/terraform', /plain http is refused/],
  ['terraform-signing-key', '72D7468F', /armored OpenPGP public key/]
]

describe('bad inputs through the bundled action', () => {
  it.each(cases)('%s = %j fails with one line naming the input', async (input, value, pattern) => {
    const run = await runAction({ workspace, inputs: { [input]: value }, env })
    expect(run.exitCode).toBe(1)
    expect(run.errors).toHaveLength(1)
    const message = run.errors[0] ?? ''
    expect(message).not.toContain('\n')
    expect(message).toContain(`Input '${input}'`)
    expect(message).toMatch(pattern)
    expect(run.outputs['backend-created']).toBeUndefined()
  })

  // The values of these inputs' lines can be secrets: an error about a line names the input, the
  // line number and the key (when the line has a well-formed one), and no part of the value reaches
  // the log, the outputs or the job summary.
  const secret = 'hunter2-Sup3rS3cret-9f8e7d'
  const secretLines: Array<[string, string, RegExp]> = [
    [
      'variables',
      `region_name=eu\n# database\ndb_password=${secret}\ndb_password=${secret}-again`,
      /^Input 'variables' line 4 \(key "db_password"\): this key is given twice \(first on line 3\)/
    ],
    ['variables', `app=shop\n\ndb_password: ${secret}`, /^Input 'variables' line 3: has no "="/],
    [
      'backend-config',
      `# role\nrole_arn=arn:aws:iam::1:role/x\nsecret_key ${secret}=x`,
      /^Input 'backend-config' line 3: has no valid key/
    ],
    [
      'backend-config',
      `skip_metadata_api_check=true\nbucket=${secret}`,
      /^Input 'backend-config' line 2 \(key "bucket"\): this setting is set by the action/
    ],
    [
      'build-env',
      `VITE_API_URL=api_url\nVITE_TOKEN=${secret}/x`,
      /^Input 'build-env' line 2 \(key "VITE_TOKEN"\): the value is not a Terraform output name/
    ],
    ['build-env', `=${secret}`, /^Input 'build-env' line 1: has no key/]
  ]
  it.each(secretLines)(
    'a bad %s line is named by line and key, never by its value (%#)',
    async (input, value, pattern) => {
      const run = await runAction({ workspace, inputs: { [input]: value }, env })
      expect(run.exitCode).toBe(1)
      for (const part of [secret, 'Sup3rS3cret', 'hunter2']) {
        expect(run.log).not.toContain(part)
        expect(run.summary).not.toContain(part)
        expect(JSON.stringify(run.outputs)).not.toContain(part)
      }
      expect(run.errors).toEqual([expect.stringMatching(pattern)])
    }
  )

  it('fails clearly when no region is given anywhere', async () => {
    const { AWS_REGION: _r, ...noRegion } = env
    const run = await runAction({ workspace, env: noRegion })
    expect(run.exitCode).toBe(1)
    expect(run.errors[0]).toMatch(/Input 'aws-region'.*AWS_REGION/)
  })
})
