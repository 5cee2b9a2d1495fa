import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb'
import { HeadBucketCommand, ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { findsDriftMarker } from '../../src/drift/issue'
import {
  explain,
  makeWorkspace,
  startTestbed,
  type Testbed,
  GITHUB_BOT,
  GITHUB_REPO,
  GITHUB_WRITE_TOKEN
} from '../helpers/testbed'

// Drift mode through the bundled action, the real Terraform binary and the stand-ins: a refresh-only
// plan and a normal plan without the state lock, never applied, and one issue per stack.
const bucket = 'shop-terraform-state-123456789012'
const table = 'shop-terraform-locks'

/** Run options of a scheduled run (run id `runId`) with `token` as the job's GITHUB_TOKEN. */
const schedule = (runId: string, token = GITHUB_WRITE_TOKEN) => ({
  event: { name: 'schedule', payload: { schedule: '0 6 * * *' } },
  env: { GITHUB_TOKEN: token, GITHUB_RUN_ID: runId, GITHUB_SHA: 'a'.repeat(40) }
})
const deployEvent = {
  event: { name: 'push', payload: {} },
  env: { GITHUB_TOKEN: GITHUB_WRITE_TOKEN }
}

describe('mode: drift', () => {
  let bed: Testbed
  beforeAll(async () => {
    bed = await startTestbed('eu-west-1')
    bed.standins.github.addRepository(GITHUB_REPO)
  })
  afterAll(async () => bed.stop())

  const stackIssues = (stateKey: string) =>
    bed.standins.github.issues(GITHUB_REPO).filter(
      i =>
        i.user.login === GITHUB_BOT &&
        findsDriftMarker(i.body ?? '', {
          workingDirectory: 'terraform',
          stateKey,
          environment: 'production'
        })
    )

  /** Versions of the state object (a write of any kind adds one: the bucket is versioned). */
  async function stateVersions(key: string): Promise<string[]> {
    const out = await bed.s3().send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }))
    return (out.Versions ?? []).filter(v => v.Key === key).map(v => v.VersionId ?? '')
  }

  async function lockTableItems(): Promise<string> {
    const out = await bed.dynamodb().send(new ScanCommand({ TableName: table }))
    return JSON.stringify((out.Items ?? []).map(i => [i.LockID?.S, i.Digest?.S]).sort())
  }

  /**
   * Change one resource's attributes in the state behind Terraform's back, as a hand edit and
   * `aws s3 cp` would (with the digest Terraform checks updated, as `terraform state push` does).
   */
  async function editStateBehindTerraform(key: string): Promise<void> {
    const state = (await bed.state(bucket, key)) as unknown as {
      serial: number
      resources: Array<{
        type: string
        name: string
        instances: Array<{ index_key?: string; attributes: { input: { value: { name: string } } } }>
      }>
    }
    const orders = state.resources
      .find(r => r.name === 'table')
      ?.instances.find(i => i.index_key === 'orders')
    if (!orders) throw new Error('no terraform_data.table["orders"] in the state')
    orders.attributes.input.value.name = 'orders-edited-by-hand'
    state.serial += 1
    const body = JSON.stringify(state, null, 2)
    await bed.s3().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))
    await bed.dynamodb().send(
      new PutItemCommand({
        TableName: table,
        Item: {
          LockID: { S: `${bucket}/${key}-md5` },
          Digest: { S: createHash('md5').update(body).digest('hex') }
        }
      })
    )
  }

  it('opens one issue for a change made behind Terraform, updates it on the next run, closes it once fixed; applies nothing and takes no lock', async () => {
    const key = 'drift/terraform.tfstate'
    const workspace = makeWorkspace('app')
    const inputs = { 'state-key': key }
    const deploy = await bed.run(workspace, { ...inputs, mode: 'apply' }, deployEvent)
    expect([deploy.exitCode, explain(deploy)]).toEqual([0, explain(deploy)])

    // Clean: nothing to report, no issue.
    const clean = await bed.run(workspace, { ...inputs, mode: 'drift' }, schedule('2001'))
    expect([clean.exitCode, explain(clean)]).toEqual([0, explain(clean)])
    expect([clean.outputs.drift, clean.outputs.changes]).toEqual(['false', 'false'])
    expect(stackIssues(key)).toHaveLength(0)

    await editStateBehindTerraform(key)
    const versionsBefore = await stateVersions(key)
    const locksBefore = await lockTableItems()
    bed.standins.dynamodb.clearRequests()
    bed.standins.s3.clearRequests()

    const first = await bed.run(workspace, { ...inputs, mode: 'drift' }, schedule('2002'))
    expect([first.exitCode, explain(first)]).toEqual([0, explain(first)])
    expect(first.outputs).toMatchObject({
      mode: 'drift',
      drift: 'false', // terraform_data reads back what the state holds: no refresh-only drift
      changes: 'true',
      'to-change': '1',
      'plan-summary': expect.stringContaining('1 to change') as unknown as string
    })
    // Both plans ran without the lock, and nothing was applied.
    expect(first.log).toMatch(/terraform plan -refresh-only/)
    expect(first.log).toContain('-lock=false')
    expect(first.log).not.toMatch(/\bterraform apply\b/)
    expect(await stateVersions(key)).toEqual(versionsBefore)
    expect(await lockTableItems()).toBe(locksBefore)
    const dynamoWrites = bed.standins.dynamodb.requests.filter(r =>
      /^(PutItem|DeleteItem|UpdateItem|BatchWriteItem|TransactWriteItems)$/.test(r.operation)
    )
    expect(dynamoWrites).toEqual([])
    const s3Writes = bed.standins.s3.requests.filter(r => /^(Put|Delete|Copy)/.test(r.operation))
    expect(s3Writes).toEqual([])

    const [issue, ...more] = stackIssues(key)
    expect(more).toHaveLength(0)
    expect(issue).toMatchObject({
      state: 'open',
      title: `Drift or unapplied changes: terraform (${key})`
    })
    expect(issue?.body).toContain('### Drift check: `terraform` (`production`)')
    expect(issue?.body).toContain('terraform_data.table["orders"]')
    expect(issue?.body).toContain('actions/runs/2002')
    expect(issue?.body).not.toContain('demo-api-key-value-123')
    expect(first.summary).toContain('### Drift check')
    expect(first.summary).toMatch(/#### Drift\n/)
    expect(issue?.body).toContain('| Changes the plan would make (not yet applied) | yes |')
    expect(first.summary).toContain(
      `#### Drift issue\n\nOpened: [#${issue?.number}](${issue?.html_url}).`
    )

    // A second run (now also with a configuration change not yet applied) updates the same issue.
    const second = await bed.run(
      workspace,
      { ...inputs, mode: 'drift', variables: 'app_version=2.0.0' },
      schedule('2003')
    )
    expect([second.exitCode, explain(second)]).toEqual([0, explain(second)])
    expect(second.outputs['to-change']).toBe('4')
    const afterSecond = stackIssues(key)
    expect(afterSecond.map(i => [i.number, i.state])).toEqual([[issue?.number, 'open']])
    expect(afterSecond[0]?.body).toContain('actions/runs/2003')
    expect(afterSecond[0]?.body).toContain('4 to change')
    expect(bed.standins.github.issues(GITHUB_REPO)).toHaveLength(1)

    // The drift is fixed (a deploy puts the configuration back); the next check closes the issue.
    const fix = await bed.run(workspace, { ...inputs, mode: 'apply' }, deployEvent)
    expect([fix.exitCode, explain(fix)]).toEqual([0, explain(fix)])
    const fixed = await bed.run(workspace, { ...inputs, mode: 'drift' }, schedule('2004'))
    expect([fixed.exitCode, explain(fixed)]).toEqual([0, explain(fixed)])
    expect([fixed.outputs.drift, fixed.outputs.changes]).toEqual(['false', 'false'])
    const closed = stackIssues(key)
    expect(closed.map(i => [i.number, i.state, i.state_reason])).toEqual([
      [issue?.number, 'closed', 'completed']
    ])
    const notes = bed.standins.github.comments(GITHUB_REPO, issue?.number ?? 0)
    expect(notes).toHaveLength(1)
    expect(notes[0]?.body).toMatch(
      /No drift and no unapplied changes any more.*runs\/2004.*Closing/
    )

    // Still clean: nothing more is written.
    const again = await bed.run(workspace, { ...inputs, mode: 'drift' }, schedule('2005'))
    expect([again.exitCode, explain(again)]).toEqual([0, explain(again)])
    expect(bed.standins.github.issues(GITHUB_REPO)).toHaveLength(1)
    expect(bed.standins.github.comments(GITHUB_REPO, issue?.number ?? 0)).toHaveLength(1)
  })

  it('mode auto on a schedule runs drift; a read-only token is a warning and the job summary has the report', async () => {
    const key = 'readonly/terraform.tfstate'
    const workspace = makeWorkspace('app')
    const deploy = await bed.run(workspace, { 'state-key': key, mode: 'apply' }, deployEvent)
    expect([deploy.exitCode, explain(deploy)]).toEqual([0, explain(deploy)])
    const issuesBefore = bed.standins.github.issues(GITHUB_REPO).length

    const run = await bed.run(
      workspace,
      { 'state-key': key, variables: 'app_version=3.0.0' },
      schedule('3001', 'ghs_standin_read')
    )
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(run.outputs).toMatchObject({ mode: 'drift', drift: 'false', changes: 'true' })
    expect(run.log).toContain('mode drift (auto, event schedule)')
    expect(run.log).toMatch(
      /::warning::Could not open or update the drift issue: the token may not write issues \(403/
    )
    expect(run.log).toContain('issues: write')
    expect(run.summary).toContain('### Drift check')
    expect(run.summary).toContain('3 to change')
    expect(run.summary).toContain('#### Drift issue\n\nCould not open or update the drift issue')
    expect(bed.standins.github.issues(GITHUB_REPO)).toHaveLength(issuesBefore)
    expect(run.log).not.toMatch(/\bterraform apply\b/)
  })

  it('drift-issue: false reports without touching issues', async () => {
    const key = 'noissue/terraform.tfstate'
    const workspace = makeWorkspace('app')
    const deploy = await bed.run(workspace, { 'state-key': key, mode: 'apply' }, deployEvent)
    expect([deploy.exitCode, explain(deploy)]).toEqual([0, explain(deploy)])
    bed.standins.github.clearRequests()
    const run = await bed.run(
      workspace,
      { 'state-key': key, mode: 'drift', 'drift-issue': 'false', variables: 'app_version=4.0.0' },
      schedule('4001')
    )
    expect([run.exitCode, explain(run)]).toEqual([0, explain(run)])
    expect(run.outputs.changes).toBe('true')
    expect(bed.standins.github.requests).toEqual([])
    expect(run.summary).toContain('#### Drift issue\n\nOff (drift-issue: false).')
  })

  it('a stack never deployed: creates no backend, plans nothing, opens no issue', async () => {
    bed.standins.s3.clearRequests()
    bed.standins.dynamodb.clearRequests()
    const issuesBefore = bed.standins.github.issues(GITHUB_REPO).length
    // No state bucket and no lock table yet.
    const none = await bed.run(
      makeWorkspace('app'),
      { mode: 'drift', 'state-bucket': 'nothing-deployed-here', 'lock-table': 'no-locks-here' },
      schedule('5001')
    )
    expect([none.exitCode, explain(none)]).toEqual([0, explain(none)])
    expect([none.outputs.drift, none.outputs.changes]).toEqual(['false', 'false'])
    expect(none.log).toMatch(/::notice::Drift check: the state backend does not exist yet/)
    expect(none.log).not.toContain('[command]terraform')
    await expect(
      bed.s3().send(new HeadBucketCommand({ Bucket: 'nothing-deployed-here' }))
    ).rejects.toThrow()
    const writes = [...bed.standins.s3.requests, ...bed.standins.dynamodb.requests].filter(r =>
      /^(Put|Create|Delete|Update)/.test(r.operation)
    )
    expect(writes).toEqual([])

    // The backend exists but this key has no state: nothing to drift from either.
    const noState = await bed.run(
      makeWorkspace('app'),
      { mode: 'drift', 'state-key': 'never/terraform.tfstate' },
      schedule('5002')
    )
    expect([noState.exitCode, explain(noState)]).toEqual([0, explain(noState)])
    expect([noState.outputs.drift, noState.outputs.changes]).toEqual(['false', 'false'])
    expect(noState.log).toMatch(/there is no state at s3:\/\/\S+\/never\/terraform\.tfstate/)
    expect(noState.log).not.toMatch(/\[command\]\S*terraform plan/)
    expect(bed.standins.github.issues(GITHUB_REPO)).toHaveLength(issuesBefore)
    const lockItem = await bed.dynamodb().send(
      new GetItemCommand({
        TableName: table,
        Key: { LockID: { S: `${bucket}/never/terraform.tfstate` } }
      })
    )
    expect(lockItem.Item).toBeUndefined()
  })
})
