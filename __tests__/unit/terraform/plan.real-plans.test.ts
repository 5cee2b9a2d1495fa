/**
 * The plan summary, the report and the reviewed-plan fingerprint on real Terraform JSON plans that
 * nobody on this project wrote: `../shared/real-plans` beside the repository (see its PROVENANCE.md),
 * read where it is at test time and never copied in. Everything the report is checked against is
 * computed here from the plan JSON itself, not with the code under test.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { summarizePlan, type PlanSummary } from '../../../src/terraform/plan'
import { PlanFormatError } from '../../../src/terraform/plan-format'
import { sensitiveStrings } from '../../../src/terraform/sensitive'
import { fingerprintLine, planFingerprint } from '../../../src/terraform/fingerprint'
import { GITHUB_COMMENT_LIMIT, renderReport, type ReportContext } from '../../../src/report/render'
import { prContext, reportStack, stripCode } from '../../helpers/markdown'

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
/** Beside the repository, whatever the repository's folder is called. */
const CORPUS = path.resolve(repositoryRoot, '..', 'shared', 'real-plans')
const TEXTS = path.join(CORPUS, 'plan-text')

/** The plans in the corpus (sorted), or the empty list when it is not there (a test fails then). */
const files = fs.existsSync(CORPUS)
  ? fs
      .readdirSync(CORPUS)
      .filter(f => f.endsWith('.json'))
      .sort()
  : []

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type Obj = { [key: string]: Json }
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

function load(file: string): { doc: Obj; text: string; planText?: string } {
  const text = fs.readFileSync(path.join(CORPUS, file), 'utf8')
  const textFile = path.join(TEXTS, file.replace(/\.json$/, '.txt'))
  const planText = fs.existsSync(textFile) ? fs.readFileSync(textFile, 'utf8') : undefined
  return { doc: JSON.parse(text) as Obj, text, ...(planText !== undefined && { planText }) }
}

// --- what the plan says, computed here ------------------------------------------------------------

/** Why the action must refuse this plan, or undefined when it must read it. */
function expectedRefusal(doc: Obj): RegExp | undefined {
  const version = doc.format_version
  if (typeof version !== 'string') return /^Not a Terraform plan: format_version is missing/
  // Terraform 0.12 to 0.14 write format 0.1, without before_sensitive/after_sensitive.
  if (version.startsWith('0.1'))
    return /^Unsupported Terraform plan JSON format_version "0\.1": Terraform 0\.12 to 0\.14 write it without marking sensitive values/
  return undefined
}

const KINDS = ['add', 'change', 'destroy', 'replace', 'read', 'import', 'move', 'forget'] as const
type Counts = Record<(typeof KINDS)[number], number>

const changesOf = (doc: Obj): Obj[] =>
  (Array.isArray(doc.resource_changes) ? doc.resource_changes : []).filter(isObj)
const actionsOf = (rc: Obj): string =>
  isObj(rc.change) && Array.isArray(rc.change.actions) ? rc.change.actions.join(',') : ''
const moved = (rc: Obj): boolean =>
  typeof rc.previous_address === 'string' && rc.previous_address !== rc.address
const imports = (rc: Obj): boolean => isObj(rc.change) && isObj(rc.change.importing)

/** Resource changes that do something: every action but no-op, or a no-op that moves or imports. */
function changed(doc: Obj): Obj[] {
  return changesOf(doc).filter(rc => actionsOf(rc) !== 'no-op' || moved(rc) || imports(rc))
}

function countsOf(doc: Obj): Counts {
  const c = Object.fromEntries(KINDS.map(kind => [kind, 0])) as Counts
  for (const rc of changesOf(doc)) {
    const actions = actionsOf(rc)
    if (actions === 'create' || actions === 'create,forget') c.add++
    if (actions === 'update') c.change++
    if (actions === 'delete') c.destroy++
    if (actions === 'delete,create' || actions === 'create,delete') c.replace++
    if (actions === 'read') c.read++
    if (actions === 'forget' || actions === 'create,forget') c.forget++
    if (imports(rc)) c.import++
    if (moved(rc)) c.move++
  }
  return c
}

/** Terraform's own "Plan:" line, where the plan text was kept: a replacement is 1 add + 1 destroy. */
function terraformPlanLine(
  planText: string
): { import: number; add: number; change: number; destroy: number } | undefined {
  const m =
    /^Plan: (?:(\d+) to import, )?(\d+) to add, (\d+) to change, (\d+) to destroy(?:, \d+ to forget)?\.$/m.exec(
      planText
    )
  if (!m) return undefined
  return {
    import: Number(m[1] ?? 0),
    add: Number(m[2]),
    change: Number(m[3]),
    destroy: Number(m[4])
  }
}

