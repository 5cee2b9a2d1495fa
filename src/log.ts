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

export const coreLog: Log = {
  debug: message => core.debug(message),
  info: message => core.info(message),
  notice: message => core.notice(message),
  warning: message => core.warning(message),
  group: (name, fn) => core.group(name, fn)
}
