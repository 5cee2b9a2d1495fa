import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { promisify } from 'node:util'
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketEncryptionCommand,
  GetBucketLocationCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectVersionsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  PutBucketEncryptionCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  S3ServiceException,
  paginateListObjectsV2,
  type S3ClientConfig
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { startS3StandIn, type S3StandIn } from '../../standins/s3'

let s3: S3StandIn
const credentials = { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin-secret' }

function client(region: string, extra: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({ region, endpoint: s3.url, credentials, ...extra })
}

/** The error the SDK throws for a call, for asserting its name and HTTP status. */
async function failure(p: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await p
  } catch (error) {
    if (error instanceof S3ServiceException) return error
    throw error
  }
  throw new Error('expected the call to fail')
}

beforeAll(async () => {
  s3 = await startS3StandIn({ foreignBuckets: ['someone-elses-bucket'] })
})

afterAll(async () => {
  await s3.stop()
})

describe('CopyObject onto itself', () => {
  it('with MetadataDirective REPLACE gives new headers and metadata, keeps the bytes and the listing', async () => {
    const c = client('eu-west-1')
    const Bucket = 'copy-self'
    await c.send(new CreateBucketCommand({ Bucket }))
    const Key = 'assets/a b+é.js'
    await c.send(
      new PutObjectCommand({
        Bucket,
        Key,
        Body: 'console.log(1)',
        ContentType: 'text/javascript',
        CacheControl: 'public, max-age=300',
        Metadata: { sha256: 'abc', headers: 'old' }
      })
    )
    const before = await c.send(new ListObjectsV2Command({ Bucket }))
    await c.send(
      new CopyObjectCommand({
        Bucket,
        Key,
        CopySource: `${Bucket}/${Key.split('/').map(encodeURIComponent).join('/')}`,
        MetadataDirective: 'REPLACE',
        ContentType: 'text/javascript; charset=utf-8',
        CacheControl: 'no-cache',
        Metadata: { sha256: 'abc', headers: 'new' }
      })
    )
    const head = await c.send(new HeadObjectCommand({ Bucket, Key }))
    expect([head.ContentType, head.CacheControl, head.Metadata]).toEqual([
      'text/javascript; charset=utf-8',
      'no-cache',
      { sha256: 'abc', headers: 'new' }
    ])
    const got = await c.send(new GetObjectCommand({ Bucket, Key }))
    expect(await got.Body?.transformToString()).toBe('console.log(1)')
    const after = await c.send(new ListObjectsV2Command({ Bucket }))
    expect(after.Contents?.map(o => [o.Key, o.Size, o.ETag])).toEqual(
      before.Contents?.map(o => [o.Key, o.Size, o.ETag])
    )
    // Without REPLACE, a copy onto itself is refused, as S3 does.
    const same = await failure(
      c.send(new CopyObjectCommand({ Bucket, Key: 'assets/x', CopySource: `${Bucket}/assets/x` }))
    )
    expect(same.$metadata.httpStatusCode).toBeGreaterThanOrEqual(400)
  })
})

describe('CreateBucket region rules', () => {
  it('us-east-1: no LocationConstraint, re-create answers 200, a us-east-1 constraint is invalid', async () => {
    const use1 = client('us-east-1')
    await use1.send(new CreateBucketCommand({ Bucket: 'state-use1' }))
    const again = await use1.send(new CreateBucketCommand({ Bucket: 'state-use1' }))
    expect(again.$metadata.httpStatusCode).toBe(200)
    const head = await use1.send(new HeadBucketCommand({ Bucket: 'state-use1' }))
    expect(head.BucketRegion).toBe('us-east-1')
    const loc = await use1.send(new GetBucketLocationCommand({ Bucket: 'state-use1' }))
    expect(loc.LocationConstraint).toBeUndefined()

    const bad = await failure(
      use1.send(
        new CreateBucketCommand({
          Bucket: 'state-use1-b',
          CreateBucketConfiguration: { LocationConstraint: 'us-east-1' as never }
        })
      )
    )
    expect(bad.name).toBe('InvalidLocationConstraint')
    expect(bad.$metadata.httpStatusCode).toBe(400)
    expect(s3.buckets().map(b => b.name)).not.toContain('state-use1-b')
  })

  it('eu-west-1: the constraint must name the region; re-create is BucketAlreadyOwnedByYou', async () => {
    const euw1 = client('eu-west-1')
    // SDK v3 fills in LocationConstraint from the client's region by itself; dropping the body
    // gives the request other clients send when they forget it.
    const raw = client('eu-west-1')
    raw.middlewareStack.add(
      next => async args => {
        const request = args.request as { body?: unknown; headers: Record<string, string> }
        request.body = ''
        request.headers['content-length'] = '0'
        return next(args)
      },
      { step: 'build' }
    )
    const missing = await failure(raw.send(new CreateBucketCommand({ Bucket: 'state-euw1' })))
    expect(missing.name).toBe('IllegalLocationConstraintException')
    const mismatched = await failure(
      euw1.send(
        new CreateBucketCommand({
          Bucket: 'state-euw1',
          CreateBucketConfiguration: { LocationConstraint: 'eu-central-1' }
        })
      )
    )
    expect(mismatched.name).toBe('IllegalLocationConstraintException')
    expect(mismatched.message).toContain('eu-central-1')

    const ok = await euw1.send(
      new CreateBucketCommand({
        Bucket: 'state-euw1',
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' }
      })
    )
    expect(ok.$metadata.httpStatusCode).toBe(200)
    const again = await failure(
      euw1.send(
        new CreateBucketCommand({
          Bucket: 'state-euw1',
          CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' }
        })
      )
    )
    expect(again.name).toBe('BucketAlreadyOwnedByYou')
    expect(again.$metadata.httpStatusCode).toBe(409)

    expect((await euw1.send(new HeadBucketCommand({ Bucket: 'state-euw1' }))).BucketRegion).toBe(
      'eu-west-1'
    )
    expect(
      (await euw1.send(new GetBucketLocationCommand({ Bucket: 'state-euw1' }))).LocationConstraint
    ).toBe('eu-west-1')
    expect(s3.buckets().find(b => b.name === 'state-euw1')?.region).toBe('eu-west-1')

    // Addressed through another region's endpoint, the bucket answers with a redirect.
    const wrongRegion = await failure(
      client('us-east-1').send(new GetBucketVersioningCommand({ Bucket: 'state-euw1' }))
    )
    expect(wrongRegion.$metadata.httpStatusCode).toBe(301)
  })

  it('rejects names that break the naming rules', async () => {
    const use1 = client('us-east-1')
    for (const name of [
      'Upper-Case',
      'ab',
      'under_score',
      '192.168.10.20',
      'double..dot',
      '-dash'
    ]) {
      const e = await failure(use1.send(new CreateBucketCommand({ Bucket: name })))
      expect(e.name).toBe('InvalidBucketName')
    }
  })

  it("another account's bucket: BucketAlreadyExists, 403 on HeadBucket, AccessDenied elsewhere", async () => {
    const use1 = client('us-east-1')
    const create = await failure(
      use1.send(new CreateBucketCommand({ Bucket: 'someone-elses-bucket' }))
    )
    expect(create.name).toBe('BucketAlreadyExists')
    expect(create.$metadata.httpStatusCode).toBe(409)
    const head = await failure(use1.send(new HeadBucketCommand({ Bucket: 'someone-elses-bucket' })))
    expect(head.$metadata.httpStatusCode).toBe(403)
    const get = await failure(
      use1.send(new GetObjectCommand({ Bucket: 'someone-elses-bucket', Key: 'x' }))
    )
    expect(get.name).toBe('AccessDenied')

    // ExpectedBucketOwner guards against writing to a bucket someone else owns.
    await use1.send(new CreateBucketCommand({ Bucket: 'owned-use1' }))
    const owner = await failure(
      use1.send(
        new HeadBucketCommand({ Bucket: 'owned-use1', ExpectedBucketOwner: '999999999999' })
      )
    )
    expect(owner.$metadata.httpStatusCode).toBe(403)
    await use1.send(
      new HeadBucketCommand({ Bucket: 'owned-use1', ExpectedBucketOwner: '123456789012' })
    )

    const missing = await failure(use1.send(new HeadBucketCommand({ Bucket: 'nobody-has-this' })))
    expect(missing.$metadata.httpStatusCode).toBe(404)
    const missingConfig = await failure(
      use1.send(new GetBucketVersioningCommand({ Bucket: 'nobody-has-this' }))
    )
    expect(missingConfig.name).toBe('NoSuchBucket')
  })

  it('refuses unsigned requests and lists buckets with their regions', async () => {
    // Buckets of its own: the tests above create theirs in any order.
    await client('us-east-1').send(new CreateBucketCommand({ Bucket: 'list-use1' }))
    await client('eu-west-1').send(
      new CreateBucketCommand({
        Bucket: 'list-euw1',
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' }
      })
    )
    const anonymous = await fetch(`${s3.url}/list-use1`)
    expect(anonymous.status).toBe(403)
    expect(await anonymous.text()).toContain('<Code>AccessDenied</Code>')
    const list = await client('us-east-1').send(new ListBucketsCommand({}))
    const names = list.Buckets?.map(b => `${b.Name}@${b.BucketRegion}`)
    expect(names).toEqual(expect.arrayContaining(['list-use1@us-east-1', 'list-euw1@eu-west-1']))
  })
})

