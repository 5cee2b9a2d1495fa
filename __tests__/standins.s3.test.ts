import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
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
  ListObjectsV2Command,
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
import { startS3StandIn, type S3StandIn } from '../standins/s3'

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
    const owner = await failure(
      use1.send(
        new HeadBucketCommand({ Bucket: 'state-use1', ExpectedBucketOwner: '999999999999' })
      )
    )
    expect(owner.$metadata.httpStatusCode).toBe(403)
    await use1.send(
      new HeadBucketCommand({ Bucket: 'state-use1', ExpectedBucketOwner: '123456789012' })
    )

    const missing = await failure(use1.send(new HeadBucketCommand({ Bucket: 'nobody-has-this' })))
    expect(missing.$metadata.httpStatusCode).toBe(404)
    const missingConfig = await failure(
      use1.send(new GetBucketVersioningCommand({ Bucket: 'nobody-has-this' }))
    )
    expect(missingConfig.name).toBe('NoSuchBucket')
  })

  it('refuses unsigned requests and lists buckets with their regions', async () => {
    const anonymous = await fetch(`${s3.url}/state-use1`)
    expect(anonymous.status).toBe(403)
    expect(await anonymous.text()).toContain('<Code>AccessDenied</Code>')
    const list = await client('us-east-1').send(new ListBucketsCommand({}))
    const names = list.Buckets?.map(b => `${b.Name}@${b.BucketRegion}`)
    expect(names).toEqual(expect.arrayContaining(['state-use1@us-east-1', 'state-euw1@eu-west-1']))
  })
})

describe('bucket configuration', () => {
  const bucket = 'config-bucket'
  const use1 = (): S3Client => client('us-east-1')

  beforeAll(async () => {
    await use1().send(new CreateBucketCommand({ Bucket: bucket }))
  })

  it('a new bucket reads back as on AWS since 2023: SSE-S3, public access blocked, ACLs off', async () => {
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
      const viaEnv = new S3Client({ region: 'us-east-1', credentials })
      const got = await viaEnv.send(new GetObjectCommand({ Bucket: bucket, Key: 'once' }))
      expect(await got.Body?.transformToString()).toBe('1')
      expect(s3.requests.at(-1)?.path).toBe(`/${bucket}/once`)
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_S3
      else process.env.AWS_ENDPOINT_URL_S3 = saved
    }
  })
})

describe('versions', () => {
  const bucket = 'versioned-state'
  const key = 'production/terraform.tfstate'
  const use1 = (): S3Client => client('us-east-1')

  beforeAll(async () => {
    const c = use1()
    await c.send(new CreateBucketCommand({ Bucket: bucket }))
    await c.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'before-versioning.txt', Body: 'old' })
    )
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
        Delete: { Objects: [{ Key: key }, { Key: 'before-versioning.txt', VersionId: 'null' }] }
      })
    )
    expect(res.Deleted?.find(d => d.Key === key)?.DeleteMarker).toBe(true)
    expect(s3.objectVersions(bucket, 'before-versioning.txt')).toEqual([])
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
  it('says what is missing when Node runs without --openssl-legacy-provider', async () => {
    const env = { ...process.env }
    delete env.NODE_OPTIONS
    const script =
      "import('./standins/s3.ts').then((m) => m.startS3StandIn()).then((s) => s.stop())" +
      '.catch((e) => { console.error(e.message); process.exit(3) })'
    const result = await promisify(execFile)('node', ['--import', 'tsx', '-e', script], {
      env
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e
    )
    expect(result.code).toBe(3)
    expect(result.stderr).toContain("NODE_OPTIONS='--openssl-legacy-provider'")
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
