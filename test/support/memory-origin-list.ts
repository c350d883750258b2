// ListObjectsV2 for the in-memory origin (memory-origin.ts): what a data-lake engine sends first to
// expand a glob or a hive-partitioned directory. Keys in UTF-8 byte order, prefix, delimiter with
// CommonPrefixes, max-keys with continuation tokens, start-after and encoding-type=url, as in S3's
// ListObjectsV2 API reference. Version 1 listings are not implemented.

import { type Answer, notImplemented, type StoredEntry, s3Error } from './memory-origin-s3.js';
import { parseQuery } from './sigv4-canonical.js';

const KNOWN = new Set([
  'list-type',
  'prefix',
  'delimiter',
  'max-keys',
  'continuation-token',
  'start-after',
  'encoding-type',
  'fetch-owner',
  'x-id',
]);

const escapeXml = (text: string) => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Byte order of UTF-8, which is S3's listing order (JS string comparison is UTF-16 order). */
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** The answer to a bucket-level GET (`rawQuery` without the presigning parameters' meaning). */
export function answerList(bucket: string, objects: Map<string, StoredEntry>, rawQuery: string): Answer {
  const params = new Map<string, string>();
  for (const p of parseQuery(rawQuery)) {
    if (p.name.toLowerCase().startsWith('x-amz-')) continue;
    if (!KNOWN.has(p.name)) return notImplemented(`bucket-level GET with ${p.name}`);
    params.set(p.name, p.value.toString('utf8'));
  }
  if (params.get('list-type') !== '2') return notImplemented('ListObjects version 1');
  const prefix = params.get('prefix') ?? '';
  const delimiter = params.get('delimiter') ?? '';
  const maxKeysText = params.get('max-keys') ?? '1000';
  if (!/^\d{1,9}$/.test(maxKeysText)) {
    return s3Error(400, 'InvalidArgument', 'Provided max-keys not an integer or within integer range', {
      ArgumentName: 'max-keys',
      ArgumentValue: maxKeysText,
    });
  }
  const maxKeys = Math.min(1000, Number(maxKeysText));
  const token = params.get('continuation-token');
  const after =
    token !== undefined ? Buffer.from(token, 'base64url').toString('utf8') : params.get('start-after');
  const urlEncode = params.get('encoding-type') === 'url';
  const enc = (s: string) => escapeXml(urlEncode ? encodeURIComponent(s).replace(/%2F/g, '/') : s);

  const keys = [...objects.keys()]
    .filter((k) => k.startsWith(prefix) && (after === undefined || byBytes(k, after) > 0))
    .sort(byBytes);
  const contents: string[] = [];
  const prefixes: string[] = [];
  let last: string | undefined;
  let truncated = false;
  for (const key of keys) {
    const cut = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
    const common = cut < 0 ? undefined : key.slice(0, cut + delimiter.length);
    // Every key under a common prefix rolls up into it; it counts once, where it first appears.
    if (common !== undefined && common === prefixes[prefixes.length - 1]) {
      last = key;
      continue;
    }
    if (contents.length + prefixes.length >= maxKeys) {
      truncated = true;
      break;
    }
    last = key;
    if (common !== undefined) {
      prefixes.push(common);
      continue;
    }
    const o = (objects.get(key) as StoredEntry).object;
    contents.push(
      `<Contents><Key>${enc(key)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified>` +
        `<ETag>${escapeXml(o.etag)}</ETag><Size>${o.body.length}</Size>` +
        '<StorageClass>STANDARD</StorageClass></Contents>',
    );
  }
  const xml = [
    '<?xml version="1.0" encoding="UTF-8"?>\n',
    '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
    `<Name>${escapeXml(bucket)}</Name><Prefix>${enc(prefix)}</Prefix>`,
    delimiter === '' ? '' : `<Delimiter>${enc(delimiter)}</Delimiter>`,
    `<MaxKeys>${maxKeys}</MaxKeys><KeyCount>${contents.length + prefixes.length}</KeyCount>`,
    `<IsTruncated>${truncated}</IsTruncated>`,
    urlEncode ? '<EncodingType>url</EncodingType>' : '',
    token === undefined ? '' : `<ContinuationToken>${escapeXml(token)}</ContinuationToken>`,
    truncated && last !== undefined
      ? `<NextContinuationToken>${Buffer.from(last).toString('base64url')}</NextContinuationToken>`
      : '',
    params.has('start-after') ? `<StartAfter>${enc(params.get('start-after') ?? '')}</StartAfter>` : '',
    ...contents,
    ...prefixes.map((p) => `<CommonPrefixes><Prefix>${enc(p)}</Prefix></CommonPrefixes>`),
    '</ListBucketResult>',
  ].join('');
  const body = Buffer.from(xml);
  return {
    status: 200,
    headers: ['Content-Type', 'application/xml', 'Content-Length', String(body.length)],
    body,
  };
}
