/**
 * The environment of the processes the action starts (Terraform, the frontend build): what a plain
 * `run:` step of the job would see, less what belongs to this step only.
 *
 * - The step's file commands (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH, GITHUB_STATE,
 *   GITHUB_STEP_SUMMARY): a child writing there would set this action's outputs (hashicorp/
 *   setup-terraform's wrapper writes Terraform's whole stdout into `stdout`), the job's environment
 *   or its summary.
 * - The action's inputs (INPUT_*: the github-token, variable values) and its saved state (STATE_*).
 * - The runner's tokens for the action toolkit (ACTIONS_RUNTIME_TOKEN, the OIDC request token and URL,
 *   the cache and results service URLs): a build's third-party install scripts must not get them.
 */
const STEP_ONLY = new Set([
  'GITHUB_OUTPUT',
  'GITHUB_ENV',
  'GITHUB_PATH',
  'GITHUB_STATE',
  'GITHUB_STEP_SUMMARY',
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_RUNTIME_URL',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
  'ACTIONS_ID_TOKEN_REQUEST_URL',
  'ACTIONS_CACHE_URL',
  'ACTIONS_CACHE_SERVICE_V2',
  'ACTIONS_RESULTS_URL'
])

/** Whether a variable of this process stays out of the children's environment. */
export function isStepOnly(name: string): boolean {
  const upper = name.toUpperCase()
  return STEP_ONLY.has(upper) || upper.startsWith('INPUT_') || upper.startsWith('STATE_')
}

/** The children's environment: this process's, less the step-only variables, plus `extra`. */
export function childEnv(
  extra: Record<string, string> = {},
  env: NodeJS.ProcessEnv = process.env
): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !isStepOnly(name)) out[name] = value
  }
  return Object.assign(out, extra)
}
