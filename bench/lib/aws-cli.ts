/**
 * Finds AWS CLI v2 (the Debian package `awscli` installs /usr/bin/aws) and runs `aws s3 sync`
 * against the S3 stand-in. A v1 `aws` earlier on PATH (e.g. from pip) is skipped: the comparison is
 * with v2, the CLI GitHub's runners have.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { runProcess, type ProcessRun } from './proc'

export interface AwsCli {
  bin: string
  /** e.g. `aws-cli/2.9.19 Python/3.11.2 ...` */
  version: string
}

export interface CliLookup {
  cli?: AwsCli
  /** Why there is none (shown in the table). */
  missing?: string
}

export async function findAwsCliV2(): Promise<CliLookup> {
  const candidates: string[] = []
  if (process.env.AWS_CLI) candidates.push(process.env.AWS_CLI)
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir) candidates.push(path.join(dir, 'aws'))
  }
  candidates.push('/usr/bin/aws', '/usr/local/bin/aws')
  const seen = new Set<string>()
  const others: string[] = []
  for (const bin of candidates) {
    if (seen.has(bin) || !fs.existsSync(bin)) continue
    seen.add(bin)
    const run = await runProcess(bin, ['--version'], { timeoutMs: 60_000 }).catch(() => undefined)
    const version = `${run?.stdout ?? ''}${run?.stderr ?? ''}`.trim().split('\n')[0] ?? ''
    if (/^aws-cli\/2\./.test(version)) return { cli: { bin, version } }
    if (version) others.push(`${bin}: ${version.split(' ')[0]}`)
  }
  return {
    missing:
      'AWS CLI v2 not found (apt-get install awscli, or set AWS_CLI)' +
      (others.length ? `; found only ${others.join(', ')}` : '')
  }
}

/** A config directory pointing the CLI at the stand-in, path-style. */
export function cliEnvironment(
  dir: string,
  standinEnv: Record<string, string>,
  region: string
): Record<string, string> {
  const config = path.join(dir, 'aws-config')
  // What `aws configure set default.s3.addressing_style path` writes.
  fs.writeFileSync(config, `[default]\nregion = ${region}\ns3 =\n    addressing_style = path\n`)
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    LANG: 'C.UTF-8',
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-credentials'),
    AWS_ACCESS_KEY_ID: standinEnv.AWS_ACCESS_KEY_ID ?? '',
    AWS_SECRET_ACCESS_KEY: standinEnv.AWS_SECRET_ACCESS_KEY ?? '',
    AWS_DEFAULT_REGION: region,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
    // Read by CLI versions from 2.13 on; older ones need --endpoint-url, which is passed too.
    AWS_ENDPOINT_URL_S3: standinEnv.AWS_ENDPOINT_URL_S3 ?? ''
  }
}

export interface CliSync {
  run: ProcessRun
  uploadedKeys: string[]
  deletedKeys: string[]
}

/** `aws s3 sync <dir> s3://<bucket> --delete --no-progress`, as a deploy workflow runs it. */
export async function cliSync(
  cli: AwsCli,
  env: Record<string, string>,
  dir: string,
  bucket: string
): Promise<CliSync> {
  const run = await runProcess(
    cli.bin,
    [
      's3',
      'sync',
      dir,
      `s3://${bucket}`,
      '--delete',
      '--no-progress',
      '--endpoint-url',
      env.AWS_ENDPOINT_URL_S3 ?? ''
    ],
    { env, cpu: true }
  )
  if (run.code !== 0) {
    throw new Error(`aws s3 sync failed (exit ${run.code}):\n${run.stderr.slice(-3000)}`)
  }
  const uploadedKeys: string[] = []
  const deletedKeys: string[] = []
  const target = `s3://${bucket}/`
  for (const line of run.stdout.split('\n')) {
    const at = line.lastIndexOf(target)
    if (line.startsWith('upload: ') && at >= 0) uploadedKeys.push(line.slice(at + target.length))
    if (line.startsWith('delete: ') && at >= 0) deletedKeys.push(line.slice(at + target.length))
  }
  return { run, uploadedKeys, deletedKeys }
}
