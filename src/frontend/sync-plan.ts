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
 *
 * Headers: with `headerDigests` (what the site manifest recorded), a file whose content is
 * unchanged but whose headers under the current rules have another digest is a header update: a
 * copy of the object onto itself with the new headers (no bytes sent). A key the manifest does not
 * know (the first deploy with a manifest) is HEADed once, and its real Content-Type and
 * Cache-Control decide.
 *
 * Removed files: entry files and other unfingerprinted files are deleted at once. Fingerprinted
 * assets (see `isFingerprintedAsset`) stay `keepRemovedMs` after they were first found removed
 * (`removedSince`), for pages of the previous build still open in browsers.
 */
import {
  cacheControlFor,
  compileCacheRules,
  isEntryFile,
  isFingerprintedAsset,
  isHtml,
  type CacheRule
} from './cache-control'
import { contentTypeFor } from './content-type'
import type { LocalFile } from './local-files'
import { headersDigest } from './site-manifest'

/** Key in the SDK's `Metadata` map (header `x-amz-meta-sha256`) holding the content's SHA-256 hex. */
export const SHA256_METADATA_KEY = 'sha256'
/** Metadata key (header `x-amz-meta-headers`) holding the digest of the headers the action set. */
export const HEADERS_METADATA_KEY = 'headers'
/** CopyObject copies objects up to 5 GiB; a larger one gets new headers by a new upload. */
export const COPY_OBJECT_MAX_BYTES = 5 * 1024 ** 3

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
  contentType?: string | undefined
  cacheControl?: string | undefined
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
  /**
   * The headers digest recorded for each key (the site manifest). Undefined: headers are not
   * compared (content alone decides). A key missing from the map is HEADed.
   */
  headerDigests?: ReadonlyMap<string, string> | undefined
  /** The `keep-removed` input in milliseconds (default 0: delete at once). */
  keepRemovedMs?: number | undefined
  /** When each removed asset was first found removed (epoch ms). */
  removedSince?: ReadonlyMap<string, number> | undefined
  /** The time of the deploy (epoch ms; default now). */
  now?: number | undefined
}

export type UploadPhase = 'assets' | 'entry'

export interface UploadItem {
  file: LocalFile
  key: string
  /** `headers`: the content is unchanged, the headers are not (a copy, or above 5 GiB an upload). */
  reason: 'new' | 'changed' | 'headers'
  phase: UploadPhase
  contentType: string
  cacheControl: string
  /** {@link headersDigest} of contentType and cacheControl. */
  headersDigest: string
}

/** A removed fingerprinted asset kept for `keep-removed`. */
export interface KeptRemoved {
  key: string
  /** When it was first found removed (epoch ms). */
  since: number
  /** The first deploy after this (epoch ms) deletes it. */
  deleteAfter: number
}

export interface SyncPlan {
  /** The normalised prefix the keys start with. */
  prefix: string
  /** Assets first (sorted by key), then entry files (non-HTML, then HTML, each sorted by key). */
  uploads: UploadItem[]
  unchanged: LocalFile[]
  /** Unchanged content with other headers: copied onto themselves with the new headers. */
  headerUpdates: UploadItem[]
  /** Removed fingerprinted assets kept for now, sorted by key. */
  keptRemoved: KeptRemoved[]
  /** Every local file's key → the digest of the headers it gets (for the site manifest). */
  digests: Map<string, string>
  /** Keys to delete, sorted: only under the prefix, only with deleteRemoved, after all uploads. */
  deletions: string[]
  /** Keys whose ETag decides nothing: HEAD them and plan again with `heads`. */
  needsHead: string[]
  /** Total size of the uploads. */
  uploadBytes: number
}

/** A step of the sync; each must finish completely before the next starts. */
export type SyncPhase =
  | { name: 'assets' | 'entry'; uploads: UploadItem[] }
  | { name: 'headers'; updates: UploadItem[] }
  | { name: 'deletions'; deletions: string[] }

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

  const files: FilePlans = {
    uploads: [],
    unchanged: [],
    headerUpdates: [],
    needsHead: [],
    digests: new Map<string, string>()
  }
  const localKeys = new Set<string>()
  for (const file of local) {
    const key = keyFor(prefix, file.relPath)
    localKeys.add(key)
    planFile(file, key, remoteByKey.get(key), rules, opts, files)
  }
  const { uploads, unchanged, headerUpdates, needsHead, digests } = files
  const { deletions, keptRemoved } = planRemovals(remoteByKey, localKeys, prefix, opts)

  uploads.sort((a, b) => uploadRank(a) - uploadRank(b) || compareStrings(a.key, b.key))
  return {
    prefix,
    uploads,
    unchanged,
    headerUpdates: headerUpdates.sort((a, b) => compareStrings(a.key, b.key)),
    keptRemoved,
    digests,
    deletions,
    needsHead: needsHead.sort(compareStrings),
    uploadBytes: uploads.reduce((sum, item) => sum + item.file.size, 0)
  }
}

