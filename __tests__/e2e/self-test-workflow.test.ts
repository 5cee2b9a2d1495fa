import { describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { parse } from 'yaml'
import { parseOutputFile, repoRoot, runAction } from '../../standins/run-action'

// The self-test workflow (.github/workflows/self-test.yml) cannot run on GitHub from here, so this
// test plays the runner for its one job: `run:` steps with bash as GitHub runs them (GITHUB_ENV,
// GITHUB_OUTPUT, RUNNER_TEMP), `uses: ./` steps through the bundled action with the step's `with:`,
// and the `${{ env.* }}` / `${{ steps.*.outputs.* }}` expressions the workflow uses. Set-up steps
// that install tools this machine already has (checkout, setup-node, setup-terraform, npm ci) are
// skipped. The workflow's own last check step must pass.

interface Step {
  id?: string
  name?: string
  if?: string
  uses?: string
  run?: string
  with?: Record<string, string>
  env?: Record<string, string>
}
interface Workflow {
  jobs: Record<string, { env?: Record<string, string>; steps: Step[] }>
}

const SETUP_ACTIONS = /^(actions\/checkout|actions\/setup-node|hashicorp\/setup-terraform)@/

function expand(
  text: string,
  env: Record<string, string>,
  steps: Record<string, Record<string, string>>
): string {
  return text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expr: string) => {
    const envRef = /^env\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(expr)
    if (envRef) return env[envRef[1] ?? ''] ?? ''
    const out = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(expr)
    if (out) return steps[out[1] ?? '']?.[out[2] ?? ''] ?? ''
    throw new Error(`the test runner does not evaluate \${{ ${expr} }}`)
  })
}

function bash(
  script: string,
  cwd: string,
  env: Record<string, string>
): Promise<{ code: number | null; output: string }> {
  // GitHub's default shell for `run:` on Linux.
  const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c))
  child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', code => resolve({ code, output }))
  })
}

async function stopServer(logFile: string): Promise<void> {
  const pid = Number(/ready \(pid (\d+)/.exec(fs.readFileSync(logFile, 'utf8'))?.[1])
  if (!pid) return
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0)
    } catch {
      return
    }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

describe('self-test workflow', () => {
  it('deploys the demo with uses: ./ against the stand-ins and its checks pass', async () => {
    const workflow = parse(
      fs.readFileSync(path.join(repoRoot, '.github', 'workflows', 'self-test.yml'), 'utf8')
    ) as Workflow
    const job = workflow.jobs['self-test']
    expect(job).toBeDefined()
    if (!job) return

    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'self-test-'))
    const workspace = path.join(root, 'workspace')
    const runnerTemp = path.join(root, 'runner-temp')
    fs.mkdirSync(runnerTemp, { recursive: true })
    // The checkout: the demo stack and frontend as files, the rest of the repository linked.
    for (const dir of ['terraform/demo', 'demo/frontend']) {
      fs.cpSync(path.join(repoRoot, dir), path.join(workspace, dir), {
        recursive: true,
        filter: src => !/(^|\/)(\.terraform|node_modules|dist)$/.test(src)
      })
    }
    for (const entry of ['scripts', 'standins', 'node_modules', 'package.json']) {
      fs.symlinkSync(path.join(repoRoot, entry), path.join(workspace, entry))
    }

    const baseEnv: Record<string, string> = {}
    for (const [name, value] of Object.entries(process.env)) {
      if (value !== undefined && name !== 'NODE_OPTIONS') baseEnv[name] = value
    }
    const jobEnv: Record<string, string> = {
      GITHUB_REPOSITORY: 'acme/revive-deploy',
      GITHUB_RUN_ID: '9001',
      GITHUB_WORKSPACE: workspace,
      RUNNER_TEMP: runnerTemp,
      CI: 'true',
      ...(job.env ?? {})
    }
    const steps: Record<string, Record<string, string>> = {}
    const ran: string[] = []
    let failed = false
    const log: string[] = []
    try {
      for (const [index, step] of job.steps.entries()) {
        const label = step.name ?? step.uses ?? `step ${index + 1}`
        if (step.uses && SETUP_ACTIONS.test(step.uses)) continue
        if (step.run && /^npm ci\b/.test(step.run.trim())) continue
        if (step.if === 'failure()' && !failed) continue
        if (step.if && step.if !== 'failure()') throw new Error(`unexpected if: ${step.if}`)
        ran.push(label)

        if (step.uses === './') {
          const inputs = Object.fromEntries(
            Object.entries(step.with ?? {}).map(([k, v]) => [k, expand(String(v), jobEnv, steps)])
          )
          const run = await runAction({
            workspace,
            inputs,
            event: { name: 'push', payload: {} },
            env: Object.fromEntries(
              Object.entries(jobEnv).filter(([k]) => !['RUNNER_TEMP', 'CI'].includes(k))
            )
          })
          fs.rmSync(run.runnerDir, { recursive: true, force: true })
          log.push(`--- ${label}: exit ${run.exitCode} ${run.errors.join(' | ')}`)
          if (step.id) steps[step.id] = run.outputs
          if (run.exitCode !== 0) {
            log.push(run.log.split('\n').slice(-40).join('\n'))
            failed = true
            break
          }
          continue
        }

        expect(typeof step.run).toBe('string')
        const envFile = path.join(runnerTemp, `env-${index}`)
        const outputFile = path.join(runnerTemp, `output-${index}`)
        fs.writeFileSync(envFile, '')
        fs.writeFileSync(outputFile, '')
        const stepEnv = Object.fromEntries(
          Object.entries(step.env ?? {}).map(([k, v]) => [k, expand(String(v), jobEnv, steps)])
        )
        const result = await bash(expand(step.run ?? '', jobEnv, steps), workspace, {
          ...baseEnv,
          ...jobEnv,
          ...stepEnv,
          GITHUB_ENV: envFile,
          GITHUB_OUTPUT: outputFile
        })
        log.push(`--- ${label}: exit ${result.code}\n${result.output}`)
        Object.assign(jobEnv, parseOutputFile(fs.readFileSync(envFile, 'utf8')))
        if (step.id) steps[step.id] = parseOutputFile(fs.readFileSync(outputFile, 'utf8'))
        if (result.code !== 0) {
          failed = true
          if (step.if !== 'failure()') {
            // Later steps are skipped, except `if: failure()` ones.
            const rest = job.steps.slice(index + 1).filter(s => s.if === 'failure()')
            for (const s of rest) {
              const r = await bash(s.run ?? '', workspace, { ...baseEnv, ...jobEnv })
              log.push(`--- ${s.name ?? 'failure step'}\n${r.output}`)
            }
            break
          }
        }
      }
    } finally {
      await stopServer(path.join(runnerTemp, 'standins.log')).catch(() => undefined)
      fs.rmSync(root, { recursive: true, force: true })
    }

    const explain = log.join('\n')
    expect([failed, explain]).toEqual([false, explain])
    expect(ran).toEqual([
      'Start the stand-ins',
      'Plan (creates the state backend)',
      'Deploy',
      'Count the resources in state',
      'Deploy again, nothing changed',
      'Change one file of the frontend',
      'Redeploy the frontend only',
      'Check the figures'
    ])
    // What the check step compared, as the outputs show it.
    expect(steps.plan?.['backend-created']).toBe('true')
    expect(Number(steps.deployed?.resources)).toBeGreaterThan(0)
    expect(steps.deployed?.resources?.trim()).toBe(steps.deploy?.['to-add'])
    expect(steps.frontend?.uploaded).toBe('1')
    expect(explain).toMatch(/ok: frontend: uploaded = 1/)
  }, 300_000)
})