/**
 * Every value the plan marks sensitive: leaves under the before/after_sensitive masks (changes and
 * drift), sensitive_values (planned values and prior state), sensitive outputs, and the values of
 * variables the root module declares sensitive. Strings only, 4 characters or more (shorter ones,
 * like "true", occur in any text).
 */
function sensitiveValues(doc: Obj): string[] {
  const found = new Set<string>()
  const leaves = (value: unknown): void => {
    if (typeof value === 'string') {
      if (value.trim().length >= 4) found.add(value.trim())
    } else if (Array.isArray(value)) value.forEach(leaves)
    else if (isObj(value)) Object.values(value).forEach(leaves)
  }
  const masked = (value: unknown, mask: unknown): void => {
    if (mask === true) leaves(value)
    else if (Array.isArray(mask))
      mask.forEach((m, i) => masked(Array.isArray(value) ? value[i] : undefined, m))
    else if (isObj(mask))
      for (const k of Object.keys(mask)) masked(isObj(value) ? value[k] : undefined, mask[k])
  }
  for (const key of ['resource_changes', 'resource_drift']) {
    const list = doc[key]
    for (const rc of Array.isArray(list) ? list : []) {
      if (!isObj(rc) || !isObj(rc.change)) continue
      masked(rc.change.before, rc.change.before_sensitive)
      masked(rc.change.after, rc.change.after_sensitive)
    }
  }
  if (isObj(doc.output_changes)) {
    for (const oc of Object.values(doc.output_changes)) {
      if (!isObj(oc)) continue
      masked(oc.before, oc.before_sensitive)
      masked(oc.after, oc.after_sensitive)
    }
  }
  const values = (v: unknown): void => {
    if (!isObj(v)) return
    if (isObj(v.outputs))
      for (const o of Object.values(v.outputs))
        if (isObj(o) && o.sensitive === true) leaves(o.value)
    const walk = (mod: unknown): void => {
      if (!isObj(mod)) return
      for (const r of Array.isArray(mod.resources) ? mod.resources : [])
        if (isObj(r)) masked(r.values, r.sensitive_values)
      for (const child of Array.isArray(mod.child_modules) ? mod.child_modules : []) walk(child)
    }
    walk(v.root_module)
  }
  values(doc.planned_values)
  if (isObj(doc.prior_state)) values(doc.prior_state.values)
  const declared =
    isObj(doc.configuration) && isObj(doc.configuration.root_module)
      ? doc.configuration.root_module.variables
      : undefined
  if (isObj(declared) && isObj(doc.variables)) {
    for (const [name, decl] of Object.entries(declared)) {
      const given = doc.variables[name]
      if (isObj(decl) && decl.sensitive === true && isObj(given)) leaves(given.value)
    }
  }
  return [...found]
}

/** The effect a reviewer approves: what changes where, imports, moves, planned values, outputs. */
function effectKey(doc: Obj): string {
  const lines = changed(doc).map(rc => {
    const change = rc.change as Obj
    return JSON.stringify([
      rc.address,
      actionsOf(rc),
      rc.deposed ?? null,
      change.importing ?? null,
      moved(rc) ? rc.previous_address : null,
      change.after ?? null,
      change.after_unknown ?? null
    ])
  })
  if (isObj(doc.output_changes)) {
    for (const [name, oc] of Object.entries(doc.output_changes)) {
      if (!isObj(oc) || !Array.isArray(oc.actions) || oc.actions.join(',') === 'no-op') continue
      lines.push(JSON.stringify([name, oc.actions, oc.after ?? null, oc.after_unknown ?? null]))
    }
  }
  return lines.sort().join('\n')
}

// --- what the report shows ------------------------------------------------------------------------

const STACK = { workingDirectory: reportStack.workingDirectory, stateKey: reportStack.stateKey }
const KEY = Buffer.alloc(32, 3)

function context(doc: Obj, planText: string | undefined): ReportContext {
  return prContext({ secrets: sensitiveStrings(doc), ...(planText !== undefined && { planText }) })
}

/** The PR comment as the action posts it: marker, hidden fingerprint, report. */
function comment(summary: PlanSummary, doc: Obj, planText: string | undefined): string {
  const hidden = `${fingerprintLine(planFingerprint(doc, STACK, KEY, 'a1b2c3d'))}\n`
  const rendered = renderReport(summary, context(doc, planText), {
    includeMarker: true,
    maxLength: GITHUB_COMMENT_LIMIT - hidden.length
  })
  const at = rendered.indexOf('\n')
  return `${rendered.slice(0, at + 1)}${hidden}${rendered.slice(at + 1)}`
}

