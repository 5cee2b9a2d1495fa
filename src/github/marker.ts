/**
 * The hidden marker that identifies a stack's pull-request comment (and finds it again): a hash of
 * the working directory and the state key, on the body's first line.
 */
import { createHash } from 'node:crypto'
import { posix } from 'node:path'

export interface StackIdentity {
  workingDirectory: string
  stateKey: string
  environment: string
}

const MARKER_PREFIX = '<!-- revive-deploy:stack='
const MARKER_SUFFIX = ' -->'

/** The stack's id: working directory (normalised) + state key, hashed. */
export function stackId(stack: StackIdentity): string {
  const dir = normaliseDirectory(stack.workingDirectory)
  return createHash('sha256').update(`${dir}\n${stack.stateKey}`).digest('hex').slice(0, 16)
}

function normaliseDirectory(dir: string): string {
  const normalised = posix.normalize(dir.replace(/\\/g, '/').trim() || '.')
  return normalised.length > 1 ? normalised.replace(/\/+$/, '') : normalised
}

/** The hidden HTML comment that identifies the stack's PR comment, e.g. `<!-- revive-deploy:stack=1a2b… -->`. */
export function stackMarker(stack: StackIdentity): string {
  return `${MARKER_PREFIX}${stackId(stack)}${MARKER_SUFFIX}`
}

/**
 * True only when the body starts with the stack's marker on a line of its own, which is how the
 * renderer writes it. Copies of the marker anywhere else (in plan text, in someone's reply) do not
 * count. Callers should also check the comment's author is the token's user.
 */
export function findsMarker(body: string, stack: StackIdentity): boolean {
  const marker = stackMarker(stack)
  if (!body.startsWith(marker)) return false
  const next = body.charAt(marker.length)
  return next === '' || next === '\n' || next === '\r'
}