describe('bucket configuration', () => {
  const bucket = 'config-bucket'
  const use1 = (): S3Client => client('us-east-1')

  beforeAll(async () => {
    await use1().send(new CreateBucketCommand({ Bucket: bucket }))
  })

  it('a new bucket reads back as on AWS since 2023: SSE-S3, public access blocked, ACLs off', async () => {
    // A bucket of its own: the other tests here change config-bucket's settings.
    const bucket = 'config-bucket-fresh'
    await use1().send(new CreateBucketCommand({ Bucket: bucket }))
    const enc = await use1().send(new GetBucketEncryptionCommand({ Bucket: bucket }))
    expect(enc.ServerSideEncryptionConfiguration?.Rules).toEqual([
      { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false }
    ])
    const pab = await use1().send(new GetPublicAccessBlockCommand({ Bucket: bucket }))
    expect(pab.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true
    })
    const own = await use1().send(new GetBucketOwnershipControlsCommand({ Bucket: bucket }))
    expect(own.OwnershipControls?.Rules).toEqual([{ ObjectOwnership: 'BucketOwnerEnforced' }])
    const ver = await use1().send(new GetBucketVersioningCommand({ Bucket: bucket }))
    expect(ver.Status).toBeUndefined()
    expect((await failure(use1().send(new GetBucketPolicyCommand({ Bucket: bucket })))).name).toBe(
      'NoSuchBucketPolicy'
    )
    expect((await failure(use1().send(new GetBucketTaggingCommand({ Bucket: bucket })))).name).toBe(
      'NoSuchTagSet'
    )
  })

  it('puts and reads back versioning, KMS encryption, public access block, ownership, tags', async () => {
    await use1().send(
      new PutBucketVersioningCommand({
        Bucket: bucket,
        VersioningConfiguration: { Status: 'Enabled' }
      })
    )
    expect((await use1().send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe(
      'Enabled'
    )
    const kms = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'
    await use1().send(
      new PutBucketEncryptionCommand({
        Bucket: bucket,
        ServerSideEncryptionConfiguration: {
          Rules: [
            {
              ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: kms },
              BucketKeyEnabled: true
            }
          ]
        }
      })
    )
    const enc = await use1().send(new GetBucketEncryptionCommand({ Bucket: bucket }))
    expect(enc.ServerSideEncryptionConfiguration?.Rules).toEqual([
      {
        ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: kms },
        BucketKeyEnabled: true
      }
    ])
    await use1().send(
      new PutPublicAccessBlockCommand({
        Bucket: bucket,
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: false }
      })
    )
    expect(
      (await use1().send(new GetPublicAccessBlockCommand({ Bucket: bucket })))
        .PublicAccessBlockConfiguration
    ).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: false,
      BlockPublicPolicy: false,
      RestrictPublicBuckets: false
    })
    await use1().send(
      new PutBucketOwnershipControlsCommand({
        Bucket: bucket,
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] }
      })
    )
    expect(
      (await use1().send(new GetBucketOwnershipControlsCommand({ Bucket: bucket })))
        .OwnershipControls?.Rules
    ).toEqual([{ ObjectOwnership: 'BucketOwnerPreferred' }])
    const tags = [
      { Key: 'project', Value: 'revive & deploy <demo>' },
      { Key: 'managed-by', Value: 'revive-deploy' }
    ]
    await use1().send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: tags } }))
    expect((await use1().send(new GetBucketTaggingCommand({ Bucket: bucket }))).TagSet).toEqual(
      tags
    )
    expect(s3.bucketConfig(bucket)).toMatchObject({
      versioning: 'Enabled',
      encryption: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: kms, bucketKeyEnabled: true },
      ownership: 'BucketOwnerPreferred',
      tags
    })
  })

  it('validates policies like S3: resources inside the bucket, public policies blocked', async () => {
    const denyInsecure = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'DenyInsecureTransport',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } }
        }
      ]
    })
    await use1().send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: denyInsecure }))
    expect((await use1().send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy).toBe(
      denyInsecure
    )

    const otherBucket = denyInsecure.replaceAll(`:::${bucket}`, ':::some-other-bucket')
    const e1 = await failure(
      use1().send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: otherBucket }))
    )
    expect(e1.name).toBe('MalformedPolicy')
    expect(e1.message).toBe('Policy has invalid resource')
    const e2 = await failure(
      use1().send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: 'nope' }))
    )
    expect(e2.name).toBe('MalformedPolicy')

    const publicRead = JSON.stringify({
      Statement: [
        {
          Effect: 'Allow',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: `arn:aws:s3:::${bucket}/*`
        }
      ]
    })
    await use1().send(
      new PutPublicAccessBlockCommand({
        Bucket: bucket,
        PublicAccessBlockConfiguration: { BlockPublicPolicy: true }
      })
    )
    const e3 = await failure(
      use1().send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: publicRead }))
    )
    expect(e3.name).toBe('AccessDenied')
    expect((await use1().send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy).toBe(
      denyInsecure
    )
  })

  it('rejects bad tags and bad encryption settings', async () => {
    const dup = await failure(
      use1().send(
        new PutBucketTaggingCommand({
          Bucket: bucket,
          Tagging: {
            TagSet: [
              { Key: 'a', Value: '1' },
              { Key: 'a', Value: '2' }
            ]
          }
        })
      )
    )
    expect(dup.name).toBe('InvalidTag')
    const aes = await failure(
      use1().send(
        new PutBucketEncryptionCommand({
          Bucket: bucket,
          ServerSideEncryptionConfiguration: {
            Rules: [
              {
                ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256', KMSMasterKeyID: 'k' }
              }
            ]
          }
        })
      )
    )
    expect(aes.name).toBe('InvalidArgument')
  })

  it("with bucketDefaults 'none' every Get answers AWS's not-found error until a Put", async () => {
    const bare = await startS3StandIn({ bucketDefaults: 'none' })
    try {
      const c = new S3Client({ region: 'us-east-1', endpoint: bare.url, credentials })
      await c.send(new CreateBucketCommand({ Bucket: 'bare' }))
      const names = [
        (await failure(c.send(new GetBucketEncryptionCommand({ Bucket: 'bare' })))).name,
        (await failure(c.send(new GetPublicAccessBlockCommand({ Bucket: 'bare' })))).name,
        (await failure(c.send(new GetBucketOwnershipControlsCommand({ Bucket: 'bare' })))).name,
        (await failure(c.send(new GetBucketPolicyCommand({ Bucket: 'bare' })))).name,
        (await failure(c.send(new GetBucketTaggingCommand({ Bucket: 'bare' })))).name
      ]
      expect(names).toEqual([
        'ServerSideEncryptionConfigurationNotFoundError',
        'NoSuchPublicAccessBlockConfiguration',
        'OwnershipControlsNotFoundError',
        'NoSuchBucketPolicy',
        'NoSuchTagSet'
      ])
      expect(bare.bucketConfig('bare')).toEqual({})
    } finally {
      await bare.stop()
    }
  })
})

