/**
 * The `stack` input: a matrix job runs one stack of the stacks file. The stack's inputs (its own and
 * the file's defaults) apply under the workflow's explicit inputs: an input the workflow left at
 * action.yml's default takes the stack's value.
 */
import { InputError } from '../errors'
import { actionDefault, INPUT_NAMES, withDefault, type InputReader } from '../input-reader'
import { loadStacks, type Stack } from './stacks-file'

export interface StackRun {
  name: string
  dependsOn: string[]
  /** The stacks file it comes from (undefined: a discovered stack). */
  file?: string
}

/** Inputs the workflow set: those that differ from action.yml's default. */
export function explicitInputs(input: InputReader): (name: string) => string | undefined {
  return name => {
    const value = input(name)
    return value !== '' && value !== actionDefault(name) ? value : undefined
  }
}

/** The input reader with the named stack's defaults under the explicit inputs (unchanged without `stack`). */
export function withStackDefaults(
  input: InputReader,
  workspace: string
): { input: InputReader; stack?: StackRun } {
  const name = input('stack')
  if (!name) return { input }
  const explicit = explicitInputs(input)
  const set = loadStacks({
    workspace,
    file: withDefault(input, 'stacks-file'),
    inputNames: INPUT_NAMES,
    explicit
  })
  const stack = set.stacks.find(s => s.name === name)
  if (!stack) {
    const names = set.stacks.map(s => s.name)
    throw new InputError(
      'stack',
      name,
      `no such stack in ${set.file ?? 'the discovered stacks'}; use one of ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', …' : ''}`
    )
  }
  const layered: InputReader = n => explicit(n) ?? stackValue(stack, n) ?? input(n)
  return {
    input: layered,
    stack: { name, dependsOn: stack.dependsOn, ...(set.file !== undefined && { file: set.file }) }
  }
}

function stackValue(stack: Stack, name: string): string | undefined {
  if (name === 'working-directory') return stack.directory === '.' ? '.' : stack.directory
  if (name === 'environment') return stack.environment
  return stack.inputs[name]
}
