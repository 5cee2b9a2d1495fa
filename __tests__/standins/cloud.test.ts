import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import {
  CloudFrontClient,
  CloudFrontServiceException,
  CreateInvalidationCommand,
  GetDistributionConfigCommand,
  GetInvalidationCommand,
  ListInvalidationsCommand
} from '@aws-sdk/client-cloudfront'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { startCloudStandIn, type CloudStandIn } from '../../standins/cloud'

const credentials = { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin-secret' }
let cloud: CloudStandIn
/** Invalidations that never finish during the test, for the in-progress limits. */
let slow: CloudStandIn

function cf(stand: CloudStandIn = cloud): CloudFrontClient {
  return new CloudFrontClient({ region: 'us-east-1', endpoint: stand.url, credentials })
}

async function failure(p: Promise<unknown>): Promise<CloudFrontServiceException> {
  try {
    await p
  } catch (error) {
    if (error instanceof CloudFrontServiceException) return error
    throw error
  }
  throw new Error('expected the call to fail')
}

function invalidate(
  DistributionId: string,
  paths: string[],
  CallerReference = `ref-${Math.random()}`
): CreateInvalidationCommand {
  return new CreateInvalidationCommand({
    DistributionId,
    InvalidationBatch: { CallerReference, Paths: { Quantity: paths.length, Items: paths } }
  })
}

beforeAll(async () => {
  cloud = await startCloudStandIn({ accountId: '111122223333', invalidationMs: 300 })
  slow = await startCloudStandIn({ invalidationMs: 600_000 })
})

afterAll(async () => {
  await cloud.stop()
  await slow.stop()
})

describe('STS', () => {
  it('answers GetCallerIdentity with the configured account', async () => {
    const sts = new STSClient({ region: 'eu-west-1', endpoint: cloud.url, credentials })
    const me = await sts.send(new GetCallerIdentityCommand({}))
    expect(me.Account).toBe('111122223333')
    expect(me.Arn).toBe('arn:aws:sts::111122223333:assumed-role/revive-deploy-ci/GitHubActions')
    expect(me.UserId).toMatch(/^AROA[A-Z0-9]+:GitHubActions$/)
    expect(cloud.requests.at(-1)).toMatchObject({
      service: 'sts',
      operation: 'GetCallerIdentity',
      method: 'POST',
      status: 200
    })
  })

  it('is reached through AWS_ENDPOINT_URL_STS and retries a throttle', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_STS
    process.env.AWS_ENDPOINT_URL_STS = cloud.url
    try {
      cloud.clearRequests()
      cloud.failNext(1, { service: 'sts' }, 'throttle')
      const me = await new STSClient({ region: 'us-east-1', credentials }).send(
        new GetCallerIdentityCommand({})
      )
      expect(me.Account).toBe('111122223333')
      expect(cloud.requests.map(r => [r.operation, r.status])).toEqual([
        ['GetCallerIdentity', 400],
        ['GetCallerIdentity', 200]
      ])
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_STS
      else process.env.AWS_ENDPOINT_URL_STS = saved
    }
  })
})

