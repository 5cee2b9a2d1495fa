/**
 * The sync plan: what to upload and what to delete, as a pure diff of the local build output and
 * the bucket listing (SPEC §5).
 *
 * Identity is content, not timestamps. An object is the same as the local file when:
 * - its listed ETag equals the file's MD5 (a single-part upload without KMS) or the file's multipart
 *   ETag for our part size; no HEAD is needed; or
 * - its HEAD metadata (`x-amz-meta-sha256`, {@link SHA256_METADATA_KEY}) equals the file's SHA-256.
 * A different size means changed at once. With an equal size and an ETag that decides nothing (a
 * changed file, a KMS-encrypted object, another part size) the key is listed in `needsHead`; the
 * caller HEADs those objects and plans again with `heads`, where the metadata hash decides and an
 * object without it is uploaded (once: the upload writes the metadata).
 *
 * Each upload carries its Content-Type and Cache-Control, so a dry run can show them and the
 * uploader only has to send them. Uploads come in two phases: first the assets, then the entry
 * files (HTML, service workers, manifests, runtime config; HTML last), so a visitor never gets a
 * page whose assets are missing. Deletions are a third phase after every upload succeeded.
 */
import {
  cacheControlFor,
  compileCacheRules,
  isEntryFile,
  isHtml,
  type CacheRule
} from './cache-control'
import { contentTypeFor } from './content-type'
import type { LocalFile } from './local-files'

/** Key in the SDK's `Metadata` map (header `x-amz-meta-sha256`) holding the content's SHA-256 hex. */
export const SHA256_METADATA_KEY = 'sha256'

/** An object from ListObjectsV2 (`Key`, `ETag`, `Size`). */
export interface RemoteObject {
  key: string
  /** As listed, quotes allowed. */
  etag?: string | undefined
  size?: number | undefined
}

/** What a HEAD of an object told us. */
export interface RemoteHead {
  /** The SHA-256 hex from the object's metadata, if it has one. */
  sha256?: string | undefined
}

export interface SyncOptions {
  /** The `site-prefix` input; normalised with {@link normalizePrefix}. */
  prefix: string
  /** The `delete-removed` input. */
  deleteRemoved: boolean
  /** HEAD results for keys the previous plan listed in `needsHead`. */
  heads?: ReadonlyMap<string, RemoteHead> | undefined
  /** The `cache-control` rules (first match wins, then the defaults). */
  cacheRules?: readonly CacheRule[] | undefined
}

export type UploadPhase = 'assets' | 'entry'

export interface UploadItem {
  file: LocalFile
  key: string
  reason: 'new' | 'changed'
  phase: UploadPhase
  contentType: string
  cacheControl: string
}

export interface SyncPlan {
  /** The normalised prefix the keys start with. */
  prefix: string
  /** Assets first (sorted by key), then entry files (non-HTML, then HTML, each sorted by key). */
  uploads: UploadItem[]
  unchanged: LocalFile[]
  /** Keys to delete, sorted: only under the prefix, only with deleteRemoved, after all uploads. */
  deletions: string[]
  /** Keys whose ETag decides nothing: HEAD them and plan again with `heads`. */
  needsHead: string[]
  /** Total size of the uploads. */
  uploadBytes: number
}

/** A step of the sync; each must finish completely before the next starts. */
export type SyncPhase =
  { name: 'assets' | 'entry'; uploads: UploadItem[] } | { name: 'deletions'; deletions: string[] }

/**
 * Normalises the `site-prefix` input: no leading `/`, exactly one trailing `/` when not empty.
 * Throws for `.`/`..` or empty segments (`a//b`), backslashes and control characters, which S3
 * would keep literally but which surely are mistakes.
 */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.trim().replace(/^\/+/, '').replace(/\/+$/, '')
  if (!trimmed) return ''
  const segments = trimmed.split('/')
  if (
    segments.some(s => s === '' || s === '.' || s === '..') ||
    /[\x00-\x1f\x7f\\]/.test(trimmed)
  ) {
    throw new Error(
      `site-prefix "${prefix}" is not a clean key prefix: no empty, "." or ".." segments, backslashes or control characters allowed`
    )
  }
  return `${trimmed}/`
}

/** The object key of a local file under a normalised prefix. */
export function keyFor(prefix: string, relPath: string): string {
  return `${prefix}${relPath}`
}

/**
 * Plans the sync of `local` (the scanned build output) to `remote` (the bucket listing, which may
 * include keys outside the prefix: they are ignored). Throws when `local` is empty: an empty build
 * output is a broken build, and syncing it would delete the whole site.
 */
