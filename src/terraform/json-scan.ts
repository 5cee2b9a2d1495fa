/**
 * Reading a large JSON document (`terraform show -json` of 10,000 resources is tens of MB) piece by
 * piece from its bytes: where the members of an object and the elements of an array are, each piece
 * then parsed with JSON.parse on its own and dropped when used, so the whole document never lives
 * as objects at once.
 *
 * Why a scanner of our own: the streaming JSON libraries on npm (stream-json, @streamparser/json,
 * jsonparse, clarinet) tokenize every character in JavaScript and build the values themselves, several
 * times slower than V8's JSON.parse on the same text; the plan has to be read in well under a
 * second. This scanner only finds where values end (strings are skipped with indexOf) and leaves
 * all parsing to JSON.parse.
 *
 * Validity: the structure between the pieces (`{`, `}`, `[`, `]`, `,`, `:`, whitespace, member
 * names) is checked here, and every value is either parsed by JSON.parse or read member by member
 * or element by element in the same way, so a document is accepted only when it is valid JSON.
 * Anything else throws {@link JsonScanError}; callers then parse the whole text the usual way, to
 * report the error exactly as before.
 */

/** The bytes are not (or not only) one JSON value; JSON.parse of the text says what is wrong. */
export class JsonScanError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'JsonScanError'
  }
}

/** A value's bytes: [start, end). */
export interface Span {
  start: number
  end: number
}

export const QUOTE = 0x22
export const BACKSLASH = 0x5c
export const COMMA = 0x2c
const COLON = 0x3a
export const OPEN_OBJECT = 0x7b
export const CLOSE_OBJECT = 0x7d
export const OPEN_ARRAY = 0x5b
export const CLOSE_ARRAY = 0x5d

export function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09
}

/**
 * The index of the quote that ends a string whose text starts at `from` (a quote after an even
 * number of backslashes), or -1 when the string does not end in `bytes`. Found with indexOf: most
 * of a plan is strings.
 */
export function closingQuote(bytes: Buffer, from: number): number {
  for (
    let quote = bytes.indexOf(QUOTE, from);
    quote !== -1;
    quote = bytes.indexOf(QUOTE, quote + 1)
  ) {
    let backslashes = 0
    while (quote - backslashes - 1 >= from && bytes[quote - backslashes - 1] === BACKSLASH)
      backslashes++
    if (backslashes % 2 === 0) return quote
  }
  return -1
}

/** A JSON text read piece by piece: from a buffer ({@link JsonBytes}) or a file ({@link JsonFile}). */
export abstract class JsonSource {
  abstract readonly length: number
  /** The byte at `at` (undefined past the end). */
  protected abstract byteAt(at: number): number | undefined
  /** The text of the span, decoded. */
  protected abstract text(span: Span): string
  /** Just past the value that starts at `at`. */
  protected abstract skipValue(at: number): number

  /** The value in the span, parsed (throws JsonScanError when it is not JSON). */
  parse(span: Span): unknown {
    try {
      return JSON.parse(this.text(span)) as unknown
    } catch {
      throw new JsonScanError(`no JSON value at ${span.start}`)
    }
  }

  /** The first byte of the value in the span. */
  first(span: Span): number | undefined {
    return this.byteAt(span.start)
  }

  /** The one value of the whole text (whitespace around it allowed). */
  root(): Span {
    const start = this.space(0)
    const end = this.skipValue(start)
    if (this.space(end) !== this.length) throw new JsonScanError(`text after the value`)
    return { start, end }
  }

  /**
   * The members of the object in the span, in order (duplicates included; JSON.parse keeps the
   * last of a name). Throws when the span is not an object.
   */
  members(span: Span): Array<[string, Span]> {
    const found: Array<[string, Span]> = []
    if (this.byteAt(span.start) !== OPEN_OBJECT)
      throw new JsonScanError(`no object at ${span.start}`)
    let at = this.space(span.start + 1)
    if (this.byteAt(at) === CLOSE_OBJECT) return this.closed(found, at, span)
    for (;;) {
      if (this.byteAt(at) !== QUOTE) throw new JsonScanError(`no member name at ${at}`)
      const nameEnd = this.skipValue(at)
      const name = this.parse({ start: at, end: nameEnd })
      at = this.space(nameEnd)
      if (this.byteAt(at) !== COLON) throw new JsonScanError(`no colon at ${at}`)
      const start = this.space(at + 1)
      const end = this.skipValue(start)
      found.push([name as string, { start, end }])
      at = this.space(end)
      if (this.byteAt(at) === CLOSE_OBJECT) return this.closed(found, at, span)
      if (this.byteAt(at) !== COMMA) throw new JsonScanError(`no comma at ${at}`)
      at = this.space(at + 1)
    }
  }

  /**
   * The members by name, the last of each name (as JSON.parse keeps it); the values of the
   * earlier ones are checked (see {@link check}) and dropped.
   */
  memberMap(span: Span): Map<string, Span> {
    const map = new Map<string, Span>()
    for (const [name, value] of this.members(span)) {
      const earlier = map.get(name)
      if (earlier) this.check(earlier)
      map.set(name, value)
    }
    return map
  }

  /**
   * The members of the object in the span ({@link memberMap}), or undefined for any other value,
   * which is then checked.
   */
  objectMembers(span: Span): Map<string, Span> | undefined {
    if (this.byteAt(span.start) === OPEN_OBJECT) return this.memberMap(span)
    this.check(span)
    return undefined
  }