describe('CloudFront invalidations', () => {
  it('creates an invalidation that is InProgress, then Completed after the delay', async () => {
    const dist = cloud.addDistribution()
    expect(dist).toMatch(/^E[A-Z0-9]{13}$/)
    const created = await cf().send(invalidate(dist, ['/index.html', '/assets/*']))
    expect(created.Invalidation?.Status).toBe('InProgress')
    expect(created.Location).toContain(
      `/distribution/${dist}/invalidation/${created.Invalidation?.Id}`
    )
    expect(created.Invalidation?.InvalidationBatch?.Paths?.Items).toEqual([
      '/index.html',
      '/assets/*'
    ])
    const id = created.Invalidation?.Id
    const got = await cf().send(new GetInvalidationCommand({ DistributionId: dist, Id: id }))
    expect(got.Invalidation?.Status).toBe('InProgress')
    await new Promise(r => setTimeout(r, 350))
    const done = await cf().send(new GetInvalidationCommand({ DistributionId: dist, Id: id }))
    expect(done.Invalidation?.Status).toBe('Completed')
    const listed = await cf().send(new ListInvalidationsCommand({ DistributionId: dist }))
    expect(listed.InvalidationList?.Items?.map(i => [i.Id, i.Status])).toEqual([[id, 'Completed']])
    expect(cloud.invalidations(dist).map(i => i.paths)).toEqual([['/index.html', '/assets/*']])
  })

  it('CallerReference: same batch returns the same invalidation, a different batch is refused', async () => {
    const dist = cloud.addDistribution('E1STANDIN0TEST')
    const first = await cf().send(invalidate(dist, ['/a.html', '/b.html'], 'run-42-1'))
    const again = await cf().send(invalidate(dist, ['/b.html', '/a.html'], 'run-42-1'))
    expect(again.Invalidation?.Id).toBe(first.Invalidation?.Id)
    expect(cloud.invalidations(dist)).toHaveLength(1)
    const clash = await failure(cf().send(invalidate(dist, ['/c.html'], 'run-42-1')))
    expect(clash.name).toBe('InvalidationBatchAlreadyExists')
    expect(clash.$metadata.httpStatusCode).toBe(409)
  })

  it('rejects unknown distributions, bad paths and unknown invalidations', async () => {
    const unknown = await failure(cf().send(invalidate('ENOSUCHDIST', ['/x'])))
    expect(unknown.name).toBe('NoSuchDistribution')
    expect(unknown.$metadata.httpStatusCode).toBe(404)
    const dist = cloud.addDistribution()
    for (const bad of [['index.html'], ['/a*b']]) {
      const e = await failure(cf().send(invalidate(dist, bad)))
      expect(e.name).toBe('InvalidArgument')
    }
    const none = await failure(
      cf().send(new GetInvalidationCommand({ DistributionId: dist, Id: 'INOPE' }))
    )
    expect(none.name).toBe('NoSuchInvalidation')
  })

  it('enforces 15 wildcard paths in progress per distribution', async () => {
    const dist = slow.addDistribution()
    const wild = Array.from({ length: 15 }, (_, i) => `/dir${i}/*`)
    await cf(slow).send(invalidate(dist, wild.slice(0, 10)))
    await cf(slow).send(invalidate(dist, wild.slice(10)))
    const e = await failure(cf(slow).send(invalidate(dist, ['/one-more/*'])))
    expect(e.name).toBe('TooManyInvalidationsInProgress')
    // File paths have their own budget.
    await cf(slow).send(invalidate(dist, ['/still-fine.html']))
    // Another distribution is not affected.
    await cf(slow).send(invalidate(slow.addDistribution(), ['/*']))
  })

  it('enforces 3,000 file paths in progress per distribution', async () => {
    const dist = slow.addDistribution()
    const files = Array.from({ length: 3001 }, (_, i) => `/f/${i}.html`)
    const tooBig = await failure(cf(slow).send(invalidate(dist, files)))
    expect(tooBig.name).toBe('TooManyInvalidationsInProgress')
    await cf(slow).send(invalidate(dist, files.slice(0, 3000)))
    const e = await failure(cf(slow).send(invalidate(dist, ['/late.html'])))
    expect(e.name).toBe('TooManyInvalidationsInProgress')
  })

  it('holds invalidations in progress (test knob): they fill the budget until released', async () => {
    const dist = cloud.addDistribution()
    const batches = [0, 1, 2].map(b => Array.from({ length: 1000 }, (_, i) => `/held${b}/${i}.js`))
    const ids = cloud.holdInvalidations(dist, batches)
    expect(ids).toHaveLength(3)
    await new Promise(r => setTimeout(r, 350)) // longer than the stand-in's usual 300 ms
    const got = await cf().send(new GetInvalidationCommand({ DistributionId: dist, Id: ids[0] }))
    expect(got.Invalidation?.Status).toBe('InProgress')
    expect((await failure(cf().send(invalidate(dist, ['/index.html'])))).name).toBe(
      'TooManyInvalidationsInProgress'
    )
    // Wildcards have their own budget.
    await cf().send(invalidate(dist, ['/w/*']))
    cloud.releaseInvalidations()
    const ok = await cf().send(invalidate(dist, ['/index.html']))
    expect(ok.Invalidation?.Status).toBe('InProgress')
    const after = await cf().send(new GetInvalidationCommand({ DistributionId: dist, Id: ids[0] }))
    expect(after.Invalidation?.Status).toBe('Completed')
  })

  it('a held invalidation with a hold time completes by itself', async () => {
    const dist = cloud.addDistribution()
    cloud.holdInvalidations(dist, [Array.from({ length: 3000 }, (_, i) => `/f${i}`)], 400)
    expect((await failure(cf().send(invalidate(dist, ['/x'])))).name).toBe(
      'TooManyInvalidationsInProgress'
    )
    await new Promise(r => setTimeout(r, 450))
    await cf().send(invalidate(dist, ['/x']))
  })

  it('a hold of { refusals: 2 } completes after the second refused request, whatever the time', async () => {
    const dist = cloud.addDistribution()
    const [id] = cloud.holdInvalidations(dist, [Array.from({ length: 3000 }, (_, i) => `/f${i}`)], {
      refusals: 2
    })
    for (let attempt = 1; attempt <= 2; attempt++) {
      expect((await failure(cf().send(invalidate(dist, ['/x'])))).name).toBe(
        'TooManyInvalidationsInProgress'
      )
    }
    const held = await cf().send(new GetInvalidationCommand({ DistributionId: dist, Id: id }))
    expect(held.Invalidation?.Status).toBe('Completed')
    const ok = await cf().send(invalidate(dist, ['/x']))
    expect(ok.Invalidation?.Status).toBe('InProgress')
  })

  it('a completed invalidation frees its budget', async () => {
    const dist = cloud.addDistribution()
    await cf().send(
      invalidate(
        dist,
        Array.from({ length: 15 }, (_, i) => `/w${i}/*`)
      )
    )
    expect((await failure(cf().send(invalidate(dist, ['/x/*'])))).name).toBe(
      'TooManyInvalidationsInProgress'
    )
    await new Promise(r => setTimeout(r, 350))
    const ok = await cf().send(invalidate(dist, ['/x/*']))
    expect(ok.Invalidation?.Status).toBe('InProgress')
  })

  it.each(['throttle', '5xx', 'reset'] as const)('one %s is retried by the SDK', async kind => {
    const dist = cloud.addDistribution()
    cloud.clearRequests()
    cloud.failNext(1, { operation: 'CreateInvalidation' }, kind)
    const ok = await cf().send(invalidate(dist, ['/retry.html'], `retry-${kind}`))
    expect(ok.Invalidation?.Id).toBeDefined()
    expect(cloud.requests.map(r => [r.operation, r.fault])).toEqual([
      ['CreateInvalidation', kind],
      ['CreateInvalidation', undefined]
    ])
    expect(cloud.invalidations(dist)).toHaveLength(1)
  })
})

