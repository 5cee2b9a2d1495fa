import { describe, expect, it } from '@jest/globals'
import * as core from '@actions/core'
import { S3Client, ListBucketsCommand } from '@aws-sdk/client-s3'
describe('smoke', () => {
  it('loads esm deps', () => {
    expect(typeof core.info).toBe('function')
    expect(typeof S3Client).toBe('function')
    expect(typeof ListBucketsCommand).toBe('function')
  })
})
