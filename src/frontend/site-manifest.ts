/**
 * The site manifest: what the sync remembers between deploys without a per-object call. One JSON
 * object next to the state in the private state bucket (`<state-key>.revive-deploy-site.json`,
 * beside the ownership record and the fingerprint key), read with one GET per deploy and written
 * only when it changed (never in a dry run). Per site (`s3://bucket/prefix`) it holds:
 * - `headers`: the digest of the headers each object was given (see {@link headersDigest}); a
 *   redeploy compares it with the digest the current rules give, so a changed rule is found
 *   without a HEAD per object;
 * - `removed`: when each fingerprinted asset the build no longer has was first found removed
 *   (`keep-removed` deletes it on the first deploy after the period);
 * - `pendingInvalidation`: paths a run uploaded but could not invalidate (the marker); the next run
 *   invalidates them, even when it uploads nothing, and drops them once CloudFront accepted them.
 *
 * Writes are conditional on the version read (`If-Match`, or `If-None-Match: *` for a new one):
 * when two deploys race, the second write is refused and says so; the manifest it lost loses
 * nothing that matters (a stale digest costs a copy, a missing one a HEAD, on the next deploy).
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { createHash } from 'node:crypto'
import { awsErrorName, awsStatus } from '../aws/clients'
import { errorMessage } from '../errors'

export const SITE_MANIFEST_SUFFIX = '.revive-deploy-site.json'

export interface PendingInvalidation {
  distributionId: string
  paths: string[]
  /** When the first of these paths could not be invalidated (ISO time). */
  since: string
}

export interface SiteRecord {
  /** Object key → digest of the headers it was given. */
  headers: Record<string, string>
  /** Object key → when it was first found removed from the build (ISO time). */
  removed: Record<string, string>
  pendingInvalidation?: PendingInvalidation
}

export interface SiteManifest {
  version: 1
  sites: Record<string, SiteRecord>
}

export interface ManifestLocation {
  /** A client for the state bucket (its region, its expected owner). */
  s3: S3Client
  bucket: string
  stateKey: string
}

export interface LoadedManifest {
  manifest: SiteManifest
  /** The ETag of the version read; undefined when there was none. */
  etag?: string
  /** Why the manifest could not be used (read failed, not JSON); such a manifest is not rewritten. */
  problem?: string
}

/** Where the manifest lives, as `s3://bucket/key`. */
export function manifestUrl(location: ManifestLocation): string {
  return `s3://${location.bucket}/${location.stateKey}${SITE_MANIFEST_SUFFIX}`
}

/** The key of a site in the manifest. */
export function siteId(bucket: string, prefix: string): string {
  return `s3://${bucket}/${prefix}`
}

/**
 * A short digest (16 hex) of the headers the action sets on an object. Any header the action
 * starts setting later goes in here, so every object gets it on the next deploy.
 */
export function headersDigest(headers: { contentType: string; cacheControl: string }): string {
  return createHash('sha256')
    .update(`v1\ncontent-type:${headers.contentType}\ncache-control:${headers.cacheControl}`)
    .digest('hex')
    .slice(0, 16)
}

/** Reads the manifest (one GET). Never throws: a failure is a `problem` and an empty manifest. */
export async function readSiteManifest(location: ManifestLocation): Promise<LoadedManifest> {
  const empty: SiteManifest = { version: 1, sites: {} }
  const key = `${location.stateKey}${SITE_MANIFEST_SUFFIX}`
  let text: string
  let etag: string | undefined
  try {
    const got = await location.s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: key }))
    text = (await got.Body?.transformToString()) ?? ''
    etag = got.ETag
  } catch (error) {
    if (awsStatus(error) === 404) return { manifest: empty }
    return {
      manifest: empty,
      problem: `could not read ${manifestUrl(location)} (${awsErrorName(error) || errorMessage(error)}); grant s3:GetObject and s3:PutObject on it`
    }
  }
  const manifest = parseManifest(text)
  if (!manifest) {
    return {
      manifest: empty,
      ...(etag && { etag }),
      problem: `${manifestUrl(location)} is not a site manifest of this action; it is left as it is`
    }
  }
  return { manifest, ...(etag && { etag }) }
}

/**
 * Writes `manifest` over the version `loaded` read. Returns a problem (for a warning) instead of
 * throwing: the deploy itself succeeded.
 */
export async function writeSiteManifest(
  location: ManifestLocation,
  loaded: LoadedManifest,
  manifest: SiteManifest
): Promise<{ etag?: string; problem?: string }> {
  if (loaded.problem) return { problem: loaded.problem }
  try {
    const put = await location.s3.send(
      new PutObjectCommand({
        Bucket: location.bucket,
        Key: `${location.stateKey}${SITE_MANIFEST_SUFFIX}`,
        Body: serializeManifest(manifest),
        ContentType: 'application/json',
        ...(loaded.etag ? { IfMatch: loaded.etag } : { IfNoneMatch: '*' })
      })
    )
    return put.ETag ? { etag: put.ETag } : {}
  } catch (error) {
    const why =
      awsStatus(error) === 412
        ? 'another deploy wrote it meanwhile; its version is kept, and the next deploy checks again what this one could not record'
        : `${awsErrorName(error) || errorMessage(error)}; grant s3:PutObject on it`
    return { problem: `could not write ${manifestUrl(location)}: ${why}` }
  }
}

/** The manifest as stable JSON (sorted keys), so an unchanged manifest is not written again. */
export function serializeManifest(manifest: SiteManifest): string {
  return JSON.stringify(sortKeys(manifest))
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key]
      if (v !== undefined) out[key] = sortKeys(v)
    }
    return out
  }
  return value
}

function parseManifest(text: string): SiteManifest | undefined {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    return undefined
  }
  const m = data as Partial<SiteManifest> | null
  if (!m || m.version !== 1 || !m.sites || typeof m.sites !== 'object') return undefined
  const sites: Record<string, SiteRecord> = {}
  for (const [id, record] of Object.entries(m.sites)) {
    const r = record as Partial<SiteRecord> | null
    sites[id] = {
      headers: stringMap(r?.headers),
      removed: stringMap(r?.removed),
      ...(validPending(r?.pendingInvalidation) && { pendingInvalidation: r.pendingInvalidation })
    }
  }
  return { version: 1, sites }
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (!value || typeof value !== 'object') return out
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v
  return out
}

function validPending(value: unknown): value is PendingInvalidation {
  const p = value as Partial<PendingInvalidation> | undefined
  return (
    typeof p?.distributionId === 'string' &&
    typeof p.since === 'string' &&
    Array.isArray(p.paths) &&
    p.paths.every(x => typeof x === 'string' && x.startsWith('/'))
  )
}