describe('objects', () => {
  const bucket = 'objects-bucket'
  const use1 = (): S3Client => client('us-east-1')

  beforeAll(async () => {
    await use1().send(new CreateBucketCommand({ Bucket: bucket }))
  })

  it('stores what the SDK sends, including aws-chunked streams with trailing CRC32', async () => {
    await use1().send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'dir/plain file.txt',
        Body: 'hello',
        ContentType: 'text/plain; charset=utf-8',
        CacheControl: 'no-cache',
        Metadata: { 'content-sha256': 'abc' }
      })
    )
    const put = await use1().send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'dir/streamed.bin',
        Body: Readable.from([Buffer.from('streamed '), Buffer.from('body')]),
        ContentLength: 13
      })
    )
    expect(put.ChecksumCRC32).toBeDefined()
    const streamed = s3.requests.filter(r => r.operation === 'PutObject').at(-1)
    expect(streamed?.status).toBe(200)

    const plain = await use1().send(
      new GetObjectCommand({ Bucket: bucket, Key: 'dir/plain file.txt' })
    )
    expect(await plain.Body?.transformToString()).toBe('hello')
    expect(plain.ContentType).toBe('text/plain; charset=utf-8')
    expect(plain.CacheControl).toBe('no-cache')
    expect(plain.Metadata).toEqual({ 'content-sha256': 'abc' })
    const got = await use1().send(new GetObjectCommand({ Bucket: bucket, Key: 'dir/streamed.bin' }))
    expect(await got.Body?.transformToString()).toBe('streamed body')
    expect(got.ContentEncoding).toBeUndefined()
    expect(got.ContentLength).toBe(13)
  })

  it('rejects a body whose checksum does not match (BadDigest)', async () => {
    const e = await failure(
      use1().send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'bad.txt',
          Body: 'hello',
          ChecksumCRC32: 'AAAAAA=='
        })
      )
    )
    expect(e.name).toBe('BadDigest')
    expect(
      (await failure(use1().send(new HeadObjectCommand({ Bucket: bucket, Key: 'bad.txt' })))).name
    ).toBe('NotFound')
  })

  it('supports conditional writes (If-None-Match: *)', async () => {
    await use1().send(
      new PutObjectCommand({ Bucket: bucket, Key: 'once', Body: '1', IfNoneMatch: '*' })
    )
    const e = await failure(
      use1().send(
        new PutObjectCommand({ Bucket: bucket, Key: 'once', Body: '2', IfNoneMatch: '*' })
      )
    )
    expect(e.$metadata.httpStatusCode).toBe(412)
    const got = await use1().send(new GetObjectCommand({ Bucket: bucket, Key: 'once' }))
    expect(await got.Body?.transformToString()).toBe('1')
  })

  it('uploads multipart (lib-storage) with an S3-style multipart ETag', async () => {
    const body = Buffer.alloc(11 * 1024 * 1024, 'x')
    body.write('start', 0)
    await new Upload({
      client: use1(),
      params: {
        Bucket: bucket,
        Key: 'big.bin',
        Body: body,
        ContentType: 'application/octet-stream'
      },
      partSize: 5 * 1024 * 1024
    }).done()
    const head = await use1().send(new HeadObjectCommand({ Bucket: bucket, Key: 'big.bin' }))
    expect(head.ContentLength).toBe(body.length)
    expect(head.ETag).toMatch(/^"[0-9a-f]{32}-3"$/)
    const got = await use1().send(new GetObjectCommand({ Bucket: bucket, Key: 'big.bin' }))
    const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? [])
    expect(bytes.equals(body)).toBe(true)
    expect(s3.requests.filter(r => r.operation === 'UploadPart')).toHaveLength(3)
  })

  it('lists over 1,000 keys page by page (ListObjectsV2 continuation tokens)', async () => {
    const keys = Array.from({ length: 1205 }, (_, i) => `many/${String(i).padStart(5, '0')}.txt`)
    const c = use1()
    // A few through the SDK, the bulk through the seeding helper (the listing is what is tested).
    await Promise.all(
      keys.slice(0, 5).map(Key => c.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key })))
    )
    s3.putObjects(
      bucket,
      keys.slice(5).map(key => ({ key, body: key }))
    )
    s3.clearRequests()
    const listed: string[] = []
    let pages = 0
    for await (const page of paginateListObjectsV2(
      { client: c },
      { Bucket: bucket, Prefix: 'many/' }
    )) {
      pages++
      listed.push(...(page.Contents ?? []).map(o => o.Key ?? ''))
    }
    expect(pages).toBe(2)
    expect(listed).toEqual(keys)
    expect(s3.requests.map(r => r.operation)).toEqual(['ListObjectsV2', 'ListObjectsV2'])
    const first = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'many/' }))
    expect(first.KeyCount).toBe(1000)
    expect(first.IsTruncated).toBe(true)
  })

  it('reaches the stand-in through AWS_ENDPOINT_URL_S3 (path-style, no client settings)', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_S3
    process.env.AWS_ENDPOINT_URL_S3 = s3.url
    try {
      await use1().send(new PutObjectCommand({ Bucket: bucket, Key: 'via-env', Body: '1' }))
      const viaEnv = new S3Client({ region: 'us-east-1', credentials })
      const got = await viaEnv.send(new GetObjectCommand({ Bucket: bucket, Key: 'via-env' }))
      expect(await got.Body?.transformToString()).toBe('1')
      expect(s3.requests.at(-1)?.path).toBe(`/${bucket}/via-env`)
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_S3
      else process.env.AWS_ENDPOINT_URL_S3 = saved
    }
  })
})

