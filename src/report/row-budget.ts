/**
 * Size budgeting for the report: tables as row lists with prefix sums, how many rows fit within a
 * budget ("rows within"), the "… and N more" cut notes, and the sharing of the room left between
 * the extra sections and the tables.
 */
import { formatCount } from '../format'
import type { SectionBlock } from './sections'

/** "\n\n" between blocks */
export const SEP = 2

export interface RowList {
  header: string
  rows: string[]
  /** prefix sums of row lengths + 1 (newline) */
  sizes: number[]
  noun: string
  take: number
  /** where the cut rows can be seen */
  elsewhere: string
  /** shown after the rows (and after the "and N more" note) */
  footer?: string
}

export function rowList(header: string, rows: string[], noun: string, elsewhere: string): RowList {
  const sizes = new Array<number>(rows.length + 1)
  sizes[0] = 0
  for (let i = 0; i < rows.length; i++) sizes[i + 1] = (sizes[i] ?? 0) + (rows[i]?.length ?? 0) + 1
  return { header, rows, sizes, noun, take: rows.length, elsewhere }
}

export function listTotal(list: RowList): number {
  return list.sizes[list.rows.length] ?? 0
}

/** Largest k with sizes[k] <= budget. */
function rowsWithin(list: RowList, budget: number): number {
  let lo = 0
  let hi = list.rows.length
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if ((list.sizes[mid] ?? Infinity) <= budget) lo = mid
    else hi = mid - 1
  }
  return lo
}

export function cutNote(list: RowList, cut: number): string {
  return `\n\n… and ${formatCount(cut)} more ${list.noun} (${list.elsewhere}).`
}

export function renderList(list: RowList): string {
  const shown = list.take === list.rows.length ? list.rows : list.rows.slice(0, list.take)
  let text = list.rows.length > 0 ? `${list.header}\n${shown.join('\n')}` : list.header
  const cut = list.rows.length - list.take
  if (cut > 0) text += cutNote(list, cut)
  if (list.footer) text += `\n\n${list.footer}`
  return text
}

/** What the lists' headers, cut notes and footers take whatever rows are kept. */
export function listsFixed(lists: readonly RowList[]): number {
  return lists.reduce(
    (n, l) =>
      n +
      l.header.length +
      SEP +
      cutNote(l, l.rows.length).length +
      (l.footer ? l.footer.length + SEP : 0),
    0
  )
}

/**
 * Fits the sections and the lists' rows into `available` characters (setting each list's `take`
 * and replacing oversized sections by their note); returns the room left.
 */
export function fitRows(lists: RowList[], sections: SectionBlock[], available: number): number {
  const listsTotal = lists.reduce((n, l) => n + listTotal(l), 0)
  const sectionsTotal = sections.reduce((n, s) => n + s.text.length + SEP, 0)
  if (listsTotal + sectionsTotal > available) {
    // sections keep up to a quarter of the room; an oversized one is replaced by a note
    let sectionRoom = Math.floor(available / 4)
    for (const s of sections) {
      if (s.text.length + SEP > sectionRoom) s.text = s.tooLong
      const size = s.text.length + SEP
      sectionRoom = Math.max(0, sectionRoom - size)
      available -= size
    }
    // rows share the rest: smaller lists are kept whole first (water filling)
    const byTotal = [...lists].sort((a, b) => listTotal(a) - listTotal(b))
    let left = Math.max(0, available)
    let pending = byTotal.length
    for (const list of byTotal) {
      const share = Math.floor(left / pending)
      list.take = listTotal(list) <= share ? list.rows.length : rowsWithin(list, share)
      left -= list.sizes[list.take] ?? 0
      pending--
    }
    return left
  }
  return available - (listsTotal + sectionsTotal)
}
