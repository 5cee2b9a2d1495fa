/** Which Terraform release: this machine's platform name, version order, the newest stable release. */
import { DeployError, errorMessage } from '../errors'
import { downloadBytes, requireAcceptedUrl, requireRunnerDirs } from './install-fetch'

/** HashiCorp's os/arch names for this machine. */
export function terraformPlatform(
  platform: string = process.platform,
  arch: string = process.arch
): { os: string; arch: string } {
  const osName = platform === 'win32' ? 'windows' : platform
  const archName =
    ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm' } as Record<string, string>)[arch] ??
    arch
  return { os: osName, arch: archName }
}

const STABLE = /^\d+\.\d+\.\d+$/

/** Orders x.y.z versions numerically. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

/**
 * The newest stable version in a release index (`<base>/index.json`) that has a build for the
 * platform (versions listed without builds are taken as they are). Pure.
 */
export function latestStableVersion(
  index: unknown,
  platform: { os: string; arch: string } = terraformPlatform(),
  accept: (version: string) => boolean = () => true
): string | undefined {
  const versions = (index as { versions?: unknown } | null)?.versions
  if (versions === null || typeof versions !== 'object') return undefined
  const candidates = Object.entries(versions as Record<string, unknown>)
    .filter(([version]) => STABLE.test(version) && accept(version))
    .filter(([, release]) => {
      const builds = (release as { builds?: unknown } | null)?.builds
      if (!Array.isArray(builds)) return true
      return builds.some(b => {
        const build = b as { os?: unknown; arch?: unknown }
        return build.os === platform.os && build.arch === platform.arch
      })
    })
    .map(([version]) => version)
    .sort(compareVersions)
  return candidates.at(-1)
}
/**
 * The newest stable release listed at `<base>/index.json` (that `accept` takes; `wanted` says which
 * in the error when none does).
 */
export async function resolveLatestVersion(
  baseUrl: string,
  accept: (version: string) => boolean = () => true,
  wanted = 'stable release'
): Promise<string> {
  requireRunnerDirs()
  requireAcceptedUrl(baseUrl)
  const url = `${baseUrl}/index.json`
  const body = await downloadBytes(
    url,
    'the Terraform release index',
    'set terraform-version to a release such as 1.11.4, or point terraform-download-url at a mirror that serves index.json'
  )
  let index: unknown
  try {
    index = JSON.parse(body.toString('utf8'))
  } catch (error) {
    throw new DeployError(
      `The Terraform release index at ${url} is not JSON (${errorMessage(error)})`
    )
  }
  const platform = terraformPlatform()
  const version = latestStableVersion(index, platform, accept)
  if (!version) {
    throw new DeployError(
      `The Terraform release index at ${url} lists no ${wanted} for ${platform.os}_${platform.arch}; set terraform-version to a release`
    )
  }
  return version
}
