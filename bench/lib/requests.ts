/** Request counts from the stand-ins' request logs. */
import type { RecordedRequest } from '../../standins/index'

export interface S3Counts {
  /** PutObject + UploadPart (each part of a multipart upload counts as a PUT). */
  put: number
  /** ListObjectsV2 / ListObjects pages. */
  list: number
  head: number
  /** DeleteObject + DeleteObjects (a batch of up to 1,000 keys is one request). */
  delete: number
  /** Everything else (CreateMultipartUpload, CompleteMultipartUpload, ...). */
  other: number
  /** Answers other than 2xx (retried or not). */
  failed: number
  byOperation: Record<string, number>
}

const PUT = new Set(['PutObject', 'UploadPart'])
const LIST = new Set(['ListObjectsV2', 'ListObjects'])
const HEAD = new Set(['HeadObject'])
const DELETE = new Set(['DeleteObject', 'DeleteObjects'])

export function s3Counts(requests: readonly RecordedRequest[], bucket?: string): S3Counts {
  const counts: S3Counts = {
    put: 0,
    list: 0,
    head: 0,
    delete: 0,
    other: 0,
    failed: 0,
    byOperation: {}
  }
  for (const r of requests) {
    if (r.service !== 's3') continue
    if (bucket !== undefined && r.path !== `/${bucket}` && !r.path.startsWith(`/${bucket}/`))
      continue
    counts.byOperation[r.operation] = (counts.byOperation[r.operation] ?? 0) + 1
    if (r.status < 200 || r.status > 299) counts.failed++
    if (PUT.has(r.operation)) counts.put++
    else if (LIST.has(r.operation)) counts.list++
    else if (HEAD.has(r.operation)) counts.head++
    else if (DELETE.has(r.operation)) counts.delete++
    else counts.other++
  }
  return counts
}

/** `service Operation` → count, for the requests whose User-Agent matches `agent`. */
export function operationCounts(
  requests: readonly RecordedRequest[],
  agent?: RegExp
): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const r of requests) {
    if (agent && !agent.test(r.userAgent)) continue
    const name = `${r.service} ${r.operation}${r.status >= 200 && r.status < 300 ? '' : ` (${r.status})`}`
    counts[name] = (counts[name] ?? 0) + 1
  }
  return counts
}

/** The action's own calls: the AWS SDK for JavaScript (Terraform's Go SDK says aws-sdk-go). */
export const ACTION_AGENT = /aws-sdk-js/i
