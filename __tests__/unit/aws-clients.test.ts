import { describe, expect, it } from '@jest/globals'
import { createClients } from '../../src/aws/clients'

describe('createClients', () => {
  it('gives the clients a logger without info, so the SDK masks no copy of each response', () => {
    const clients = createClients('eu-west-1', {})
    for (const client of [clients.s3, clients.dynamodb, clients.cloudfront, clients.sts]) {
      const logger = client.config.logger as unknown as Record<string, unknown>
      expect(logger.info).toBeUndefined()
      expect(typeof logger.warn).toBe('function')
      client.destroy()
    }
  })
})