/** S3's key order: ascending UTF-8 bytes. */
function byteOrder(keys: Iterable<string>): string[] {
  return [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
}

describe('listings in S3 order (UTF-8 bytes), paginated as S3 does', () => {
  const use1 = (): S3Client => client('us-east-1')

  /** Every key of a ListObjectsV2 walk, page by page, with the page sizes. */
  async function listAll(
    bucket: string,
    input: Partial<ListObjectsV2CommandInput> = {},
    pageSize?: number
  ): Promise<{ keys: string[]; prefixes: string[]; pages: number[] }> {
    const keys: string[] = []
    const prefixes: string[] = []
    const pages: number[] = []
    for await (const page of paginateListObjectsV2(
      { client: use1(), ...(pageSize !== undefined && { pageSize }) },
      { Bucket: bucket, ...input }
    )) {
      pages.push(page.KeyCount ?? -1)
      keys.push(...(page.Contents ?? []).map(o => o.Key ?? ''))
      prefixes.push(...(page.CommonPrefixes ?? []).map(p => p.Prefix ?? ''))
    }
    return { keys, prefixes, pages }
  }

  describe('keys that sort differently by directory walk and by bytes', () => {
    const bucket = 'order-bucket'
    // In S3's order, written out by hand from the UTF-8 bytes: 'A' 41, 'Z' 5A, 'a' 61, then
    // ' ' 20 < '-' 2D < '.' 2E < '/' 2F < '0' 30; 'é' C3 A9 < 'Ａ' (U+FF21) EF BC A1 <
    // '😀' (U+1F600) F0 9F 98 80 — JavaScript's `<` (UTF-16) would put the emoji before 'Ａ'.
    const ordered = [
      'A',
      'Z',
      'a',
      'a b.txt',
      'a-b',
      'a.b',
      'a/b',
      'a/b/c',
      'a0',
      'site-old.txt',
      'site/about/index.html',
      'site/index.html',
      'site0',
      'z',
      'é.txt',
      'Ａ.txt',
      '😀.txt'
    ]

    beforeAll(async () => {
      const c = use1()
      await c.send(new CreateBucketCommand({ Bucket: bucket }))
      // Written in reverse so that neither write order nor walk order gives the answer.
      for (const Key of [...ordered].reverse())
        await c.send(new PutObjectCommand({ Bucket: bucket, Key, Body: `body of ${Key}` }))
    })

    it('ListObjectsV2, ListObjects (v1) and ListObjectVersions all list in byte order', async () => {
      expect(byteOrder(ordered)).toEqual(ordered)
      expect('😀.txt' < 'Ａ.txt').toBe(true) // why a UTF-16 sort is not enough
      const c = use1()
      const v2 = await c.send(new ListObjectsV2Command({ Bucket: bucket }))
      expect(v2.Contents?.map(o => o.Key)).toEqual(ordered)
      expect(v2.KeyCount).toBe(ordered.length)
      expect(v2.IsTruncated).toBe(false)
      const v1 = await c.send(new ListObjectsCommand({ Bucket: bucket }))
      expect(v1.Contents?.map(o => o.Key)).toEqual(ordered)
      const versions = await c.send(new ListObjectVersionsCommand({ Bucket: bucket }))
      expect(versions.Versions?.map(v => v.Key)).toEqual(ordered)
      // One key per page: each continuation token resumes exactly after the previous key.
      const paged = await listAll(bucket, {}, 1)
      expect(paged.keys).toEqual(ordered)
      expect(paged.pages).toEqual(ordered.map(() => 1))
    })

    it('prefix and delimiter: CommonPrefixes in byte order, each counted once against MaxKeys', async () => {
      const c = use1()
      const root = await c.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: '/' }))
      expect(root.Contents?.map(o => o.Key)).toEqual(ordered.filter(k => !k.includes('/')))
      expect(root.CommonPrefixes?.map(p => p.Prefix)).toEqual(['a/', 'site/'])
      expect(root.KeyCount).toBe(ordered.length - 4 + 2)
      expect(root.Delimiter).toBe('/')

      const site = await c.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: 'site/', Delimiter: '/' })
      )
      expect(site.Prefix).toBe('site/')
      expect(site.Contents?.map(o => o.Key)).toEqual(['site/index.html'])
      expect(site.CommonPrefixes?.map(p => p.Prefix)).toEqual(['site/about/'])
      const a = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'a' }))
      expect(a.Contents?.map(o => o.Key)).toEqual(ordered.filter(k => k.startsWith('a')))

      // Two items per page across the common prefixes: none repeated, none lost.
      const paged = await listAll(bucket, { Delimiter: '/' }, 2)
      expect(paged.keys).toEqual(root.Contents?.map(o => o.Key))
      expect(paged.prefixes).toEqual(['a/', 'site/'])
      expect(paged.pages.slice(0, -1).every(n => n === 2)).toBe(true)

      // v1: NextMarker is the last key or common prefix of a truncated page with a delimiter.
      const seen: string[] = []
      let Marker: string | undefined
      for (;;) {
        const page = await c.send(
          new ListObjectsCommand({ Bucket: bucket, Delimiter: '/', MaxKeys: 3, Marker })
        )
        const items = [
          ...(page.Contents ?? []).map(o => o.Key ?? ''),
          ...(page.CommonPrefixes ?? []).map(p => p.Prefix ?? '')
        ]
        expect(items.length).toBeLessThanOrEqual(3)
        seen.push(...byteOrder(items))
        if (!page.IsTruncated) break
        expect(page.NextMarker).toBe(byteOrder(items).at(-1))
        Marker = page.NextMarker
      }
      expect(byteOrder(seen)).toEqual(seen)
      expect(seen).toEqual(
        byteOrder([...(root.Contents ?? []).map(o => o.Key ?? ''), 'a/', 'site/'])
      )
    })

    it('StartAfter, MaxKeys and v1 Marker resume in byte order', async () => {
      const c = use1()
      const after = await c.send(
        new ListObjectsV2Command({ Bucket: bucket, StartAfter: 'a.b', MaxKeys: 4 })
      )
      expect(after.StartAfter).toBe('a.b')
      expect(after.Contents?.map(o => o.Key)).toEqual(['a/b', 'a/b/c', 'a0', 'site-old.txt'])
      expect(after.MaxKeys).toBe(4)
      expect(after.KeyCount).toBe(4)
      expect(after.IsTruncated).toBe(true)
      // A StartAfter that is not a key starts at the next key.
      const between = await c.send(
        new ListObjectsV2Command({ Bucket: bucket, StartAfter: 'site.', MaxKeys: 2 })
      )
      expect(between.Contents?.map(o => o.Key)).toEqual([
        'site/about/index.html',
        'site/index.html'
      ])
      const last = await c.send(new ListObjectsV2Command({ Bucket: bucket, StartAfter: '😀.txt' }))
      expect(last.Contents ?? []).toEqual([])
      expect(last.IsTruncated).toBe(false)

      const zero = await c.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 0 }))
      expect([zero.KeyCount, zero.Contents ?? [], zero.IsTruncated]).toEqual([0, [], false])
      const bad = await failure(c.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: -1 })))
      expect([bad.name, bad.$metadata.httpStatusCode]).toEqual(['InvalidArgument', 400])

      const v1 = await c.send(new ListObjectsCommand({ Bucket: bucket, Marker: 'site-old.txt' }))
      expect(v1.Marker).toBe('site-old.txt')
      expect(v1.Contents?.map(o => o.Key)).toEqual(
        ordered.slice(ordered.indexOf('site-old.txt') + 1)
      )
      // Without a delimiter v1 gives no NextMarker: the client resumes after the last key.
      const first = await c.send(new ListObjectsCommand({ Bucket: bucket, MaxKeys: 5 }))
      expect(first.IsTruncated).toBe(true)
      expect(first.NextMarker).toBeUndefined()
      const next = await c.send(
        new ListObjectsCommand({ Bucket: bucket, MaxKeys: 5, Marker: first.Contents?.at(-1)?.Key })
      )
      expect(next.Contents?.map(o => o.Key)).toEqual(ordered.slice(5, 10))
    })

    it('continuation tokens are opaque and bound to the bucket', async () => {
      const c = use1()
      const first = await c.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 2 }))
      const token = first.NextContinuationToken ?? ''
      expect(first.Contents?.map(o => o.Key)).toEqual(ordered.slice(0, 2))
      const second = await c.send(
        new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 2, ContinuationToken: token })
      )
      expect(second.ContinuationToken).toBe(token)
      expect(second.Contents?.map(o => o.Key)).toEqual(ordered.slice(2, 4))
      const bad = await failure(
        c.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: 'bm90IGEgdG9rZW4=' }))
      )
      expect([bad.name, bad.message]).toEqual([
        'InvalidArgument',
        'The continuation token provided is incorrect'
      ])
      await c.send(new CreateBucketCommand({ Bucket: 'order-bucket-2' }))
      const elsewhere = await failure(
        c.send(new ListObjectsV2Command({ Bucket: 'order-bucket-2', ContinuationToken: token }))
      )
      expect(elsewhere.name).toBe('InvalidArgument')
    })

    it('encoding-type=url percent-encodes keys and prefixes as S3 does', async () => {
      const c = use1()
      const page = await c.send(
        new ListObjectsV2Command({ Bucket: bucket, EncodingType: 'url', Delimiter: '/' })
      )
      expect(page.EncodingType).toBe('url')
      const keys = page.Contents?.map(o => o.Key) ?? []
      expect(keys).toContain('a+b.txt')
      expect(keys).toContain('%C3%A9.txt')
      expect(keys).toContain('%F0%9F%98%80.txt')
      expect(keys).toContain('site-old.txt')
      expect(page.CommonPrefixes?.map(p => p.Prefix)).toEqual(['a/', 'site/'])
      const nested = await c.send(
        new ListObjectsV2Command({ Bucket: bucket, EncodingType: 'url', Prefix: 'a/' })
      )
      expect(nested.Contents?.map(o => o.Key)).toEqual(['a/b', 'a/b/c'])
    })

    it('each entry has the ETag, Size, LastModified and storage class HeadObject reports; Owner as S3 sends it', async () => {
      const c = use1()
      await c.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'infrequent.txt',
          Body: 'rarely read',
          StorageClass: 'STANDARD_IA'
        })
      )
      const v2 = await c.send(new ListObjectsV2Command({ Bucket: bucket }))
      for (const o of v2.Contents ?? []) {
        const head = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: o.Key }))
        expect([o.ETag, o.Size, o.LastModified?.getTime()]).toEqual([
          head.ETag,
          head.ContentLength,
          head.LastModified?.getTime()
        ])
        expect(o.StorageClass).toBe(o.Key === 'infrequent.txt' ? 'STANDARD_IA' : 'STANDARD')
        expect(o.Owner).toBeUndefined()
      }
      const md5 = createHash('md5').update('body of a-b').digest('hex')
      expect(v2.Contents?.find(o => o.Key === 'a-b')?.ETag).toBe(`"${md5}"`)
      const owner = (await c.send(new ListBucketsCommand({}))).Owner
      expect(owner?.ID).toMatch(/^[0-9a-f]{64}$/)
      const withOwner = await c.send(new ListObjectsV2Command({ Bucket: bucket, FetchOwner: true }))
      expect(withOwner.Contents?.every(o => o.Owner?.ID === owner?.ID)).toBe(true)
      const v1 = await c.send(new ListObjectsCommand({ Bucket: bucket }))
      expect(v1.Contents?.every(o => o.Owner?.ID === owner?.ID)).toBe(true)
      expect(v1.Contents?.map(o => [o.Key, o.ETag, o.Size])).toEqual(
        v2.Contents?.map(o => [o.Key, o.ETag, o.Size])
      ) // Leave the listing as the other tests here expect it.
      await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'infrequent.txt' }))
    })
  })

  describe('2,500 keys at the bucket root', () => {
    const bucket = 'many-keys'
    // The read-after-write test changes its own copy, so the listing tests pass in any order.
    const changedBucket = 'many-keys-changed'
    let expected: string[] = []

    beforeAll(async () => {
      // A site under `site/` (1,205 keys in nested directories), keys that sort between or
      // around it (`site-old.txt`, `site.css`, `site0`), and files at the root.
      const keys = [
        ...Array.from({ length: 1205 }, (_, i) => `site/s${i % 7}/d${i % 11}/p${i}.html`),
        'site-old.txt',
        'site.css',
        'site0',
        ...Array.from({ length: 1292 }, (_, i) => `f${i}-${(i * 7919) % 1000}.txt`)
      ]
      expect(keys).toHaveLength(2500)
      for (const b of [bucket, changedBucket]) {
        await use1().send(new CreateBucketCommand({ Bucket: b }))
        s3.putObjects(
          b,
          keys.map(key => ({ key, body: key }))
        )
      }
      expected = byteOrder(keys)
    })

    it('paginateListObjectsV2 returns every key exactly once, in byte order, 1,000 per page', async () => {
      s3.clearRequests()
      const all = await listAll(bucket)
      expect(all.pages).toEqual([1000, 1000, 500])
      expect(new Set(all.keys).size).toBe(2500)
      expect(all.keys).toEqual(expected)
      expect(all.keys).toContain('site-old.txt')
      expect(s3.requests.map(r => r.operation)).toEqual([
        'ListObjectsV2',
        'ListObjectsV2',
        'ListObjectsV2'
      ])
      const small = await listAll(bucket, {}, 333)
      expect(small.keys).toEqual(expected)
      const site = await listAll(bucket, { Prefix: 'site/' })
      expect(site.keys).toEqual(expected.filter(k => k.startsWith('site/')))
      expect(site.pages).toEqual([1000, 205])
      const v1: string[] = []
      let Marker: string | undefined
      for (;;) {
        const page = await use1().send(new ListObjectsCommand({ Bucket: bucket, Marker }))
        v1.push(...(page.Contents ?? []).map(o => o.Key ?? ''))
        if (!page.IsTruncated) break
        Marker = page.Contents?.at(-1)?.Key
      }
      expect(v1).toEqual(expected)
    })

    it('a listing right after a write or delete shows it (read-after-write)', async () => {
      const c = use1()
      await listAll(changedBucket)
      await c.send(
        new PutObjectCommand({ Bucket: changedBucket, Key: 'site-new.txt', Body: 'new' })
      )
      await c.send(new DeleteObjectCommand({ Bucket: changedBucket, Key: 'site-old.txt' }))
      const gone = expected.filter(k => k.startsWith('f1')).slice(0, 120)
      await c.send(
        new DeleteObjectsCommand({
          Bucket: changedBucket,
          Delete: { Objects: gone.map(Key => ({ Key })), Quiet: true }
        })
      )
      await c.send(
        new CopyObjectCommand({
          Bucket: changedBucket,
          Key: 'site/copy.html',
          CopySource: `${changedBucket}/site0`
        })
      )
      const changed = 'site/s0/d0/p0.html'
      await c.send(
        new PutObjectCommand({ Bucket: changedBucket, Key: changed, Body: 'changed body' })
      )
      await new Upload({
        client: c,
        params: { Bucket: changedBucket, Key: 'big.bin', Body: Buffer.alloc(6 * 1024 * 1024, 7) },
        partSize: 5 * 1024 * 1024
      }).done()

      const after = byteOrder([
        ...expected.filter(k => k !== 'site-old.txt' && !gone.includes(k)),
        'site-new.txt',
        'site/copy.html',
        'big.bin'
      ])
      const all = await listAll(changedBucket)
      expect(all.keys).toEqual(after)
      const page = await c.send(
        new ListObjectsV2Command({ Bucket: changedBucket, Prefix: changed })
      )
      expect(page.Contents?.map(o => [o.Key, o.Size, o.ETag])).toEqual([
        [changed, 12, `"${createHash('md5').update('changed body').digest('hex')}"`]
      ])
      const big = await c.send(
        new ListObjectsV2Command({ Bucket: changedBucket, Prefix: 'big.bin' })
      )
      expect(big.Contents?.[0]?.ETag).toMatch(/^"[0-9a-f]{32}-2"$/)
      expect(big.Contents?.[0]?.Size).toBe(6 * 1024 * 1024)
    })
  })

  it('a versioned bucket lists its current objects; a delete marker hides a key until removed', async () => {
    const bucket = 'versioned-listing'
    const c = use1()
    await c.send(new CreateBucketCommand({ Bucket: bucket }))
    await c.send(
      new PutBucketVersioningCommand({
        Bucket: bucket,
        VersioningConfiguration: { Status: 'Enabled' }
      })
    )
    const keys = ['a/b', 'a-b', 'a0', 'Ａ', '😀']
    for (const Key of keys) await c.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key }))
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'a-b', Body: 'second' }))
    const list = async (): Promise<string[]> =>
      ((await c.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map(
        o => o.Key ?? ''
      )
    expect(await list()).toEqual(byteOrder(keys))
    const versions = await c.send(new ListObjectVersionsCommand({ Bucket: bucket }))
    expect(versions.Versions?.map(v => v.Key)).toEqual(byteOrder([...keys, 'a-b']))

    const marker = await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'a0' }))
    expect(await list()).toEqual(byteOrder(keys.filter(k => k !== 'a0')))
    await c.send(
      new DeleteObjectCommand({ Bucket: bucket, Key: 'a0', VersionId: marker.VersionId })
    )
    expect(await list()).toEqual(byteOrder(keys))
    // Removing the newest version of 'a-b' brings back the older one, in the listing too.
    const newest = s3.objectVersions(bucket, 'a-b')[0]?.versionId
    await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'a-b', VersionId: newest }))
    const page = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'a-b' }))
    expect(page.Contents?.map(o => [o.Key, o.Size])).toEqual([['a-b', 3]])
    expect(page.Contents?.[0]?.ETag).toBe(s3.objectVersions(bucket, 'a-b')[0]?.etag)
  })

  it('10,000 keys: every page answered well under a second, cold and cached', async () => {
    const bucket = 'ten-thousand'
    await use1().send(new CreateBucketCommand({ Bucket: bucket }))
    const keys = Array.from({ length: 10000 }, (_, i) => `d${i % 37}/s${i % 5}/f${i}.html`)
    s3.putObjects(
      bucket,
      keys.map(key => ({ key, body: key }))
    )
    // The stand-in's own time per page, over plain HTTP (the SDK's XML parsing is the caller's).
    const times: number[] = []
    for (let round = 0; round < 2; round++) {
      let token: string | undefined
      do {
        const qs = new URLSearchParams({ 'list-type': '2' })
        if (token !== undefined) qs.set('continuation-token', token)
        const t = performance.now()
        const res = await fetch(`${s3.url}/${bucket}?${qs.toString()}`, {
          headers: {
            authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/s3/aws4_request'
          }
        })
        const xml = await res.text()
        times.push(performance.now() - t)
        expect(res.status).toBe(200)
        token = /<NextContinuationToken>([^<]+)</.exec(xml)?.[1]
      } while (token !== undefined)
    }
    expect(times).toHaveLength(20)
    console.log(`10,000-key listing: slowest page ${Math.max(...times).toFixed(0)} ms`)
    const all = await listAll(bucket)
    expect(all.keys).toEqual(byteOrder(keys))
    expect(all.pages).toEqual(Array.from({ length: 10 }, () => 1000))
  })
})

