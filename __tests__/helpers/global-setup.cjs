// jest's global setup: Terraform for every suite, on PATH or installed into the developer cache by
// the action's own installer (scripts/dev-terraform.ts). jest's workers start after this and
// inherit PATH.
const { execFileSync } = require('node:child_process')
const path = require('node:path')

module.exports = async function globalSetup() {
  const root = path.join(__dirname, '..', '..')
  const tsx = path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs')
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  const dir = execFileSync(
    process.execPath,
    [tsx, path.join(root, 'scripts', 'dev-terraform.ts')],
    {
      cwd: root,
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit']
    }
  )
    .trim()
    .split('\n')
    .at(-1)
  const entries = (process.env.PATH || '').split(path.delimiter)
  if (!entries.includes(dir)) process.env.PATH = [dir, ...entries].join(path.delimiter)
}
