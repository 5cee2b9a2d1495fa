// Run the local stand-ins (S3, DynamoDB, CloudFront, STS, GitHub) as a server until stopped, for the
// self-test workflow and for trying the action by hand.
//
//   npx tsx scripts/standins-server.ts [--write-env FILE] [--region REGION]
//                                      [--site-bucket NAME] [--distribution ID]
//
// Once everything listens it writes the environment a job needs to FILE (GitHub's $GITHUB_ENV
// format: NAME=value lines, and a NAME<<DELIMITER block for the multi-line one), atomically, so a
// step can wait for the file and append it to $GITHUB_ENV:
//
//   AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_CLOUDFRONT, AWS_ENDPOINT_URL_STS,
//   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_EC2_METADATA_DISABLED   the SDK's standard variables
//   STANDINS_GITHUB_API_URL      the GitHub stand-in (a job cannot override GITHUB_API_URL)
//   STANDINS_BACKEND_CONFIG      the action's backend-config input: Terraform's s3 backend endpoints
//
// --site-bucket creates that bucket and --distribution registers that CloudFront distribution, as a
// real stack's Terraform would have. It stops (and removes its data) on SIGINT or SIGTERM.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { parseArgs } from 'node:util'
import { CreateBucketCommand, S3Client, type BucketLocationConstraint } from '@aws-sdk/client-s3'
import { startStandIns } from '../standins/index'

const { values } = parseArgs({
  options: {
    'write-env': { type: 'string' },
    region: { type: 'string', default: 'us-east-1' },
    'site-bucket': { type: 'string' },
    distribution: { type: 'string' }
  }
})
const region = values.region ?? 'us-east-1'

const si = await startStandIns()
let stopping: Promise<void> | undefined
const stop = (signal: string): void => {
  stopping ??= si.stop().then(
    () => {
      console.log(`stand-ins stopped (${signal})`)
      process.exit(0)
    },
    error => {
      console.error(`stand-ins did not stop cleanly: ${String(error)}`)
      process.exit(1)
    }
  )
}
process.on('SIGINT', () => stop('SIGINT'))
process.on('SIGTERM', () => stop('SIGTERM'))

try {
  if (values['site-bucket']) {
    const s3 = new S3Client({
      region,
      endpoint: si.s3.url,
      forcePathStyle: true,
      credentials: {
        accessKeyId: si.env.AWS_ACCESS_KEY_ID ?? '',
        secretAccessKey: si.env.AWS_SECRET_ACCESS_KEY ?? ''
      }
    })
    await s3.send(
      new CreateBucketCommand({
        Bucket: values['site-bucket'],
        ...(region !== 'us-east-1' && {
          CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint }
        })
      })
    )
    s3.destroy()
  }
  if (values.distribution) si.cloud.addDistribution(values.distribution)
} catch (error) {
  console.error(`could not prepare the stand-ins: ${String(error)}`)
  await si.stop()
  process.exit(1)
}

const { GITHUB_API_URL: githubUrl = '', ...aws } = si.env
const backendConfig = si
  .backendConfig(region)
  .filter(line => !line.startsWith('region='))
  .join('\n')
const lines = [
  ...Object.entries(aws).map(([name, value]) => `${name}=${value}`),
  `STANDINS_GITHUB_API_URL=${githubUrl}`,
  'STANDINS_BACKEND_CONFIG<<STANDINS_EOF',
  backendConfig,
  'STANDINS_EOF'
]
const text = `${lines.join('\n')}\n`
if (values['write-env']) {
  const file = path.resolve(values['write-env'])
  fs.writeFileSync(`${file}.partial`, text)
  fs.renameSync(`${file}.partial`, file)
}
console.log(`stand-ins ready (pid ${process.pid}; SIGINT or SIGTERM stops them):\n${text}`)