describe('versions', () => {
  const bucket = 'versioned-state'
  const key = 'production/terraform.tfstate'
  const use1 = (): S3Client => client('us-east-1')
  // Each test writes its own object's versions (serial 1, then serial 2), so they pass in any order.
  const twoVersions = async (k: string): Promise<void> => {
    for (const serial of [1, 2])
      await use1().send(
        new PutObjectCommand({ Bucket: bucket, Key: k, Body: `{"serial":${serial}}` })
      )
  }

  beforeAll(async () => {
    const c = use1()
    await c.send(new CreateBucketCommand({ Bucket: bucket }))
    await c.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'before-versioning.txt', Body: 'old' })
    )
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'unversioned/old.txt', Body: 'old' }))
    await c.send(
      new PutBucketVersioningCommand({
        Bucket: bucket,
        VersioningConfiguration: { Status: 'Enabled' }
      })
    )
  })

  it('keeps every write as a version and serves each by id', async () => {
    const c = use1()
    const v1 = await c.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: '{"serial":1}' })
    )
    const v2 = await c.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: '{"serial":2}' })
    )
    expect(v1.VersionId).toBeDefined()
    expect(v2.VersionId).toBeDefined()
    expect(v1.VersionId).not.toBe(v2.VersionId)

    const old = await c.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: v1.VersionId })
    )
    expect(await old.Body?.transformToString()).toBe('{"serial":1}')
    expect(old.VersionId).toBe(v1.VersionId)
    const current = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    expect(await current.Body?.transformToString()).toBe('{"serial":2}')
    expect(current.VersionId).toBe(v2.VersionId)
    const headOld = await c.send(
      new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: v1.VersionId })
    )
    expect(headOld.ContentLength).toBe(12)

    const listed = await c.send(
      new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'production/' })
    )
    expect(listed.Versions?.map(v => [v.VersionId, v.IsLatest, v.Size])).toEqual([
      [v2.VersionId, true, 12],
      [v1.VersionId, false, 12]
    ])
    expect(s3.objectVersions(bucket, key).map(v => v.versionId)).toEqual([
      v2.VersionId,
      v1.VersionId
    ])

    // An object written before versioning was turned on is the 'null' version.
    const pre = await c.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'before' }))
    expect(pre.Versions?.map(v => v.VersionId)).toEqual(['null'])
  })

  it('delete adds a delete marker; removing the marker brings the object back', async () => {
    const c = use1()
    const key = 'marker/terraform.tfstate'
    await twoVersions(key)
    const del = await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))
    expect(del.DeleteMarker).toBe(true)
    expect(del.VersionId).toBeDefined()
    const gone = await failure(c.send(new GetObjectCommand({ Bucket: bucket, Key: key })))
    expect(gone.name).toBe('NoSuchKey')
    const listed = await c.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }))
    expect(listed.DeleteMarkers?.map(m => [m.VersionId, m.IsLatest])).toEqual([
      [del.VersionId, true]
    ])
    expect(listed.Versions?.every(v => v.IsLatest === false)).toBe(true)

    await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: del.VersionId }))
    const back = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    expect(await back.Body?.transformToString()).toBe('{"serial":2}')
  })

  it('deleting a version by id removes it for good; DeleteObjects works per version', async () => {
    const c = use1()
    const key = 'by-id/terraform.tfstate'
    await twoVersions(key)
    const versions = s3.objectVersions(bucket, key)
    expect(versions).toHaveLength(2)
    await c.send(
      new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: versions[0]?.versionId })
    )
    const now = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    expect(await now.Body?.transformToString()).toBe('{"serial":1}')

    const res = await c.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: [{ Key: key }, { Key: 'unversioned/old.txt', VersionId: 'null' }] }
      })
    )
    expect(res.Deleted?.find(d => d.Key === key)?.DeleteMarker).toBe(true)
    expect(s3.objectVersions(bucket, 'unversioned/old.txt')).toEqual([])
    expect(s3.objectVersions(bucket, key).map(v => v.isDeleteMarker)).toEqual([true, false])
  })

  it('pages ListObjectVersions with key and version markers', async () => {
    const c = use1()
    for (let i = 0; i < 3; i++) {
      await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'paged/a', Body: `a${i}` }))
      await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'paged/b', Body: `b${i}` }))
    }
    await c.send(
      new CopyObjectCommand({ Bucket: bucket, Key: 'paged/c', CopySource: `${bucket}/paged/a` })
    )
    const seen: string[] = []
    let pages = 0
    let KeyMarker: string | undefined
    let VersionIdMarker: string | undefined
    for (;;) {
      const page = await c.send(
        new ListObjectVersionsCommand({
          Bucket: bucket,
          Prefix: 'paged/',
          MaxKeys: 2,
          KeyMarker,
          VersionIdMarker
        })
      )
      pages++
      seen.push(...(page.Versions ?? []).map(v => v.Key ?? ''))
      if (!page.IsTruncated) break
      KeyMarker = page.NextKeyMarker
      VersionIdMarker = page.NextVersionIdMarker
    }
    expect(pages).toBe(4)
    expect(seen).toEqual([
      'paged/a',
      'paged/a',
      'paged/a',
      'paged/b',
      'paged/b',
      'paged/b',
      'paged/c'
    ])
    const copy = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'paged/c' }))
    expect(await copy.Body?.transformToString()).toBe('a2')
  })
})

