// Where an upload's object bytes go while the upload is under way: a chunk sink on the object's grid
// that writes into staging (store/version-staging.ts), its codec chosen from the object's headers and,
// for LZ4, from its first bytes. PutObject feeds it as the body streams; CompleteMultipartUpload from
// the staged parts.

import { chooseCodec } from '../../store/compression.js';
import { keyName } from '../../store/key-names.js';
import type { Codec, ObjectKey } from '../../store/types.js';
import { VersionStaging } from '../../store/version-staging.js';
import type { Cache } from '../cache.js';
import { ChunkSink } from '../chunk-sink.js';

export interface UploadSink {
  sink: ChunkSink;
  staging: VersionStaging;
  /** The codec the version's chunks use: decided up front, or by the first chunk's bytes. */
  codec(): Codec;
}

export async function openUploadSink(
  cache: Cache,
  key: ObjectKey,
  size: number,
  /** The object's stored headers (s3/stored-headers.ts), lower-case names. */
  headers: readonly [string, string][],
  compress: boolean,
): Promise<UploadSink> {
  const contentType = headers.find(([name]) => name === 'content-type')?.[1] ?? null;
  const contentEncoding = headers.find(([name]) => name === 'content-encoding')?.[1] ?? null;
  let codec = await chooseCodec({
    enabled: compress,
    key: key.key,
    contentType,
    contentEncoding,
    firstBytes: null,
  });
  const staging = new VersionStaging(cache.volume);
  // The version's ETag is S3's to name, once the upload succeeds; until then the staging stands in.
  const placeholder = { ...key, etag: staging.dir };
  const sink = new ChunkSink(
    {
      ...cache.sinkTarget(placeholder, `${keyName(key)}\n${staging.dir}`, { size, codec }),
      chunks: staging,
      sniff: codec === 'lz4' ? { key: key.key, contentType, contentEncoding } : null,
      onCodec: (chosen) => {
        codec = chosen;
      },
    },
    0,
    size,
  );
  return { sink, staging, codec: () => codec };
}
