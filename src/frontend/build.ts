/**
 * The frontend build (SPEC §5): `build-command` run with a shell in the frontend directory, with the
 * `build-env` variables taken from Terraform outputs; then the build directory found and checked,
 * and the `config-file` written into it.
 */
import { existsSync } from 'node:fs'
import { lstat, mkdir, realpath, rm, stat, writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import { childEnv } from '../child-env'
import { runProcess, withCommandsOff } from '../process'
import { DeployError, linePlace, quote, errorMessage } from '../errors'
import type { BuildEnvMapping, Config } from '../inputs'
import { NO_CACHE, type CacheRule } from './cache-control'
import { type Log } from '../log'
import { secondsSince } from '../format'

/** The `build-env` variables: as strings for the environment, as typed values for `config-file`. */
export interface BuildEnv {
  env: Record<string, string>
  values: Record<string, unknown>
}

/**
 * Maps `build-env` lines (`ENV_NAME=output_name`) to the values of the (non-sensitive) Terraform
 * outputs. Strings are passed as they are, other values as JSON. A missing output is a
 * DeployError naming the input, the output and the outputs that exist.
 */
export function mapBuildEnv(
  mappings: readonly BuildEnvMapping[],
  outputs: Record<string, unknown>
): BuildEnv {
  const env: Record<string, string> = {}
  const values: Record<string, unknown> = {}
  for (const { env: name, output, line } of mappings) {
    if (!Object.hasOwn(outputs, output)) {
      // The line is named by number and key only: a value pasted there by mistake may be a secret.
      const known = Object.keys(outputs).sort()
      const place = line === undefined ? `(key ${quote(name)})` : linePlace(line, name)
      throw new DeployError(
        `build-env ${place}: the Terraform output this line names does not exist ` +
          `(non-sensitive outputs: ${known.length ? known.join(', ') : 'none'}); ` +
          'add the output to the Terraform module or fix the line'
      )
    }
    const value = outputs[output]
    values[name] = value
    env[name] = envString(value)
  }
  return { env, values }
}

function envString(value: unknown): string {
  if (typeof value === 'string') return value
  if (value === null || value === undefined) return ''
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return JSON.stringify(value)
}

/** The shell that runs `build-command`: bash when there is one (as `run:` steps), else sh. */
export function buildShell(env: NodeJS.ProcessEnv = process.env): string {
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean)
  const names = process.platform === 'win32' ? ['bash.exe', 'bash'] : ['bash']
  for (const dir of dirs) {
    for (const name of names) if (existsSync(path.join(dir, name))) return 'bash'
  }
  return 'sh'
}

/**
 * Runs `config.buildCommand` in the frontend directory, its output in its own log group. A
 * non-zero exit is a DeployError (nothing has been uploaded at that point). Returns the seconds
 * the build took.
 */
export async function runBuild(
  config: Pick<Config, 'buildCommand' | 'frontendDirectory' | 'workspace'>,
  buildEnv: BuildEnv,
  log: Log
): Promise<number> {
  const cwd = config.frontendDirectory
  if (!cwd) throw new Error('runBuild needs a frontend directory')
  const shown = path.relative(config.workspace, cwd) || '.'
  const env = childEnv(buildEnv.env)
  const shell = buildShell()
  const start = performance.now()
  const tail: string[] = []
  const keep = (line: string): void => {
    if (line.trim() === '') return
    tail.push(line)
    if (tail.length > 20) tail.shift()
  }
  const exitCode = await log.group(`Build frontend (${shown})`, async () => {
    const names = Object.keys(buildEnv.env)
    log.info(`$ ${config.buildCommand}`)
    if (names.length) log.info(`(with ${names.join(', ')} from Terraform outputs)`)
    // Output to the log line by line, as it arrives.
    const pending = { out: '', err: '' }
    const lines = (which: 'out' | 'err', text: string, final = false): void => {
      const all = pending[which] + text
      const parts = all.split(/\r?\n/)
      pending[which] = final ? '' : (parts.pop() ?? '')
      for (const line of parts) {
        log.info(line)
        keep(line)
      }
    }
    try {
      // The build's output is data, never workflow commands.
      const code = await withCommandsOff(
        line => log.info(line),
        async () => {
          const exit = await runProcess(shell, ['-c', config.buildCommand], {
            cwd,
            env,
            onStdout: text => lines('out', text),
            onStderr: text => lines('err', text)
          })
          for (const which of ['out', 'err'] as const) if (pending[which]) lines(which, '\n', true)
          return exit
        }
      )
      return code
    } catch (error) {
      throw new DeployError(
        `build-command could not be started with ${shell} in ${shown}: ${errorMessage(error)}`,
        { cause: error }
      )
    }
  })
  if (exitCode !== 0) {
    const last = tail.at(-1)
    throw new DeployError(
      `build-command failed with exit code ${exitCode} in ${shown}` +
        (last ? ` (last output: ${JSON.stringify(last.trim().slice(0, 200))})` : '') +
        '; nothing was uploaded. See the build group in the log.'
    )
  }
  const seconds = secondsSince(start)
  log.info(`Build finished in ${seconds} s`)
  return seconds
}

