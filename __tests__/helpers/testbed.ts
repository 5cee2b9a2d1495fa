import type { ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { CreateBucketCommand, S3Client, GetObjectCommand } from '@aws-sdk/client-s3'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import {
  startStandIns,
  type StandIns,
  type StandInsOptions,
  type RecordedRequest
} from '../../standins/index'
import {
  runAction,
  repoRoot,
  type ActionRun,
  type RunActionOptions
} from '../../standins/run-action'

export const FIXTURE_STACKS = path.join(repoRoot, '__tests__', 'fixtures', 'stacks')

/** A workspace (temp dir) holding a copy of a fixture stack as its `terraform/` folder. */
export function makeWorkspace(stack = 'app', files: Record<string, string> = {}): string {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'revive-ws-'))
  fs.cpSync(path.join(FIXTURE_STACKS, stack), path.join(workspace, 'terraform'), {
    recursive: true
  })
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(workspace, rel)), { recursive: true })
    fs.writeFileSync(path.join(workspace, rel), content)
  }
  return workspace
}

export interface Testbed {
  standins: StandIns
  region: string
  /** The backend-config input that points Terraform at the stand-ins. */
  backendConfig: string
  /** Run the bundled action with the stand-ins' environment. */
  run(
    workspace: string,
    inputs?: Record<string, string>,
    options?: Partial<RunActionOptions>
  ): Promise<ActionRun>
  s3(): S3Client
  dynamodb(): DynamoDBClient
  /** The Terraform state object as JSON (undefined when missing). */
  state(bucket: string, key?: string): Promise<TerraformState | undefined>
  stop(): Promise<void>
}

export interface TerraformState {
  serial: number
  lineage: string
  resources: Array<{ type: string; name: string; instances: unknown[] }>
}

/** Resource instances recorded in a state (what a duplicate would show up in). */
export function instanceCount(state: TerraformState | undefined): number {
  return (state?.resources ?? []).reduce((n, r) => n + r.instances.length, 0)
}

export async function startTestbed(
  region = 'eu-west-1',
  options: StandInsOptions = {}
): Promise<Testbed> {
  const standins = await startStandIns(options)
  const backendConfig = standins
    .backendConfig(region)
    .filter(line => !line.startsWith('region='))
    .join('\n')
  const clientConfig = {
    region,
    forcePathStyle: true,
    credentials: {
      accessKeyId: standins.env.AWS_ACCESS_KEY_ID ?? '',
      secretAccessKey: standins.env.AWS_SECRET_ACCESS_KEY ?? ''
    }
  }
  const s3 = new S3Client({ ...clientConfig, endpoint: standins.s3.url })
  const dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: standins.dynamodb.url })
  return {
    standins,
    region,
    backendConfig,
    run(workspace, inputs = {}, options = {}) {
      return runAction({
        workspace,
        event: options.event ?? { name: 'push', payload: {} },
        ...options,
        inputs: { 'aws-region': region, 'backend-config': backendConfig, ...inputs },
        env: {
          GITHUB_REPOSITORY: 'acme/shop',
          GITHUB_RUN_ID: '1001',
          ...standins.env,
          ...(options.env ?? {})
        }
      })
    },
    s3: () => s3,
    dynamodb: () => dynamodb,
    async state(bucket, key = 'production/terraform.tfstate') {
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
        const text = (await out.Body?.transformToString()) ?? ''
        return text ? (JSON.parse(text) as TerraformState) : undefined
      } catch (error) {
        if ((error as { name?: string }).name === 'NoSuchKey') return undefined
        throw error
      }
    },
    async stop() {
      s3.destroy()
      dynamodb.destroy()
      await standins.stop()
    }
  }
}

/** Requests the action itself made (the AWS SDK for JavaScript), not Terraform's (Go SDK). */
export function byAction(requests: RecordedRequest[]): RecordedRequest[] {
  return requests.filter(r => /aws-sdk-js/i.test(r.userAgent))
}

