import * as core from '@actions/core'
import { S3Client } from '@aws-sdk/client-s3'
export async function run(): Promise<void> {
  core.info('hello ' + typeof S3Client)
}
