import { actionDefaults } from '../../standins/run-action'

/**
 * Every input as the runner passes it: action.yml's defaults, with `${{ github.token }}` evaluated
 * (to nothing here: no GitHub calls are measured), then `inputs`.
 */
export function runnerInputs(inputs: Record<string, string> = {}): Record<string, string> {
  return { ...actionDefaults(), 'github-token': '', ...inputs }
}