export const WRITE_OPERATION =
  /^(Put|Create|Delete|Update|Tag|Untag|Copy|Upload|Complete|Abort|Restore)/

/**
 * Run the action and kill it (and the Terraform it runs) with SIGKILL once Terraform is creating
 * resources, as a runner that dies would: the state lock stays behind.
 */
export function runKilledMidApply(
  bed: Testbed,
  workspace: string,
  inputs: Record<string, string>
): Promise<ActionRun> {
  let child: ChildProcess | undefined
  let killing = false
  return bed.run(workspace, inputs, {
    onSpawn: c => (child = c),
    onOutput: chunk => {
      if (!killing && /Creating\.\.\./.test(chunk) && child?.pid) {
        killing = true
        const pid = child.pid
        setTimeout(() => process.kill(-pid, 'SIGKILL'), 1000)
      }
    }
  })
}

/** Output of a failed run, for assertions' messages. */
export function explain(run: ActionRun): string {
  return `exit ${run.exitCode}\nerrors: ${run.errors.join(' | ')}\n--- log tail ---\n${run.log.split('\n').slice(-60).join('\n')}`
}

/** Write frontend source files under <workspace>/frontend/src. */
export function writeSite(
  workspace: string,
  files: Record<string, string>,
  opts: { clean?: boolean } = {}
): void {
  if (opts.clean)
    fs.rmSync(path.join(workspace, 'frontend', 'src'), { recursive: true, force: true })
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(workspace, 'frontend', 'src', rel)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, content)
  }
}

/** A small site: HTML entry points, fingerprinted assets, an image. */
export const SMALL_SITE: Record<string, string> = {
  'index.html': '<!doctype html><title>shop</title><script src="/assets/app.1a2b3c4d.js"></script>',
  'assets/app.1a2b3c4d.js': 'console.log("shop")',
  'assets/style.9f8e7d6c.css': 'body{margin:0}',
  'about/index.html': '<h1>about</h1>',
  'logo.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>'
}

/** Inputs for a deploy whose "build" copies frontend/src to frontend/dist (no network needed). */
export const COPY_BUILD = {
  'build-command': 'rm -rf dist && mkdir -p dist && cp -R src/. dist/'
}

/** The site bucket and CloudFront distribution the `app` fixture stack's outputs name. */
export const APP_SITE = { bucket: 'app-site', distribution: 'EAPPDIST0001' } as const

/**
 * A testbed where the `app` stack's site bucket and distribution exist (as its real twin creates
 * them): the distribution's origin is the bucket's regional endpoint, at the bucket root.
 */
export async function startSiteTestbed(region = 'eu-west-1'): Promise<Testbed> {
  const bed = await startTestbed(region)
  await bed.s3().send(new CreateBucketCommand({ Bucket: APP_SITE.bucket }))
  bed.standins.cloud.addDistribution(APP_SITE.distribution, [
    { domainName: `${APP_SITE.bucket}.s3.${region}.amazonaws.com` }
  ])
  return bed
}

/** The GitHub stand-in's repository, bot login and write token, as the review tests use them. */
export const GITHUB_REPO = 'acme/shop'
export const GITHUB_BOT = 'github-actions[bot]'
export const GITHUB_WRITE_TOKEN = 'ghs_standin_write'

/** Run options of a pull_request event for pull request `number` (head `head<number>`). */
export const pullRequestEvent = (number: number): Partial<RunActionOptions> => ({
  event: {
    name: 'pull_request',
    payload: { pull_request: { number, head: { sha: `head${number}` } } }
  },
  env: { GITHUB_TOKEN: GITHUB_WRITE_TOKEN }
})

/** Run options of a push of commit `sha`. */
export const pushEvent = (sha: string): Partial<RunActionOptions> => ({
  event: { name: 'push', payload: { after: sha } },
  env: { GITHUB_TOKEN: GITHUB_WRITE_TOKEN, GITHUB_SHA: sha }
})