/** What the files of the build output need, as {@link planFile} sorts them. */
interface FilePlans {
  uploads: UploadItem[]
  unchanged: LocalFile[]
  headerUpdates: UploadItem[]
  needsHead: string[]
  /** Each key's wanted headers digest. */
  digests: Map<string, string>
}

/**
 * Sorts one local file (`key` under the prefix; `object` its listing, if any) into `plans`: upload
 * when new or changed, HEAD when the listing cannot decide, a header update when only the headers
 * differ from the rules, else unchanged.
 */
function planFile(
  file: LocalFile,
  key: string,
  object: RemoteObject | undefined,
  rules: ReturnType<typeof compileCacheRules>,
  opts: SyncOptions,
  plans: FilePlans
): void {
  const { uploads, unchanged, headerUpdates, needsHead, digests } = plans
  const contentType = contentTypeFor(file.relPath)
  const cacheControl = cacheControlFor(file.relPath, rules)
  const item = (reason: UploadItem['reason']): UploadItem => ({
    file,
    key,
    reason,
    phase: isEntryFile(file.relPath) ? 'entry' : 'assets',
    contentType,
    cacheControl,
    headersDigest: headersDigest({ contentType, cacheControl })
  })
  const wanted = item('headers')
  digests.set(key, wanted.headersDigest)
  const upload = (reason: UploadItem['reason']): void => void uploads.push(item(reason))
  if (!object) {
    upload('new')
    return
  }
  if (object.size !== undefined && object.size !== file.size) {
    upload('changed')
    return
  }
  const head = opts.heads?.get(key)
  const etag = normalizeEtag(object.etag)
  if (!(etag && (etag === file.md5 || etag === file.multipartEtag))) {
    if (!head) {
      needsHead.push(key)
      return
    }
    if (file.sha256 === undefined) {
      throw new Error(`The SHA-256 of ${file.relPath} is needed to compare it (addSha256)`)
    }
    if (head.sha256?.toLowerCase() !== file.sha256) {
      upload('changed')
      return
    }
  }
  // The content is the same: do the headers follow the rules?
  let same = true
  if (head && head.contentType !== undefined) {
    same = head.contentType === contentType && head.cacheControl === cacheControl
  } else if (opts.headerDigests) {
    const recorded = opts.headerDigests.get(key)
    if (recorded === undefined) {
      needsHead.push(key)
      return
    }
    same = recorded === wanted.headersDigest
  }
  if (same) unchanged.push(file)
  else if (file.size > COPY_OBJECT_MAX_BYTES) uploads.push(wanted)
  else headerUpdates.push(wanted)
}

/**
 * The listed keys the build no longer has (with `delete-removed`): deleted, or kept while a
 * removed fingerprinted asset is younger than `keep-removed`.
 */
function planRemovals(
  remoteByKey: ReadonlyMap<string, RemoteObject>,
  localKeys: ReadonlySet<string>,
  prefix: string,
  opts: SyncOptions
): { deletions: string[]; keptRemoved: KeptRemoved[] } {
  const now = opts.now ?? Date.now()
  const keepMs = opts.keepRemovedMs ?? 0
  const deletions: string[] = []
  const keptRemoved: KeptRemoved[] = []
  if (opts.deleteRemoved) {
    const removed = [...remoteByKey.keys()].filter(key => !localKeys.has(key)).sort(compareStrings)
    for (const key of removed) {
      const since = opts.removedSince?.get(key) ?? now
      if (keepMs > 0 && isFingerprintedAsset(key.slice(prefix.length)) && now - since < keepMs) {
        keptRemoved.push({ key, since, deleteAfter: since + keepMs })
      } else {
        deletions.push(key)
      }
    }
  }
  return { deletions, keptRemoved }
}

/** Keys that are, or could be, Terraform state, its lock, or the action's ownership record. */
const STATE_LIKE =
  /(^|\/)env:\/|\.tfstate($|[.-])|\.tflock$|\.revive-deploy-(owner|site)\.json$|\.revive-deploy-hmac-key$|(^|\/)\.terraform(\/|\.lock\.hcl$)/

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
  if (plan.headerUpdates.length) phases.push({ name: 'headers', updates: plan.headerUpdates })
  if (plan.deletions.length) phases.push({ name: 'deletions', deletions: plan.deletions })
  return phases
}

/** The SHA-256 kept in a HeadObject `Metadata` map (the SDK lowercases metadata names). */
export function sha256FromMetadata(metadata: Record<string, string> | undefined): RemoteHead {
  const value = metadata?.[SHA256_METADATA_KEY]
  return value ? { sha256: value.toLowerCase() } : {}
}

/** What a HEAD tells: the SHA-256 metadata, the Content-Type and the Cache-Control. */
export function remoteHead(head: {
  Metadata?: Record<string, string> | undefined
  ContentType?: string | undefined
  CacheControl?: string | undefined
}): RemoteHead {
  return {
    ...sha256FromMetadata(head.Metadata),
    contentType: head.ContentType ?? '',
    cacheControl: head.CacheControl ?? ''
  }
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
