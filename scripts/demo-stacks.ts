// `npm run demo -- --stacks`: three stacks in one repository, on the local stand-ins with the real
// Terraform and the bundled action (dist/index.js), the way the workflow in docs/stacks.md runs them:
//
//   1. workflow_dispatch  mode stacks: every stack; each applied in its wave (network → data → app)
//   2. pull_request       a change to modules/web (used by app only): mode stacks picks app alone,
//                         app is planned and comments, mode overview comments for all three
//
// Then a table of which stacks ran for the module change and why, and the overview comment. The exit
// code is 0 only when every run succeeded and the change touched exactly the stack that uses it.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { DEFAULT_GITHUB_TOKEN, startStandIns, type StandIns } from '../standins/index'
import { repoRoot, runAction, type ActionRun } from '../standins/run-action'
import { commit, makeStacksRepo, pullRequestPayload } from '../__tests__/helpers/stacks-repo'
import { errorMessage } from '../src/errors'
import { ensureTerraform } from './dev-terraform'

const REGION = 'us-east-1'
const REPOSITORY = 'acme/revive-stacks'
const PR_NUMBER = 12

interface Matrix {
  include: Array<{ stack: string }>
}

export async function demoStacks(): Promise<number> {
  await ensureTerraform(line => console.log(line))
  if (!fs.existsSync(path.join(repoRoot, 'dist', 'index.js')))
    throw new Error('dist/index.js is missing: run `npm run build` first.')
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'revive-demo-stacks-'))
  let standins: StandIns | undefined
  try {
    standins = await startStandIns()
    const si = standins
    const { dir, base } = makeStacksRepo(undefined, fs.mkdtempSync(path.join(root, 'repo-')))
    console.log(`Repository: ${dir} (network, data, app; revive-deploy.yml)`)
    si.github.addPullRequest(REPOSITORY, { number: PR_NUMBER, headSha: 'pending' })
    const backendConfig = si
      .backendConfig(REGION)
      .filter(line => !line.startsWith('region='))
      .join('\n')
    const run = async (
      inputs: Record<string, string>,
      event: { name: string; payload: Record<string, unknown> },
      sha: string,
      runId: string
    ): Promise<ActionRun> => {
      const result = await runAction({
        workspace: dir,
        event,
        inputs: { 'aws-region': REGION, 'backend-config': backendConfig, ...inputs },
        env: {
          ...si.env,
          GITHUB_REPOSITORY: REPOSITORY,
          GITHUB_RUN_ID: runId,
          GITHUB_SHA: sha,
          GITHUB_TOKEN: DEFAULT_GITHUB_TOKEN,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true'
        }
      })
      const what = inputs.stack ? `${inputs.mode} ${inputs.stack}` : inputs.mode
      console.log(
        `  ${what}: exit ${result.exitCode}${result.errors.length > 0 ? ` (${result.errors.join('; ')})` : ''}`
      )
      if (result.exitCode !== 0) throw new Error(`the ${what} run failed`)
      return result
    }

    console.log('\nRun 1: workflow_dispatch, every stack applied wave by wave')
    const dispatch = { name: 'workflow_dispatch', payload: {} }
    const all = await run({ mode: 'stacks' }, dispatch, base, '5001')
    const allWaves = JSON.parse(all.outputs.waves ?? '[]') as string[][]
    console.log(`  waves: ${JSON.stringify(allWaves)}`)
    for (const wave of allWaves)
      for (const stack of wave) await run({ mode: 'apply', stack }, dispatch, base, '5001')

    console.log('\nRun 2: pull request changing modules/web (used by app only)')
    const head = commit(
      dir,
      {
        'modules/web/main.tf':
          'module "nested" {\n  source = "../nested"\n}\n\nresource "terraform_data" "web" {\n  input = "web v2"\n}\n'
      },
      'web v2'
    )
    const pr = { name: 'pull_request', payload: pullRequestPayload(PR_NUMBER, base, head) }
    const selected = await run({ mode: 'stacks' }, pr, head, '5002')
    const names = (JSON.parse(selected.outputs.matrix ?? '{}') as Matrix).include.map(e => e.stack)
    const plans: Record<string, string> = {}
    for (const stack of names) {
      const plan = await run({ mode: 'plan', stack }, pr, head, '5002')
      plans[stack] = plan.outputs['plan-summary'] ?? ''
    }
    await run({ mode: 'overview' }, pr, head, '5002')

    // The table: the job summary of mode stacks has each stack, whether it ran, and why.
    const table = selected.summary
      .split('\n')
      .filter(l => l.startsWith('|'))
      .map((l, i) =>
        i === 0
          ? `${l} Plan |`
          : i === 1
            ? `${l} --- |`
            : `${l} ${plans[/`([^`]+)`/.exec(l)?.[1] ?? ''] ?? ''} |`
      )
    console.log(`\nWhich stacks ran for the change to modules/web:\n\n${table.join('\n')}`)
    const overview = si.github
      .comments(REPOSITORY, PR_NUMBER)
      .find(c => c.body.startsWith('<!-- revive-deploy:overview -->'))
    console.log(
      `\nThe overview comment on #${PR_NUMBER}:\n\n${overview?.body.replace(/<!--[\s\S]*?-->\n?/g, '') ?? '(none)'}`
    )
    const ok = names.length === 1 && names[0] === 'app' && overview !== undefined
    console.log(
      ok
        ? 'All as expected: only app ran, and the overview lists all three.'
        : 'UNEXPECTED: see above.'
    )
    return ok ? 0 : 1
  } catch (error) {
    console.error(`The stacks demo FAILED: ${errorMessage(error)}`)
    return 1
  } finally {
    await standins?.stop().catch(() => undefined)
    fs.rmSync(root, { recursive: true, force: true })
  }
}