describe('fault injection seen by the SDK', () => {
  const bucket = 'faulty-bucket'
  const use1 = (): S3Client => client('us-east-1')

  beforeAll(async () => {
    await use1().send(new CreateBucketCommand({ Bucket: bucket }))
  })

  it.each(['throttle', '5xx', 'reset'] as const)('one %s is retried by the SDK', async kind => {
    s3.clearRequests()
    s3.failNext(1, { operation: 'PutObject' }, kind)
    await use1().send(new PutObjectCommand({ Bucket: bucket, Key: `after-${kind}`, Body: kind }))
    const puts = s3.requests.filter(r => r.operation === 'PutObject')
    expect(puts.map(r => r.fault)).toEqual([kind, undefined])
    expect(puts.map(r => r.status)).toEqual([{ throttle: 503, '5xx': 500, reset: 0 }[kind], 200])
  })

  it('more failures than attempts reach the caller as the service error', async () => {
    s3.clearRequests()
    s3.failNext(3, { operation: /^Head/ }, 'throttle')
    const e = await failure(use1().send(new HeadBucketCommand({ Bucket: bucket })))
    expect(e.$metadata.httpStatusCode).toBe(503)
    expect(s3.requests).toHaveLength(3)
    s3.failNext(2, { method: 'GET', path: /^\/faulty-bucket\/?$/ }, '5xx')
    const e2 = await failure(
      client('us-east-1', { maxAttempts: 2 }).send(new ListObjectsV2Command({ Bucket: bucket }))
    )
    expect(e2.name).toBe('InternalError')
    expect(s3.requests.filter(r => r.operation === 'ListObjectsV2').map(r => r.status)).toEqual([
      500, 500
    ])
  })
})

