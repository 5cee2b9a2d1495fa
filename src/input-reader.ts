/**
 * Generic readers of the action's inputs, shared by every phase's configuration reader: one input as
 * a choice, a boolean, an optional string, a list of lines or of key=value lines. Errors name the input.
 */
import { InputError, InputLineError } from './errors'

/**
 * The non-empty defaults of action.yml, the one place they are written down for the code: the runner
 * passes them for every input a workflow leaves out, and a reader falls back to them when an input is
 * empty (tests and local runs pass no defaults). __tests__/input-defaults.test.ts keeps this table equal
 * to action.yml (github-token's default is an expression the runner evaluates: it has no entry).
 */
export const DEFAULTS = {
  mode: 'auto',
  'working-directory': 'terraform',
  environment: 'production',
  'create-backend': 'true',
  'allow-fresh-state': 'false',
  'migrate-state': 'false',
  'lock-timeout': '5m',
  lock: 'dynamodb',
  'plan-lock': 'true',
  'terraform-download-url': 'https://releases.hashicorp.com/terraform',
  'build-command': 'npm ci && npm run build',
  'delete-removed': 'true',
  'keep-removed': '7d',
  invalidate: 'changed',
  'wait-for-invalidation': 'false',
  comment: 'always',
  'drift-issue': 'true',
  'require-reviewed-plan': 'false',
  protect: 'stateful',
  'allow-destroy-label': 'allow-destroy',
  'dry-run': 'false',
  'stacks-file': 'revive-deploy.yml'
} as const
export type DefaultedInput = keyof typeof DEFAULTS

/**
 * action.yml's inputs without a non-empty default (github-token's default is the runner's expression).
 * With DEFAULTS' keys they are every input of action.yml: __tests__/unit/input-defaults.test.ts keeps
 * the two equal, so the action never reads action.yml at run time.
 */
const WITHOUT_DEFAULT = [
  'aws-region',
  'project',
  'state-bucket',
  'state-key',
  'lock-table',
  'state-kms-key-id',
  'backend-config',
  'lock-id',
  'terraform-version',
  'terraform-signing-key',
  'variables',
  'var-files',
  'frontend-directory',
  'build-directory',
  'build-env',
  'config-file',
  'site-bucket',
  'site-prefix',
  'distribution-id',
  'cache-control',
  'health-check',
  'github-token',
  'allow-destroy',
  'stack'
] as const

/** Every input name of action.yml. */
export const INPUT_NAMES: ReadonlySet<string> = new Set([
  ...Object.keys(DEFAULTS),
  ...WITHOUT_DEFAULT
])

/** action.yml's default of any input ('' for one without a non-empty default, or not an input). */
export function actionDefault(name: string): string {
  return Object.hasOwn(DEFAULTS, name) ? DEFAULTS[name as DefaultedInput] : ''
}
type BoolInput = {
  [K in DefaultedInput]: (typeof DEFAULTS)[K] extends 'true' | 'false' ? K : never
}[DefaultedInput]

/** An input, or its action.yml default when empty. */
export function withDefault(input: InputReader, name: DefaultedInput): string {
  return input(name) || DEFAULTS[name]
}

export type InputReader = (name: string) => string
export type Env = Record<string, string | undefined>

export interface KeyValue {
  key: string
  value: string
  /** The line of the input this pair comes from (1-based), for errors that may not quote the line. */
  line?: number
}

/** Read the action's inputs the way the runner passes them (INPUT_<NAME> environment variables). */
export function inputsFromEnv(env: Env = process.env): InputReader {
  return name => (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim()
}

/** One of `allowed` (case-insensitive); empty: the action.yml default, which must be one of them. */
export function oneOf<T extends string>(
  input: InputReader,
  name: DefaultedInput,
  allowed: readonly T[]
): T {
  const value = withDefault(input, name)
  const match = allowed.find(a => a === value.toLowerCase())
  if (!match) throw new InputError(name, value, `use one of ${allowed.join(', ')}`)
  return match
}

/** true or false (case-insensitive); empty: the action.yml default. */
export function bool(input: InputReader, name: BoolInput): boolean {
  const value = withDefault(input, name)
  if (/^true$/i.test(value)) return true
  if (/^false$/i.test(value)) return false
  throw new InputError(name, value, 'use true or false')
}

export function optional(value: string): string | undefined {
  const trimmed = value.trim()
  return trimmed === '' ? undefined : trimmed
}

/** Non-empty, trimmed lines; lines starting with # are comments. */
export function lines(value: string): string[] {
  return numberedLines(value).map(({ text }) => text)
}

/** Like `lines`, each with its 1-based number in the whole value (comments and blank lines count). */
export function numberedLines(value: string): Array<{ line: number; text: string }> {
  return value
    .split(/\r?\n/)
    .map((text, index) => ({ line: index + 1, text: text.trim() }))
    .filter(({ text }) => text !== '' && !text.startsWith('#'))
}

/**
 * The `key=value` lines of a list input. The values may be secrets: errors name the line number and the
 * key (only a well-formed one: the text before "=" on a malformed line may be a pasted value), never
 * the line.
 */
export function keyValueLines(
  input: InputReader,
  name: string,
  keyPattern: RegExp,
  what: string
): Array<KeyValue & { line: number }> {
  const firstLine = new Map<string, number>()
  return numberedLines(input(name)).map(({ line, text }) => {
    const at = text.indexOf('=')
    const key = at > 0 ? text.slice(0, at).trim() : ''
    if (!key || !keyPattern.test(key)) {
      const problem = at < 0 ? 'has no "="' : at === 0 ? 'has no key' : 'has no valid key'
      throw new InputLineError(
        name,
        line,
        undefined,
        `${problem}; each line is key=value where key is ${what} (${keyPattern.source})`
      )
    }
    const first = firstLine.get(key)
    if (first !== undefined) {
      throw new InputLineError(
        name,
        line,
        key,
        `this key is given twice (first on line ${first}); keep one line per key`
      )
    }
    firstLine.set(key, line)
    return { key, value: text.slice(at + 1).trim(), line }
  })
}
