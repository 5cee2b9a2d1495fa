/** This site's record in the site manifest, as the deploy reads, carries and saves it. */

import { type Log } from '../log'
import {
  manifestUrl,
  readSiteManifest,
  serializeManifest,
  writeSiteManifest,
  type LoadedManifest,
  type ManifestLocation,
  type SiteManifest,
  type SiteRecord
} from './site-manifest'
import { type KeptRemoved } from './sync-plan'
import { plural } from '../format'

import { type FrontendConfig } from './result'
import { preview } from './deploy-messages'

export interface OpenManifest {
  url: string
  /** This site's record as read; undefined when there is none (or no manifest). */
  record?: SiteRecord
  /** No record for this site yet: the first deploy that keeps one. */
  firstRecord: boolean
  /** Undefined when headers cannot be compared (no usable manifest). */
  headerDigests?: Map<string, string>
  removedSince: Map<string, number>
  /** Writes this site's record when it changed; false when it could not be written. */
  save(record: SiteRecord): Promise<boolean>
}

/** Reads the site manifest (one GET) and gives what the plan needs from it, and its writer. */
export async function openManifest(
  location: ManifestLocation | undefined,
  site: string,
  warn: (message: string) => void
): Promise<OpenManifest> {
  if (!location) {
    return {
      url: 'no site manifest',
      firstRecord: false,
      removedSince: new Map(),
      save: async () => false
    }
  }
  const url = manifestUrl(location)
  const loaded: LoadedManifest = await readSiteManifest(location)
  if (loaded.problem) {
    warn(
      `Site manifest: ${loaded.problem}. Without it the headers of unchanged files are not compared with the rules, and removed fingerprinted assets are kept (keep-removed: 0 deletes them)`
    )
  }
  const record = loaded.problem ? undefined : loaded.manifest.sites[site]
  let current: SiteManifest = loaded.manifest
  const removedSince = new Map<string, number>()
  for (const [key, when] of Object.entries(record?.removed ?? {})) {
    const time = Date.parse(when)
    if (Number.isFinite(time)) removedSince.set(key, time)
  }
  return {
    url,
    ...(record && { record }),
    firstRecord: !loaded.problem && !record,
    ...(!loaded.problem && { headerDigests: new Map(Object.entries(record?.headers ?? {})) }),
    removedSince,
    async save(next) {
      if (loaded.problem) return false
      const manifest: SiteManifest = { ...current, sites: { ...current.sites, [site]: next } }
      if (serializeManifest(manifest) === serializeManifest(current)) return true
      const written = await writeSiteManifest(location, loaded, manifest)
      if (written.problem) {
        warn(`Site manifest: ${written.problem}`)
        loaded.problem = written.problem
        return false
      }
      current = manifest
      if (written.etag) loaded.etag = written.etag
      return true
    }
  }
}

/** `record` with the marker of paths not invalidated yet (keeping when the first of them was). */
export function withPending(
  record: SiteRecord,
  distributionId: string,
  paths: string[],
  previous: SiteRecord | undefined,
  now: number
): SiteRecord {
  const since = previous?.pendingInvalidation?.since ?? new Date(now).toISOString()
  return { ...record, pendingInvalidation: { distributionId, paths, since } }
}

/** Paths an earlier run recorded as not invalidated, when they are for this distribution. */
export function carriedPaths(
  record: SiteRecord | undefined,
  distributionId: string | undefined,
  config: FrontendConfig,
  log: Log
): string[] {
  const pending = record?.pendingInvalidation
  if (!pending || config.invalidate === 'none') return []
  if (pending.distributionId !== distributionId) {
    log.notice(
      `An earlier deploy could not invalidate ${plural(pending.paths.length, 'path')} on distribution ${pending.distributionId}, which no longer serves this site: not invalidated now`
    )
    return []
  }
  log.info(
    `An earlier deploy (since ${pending.since}) could not invalidate ${plural(pending.paths.length, 'path')}; this one invalidates them: ${preview(pending.paths)}`
  )
  return pending.paths
}

/** `kept 3 removed assets (oldest removed 3 days ago)` */
export function keptRemovedLine(kept: readonly KeptRemoved[], now = Date.now()): string {
  const oldest = Math.min(...kept.map(k => k.since))
  return `kept ${plural(kept.length, 'removed asset')} (oldest removed ${formatAge(now - oldest)})`
}

/** `just now`, `5 minutes ago`, `7 hours ago`, `3 days ago`. */
export function formatAge(ms: number): string {
  const minutes = Math.floor(ms / 60_000)
  if (minutes < 1) return 'just now'
  if (minutes < 60) return `${plural(minutes, 'minute')} ago`
  const hours = Math.floor(minutes / 60)
  if (hours < 48) return `${plural(hours, 'hour')} ago`
  return `${plural(Math.floor(hours / 24), 'day')} ago`
}
