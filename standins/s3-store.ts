/**
 * Object writes in s3rver's file store made durable before they are acknowledged, as S3's are.
 *
 * s3rver 3.7's `FilesystemStore.putObject` (and `putPart`) resolves when the request body has gone through its
 * MD5 transform, not when the file write stream has finished: the 200 for a PutObject (and for a
 * CompleteMultipartUpload, which goes through the same method) can leave before the object file
 * is opened or its bytes written, and a write error after that point is lost. On a busy machine
 * (libuv's thread pool behind, a thread preempted) the front server's listing index then checks
 * the disk too early and leaves the key out, or a read right after the write sees an empty or
 * short object. Here the body is written to a temporary file next to the object, the write stream
 * is waited for, and the file is renamed into place (a reader sees the old object or the new one,
 * never half of one) before the metadata is written and the call returns.
 */
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'

/** What s3rver hands its store to write (lib/models/object.js). */
interface StoredObject {
  bucket: string
  key: string
  content: Buffer | NodeJS.ReadableStream
  metadata: Record<string, string>
}

/** The part of s3rver's `FilesystemStore` replaced and used here (lib/stores/filesystem.js). */
export interface ObjectStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string
  putMetadata(
    bucket: string,
    key: string,
    metadata: Record<string, string>,
    md5?: string
  ): Promise<void>
  putObject(object: StoredObject): Promise<{ size: number; md5: string }>
  putPart(
    bucket: string,
    uploadId: string,
    partNumber: number,
    content: NodeJS.ReadableStream
  ): Promise<{ size: number; md5: string }>
}

/**
 * Replace `store.putObject` and `store.putPart` with ones that return only once the bytes are on
 * disk.
 */
export function durableObjectWrites(store: ObjectStore): void {
  store.putObject = async object => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object')
    const written = await writeFileFrom(object.content, objectPath)
    await store.putMetadata(object.bucket, object.key, object.metadata, written.md5)
    return written
  }
  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const partPath = path.join(
      store.getResourcePath(bucket, undefined, 'uploads'),
      uploadId,
      partNumber.toString()
    )
    const written = await writeFileFrom(content, partPath)
    await fs.promises.writeFile(`${partPath}.md5`, written.md5)
    return written
  }
}

/**
 * Write `content` to `file` through a temporary file renamed into place once the write stream has
 * finished; its size and MD5. A failed write leaves no file behind and is thrown.
 */
async function writeFileFrom(
  content: Buffer | NodeJS.ReadableStream,
  file: string
): Promise<{ size: number; md5: string }> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true })
  const temp = `${file}.${randomBytes(8).toString('hex')}.partial`
  const md5 = createHash('md5')
  let size = 0
  try {
    await pipeline(
      Buffer.isBuffer(content) ? Readable.from([content]) : content,
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          md5.update(chunk)
          size += chunk.length
          callback(null, chunk)
        }
      }),
      fs.createWriteStream(temp)
    )
    await fs.promises.rename(temp, file)
  } catch (error) {
    await fs.promises.rm(temp, { force: true })
    throw error
  }
  return { size, md5: md5.digest('hex') }
}
