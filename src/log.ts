/**
 * Where a phase writes its log: the step log through @actions/core by default; unit tests pass a
 * collecting one. (Terraform's own output streams through `terraform/cli.ts`'s line writer.)
 */
import * as core from '@actions/core'

export interface Log {
  debug(message: string): void
  info(message: string): void
  notice(message: string): void
  warning(message: string): void
  /** Runs `fn` with its output folded into one group of the log. */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>
}

/** The title of the log group open now, if any. */
let openGroup: string | undefined

/**
 * Runs `fn` with its output folded into a log group titled `title`. GitHub does not nest groups:
 * inside one already open (a phase's), the title is a plain marker line and the output stays in the
 * outer group.
 */
export async function group<T>(title: string, fn: () => Promise<T>): Promise<T> {
  if (openGroup !== undefined) {
    core.info(`── ${title}`)
    return fn()
  }
  openGroup = title
  core.startGroup(title)
  try {
    return await fn()
  } finally {
    core.endGroup()
    openGroup = undefined
  }
}

export const coreLog: Log = {
  debug: message => core.debug(message),
  info: message => core.info(message),
  notice: message => core.notice(message),
  warning: message => core.warning(message),
  group
}
