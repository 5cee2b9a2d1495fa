/** The frontend phase's result as the report's Frontend section. */
import { formatBytes, formatCount, formatDuration, plural } from '../format'
import { codeSpan, escapeText, tableHeader, tableRow } from './markdown'
import { type FrontendResult } from '../frontend/result'
import { keptRemovedLine } from '../frontend/site-record'

/** The frontend result as the body of the report's Frontend section (the report adds the heading). */
export function renderFrontendSection(result: FrontendResult): string {
  const lines: string[] = []
  if (result.skipped) {
    lines.push(`Skipped: ${escapeText(result.skipped)}.`)
    return `${lines.join('\n')}\n`
  }
  if (result.dryRun) {
    lines.push(
      '**Dry run**: nothing was uploaded, deleted or invalidated; the figures are what a deploy would do.',
      ''
    )
  }
  if (result.bucket) {
    lines.push(`Site: ${codeSpan(`s3://${result.bucket}/${result.prefix}`)}`, '')
  }
  lines.push(...countsTable(result), '')
  if (result.keptRemoved.length > 0) {
    const next = Math.min(...result.keptRemoved.map(k => k.deleteAfter))
    lines.push(
      `${escapeText(upperFirst(keptRemovedLine(result.keptRemoved)))} for pages still open in browsers (keep-removed); ` +
        `the first deploy after ${escapeText(new Date(next).toISOString())} deletes the oldest.`,
      ''
    )
  }
  const times: string[] = []
  if (result.buildSeconds !== undefined) times.push(`build ${formatDuration(result.buildSeconds)}`)
  times.push(`sync ${formatDuration(result.syncSeconds)}`)
  if (result.invalidation?.waitSeconds !== undefined) {
    times.push(`invalidation wait ${formatDuration(result.invalidation.waitSeconds)}`)
  }
  lines.push(`Time: ${times.join(', ')}.`, '')

  lines.push(...invalidationLines(result))
  lines.push(
    ...detailsList(result.dryRun ? 'Files to upload' : 'Uploaded files', result.uploadedKeys)
  )
  lines.push(
    ...detailsList(result.dryRun ? 'Objects to delete' : 'Deleted objects', result.deletedKeys)
  )
  lines.push(
    ...detailsList(
      result.dryRun ? 'Headers to update' : 'Headers updated',
      result.headersUpdatedKeys
    )
  )
  lines.push(...detailsList('Kept objects', result.keptKeys))
  lines.push(
    ...detailsList(
      'Removed assets kept',
      result.keptRemoved.map(k => k.key)
    )
  )
  if (result.warnings.length) {
    lines.push('**Warnings**', '', ...result.warnings.map(w => `- ${escapeText(w)}`), '')
  }
  return `${lines.join('\n').replace(/\n+$/, '')}\n`
}

/** The table of files uploaded, deleted, updated, unchanged and kept. */
function countsTable(result: FrontendResult): string[] {
  const verb = result.dryRun ? 'To upload' : 'Uploaded'
  return [
    tableHeader(['', 'Files', 'Size'], ['l', 'r', 'r']),
    tableRow([verb, formatCount(result.uploaded), formatBytes(result.bytesUploaded)]),
    tableRow([result.dryRun ? 'To delete' : 'Deleted', formatCount(result.deleted), '']),
    ...(result.headersUpdated > 0
      ? [
          tableRow([
            result.dryRun ? 'Headers to update' : 'Headers updated',
            formatCount(result.headersUpdated),
            ''
          ])
        ]
      : []),
    tableRow(['Unchanged', formatCount(result.unchanged), '']),
    ...(result.keptKeys.length > 0
      ? [
          tableRow([
            'Kept (not uploaded by revive-deploy)',
            formatCount(result.keptKeys.length),
            ''
          ])
        ]
      : [])
  ]
}

/** The CloudFront invalidation (or why there was none), with its paths. */
function invalidationLines(result: FrontendResult): string[] {
  const lines: string[] = []
  const inv = result.invalidation
  if (inv) {
    const id = inv.id ? ` ${codeSpan(inv.id)}` : ''
    lines.push(
      `CloudFront invalidation${id}: ${escapeText(inv.status)}, ${plural(inv.paths.length, 'path')}` +
        (result.distributionId ? ` on distribution ${codeSpan(result.distributionId)}` : '') +
        '.',
      ''
    )
    lines.push(...detailsList('Invalidation paths', inv.paths))
  } else if (result.invalidationNote) {
    lines.push(`CloudFront: ${escapeText(result.invalidationNote)}.`, '')
  }
  return lines
}

function upperFirst(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

function detailsList(title: string, items: readonly string[], max = 100): string[] {
  if (items.length === 0) return []
  const shown = items.slice(0, max).map(item => `- ${codeSpan(item)}`)
  if (items.length > max) shown.push(`- … and ${formatCount(items.length - max)} more`)
  return [
    '<details>',
    `<summary>${escapeText(title)} (${formatCount(items.length)})</summary>`,
    '',
    ...shown,
    '',
    '</details>',
    ''
  ]
}
