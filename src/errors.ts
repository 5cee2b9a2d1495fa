/**
 * A mistake in the action's inputs: carries the input's name, the value it had and what would be
 * accepted, and renders as one line (values are JSON-quoted so a newline in them cannot split it).
 */
export class InputError extends Error {
  constructor(
    readonly input: string,
    readonly value: string | undefined,
    readonly fix: string
  ) {
    super(
      value === undefined
        ? `Input '${input}': ${fix}`
        : `Input '${input}' has an invalid value ${quote(value)}: ${fix}`
    )
    this.name = 'InputError'
  }
}

/**
 * A mistake on one line of a `key=value` list input (`variables`, `backend-config`, `build-env`). The
 * values of those lines may be secrets, so the message names the input, the line number (counted from
 * the input's first line, comments and blank lines included) and the key when the line has a
 * well-formed one, never the line's text: `Input 'variables' line 3 (key "db_password"): fix`.
 */
export class InputLineError extends InputError {
  constructor(
    input: string,
    readonly line: number,
    readonly key: string | undefined,
    fix: string
  ) {
    super(input, undefined, fix)
    this.message = `Input '${input}' ${linePlace(line, key)}: ${fix}`
  }
}

/** `line 3 (key "db_password")`, or `line 3` for a line without a usable key. */
export function linePlace(line: number, key: string | undefined): string {
  return key === undefined ? `line ${line}` : `line ${line} (key ${quote(key)})`
}

/** A failure the user can act on, already phrased as the one line the step should fail with. */
export class DeployError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'DeployError'
  }
}

/** Quote a value for a one-line message, shortening very long values. */
export function quote(value: string, max = 120): string {
  const shown = value.length > max ? `${value.slice(0, max)}…` : value
  return JSON.stringify(shown)
}

/** Turn anything thrown into one readable line. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const text = error.message || error.name
    return oneLine(text)
  }
  if (typeof error === 'string') return oneLine(error)
  try {
    return oneLine(JSON.stringify(error))
  } catch {
    return String(error)
  }
}

/** Collapse whitespace runs (including newlines) so a message stays on one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\r?\n\s*/g, ' ').trim()
}
