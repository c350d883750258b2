// Proves the in-memory origin takes writes as Amazon S3 does: aws-chunked streaming bodies from the SDK
// (decoded, CRC32 trailer checked), multipart uploads by @aws-sdk/lib-storage with S3's ETags and
// partNumber answers, and Complete's checks.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { sdkClient } from '../../support/cache-client.js';
import { type MemoryOrigin, startMemoryOrigin } from '../../support/memory-origin.js';

const BUCKET = 'kura-test';
const MiB = 1024 * 1024;

describe('memory origin writes', () => {
  let origin: MemoryOrigin;
  let s3: S3Client;

  before(async () => {
    origin = await startMemoryOrigin();
    // The SDK's defaults: a stream body goes aws-chunked with a CRC32 trailer.
    s3 = sdkClient(origin.url, { sdkDefaults: true });
  });

  after(async () => {
    await origin.close();
    s3.destroy();
  });

  test('a streamed PutObject arrives aws-chunked and is stored decoded, with its metadata', async () => {
    const body = randomBytes(300_000);
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'streamed',
        Body: Readable.from([body.subarray(0, 100_000), body.subarray(100_000)]),
        ContentLength: body.length,
        ContentType: 'application/x-test',
        Metadata: { color: 'blue' },
      }),
    );
    const put = origin.requests.find((r) => r.method === 'PUT');
    const encoding = put?.rawHeaders.find((_, i, a) => a[i - 1]?.toLowerCase() === 'content-encoding');
    assert.match(encoding ?? '', /aws-chunked/);
    const stored = origin.get(BUCKET, 'streamed');
    assert.ok(stored?.body.equals(body));
    assert.equal(stored?.contentType, 'application/x-test');
    assert.equal(stored?.metadata.color, 'blue');
    assert.equal(stored?.headers['content-encoding'], undefined, 'aws-chunked is not stored');
    assert.equal(stored?.etag, `"${createHash('md5').update(body).digest('hex')}"`);
  });

  test('lib-storage Upload makes a multipart object with S3 ETag and partNumber answers', async () => {
    const body = randomBytes(12 * MiB + 123);
    await new Upload({
      client: s3,
      params: { Bucket: BUCKET, Key: 'multi', Body: body },
      partSize: 5 * MiB,
      queueSize: 2,
    }).done();
    const stored = origin.get(BUCKET, 'multi');
    assert.ok(stored?.body.equals(body));
    const md5 = (b: Buffer) => createHash('md5').update(b).digest();
    const parts = [body.subarray(0, 5 * MiB), body.subarray(5 * MiB, 10 * MiB), body.subarray(10 * MiB)];
    const expected = `"${createHash('md5')
      .update(Buffer.concat(parts.map(md5)))
      .digest('hex')}-3"`;
    assert.equal(stored?.etag, expected);
    const part2 = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'multi', PartNumber: 2 }));
    assert.equal(part2.PartsCount, 3);
    assert.equal(part2.ContentRange, `bytes ${5 * MiB}-${10 * MiB - 1}/${body.length}`);
    assert.ok(
      Buffer.from(await (part2.Body as Readable).toArray().then(Buffer.concat)).equals(parts[1] as Buffer),
    );
    assert.deepEqual(origin.uploads.open, []);
  });

  test('Complete refuses a wrong part ETag, a small part and a missing upload; Abort ends the upload', async () => {
    const key = 'checked';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const one = await s3.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: randomBytes(1000) }),
    );
    const two = await s3.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 2, Body: randomBytes(10) }),
    );
    const complete = (parts: { PartNumber: number; ETag: string | undefined }[]) =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    await assert.rejects(complete([{ PartNumber: 1, ETag: '"0000"' }]), { name: 'InvalidPart' });
    await assert.rejects(
      complete([
        { PartNumber: 1, ETag: one.ETag },
        { PartNumber: 2, ETag: two.ETag },
      ]),
      { name: 'EntityTooSmall' },
    );
    assert.equal(origin.get(BUCKET, key), undefined);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId }));
    assert.deepEqual(origin.uploads.open, []);
    await assert.rejects(complete([{ PartNumber: 1, ETag: one.ETag }]), { name: 'NoSuchUpload' });
  });

  test('a PUT whose CRC32 trailer does not match the body is refused', async () => {
    const body = Buffer.from('checked bytes');
    await assert.rejects(
      s3.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: 'bad-crc', Body: body, ChecksumCRC32: 'AAAAAA==' }),
      ),
      { name: 'BadDigest' },
    );
    assert.equal(origin.get(BUCKET, 'bad-crc'), undefined);
  });
});
