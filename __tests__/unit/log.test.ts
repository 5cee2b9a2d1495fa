import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { coreLog } from '../../src/log'

/** What @actions/core writes to the step log (it writes `::group::` lines to stdout). */
let written: string[]
beforeEach(() => {
  written = []
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk))
    return true
  })
})
afterEach(() => {
  jest.restoreAllMocks()
})

const lines = (): string[] => written.join('').split(/\r?\n/).filter(Boolean)

describe('log groups (GitHub does not nest them)', () => {
  it('a group with none open is a real group around its output', async () => {
    const result = await coreLog.group('terraform plan', async () => {
      coreLog.info('planning')
      return 42
    })
    expect(result).toBe(42)
    expect(lines()).toEqual(['::group::terraform plan', 'planning', '::endgroup::'])
  })

  it('a group inside an open one is a marker line, and the outer group ends once', async () => {
    await coreLog.group('Terraform plan', async () => {
      coreLog.info('before')
      await coreLog.group('terraform plan', async () => coreLog.info('streamed'))
      coreLog.info('after')
    })
    expect(lines()).toEqual([
      '::group::Terraform plan',
      'before',
      '── terraform plan',
      'streamed',
      'after',
      '::endgroup::'
    ])
  })

  it('a failing group closes, so the next one is a real group again', async () => {
    await expect(
      coreLog.group('Terraform apply', async () => {
        await coreLog.group('terraform apply', async () => {
          throw new Error('apply failed')
        })
      })
    ).rejects.toThrow('apply failed')
    await coreLog.group('Health checks', async () => coreLog.info('checking'))
    expect(lines()).toEqual([
      '::group::Terraform apply',
      '── terraform apply',
      '::endgroup::',
      '::group::Health checks',
      'checking',
      '::endgroup::'
    ])
  })
})
