/**
 * Each run's private directory for Terraform, outside the checkout: the data directory (TF_DATA_DIR:
 * the backend settings `init` records, `-backend-config` values included, the providers and the
 * modules) and the saved plan (which holds sensitive values). Created with mkdtemp under RUNNER_TEMP
 * (or the OS temp dir), mode 0700, and removed at the end of the run, whichever way it ends.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

export interface PrivateDir {
  /** The directory itself (0700). */
  root: string
  /** Terraform's data directory for this run (0700), passed as TF_DATA_DIR. */
  dataDir: string
  /** Where `terraform plan -out` writes. */
  planFile: string
  /** Delete the directory and everything in it (safe to call twice). */
  remove(): void
}

export function createPrivateDir(env: NodeJS.ProcessEnv = process.env): PrivateDir {
  const base = env.RUNNER_TEMP || os.tmpdir()
  fs.mkdirSync(base, { recursive: true })
  const root = fs.mkdtempSync(path.join(base, 'revive-deploy-'))
  const dataDir = path.join(root, 'terraform-data')
  fs.mkdirSync(dataDir)
  // mkdtemp creates 0700 already; the data directory's mode depends on the umask until set.
  fs.chmodSync(root, 0o700)
  fs.chmodSync(dataDir, 0o700)
  return {
    root,
    dataDir,
    planFile: path.join(root, 'plan.tfplan'),
    remove: () => fs.rmSync(root, { recursive: true, force: true, maxRetries: 3 })
  }
}

/**
 * Copy the backend record (`terraform.tfstate`) of the data directory the user's own Terraform runs
 * left into the private one, so that `init -migrate-state` finds the backend the state was in before
 * (the only part of a data directory a migration needs; providers and modules are installed again).
 */
export function carryBackendRecord(recorded: string, dir: PrivateDir): void {
  const target = path.join(dir.dataDir, 'terraform.tfstate')
  fs.copyFileSync(recorded, target)
  fs.chmodSync(target, 0o600)
}