/** The addresses in the Resource changes table, and the N of "… and N more resource changes". */
function shownAddresses(markdown: string): { shown: string[]; more: number } {
  const section = markdown.split('#### Resource changes')[1]?.split(/\n#### |\n---\n/)[0] ?? ''
  const shown: string[] = []
  for (const line of section.split('\n')) {
    if (!line.startsWith('| ') || /^\| (Action|---) \|/.test(line)) continue
    const cell = line.split(/(?<!\\)\|/)[2]?.trim() ?? ''
    const code = /^(`+) ?([\s\S]*?) ?\1$/.exec(cell)
    const html = /^<code>([\s\S]*)<\/code>$/.exec(cell)
    if (code) shown.push((code[2] ?? '').replace(/\\\|/g, '|'))
    else if (html)
      shown.push((html[1] ?? '').replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(+n)))
    else throw new Error(`unexpected resource cell: ${cell}`)
  }
  const more = /… and ([\d,]+) more resource changes/.exec(section)?.[1]
  return { shown, more: more ? Number(more.replace(/,/g, '')) : 0 }
}

/** Every fenced block closed (a fence closes with at least as many backticks as opened it). */
function fencesBalanced(markdown: string): boolean {
  let open = 0
  for (const line of markdown.split('\n')) {
    if (open === 0) {
      const m = /^(`{3,})[^`]*$/.exec(line)
      if (m) open = (m[1] ?? '').length
    } else if (new RegExp(`^\`{${open},}\\s*$`).test(line)) open = 0
  }
  return open === 0
}

function checkMarkdown(markdown: string, secrets: string[], limit: number): void {
  expect(markdown.length).toBeLessThanOrEqual(limit)
  expect(fencesBalanced(markdown)).toBe(true)
  const outside = stripCode(markdown)
  expect(outside.split('<details>').length).toBe(outside.split('</details>').length)
  for (const secret of secrets) expect([secret, markdown.includes(secret)]).toEqual([secret, false])
}

// --------------------------------------------------------------------------------------------------

/** The plans whose plan text was kept, as checked against the comment's Terraform line. */
const linesChecked: string[] = []