describe('start-up', () => {
  it('runs and pages past 1,000 keys without --openssl-legacy-provider (no DES tokens needed)', async () => {
    const env = { ...process.env }
    delete env.NODE_OPTIONS
    const script = `
      const { startS3StandIn } = await import('./standins/s3.ts')
      const sdk = await import('@aws-sdk/client-s3')
      const s3 = await startS3StandIn()
      try {
        const c = new sdk.S3Client({
          region: 'us-east-1',
          endpoint: s3.url,
          credentials: { accessKeyId: 'a', secretAccessKey: 'b' }
        })
        await c.send(new sdk.CreateBucketCommand({ Bucket: 'plain-node' }))
        s3.putObjects('plain-node', Array.from({ length: 1500 }, (_, i) => ({ key: 'k' + i, body: 'x' })))
        let keys = 0
        let pages = 0
        for await (const page of sdk.paginateListObjectsV2({ client: c }, { Bucket: 'plain-node' })) {
          pages++
          keys += page.KeyCount
        }
        console.log(JSON.stringify({ keys, pages }))
      } finally {
        await s3.stop()
      }`
    const { stdout } = await promisify(execFile)(
      'node',
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { env }
    )
    expect(JSON.parse(stdout.trim().split('\n').at(-1) ?? '')).toEqual({ keys: 1500, pages: 2 })
  })
})

