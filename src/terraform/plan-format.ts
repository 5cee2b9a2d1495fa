/**
 * What makes a JSON document a Terraform plan this action reads: the format versions, the action
 * lists, and the one error for anything else.
 */
import type { ReplaceOrder, ResourceAction } from './plan'

/** The input is not a Terraform JSON plan (or not one this action can read). */
export class PlanFormatError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PlanFormatError'
  }
}

const EXPECTED =
  'expected the output of `terraform show -json <planfile>` (a JSON object with format_version 0.2 or 1.x and planned_values)'

export function fail(message: string): never {
  throw new PlanFormatError(`Not a Terraform plan: ${message}; ${EXPECTED}.`)
}

export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

/** Formats 0.2 (Terraform 0.15 to 1.0) and 1.x (Terraform 1.1 and later) are read. */
export function checkFormatVersion(version: string): void {
  const [major, minor] = version.split('.')
  if (major === '1' || (major === '0' && minor === '2')) return
  const quoted = JSON.stringify(version)
  if (major === '0' && (minor === '1' || minor === '0')) {
    throw new PlanFormatError(
      `Unsupported Terraform plan JSON format_version ${quoted}: Terraform 0.12 to 0.14 write it without marking sensitive values, so this action cannot keep them out of the report. Use Terraform 0.15 or later (the action is tested with 1.5 or later).`
    )
  }
  throw new PlanFormatError(
    `Unsupported Terraform plan JSON format_version ${quoted}: this action reads formats 0.2 and 1.x (Terraform 0.15 and later). Update the action.`
  )
}

export interface ParsedActions {
  action: ResourceAction
  replaceOrder?: ReplaceOrder
  forgetsPrevious?: boolean
}

/** The action lists Terraform writes (see the `Change` type in Terraform's jsonplan package). */
export function parseActions(actions: unknown, where: string): ParsedActions {
  if (!Array.isArray(actions) || !actions.every(a => typeof a === 'string')) {
    fail(`${where} is not a list of action names`)
  }
  switch (actions.join(',')) {
    case 'no-op':
      return { action: 'no-op' }
    case 'create':
      return { action: 'create' }
    case 'read':
      return { action: 'read' }
    case 'update':
      return { action: 'update' }
    case 'delete':
      return { action: 'delete' }
    case 'forget':
      return { action: 'forget' }
    case 'delete,create':
      return { action: 'replace', replaceOrder: 'destroy-before-create' }
    case 'create,delete':
      return { action: 'replace', replaceOrder: 'create-before-destroy' }
    case 'create,forget':
      return { action: 'create', forgetsPrevious: true }
    default:
      throw new PlanFormatError(
        `Unsupported action ${JSON.stringify(actions)} at ${where}: this action does not know what it does, so it will not summarize the plan. Update the action.`
      )
  }
}