  /** The member `name` of the object in the span; every other part of the span is checked. */
  member(span: Span, name: string): Span | undefined {
    const members = this.objectMembers(span)
    if (!members) return undefined
    for (const [other, value] of members) if (other !== name) this.check(value)
    return members.get(name)
  }

  /** The elements of the array in the span. Throws when the span is not an array. */
  elements(span: Span): Span[] {
    const found: Span[] = []
    if (this.byteAt(span.start) !== OPEN_ARRAY) throw new JsonScanError(`no array at ${span.start}`)
    let at = this.space(span.start + 1)
    if (this.byteAt(at) === CLOSE_ARRAY) return this.closed(found, at, span)
    for (;;) {
      const end = this.skipValue(at)
      found.push({ start: at, end })
      at = this.space(end)
      if (this.byteAt(at) === CLOSE_ARRAY) return this.closed(found, at, span)
      if (this.byteAt(at) !== COMMA) throw new JsonScanError(`no comma at ${at}`)
      at = this.space(at + 1)
    }
  }

  /**
   * Checks that the span is one JSON value without holding all of it as objects at once: small
   * values are parsed and dropped, large objects and arrays are checked piece by piece.
   */
  check(span: Span): void {
    const first = this.first(span)
    if (
      span.end - span.start <= CHECK_WHOLE_BYTES ||
      (first !== OPEN_OBJECT && first !== OPEN_ARRAY)
    )
      this.parse(span)
    else if (first === OPEN_OBJECT) for (const [, value] of this.members(span)) this.check(value)
    else for (const element of this.elements(span)) this.check(element)
  }

  /** Just past the number, true, false or null that starts at `at`: up to the next delimiter. */
  protected scalarEnd(at: number): number {
    let end = at
    for (;;) {
      const byte = this.byteAt(end)
      if (
        byte === undefined ||
        byte === COMMA ||
        byte === CLOSE_OBJECT ||
        byte === CLOSE_ARRAY ||
        isSpace(byte)
      )
        break
      end++
    }
    if (end === at) throw new JsonScanError(`no value at ${at}`)
    return end
  }

  private closed<T>(found: T, at: number, span: Span): T {
    if (at + 1 !== span.end) throw new JsonScanError(`the value ends at ${at}`)
    return found
  }

  /** The first byte at or after `at` that is not whitespace. */
  private space(at: number): number {
    while (isSpace(this.byteAt(at))) at++
    return at
  }
}

/** A JSON text in memory. */
export class JsonBytes extends JsonSource {
  constructor(readonly bytes: Buffer) {
    super()
  }

  get length(): number {
    return this.bytes.length
  }

  protected byteAt(at: number): number | undefined {
    return this.bytes[at]
  }

  protected text(span: Span): string {
    return this.bytes.toString('utf8', span.start, span.end)
  }

  /** Just past the string that starts at `at` (a quote). */
  private skipString(at: number): number {
    const end = closingQuote(this.bytes, at + 1)
    if (end === -1) throw new JsonScanError(`unterminated string at ${at}`)
    return end + 1
  }

  /**
   * Just past the value that starts at `at`. Only strings and brackets are followed; JSON.parse of
   * the value (or of its pieces) checks the rest. One loop, no calls: it reads every byte of the
   * plan at least once.
   */
  protected skipValue(at: number): number {
    const bytes = this.bytes
    const length = bytes.length
    const first = bytes[at]
    if (first === QUOTE) return this.skipString(at)
    if (first !== OPEN_OBJECT && first !== OPEN_ARRAY) return this.scalarEnd(at)
    let depth = 0
    let i = at
    while (i < length) {
      const byte = bytes[i]
      i++
      if (byte === QUOTE) {
        const end = closingQuote(bytes, i)
        if (end === -1) throw new JsonScanError(`unterminated string before ${length}`)
        i = end + 1
      } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) depth++
      else if ((byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) && --depth === 0) return i
    }
    throw new JsonScanError(`unterminated value at ${at}`)
  }
}

/** Values up to this size are checked with one JSON.parse. */
const CHECK_WHOLE_BYTES = 256 * 1024

/**
 * A JSON array of the document whose elements are parsed one at a time, each time one is read
 * (nothing is kept): `resource_changes` of a large plan.
 */
export class JsonArrayBytes {
  /**
   * @param entryIds resource_changes: each change's fingerprint entry id (`resourceEntryId`),
   *   found while the elements were read the first time
   */
  constructor(
    private readonly source: JsonSource,
    private readonly spans: Span[],
    readonly entryIds?: Array<string | undefined>
  ) {}

  get length(): number {
    return this.spans.length
  }

  at(index: number): unknown {
    const span = this.spans[index]
    return span === undefined ? undefined : this.source.parse(span)
  }
}

/** A JSON array as a list: an array, or one read element by element from its bytes. */
export type JsonList = unknown[] | JsonArrayBytes

export function isList(value: unknown): value is JsonList {
  return Array.isArray(value) || value instanceof JsonArrayBytes
}

/** The element at `index` of a list. */
export function listAt(list: JsonList, index: number): unknown {
  return Array.isArray(list) ? list[index] : list.at(index)
}

/** The elements of a list, one at a time (none for anything else). */
export function* listItems(value: unknown): Generator<unknown> {
  if (Array.isArray(value)) yield* value
  else if (value instanceof JsonArrayBytes) for (let i = 0; i < value.length; i++) yield value.at(i)
}