describe('CloudFront distribution configs', () => {
  it('GetDistributionConfig lists the origins a distribution was given, with an ETag', async () => {
    const dist = cloud.addDistribution(undefined, [
      { domainName: 'shop-site.s3.eu-west-1.amazonaws.com', originPath: '/site' },
      { domainName: 'api.example.com' }
    ])
    const got = await cf().send(new GetDistributionConfigCommand({ Id: dist }))
    expect(got.ETag).toMatch(/^E/)
    expect(got.DistributionConfig?.Origins?.Items?.map(o => [o.DomainName, o.OriginPath])).toEqual([
      ['shop-site.s3.eu-west-1.amazonaws.com', '/site'],
      ['api.example.com', '']
    ])
    expect(got.DistributionConfig?.Origins?.Items?.[0]?.S3OriginConfig).toBeDefined()
    expect(got.DistributionConfig?.Origins?.Items?.[1]?.CustomOriginConfig?.HTTPSPort).toBe(443)
    expect(got.DistributionConfig?.Enabled).toBe(true)
    const unknown = await failure(cf().send(new GetDistributionConfigCommand({ Id: 'ENOSUCH' })))
    expect(unknown.name).toBe('NoSuchDistribution')
  })

  it('answers AccessDenied for an operation the caller is denied, as IAM does', async () => {
    const dist = cloud.addDistribution()
    cloud.deny('GetDistributionConfig')
    try {
      const denied = await failure(cf().send(new GetDistributionConfigCommand({ Id: dist })))
      expect(denied.name).toBe('AccessDenied')
      expect(denied.$metadata.httpStatusCode).toBe(403)
      expect(denied.message).toMatch(/not authorized to perform: cloudfront:GetDistributionConfig/)
      // Other operations are still allowed.
      await cf().send(invalidate(dist, ['/x']))
    } finally {
      cloud.allow()
    }
    await cf().send(new GetDistributionConfigCommand({ Id: dist }))
  })
})