describe('the corpus of real plans', () => {
  afterAll(() => {
    console.log(`Terraform's Plan: line checked against ${linesChecked.length} plan texts`)
  })

  it(`is there: ${CORPUS}`, () => {
    if (files.length === 0) {
      throw new Error(
        `No real Terraform plans at ${CORPUS}: the test reads them from shared/real-plans beside the repository (do not copy them in). Check out shared/ next to the repository.`
      )
    }
    expect(fs.existsSync(path.join(CORPUS, 'PROVENANCE.md'))).toBe(true)
  })

  it('is read where the action supports it and refused, with the reason, where it does not', () => {
    const read: string[] = []
    const refused: string[] = []
    for (const file of files) {
      const { doc } = load(file)
      const refusal = expectedRefusal(doc)
      if (refusal) {
        expect(() => summarizePlan(doc)).toThrow(PlanFormatError)
        expect(() => summarizePlan(doc)).toThrow(refusal)
        refused.push(file)
      } else {
        summarizePlan(doc)
        read.push(file)
      }
    }
    console.log(
      `real plans: ${files.length}; read ${read.length}; refused ${refused.length} (${refused.join(', ')})`
    )
    // 4 plans of format 0.1 (Terraform 0.12 to 0.14, no sensitivity marks) and one whose repository
    // trimmed format_version off; the 4 plans of format 0.2 (Terraform 0.15 to 1.0) are read.
    expect({ total: files.length, read: read.length, refused: refused.length }).toEqual({
      total: 79,
      read: 74,
      refused: 5
    })
    expect(read).toEqual(expect.arrayContaining(files.filter(f => f.endsWith('-v0.2.json'))))
  })

  it('gives every plan with another effect another fingerprint, and equal effects equal ones', () => {
    const byEffect = new Map<string, Set<string>>()
    const names = new Map<string, string[]>()
    for (const file of files) {
      const { doc } = load(file)
      if (expectedRefusal(doc)) continue
      const effect = effectKey(doc)
      const digest = planFingerprint(doc, STACK, KEY).digest
      byEffect.set(effect, (byEffect.get(effect) ?? new Set()).add(digest))
      names.set(digest, [...(names.get(digest) ?? []), file])
    }
    // one digest per effect, and no digest shared by two effects
    for (const digests of byEffect.values()) expect(digests.size).toBe(1)
    const shared = [...names.entries()].filter(
      ([digest]) => [...byEffect.values()].filter(d => d.has(digest)).length > 1
    )
    expect(shared).toEqual([])
    expect(new Set(names.keys()).size).toBe(byEffect.size)
    console.log(`fingerprints: ${names.size} distinct effects among ${files.length} plans`)

    // the one-effect plans: an import, a move, a forget, and nothing
    const digest = (file: string): string => planFingerprint(load(file).doc, STACK, KEY).digest
    const single = {
      importOnly: digest('tf-cloud-plan-import-config-gen.json'),
      moveOnly: digest('tf-equiv-moved-simple.json'),
      forgetOnly: digest('borchero-3-remove-forget.json'),
      empty: digest('borchero-4-empty.json')
    }
    expect(new Set(Object.values(single)).size).toBe(4)
  })

  it.each(files)('%s', file => {
    const { doc, text, planText } = load(file)
    if (expectedRefusal(doc)) return // see the refusal test above

    const summary = summarizePlan(doc)
    const counts = countsOf(doc)
    expect(Object.fromEntries(KINDS.map(kind => [kind, summary[kind]]))).toEqual(counts)
    const expected = changed(doc).map(rc => String(rc.address))
    expect(summary.resources.map(r => r.address).sort()).toEqual([...expected].sort())

    const secrets = sensitiveValues(doc)
    const body = comment(summary, doc, planText)
    const shownLine = /`(Plan: [^`]*)`/.exec(body)?.[1]
    if (planText !== undefined) {
      const line = terraformPlanLine(planText)
      if (line) {
        expect(line).toEqual({
          import: counts.import,
          add: counts.add + counts.replace,
          change: counts.change,
          destroy: counts.destroy + counts.replace
        })
        // the comment shows the very line the job log has
        expect(shownLine).toBe(/^Plan: .*$/m.exec(planText)?.[0])
      } else {
        // no "Plan:" line: Terraform had nothing to do to resources, and the comment shows none
        expect(counts.add + counts.change + counts.destroy + counts.replace).toBe(0)
        expect(shownLine).toBeUndefined()
      }
      linesChecked.push(file)
      // drift as Terraform showed it: the objects under "Objects have changed outside of Terraform"
      const note =
        planText.split('Objects have changed outside of Terraform')[1]?.split('─')[0] ?? ''
      const drifted = [...note.matchAll(/^ {2}# (\S+) has (?:changed|been deleted)$/gm)].map(
        m => m[1]
      )
      expect(summary.drift.map(d => d.address)).toEqual(drifted)
    }
    checkMarkdown(body, secrets, GITHUB_COMMENT_LIMIT)
    const jobSummary = renderReport(summary, context(doc, planText), { maxLength: 512 * 1024 })
    checkMarkdown(jobSummary, secrets, 512 * 1024)

    // imports, moves and forgets are counted in the headline, like the other actions
    for (const kind of ['import', 'move', 'forget'] as const) {
      if (counts[kind] > 0) expect(body).toContain(`${counts[kind]} to ${kind}`)
    }

    // an errored plan says that planning failed, and nothing that contradicts it
    if (doc.errored === true) {
      expect(body).toContain('**Planning failed.**')
      expect(body).not.toMatch(/No changes|will be destroyed/)
    }

    // every changed address in the table, or counted in "and N more"
    const { shown, more } = shownAddresses(body)
    expect(new Set(shown).size).toBe(shown.length)
    expect(shown.length + more).toBe(expected.length)
    for (const address of shown) expect(expected).toContain(address)
    expect(shownAddresses(jobSummary).shown.sort()).toEqual([...expected].sort())

    // every attribute counted has a line before or after (at most 25 shown)
    for (const r of summary.resources) {
      const paths = new Set(
        (r.diff ?? '')
          .split('\n')
          .filter(Boolean)
          .map(l => l.slice(2).split(' = ')[0])
      )
      expect([r.address, paths.size]).toEqual([r.address, Math.min(r.attributesTotal ?? 0, 25)])
    }

    // the per-resource diffs: changed addresses only, each once, the rest counted
    for (const markdown of [body, jobSummary]) {
      const diffs = [...markdown.matchAll(/^<details><summary><code>([^<]*)<\/code> \(/gm)].map(m =>
        (m[1] ?? '').replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
      )
      const withAttributes = summary.resources.filter(r => r.diff !== undefined)
      const moreDiffs = Number(
        /… and ([\d,]+) more resources? with changed attributes/
          .exec(markdown)?.[1]
          ?.replace(/,/g, '') ?? 0
      )
      expect(new Set(diffs).size).toBe(diffs.length)
      for (const address of diffs) expect(expected).toContain(address)
      expect(diffs.length + moreDiffs).toBe(withAttributes.length)
    }

    // the fingerprint: the same for the same plan, however it is given or ordered
    const fp = planFingerprint(doc, STACK, KEY).digest
    expect(planFingerprint(text, STACK, KEY).digest).toBe(fp)
    const reversed = { ...doc, resource_changes: [...changesOf(doc)].reverse() }
    expect(planFingerprint(reversed, STACK, KEY).digest).toBe(fp)
  })
})
