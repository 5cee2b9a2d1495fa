/** The frontend's configuration (directory, build, site bucket and prefix, caching, invalidation). */
import * as path from 'node:path'
import { InputError, InputLineError, errorMessage } from '../errors'
import { checkBucketName } from '../aws/names'
import { checkRelativeFile, insideWorkspace, isDirectory } from '../workspace-paths'
import {
  bool,
  keyValueLines,
  lines,
  oneOf,
  optional,
  withDefault,
  type InputReader
} from '../input-reader'
import { compileCacheRules, type CacheRule } from './cache-control'
import { normalizePrefix } from './sync-plan'

export type InvalidateMode = 'changed' | 'all' | 'none'

export interface BuildEnvMapping {
  env: string
  output: string
  /** The line of `build-env` this mapping comes from, for errors that may not quote the line. */
  line?: number
}

export interface FrontendInputs {
  /** Absolute frontend directory; undefined: no frontend (skipped with a notice). */
  frontendDirectory?: string
  buildCommand: string
  /** Build output relative to the frontend directory; undefined: `dist`, else `build`. */
  buildDirectory?: string
  buildEnv: BuildEnvMapping[]
  configFile?: string
  siteBucket?: string
  /** Normalised site prefix: empty, or no leading slash and exactly one trailing slash. */
  sitePrefix: string
  distributionId?: string
  deleteRemoved: boolean
  /**
   * `keep-removed` in milliseconds: how long fingerprinted assets the build no longer has stay in
   * the bucket; 0 deletes them at once.
   */
  keepRemovedMs: number
  cacheControl: CacheRule[]
  invalidate: InvalidateMode
  waitForInvalidation: boolean
}

const INVALIDATE = ['changed', 'all', 'none'] as const

export function readFrontendConfig(input: InputReader, workspace: string): FrontendInputs {
  const frontendDirectory = readFrontendDirectory(input, workspace)
  const buildCommand = withDefault(input, 'build-command')
  const buildDirectory = optional(input('build-directory'))
  if (buildDirectory !== undefined) {
    insideWorkspace('build-directory', buildDirectory, workspace, frontendDirectory ?? workspace)
  }
  const buildEnv = keyValueLines(
    input,
    'build-env',
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    'an environment variable name'
  ).map(({ key, value, line }) => {
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(value)) {
      throw new InputLineError(
        'build-env',
        line,
        key,
        'the value is not a Terraform output name; each line is ENV_NAME=terraform_output_name, e.g. VITE_API_URL=api_url'
      )
    }
    return { env: key, output: value, line }
  })
  const configFile = optional(input('config-file'))
  if (configFile !== undefined) checkRelativeFile('config-file', configFile)

  const siteBucket = optional(input('site-bucket'))
  if (siteBucket !== undefined) checkBucketName('site-bucket', siteBucket)
  const sitePrefix = normalisePrefix(input('site-prefix'))
  const distributionId = optional(input('distribution-id'))
  if (distributionId !== undefined && !/^[A-Z0-9]{8,32}$/.test(distributionId)) {
    throw new InputError(
      'distribution-id',
      distributionId,
      'use a CloudFront distribution id such as E2QWRUHAPOMQZL (upper-case letters and digits)'
    )
  }

  const cacheControl = readCacheRules(input)
  const invalidate = oneOf(input, 'invalidate', INVALIDATE)

  return {
    ...(frontendDirectory !== undefined && { frontendDirectory }),
    buildCommand,
    ...(buildDirectory !== undefined && { buildDirectory }),
    buildEnv,
    ...(configFile !== undefined && { configFile }),
    ...(siteBucket !== undefined && { siteBucket }),
    sitePrefix,
    ...(distributionId !== undefined && { distributionId }),
    deleteRemoved: bool(input, 'delete-removed'),
    keepRemovedMs: keepRemoved(withDefault(input, 'keep-removed')),
    cacheControl,
    invalidate,
    waitForInvalidation: bool(input, 'wait-for-invalidation')
  }
}

const DURATION_UNITS_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000
}

/**
 * `keep-removed` in milliseconds: `0`, or whole numbers with a unit, one or more (`12h`, `7d`,
 * `1d12h`, `2w`). A bare number other than 0 is refused: its unit would be a guess.
 */
export function keepRemoved(value: string): number {
  if (/^0+$/.test(value)) return 0
  const parts = /^(\d+[smhdw])+$/.test(value) ? value.match(/\d+[smhdw]/g) : null
  if (!parts) {
    throw new InputError(
      'keep-removed',
      value,
      'use a duration such as 12h, 7d or 2w (units s, m, h, d, w), or 0 to delete removed assets at once'
    )
  }
  return parts.reduce(
    (sum, part) => sum + Number(part.slice(0, -1)) * (DURATION_UNITS_MS[part.slice(-1)] ?? 0),
    0
  )
}

/** '' → ''; '/site/' → 'site/'; 'a//b', '..' segments, backslashes and control characters are refused. */
export function normalisePrefix(value: string): string {
  try {
    return normalizePrefix(value)
  } catch {
    throw new InputError(
      'site-prefix',
      value,
      'use a key prefix such as app or sites/app, without empty, "." or ".." segments or backslashes'
    )
  }
}

function readFrontendDirectory(input: InputReader, workspace: string): string | undefined {
  const given = optional(input('frontend-directory'))
  if (given === undefined) {
    const conventional = path.join(workspace, 'frontend')
    return isDirectory(conventional) ? conventional : undefined
  }
  const absolute = insideWorkspace('frontend-directory', given, workspace)
  if (!isDirectory(absolute)) {
    throw new InputError(
      'frontend-directory',
      given,
      'no such directory in the workspace; fix the path or leave it empty to skip the frontend'
    )
  }
  return absolute
}

function readCacheRules(input: InputReader): CacheRule[] {
  const rules = lines(input('cache-control')).map(line => {
    const at = line.indexOf('=')
    const pattern = at > 0 ? line.slice(0, at).trim() : ''
    const value = at > 0 ? line.slice(at + 1).trim() : ''
    if (!pattern || !value) {
      throw new InputError(
        'cache-control',
        line,
        'each line is glob=value, e.g. assets/**=public, max-age=31536000, immutable'
      )
    }
    return { pattern, value }
  })
  try {
    return [...compileCacheRules(rules).rules]
  } catch (error) {
    throw new InputError('cache-control', input('cache-control'), errorMessage(error))
  }
}