describe('data directory', () => {
  it('keeps buckets, configuration and versions across a restart on the same directory', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'standin-s3-persist-'))
    try {
      const first = await startS3StandIn({ dataDir: dir })
      const c1 = new S3Client({ region: 'eu-west-1', endpoint: first.url, credentials })
      await c1.send(new CreateBucketCommand({ Bucket: 'kept' }))
      await c1.send(
        new PutBucketVersioningCommand({
          Bucket: 'kept',
          VersioningConfiguration: { Status: 'Enabled' }
        })
      )
      await c1.send(new PutObjectCommand({ Bucket: 'kept', Key: 'k', Body: 'one' }))
      await c1.send(new PutObjectCommand({ Bucket: 'kept', Key: 'k', Body: 'two' }))
      await first.stop()
      expect(fs.existsSync(dir)).toBe(true)

      const second = await startS3StandIn({ dataDir: dir })
      try {
        const c2 = new S3Client({ region: 'eu-west-1', endpoint: second.url, credentials })
        expect((await c2.send(new HeadBucketCommand({ Bucket: 'kept' }))).BucketRegion).toBe(
          'eu-west-1'
        )
        const listed = await c2.send(new ListObjectsV2Command({ Bucket: 'kept' }))
        expect(listed.Contents?.map(o => [o.Key, o.Size])).toEqual([['k', 3]])
        const versions = await c2.send(new ListObjectVersionsCommand({ Bucket: 'kept' }))
        expect(versions.Versions).toHaveLength(2)
        const oldest = versions.Versions?.[1]?.VersionId
        const got = await c2.send(
          new GetObjectCommand({ Bucket: 'kept', Key: 'k', VersionId: oldest })
        )
        expect(await got.Body?.transformToString()).toBe('one')
      } finally {
        await second.stop()
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
