/** The report's configuration: the token, the pull-request comment and the drift issue. */
import { bool, oneOf, optional, type InputReader } from '../input-reader'

export type CommentMode = 'always' | 'on-change' | 'never'

export interface ReportInputs {
  githubToken?: string
  comment: CommentMode
  /** In drift mode: open, update and close one issue per stack (drift-issue). */
  driftIssue: boolean
}

const COMMENT = ['always', 'on-change', 'never'] as const

export function readReportConfig(input: InputReader): ReportInputs {
  const githubToken = optional(input('github-token'))
  const comment = oneOf(input, 'comment', COMMENT)
  return {
    ...(githubToken !== undefined && { githubToken }),
    comment,
    driftIssue: bool(input, 'drift-issue')
  }
}
