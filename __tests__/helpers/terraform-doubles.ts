import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { findOnPath } from '../../src/terraform/install'

/** The real Terraform binary the doubles run. */
export function realTerraform(): string {
  const bin = findOnPath('terraform')
  if (!bin) throw new Error('terraform is not on PATH')
  return fs.realpathSync(bin)
}

export interface TerraformDouble {
  /** Put first on PATH: holds the `terraform` the action finds. */
  pathDir: string
  /** Environment the workflow would have (PATH, TERRAFORM_CLI_PATH for the wrapper). */
  env: Record<string, string>
}

/**
 * A double of hashicorp/setup-terraform's wrapper (terraform_wrapper: true): the binary renamed to
 * `terraform-bin` in TERRAFORM_CLI_PATH, and a Node script `terraform` on PATH that runs it with the
 * same arguments, passes stdout and stderr through as they arrive, then writes the step outputs
 * stdout, stderr and exitcode (to GITHUB_OUTPUT when set, else as ::set-output lines on stdout), and
 * exits 0 when Terraform exited 0 or 2, else prints ::error:: and exits 1.
 */
export function setupTerraformWrapper(): TerraformDouble {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'setup-terraform-'))
  const cliDir = path.join(root, 'cli')
  const pathDir = path.join(root, 'bin')
  fs.mkdirSync(cliDir)
  fs.mkdirSync(pathDir)
  fs.symlinkSync(realTerraform(), path.join(cliDir, 'terraform-bin'))
  const script = `#!${process.execPath}
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const bin = path.join(process.env.TERRAFORM_CLI_PATH, 'terraform-bin')
const child = spawn(bin, process.argv.slice(2), { stdio: ['inherit', 'pipe', 'pipe'] })
let out = ''
let err = ''
child.stdout.on('data', d => { out += d; process.stdout.write(d) })
child.stderr.on('data', d => { err += d; process.stderr.write(d) })
child.on('close', code => {
  const set = (name, value) => {
    if (process.env.GITHUB_OUTPUT) {
      const delimiter = 'ghadelimiter_' + Math.random().toString(36).slice(2)
      fs.appendFileSync(process.env.GITHUB_OUTPUT, name + '<<' + delimiter + '\\n' + value + '\\n' + delimiter + '\\n')
    } else {
      const escaped = value.replace(/%/g, '%25').replace(/\\r/g, '%0D').replace(/\\n/g, '%0A')
      process.stdout.write('\\n::set-output name=' + name + '::' + escaped + '\\n')
    }
  }
  set('stdout', out)
  set('stderr', err)
  set('exitcode', String(code))
  if (code === 0 || code === 2) process.exit(0)
  process.stdout.write('::error::Terraform exited with code ' + code + '.\\n')
  process.exit(1)
})
`
  fs.writeFileSync(path.join(pathDir, 'terraform'), script, { mode: 0o755 })
  return {
    pathDir,
    env: {
      PATH: `${pathDir}${path.delimiter}${process.env.PATH ?? ''}`,
      TERRAFORM_CLI_PATH: cliDir
    }
  }
}

/** A version manager's shim (tfenv, tfswitch, asdf, mise): a shell script that execs the chosen binary. */
export function versionManagerShim(): TerraformDouble {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tfenv-'))
  const versions = path.join(root, 'versions', 'current')
  const pathDir = path.join(root, 'bin')
  fs.mkdirSync(versions, { recursive: true })
  fs.mkdirSync(pathDir)
  fs.symlinkSync(realTerraform(), path.join(versions, 'terraform'))
  fs.writeFileSync(
    path.join(pathDir, 'terraform'),
    `#!/usr/bin/env bash\nset -euo pipefail\nTFENV_ROOT="${root}"\nexec "$TFENV_ROOT/versions/current/terraform" "$@"\n`,
    { mode: 0o755 }
  )
  return { pathDir, env: { PATH: `${pathDir}${path.delimiter}${process.env.PATH ?? ''}` } }
}
