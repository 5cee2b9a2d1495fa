/**
 * Request bodies as S3 receives them: `aws-chunked` content encoding (with or without chunk
 * signatures, with trailing checksums) and the flexible checksums (x-amz-checksum-*).
 */
import type http from 'node:http'
import { createHash } from 'node:crypto'
import zlib from 'node:zlib'
import { S3Error } from './s3-config'

export interface DecodedBody {
  body: Buffer
  /** x-amz-checksum-* values sent as headers or as aws-chunked trailers (lower-case names). */
  checksums: Record<string, string>
  /** Headers to forward in place of the received ones (aws-chunked details removed). */
  headers: http.IncomingHttpHeaders
}

/** Undo aws-chunked encoding when present and collect the checksums the client sent. */
export function decodeS3Body(headers: http.IncomingHttpHeaders, raw: Buffer): DecodedBody {
  const out: http.IncomingHttpHeaders = { ...headers }
  const checksums: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (
      name.startsWith('x-amz-checksum-') &&
      name !== 'x-amz-checksum-type' &&
      typeof value === 'string'
    )
      checksums[name] = value
  }
  const encodings = (headers['content-encoding'] ?? '')
    .split(',')
    .map(e => e.trim())
    .filter(e => e !== '')
  const sha = String(headers['x-amz-content-sha256'] ?? '')
  const chunked = encodings.includes('aws-chunked') || sha.startsWith('STREAMING-')
  let body = raw
  if (chunked) {
    const { data, trailers } = decodeAwsChunked(raw)
    body = data
    const declared = headers['x-amz-decoded-content-length']
    if (declared !== undefined && Number(declared) !== body.length) {
      throw new S3Error(
        'IncompleteBody',
        'You did not provide the number of bytes specified by the Content-Length HTTP header'
      )
    }
    for (const [name, value] of Object.entries(trailers)) {
      if (name.startsWith('x-amz-checksum-')) checksums[name] = value
    }
    const rest = encodings.filter(e => e !== 'aws-chunked')
    if (rest.length > 0) out['content-encoding'] = rest.join(',')
    else delete out['content-encoding']
    delete out['x-amz-decoded-content-length']
    delete out['x-amz-trailer']
    delete out['transfer-encoding']
    out['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD'
  }
  out['content-length'] = String(body.length)
  verifyChecksums(body, checksums)
  return { body, checksums, headers: out }
}

function decodeAwsChunked(raw: Buffer): { data: Buffer; trailers: Record<string, string> } {
  const parts: Buffer[] = []
  const trailers: Record<string, string> = {}
  let pos = 0
  const line = (): string => {
    const end = raw.indexOf('\r\n', pos)
    if (end < 0) throw new S3Error('IncompleteBody', 'The request body terminated unexpectedly')
    const text = raw.subarray(pos, end).toString('latin1')
    pos = end + 2
    return text
  }
  for (;;) {
    const header = line()
    const size = parseInt(header.split(';')[0] ?? '', 16)
    if (!Number.isFinite(size) || size < 0)
      throw new S3Error(
        'InvalidChunkSizeError',
        'Only the last chunk is allowed to have a size less than 8192 bytes'
      )
    if (size === 0) break
    if (pos + size > raw.length)
      throw new S3Error('IncompleteBody', 'The request body terminated unexpectedly')
    parts.push(raw.subarray(pos, pos + size))
    pos += size
    if (raw.subarray(pos, pos + 2).toString('latin1') !== '\r\n')
      throw new S3Error('IncompleteBody', 'The request body terminated unexpectedly')
    pos += 2
  }
  while (pos < raw.length) {
    const t = line()
    if (t === '') break
    const colon = t.indexOf(':')
    if (colon > 0) trailers[t.slice(0, colon).trim().toLowerCase()] = t.slice(colon + 1).trim()
  }
  return { data: Buffer.concat(parts), trailers }
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

function crc32c(data: Buffer): number {
  let crc = 0xffffffff
  for (const byte of data) crc = (CRC32C_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

function u32(n: number): string {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n >>> 0)
  return b.toString('base64')
}

/** The base64 checksum S3 would compute, or undefined for algorithms the stand-in does not check. */
export function computeChecksum(algorithm: string, body: Buffer): string | undefined {
  switch (algorithm) {
    case 'crc32':
      return u32(zlib.crc32(body))
    case 'crc32c':
      return u32(crc32c(body))
    case 'sha1':
      return createHash('sha1').update(body).digest('base64')
    case 'sha256':
      return createHash('sha256').update(body).digest('base64')
    default:
      return undefined
  }
}

function verifyChecksums(body: Buffer, checksums: Record<string, string>): void {
  for (const [name, value] of Object.entries(checksums)) {
    const algorithm = name.slice('x-amz-checksum-'.length)
    const expected = computeChecksum(algorithm, body)
    if (expected !== undefined && expected !== value) {
      throw new S3Error(
        'BadDigest',
        `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`
      )
    }
  }
}