export function planSync(
  local: readonly LocalFile[],
  remote: readonly RemoteObject[],
  opts: SyncOptions
): SyncPlan {
  const prefix = normalizePrefix(opts.prefix)
  if (local.length === 0) {
    throw new Error(
      'The build output has no files; refusing to sync it (that would empty the site). ' +
        'Check build-command and build-directory.'
    )
  }
  const rules = compileCacheRules(opts.cacheRules ?? [])

  const remoteByKey = new Map<string, RemoteObject>()
  for (const object of remote) {
    if (!object.key.startsWith(prefix) || object.key.endsWith('/')) continue
    remoteByKey.set(object.key, object)
  }

  const uploads: UploadItem[] = []
  const unchanged: LocalFile[] = []
  const needsHead: string[] = []
  const localKeys = new Set<string>()

  for (const file of local) {
    const key = keyFor(prefix, file.relPath)
    localKeys.add(key)
    const object = remoteByKey.get(key)
    const upload = (reason: UploadItem['reason']): void => {
      uploads.push({
        file,
        key,
        reason,
        phase: isEntryFile(file.relPath) ? 'entry' : 'assets',
        contentType: contentTypeFor(file.relPath),
        cacheControl: cacheControlFor(file.relPath, rules)
      })
    }
    if (!object) {
      upload('new')
      continue
    }
    if (object.size !== undefined && object.size !== file.size) {
      upload('changed')
      continue
    }
    const etag = normalizeEtag(object.etag)
    if (etag && (etag === file.md5 || etag === file.multipartEtag)) {
      unchanged.push(file)
      continue
    }
    const head = opts.heads?.get(key)
    if (!head) {
      needsHead.push(key)
    } else if (head.sha256?.toLowerCase() === file.sha256) {
      unchanged.push(file)
    } else {
      upload('changed')
    }
  }

  const deletions = opts.deleteRemoved
    ? [...remoteByKey.keys()].filter(key => !localKeys.has(key)).sort(compareStrings)
    : []

  uploads.sort((a, b) => uploadRank(a) - uploadRank(b) || compareStrings(a.key, b.key))
  return {
    prefix,
    uploads,
    unchanged,
    deletions,
    needsHead: needsHead.sort(compareStrings),
    uploadBytes: uploads.reduce((sum, item) => sum + item.file.size, 0)
  }
}

/** Keys that are, or could be, Terraform state, its lock, or the action's ownership record. */
const STATE_LIKE =
  /(^|\/)env:\/|\.tfstate($|[.-])|\.tflock$|\.revive-deploy-owner\.json$|(^|\/)\.terraform(\/|\.lock\.hcl$)/

/**
 * Splits the deletions of a plan into what the action may delete, objects it uploaded itself (they
 * carry its SHA-256 metadata; `heads` holds each key's HEAD), and what it keeps: objects anyone
 * else put there (access logs, another team's files, Terraform state) and any key that looks like
 * state or a lock, whoever wrote it. Pure.
 */
export function ownDeletions(
  deletions: readonly string[],
  heads: ReadonlyMap<string, RemoteHead>
): { deletions: string[]; kept: string[] } {
  const mine: string[] = []
  const kept: string[] = []
  for (const key of deletions) {
    if (heads.get(key)?.sha256 && !STATE_LIKE.test(key)) mine.push(key)
    else kept.push(key)
  }
  return { deletions: mine, kept }
}

/** The plan as the ordered steps to run: assets, entry files, deletions (empty steps left out). */
export function syncPhases(plan: SyncPlan): SyncPhase[] {
  const phases: SyncPhase[] = []
  const assets = plan.uploads.filter(u => u.phase === 'assets')
  const entry = plan.uploads.filter(u => u.phase === 'entry')
  if (assets.length) phases.push({ name: 'assets', uploads: assets })
  if (entry.length) phases.push({ name: 'entry', uploads: entry })
  if (plan.deletions.length) phases.push({ name: 'deletions', deletions: plan.deletions })
  return phases
}

/** The SHA-256 kept in a HeadObject `Metadata` map (the SDK lowercases metadata names). */
export function sha256FromMetadata(metadata: Record<string, string> | undefined): RemoteHead {
  const value = metadata?.[SHA256_METADATA_KEY]
  return value ? { sha256: value.toLowerCase() } : {}
}

function normalizeEtag(etag: string | undefined): string {
  return (etag ?? '').trim().replace(/^W\//, '').replace(/"/g, '').toLowerCase()
}

function uploadRank(item: UploadItem): number {
  if (item.phase === 'assets') return 0
  return isHtml(item.file.relPath) ? 2 : 1
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
