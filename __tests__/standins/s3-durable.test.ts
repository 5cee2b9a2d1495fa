import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { startS3StandIn, type S3StandIn } from '../../standins/s3'

/**
 * S3 acknowledges a write once it is durable: a listing, HEAD or GET right after the 200 sees the
 * whole object. Here every file write stream in the process is slowed down (a disk on a busy
 * machine), which s3rver alone answers before its writes have landed.
 */
let s3: S3StandIn
let client: S3Client
type WriteFn = (this: fs.WriteStream, ...args: unknown[]) => void
const proto = fs.WriteStream.prototype as unknown as { _write: WriteFn; _writev: WriteFn }
const realWrite = proto._write
const realWritev = proto._writev

function slowDiskWrites(ms: number): void {
  proto._write = function (...args) {
    setTimeout(() => realWrite.apply(this, args), ms)
  }
  proto._writev = function (...args) {
    setTimeout(() => realWritev.apply(this, args), ms)
  }
}

beforeAll(async () => {
  s3 = await startS3StandIn()
  client = new S3Client({
    region: 'eu-west-1',
    endpoint: s3.url,
    credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin-secret' }
  })
})

afterEach(() => {
  proto._write = realWrite
  proto._writev = realWritev
})

afterAll(async () => {
  await s3.stop()
})

async function createBucket(Bucket: string): Promise<void> {
  await client.send(
    new CreateBucketCommand({
      Bucket,
      CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' }
    })
  )
}

describe('an acknowledged write is on disk (slow disk writes)', () => {
  it('PutObject: listing, HEAD and GET right after see every object whole', async () => {
    const Bucket = 'durable-puts'
    await createBucket(Bucket)
    // The first listing builds the stand-in's index, as a sync lists before it uploads.
    expect((await client.send(new ListObjectsV2Command({ Bucket }))).KeyCount).toBe(0)
    const bodies = new Map<string, string>()
    for (let i = 0; i < 20; i++) bodies.set(`site/d${i % 3}/f${i}.txt`, `file ${i} `.repeat(i + 1))
    slowDiskWrites(40)
    await Promise.all(
      [...bodies].map(([Key, Body]) => client.send(new PutObjectCommand({ Bucket, Key, Body })))
    )
    const listed = await client.send(new ListObjectsV2Command({ Bucket }))
    expect(new Map(listed.Contents?.map(o => [o.Key, o.Size]))).toEqual(
      new Map([...bodies].map(([key, body]) => [key, body.length]))
    )
    const [key, body] = [...bodies].at(-1) as [string, string]
    const head = await client.send(new HeadObjectCommand({ Bucket, Key: key }))
    expect(head.ContentLength).toBe(body.length)
    const got = await client.send(new GetObjectCommand({ Bucket, Key: key }))
    expect(await got.Body?.transformToString()).toBe(body)
  })

  it('multipart upload: the completed object has every byte of its parts', async () => {
    const Bucket = 'durable-multipart'
    await createBucket(Bucket)
    await client.send(new ListObjectsV2Command({ Bucket }))
    const body = Buffer.alloc(5 * 2 ** 20 + 1000, 'x')
    slowDiskWrites(40)
    await new Upload({
      client,
      params: { Bucket, Key: 'media/big.bin', Body: body },
      partSize: 5 * 2 ** 20
    }).done()
    const listed = await client.send(new ListObjectsV2Command({ Bucket }))
    expect(listed.Contents?.map(o => [o.Key, o.Size])).toEqual([['media/big.bin', body.length]])
    const got = await client.send(new GetObjectCommand({ Bucket, Key: 'media/big.bin' }))
    expect(Buffer.from((await got.Body?.transformToByteArray()) ?? []).equals(body)).toBe(true)
  })
})
