import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { readVersionRequirement, satisfies } from '../../../src/terraform/version-requirement'

const c = (text: string) => [{ text, source: 'main.tf line 1' }]

describe("Terraform's version constraints", () => {
  it.each([
    ['~> 1.11.0', '1.11.4', true],
    ['~> 1.11.0', '1.12.0', false],
    ['~> 1.11', '1.12.3', true],
    ['~> 1.11', '2.0.0', false],
    ['~> 1.11', '1.10.9', false],
    ['~> 1', '1.99.0', true],
    ['>= 1.5.0', '1.11.4', true],
    ['>= 1.5, < 1.10', '1.9.8', true],
    ['>= 1.5, < 1.10', '1.10.0', false],
    ['= 1.9.8', '1.9.8', true],
    ['1.9.8', '1.9.9', false],
    ['!= 1.9.8', '1.9.9', true],
    ['> 1.9', '1.9.0', false],
    ['<= 1.9', '1.9.0', true],
    ['>= 1.5.0', '1.12.0-beta1', false]
  ])('%s with %s: %s', (constraint, version, expected) => {
    expect(satisfies(version, c(constraint))).toBe(expected)
  })

  it('refuses what Terraform would refuse, naming where it is', () => {
    expect(() => satisfies('1.0.0', c('about 1.5'))).toThrow(
      'The Terraform version constraint "about 1.5" (main.tf line 1) is not one Terraform accepts'
    )
  })

  it('reads a pin from .terraform-version (working directory first) or .tool-versions', () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'pins-'))
    const wd = path.join(ws, 'terraform')
    fs.mkdirSync(wd)
    expect(readVersionRequirement([], wd, ws).pin).toBeUndefined()
    fs.writeFileSync(path.join(ws, '.tool-versions'), 'nodejs 20.1.0\nterraform 1.9.8\n')
    expect(readVersionRequirement([], wd, ws).pin).toEqual({
      version: '1.9.8',
      source: '.tool-versions'
    })
    fs.writeFileSync(path.join(wd, '.terraform-version'), '1.11.4\n')
    expect(readVersionRequirement([], wd, ws).pin).toEqual({
      version: '1.11.4',
      source: 'terraform/.terraform-version'
    })
    fs.writeFileSync(path.join(wd, '.terraform-version'), 'latest\n')
    expect(readVersionRequirement([], wd, ws).pin).toBeUndefined()
  })
})