/**
 * The build output directory: `build-directory`, else `dist`, else `build`, in the frontend
 * directory. It must exist and be a directory, and its real path (symlinks followed, which the
 * build may have created) must be inside the workspace.
 */
export async function resolveBuildDirectory(
  config: Pick<Config, 'frontendDirectory' | 'buildDirectory' | 'workspace'>
): Promise<string> {
  const base = config.frontendDirectory
  if (!base) throw new Error('resolveBuildDirectory needs a frontend directory')
  let dir: string
  if (config.buildDirectory !== undefined) {
    dir = path.resolve(base, config.buildDirectory)
    if (!(await isDirectory(dir))) {
      throw new DeployError(
        `build-directory "${config.buildDirectory}" does not exist after the build (looked for ${dir}); ` +
          'set build-directory to where build-command writes its output'
      )
    }
  } else {
    const found = await firstDirectory([path.join(base, 'dist'), path.join(base, 'build')])
    if (!found) {
      throw new DeployError(
        `Neither dist nor build exists in ${base} after the build; ` +
          'set build-directory to where build-command writes its output'
      )
    }
    dir = found
  }
  const [realDir, realWorkspace] = await Promise.all([realpath(dir), realpath(config.workspace)])
  if (!isInside(realWorkspace, realDir)) {
    throw new DeployError(
      `build-directory: ${dir} resolves to ${realDir}, outside the workspace (a symlink?); ` +
        'refusing to upload it. Point build-directory at a directory inside the repository checkout.'
    )
  }
  return realDir
}

/**
 * Writes the `build-env` values as JSON (`{"VITE_API_URL": "https://..."}`) to `configFile`
 * (relative, `/`-separated) inside the build directory, replacing whatever the build put there;
 * a symlink in its place is removed, not written through. Returns the relative path.
 */
export async function writeConfigFile(
  buildDirectory: string,
  configFile: string,
  values: Record<string, unknown>
): Promise<string> {
  const root = await realpath(buildDirectory)
  const target = path.resolve(root, ...configFile.split('/'))
  if (!isInside(root, target) || target === root) {
    throw new DeployError(`config-file "${configFile}" is not a file inside the build output`)
  }
  const parent = path.dirname(target)
  await mkdir(parent, { recursive: true })
  if (!isInside(root, await realpath(parent))) {
    throw new DeployError(
      `config-file "${configFile}": its directory leaves the build output (a symlink?); refusing to write it`
    )
  }
  const existing = await lstat(target).catch(() => undefined)
  if (existing?.isDirectory()) {
    throw new DeployError(
      `config-file "${configFile}" is a directory in the build output; choose another file name`
    )
  }
  if (existing) await rm(target, { force: true })
  await writeFile(target, `${JSON.stringify(values, null, 2)}\n`, { flag: 'wx' })
  return path.relative(root, target).split(path.sep).join('/')
}

/** The Cache-Control rule for the config file: `no-cache`, after the user's own rules. */
export function configFileRule(configFile: string): CacheRule {
  return { pattern: configFile, value: NO_CACHE }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory()
  } catch {
    return false
  }
}

async function firstDirectory(candidates: readonly string[]): Promise<string | undefined> {
  for (const candidate of candidates) if (await isDirectory(candidate)) return candidate
  return undefined
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate)
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel))
}
