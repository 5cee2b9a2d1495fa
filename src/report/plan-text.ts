/** The plan text in a collapsed block, shortened to its budget (head and tail lines kept). */
import { cleanText, longestRun, truncate } from './markdown'
import { formatCount, plural } from '../format'

const PLAN_LINE_MAX_CHARS = 4_000
const PLAN_TAIL_LINES = 30

/**
 * The plan text in a collapsed block within `budget` characters: whole lines from the start and
 * the last lines (where Terraform's "Plan:" line and output changes are), with the middle cut.
 */
export function planDetails(
  planText: string,
  budget: number,
  fullPlanAt: string,
  omitted: string
): string {
  const lines = cleanText(planText)
    .replace(/^\s*\n/, '')
    .replace(/\n+$/, '')
    .split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    if (line.length > PLAN_LINE_MAX_CHARS) {
      lines[i] =
        `${truncate(line, PLAN_LINE_MAX_CHARS)} [${formatCount(line.length - PLAN_LINE_MAX_CHARS + 1)} characters cut]`
    }
  }
  const total = lines.reduce((n, l) => n + l.length + 1, 0)

  let fence = 3
  for (;;) {
    const fenceText = '`'.repeat(fence)
    const open = `<details><summary>Plan text (${plural(lines.length, 'line')}, shortened)</summary>\n\n${fenceText}text\n`
    const planCutNote = (cut: number): string =>
      `\n\n${plural(cut, 'line was', 'lines were')} cut from the middle of the plan. The full plan is in ${fullPlanAt}.`
    const close = `\n${fenceText}`
    const end = '\n\n</details>'
    const room =
      budget - open.length - close.length - end.length - planCutNote(lines.length).length - 100
    if (room <= 200) return omitted

    let head: string[]
    const tail: string[] = []
    if (total <= room) head = lines
    else {
      let tailSize = 0
      for (let i = lines.length - 1; i > 0 && tail.length < PLAN_TAIL_LINES; i--) {
        const line = lines[i] as string
        if (tailSize + line.length + 1 > room / 4) break
        tail.push(line)
        tailSize += line.length + 1
      }
      tail.reverse()
      head = []
      let headSize = 0
      const headRoom = room - tailSize
      for (let i = 0; i < lines.length - tail.length; i++) {
        const line = lines[i] as string
        if (headSize + line.length + 1 > headRoom) break
        head.push(line)
        headSize += line.length + 1
      }
    }
    const cut = lines.length - head.length - tail.length
    const body =
      cut > 0
        ? [...head, `[… ${plural(cut, 'line')} cut here …]`, ...tail].join('\n')
        : head.join('\n')
    const needed = Math.max(3, longestRun(body, '`') + 1)
    if (needed > fence) {
      fence = needed
      continue
    }
    const summaryLine =
      cut > 0
        ? `<details><summary>Plan text (${formatCount(lines.length - cut)} of ${plural(lines.length, 'line')} shown)</summary>`
        : `<details><summary>Plan text (${plural(lines.length, 'line')})</summary>`
    return `${summaryLine}\n\n${fenceText}text\n${body}${close}${cut > 0 ? planCutNote(cut) : ''}${end}`
  }
}
