/** The health checks' results as the report's Health checks section. */
import type { HealthResult } from '../health/health'
import { formatDuration } from '../format'
import { codeSpan, escapeText, tableHeader, tableRow } from './markdown'

/** The health checks as a markdown section for the job summary. */
export function renderHealthSection(results: readonly HealthResult[]): string {
  if (results.length === 0) return ''
  const lines = [tableHeader(['URL', 'Result', 'Attempts', 'Time'], ['l', 'l', 'r', 'r'])]
  for (const r of results) {
    const url = r.target === r.url ? r.url : `${r.target} → ${r.url}`
    const outcome =
      r.status !== undefined
        ? `${r.ok ? '✅' : '❌'} ${r.status}`
        : `❌ ${escapeText(r.error ?? 'failed')}`
    lines.push(
      tableRow([
        codeSpan(url, { table: true }),
        outcome,
        String(r.attempts),
        formatDuration(r.seconds)
      ])
    )
  }
  return `${lines.join('\n')}\n`
}
