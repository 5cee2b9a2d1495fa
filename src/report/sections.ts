/** The extra sections of the report (backend, frontend, outputs...) as markdown blocks. */
import { cleanText, escapeHtml, escapeText } from './markdown'
import type { ReportSection } from './render'

export interface SectionBlock {
  text: string
  /** what replaces it when it is too long for the report */
  tooLong: string
}

/**
 * The extra sections as blocks; with `fold`, those marked `fold` go together into one collapsed
 * block where the first of them was.
 */
export function sectionBlocks(sections: readonly ReportSection[], fold: boolean): SectionBlock[] {
  const blocks: SectionBlock[] = []
  const body = (s: ReportSection): string =>
    `#### ${escapeText(s.title)}\n\n${neutraliseComments(cleanText(s.markdown)).replace(/\n+$/, '')}`
  const note = (title: string): string =>
    `#### ${escapeText(title)}\n\n(Not shown: too long for this report. See the job log.)`
  const folded = fold ? sections.filter(s => s.fold) : []
  for (const s of sections) {
    if (folded.length > 0 && s.fold) {
      if (s !== folded[0]) continue
      const titles = folded.map(f => escapeHtml(cleanText(f.title).replace(/\n/g, ' ')))
      const summaryLine = `<details><summary>${titles.join(' and ')}</summary>`
      blocks.push({
        text: `${summaryLine}\n\n${folded.map(body).join('\n\n')}\n\n</details>`,
        tooLong: `${summaryLine}\n\n${folded.map(f => note(f.title)).join('\n\n')}\n\n</details>`
      })
      continue
    }
    blocks.push({ text: body(s), tooLong: note(s.title) })
  }
  return blocks
}

/** HTML comments could hide the rest of the report: show `<!--` and `-->` literally. */
export function neutraliseComments(markdown: string): string {
  return markdown.replace(/<!--/g, '&lt;!--').replace(/-->/g, '--&gt;')
}
