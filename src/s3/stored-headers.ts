// What a GET will answer about an object written through Kura, known before any GET: the representation
// headers the write request set (S3 stores them), and what S3's answer to the write said of the version.

import { storedContentEncoding } from './aws-chunked.js';
import { headerValue } from './headers.js';

/** Request headers S3 stores with the object and sends back on GET and HEAD, under the same name. */
const STORED_AS_SENT = new Set([
  'cache-control',
  'content-disposition',
  'content-language',
  'expires',
  'x-amz-website-redirect-location',
  'x-amz-object-lock-mode',
  'x-amz-object-lock-retain-until-date',
  'x-amz-object-lock-legal-hold',
]);

/** S3's answer to a PUT or CompleteMultipartUpload: these describe the new version, as a GET will. */
const FROM_WRITE_ANSWER = new Set([
  'x-amz-version-id',
  'x-amz-server-side-encryption',
  'x-amz-server-side-encryption-aws-kms-key-id',
  'x-amz-server-side-encryption-bucket-key-enabled',
  'x-amz-expiration',
]);

/**
 * The headers of the object's future GET answers from the write request (PutObject or
 * CreateMultipartUpload), lower-case names, in the order sent. S3 defaults Content-Type to
 * `binary/octet-stream`, drops `aws-chunked` from Content-Encoding, answers STANDARD storage by leaving
 * `x-amz-storage-class` out, and turns `x-amz-tagging` into a count.
 */
export function storedRequestHeaders(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  out.push(['content-type', headerValue(raw, 'content-type') ?? 'binary/octet-stream']);
  const encoding = storedContentEncoding(headerValue(raw, 'content-encoding'));
  if (encoding !== null) out.push(['content-encoding', encoding]);
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (STORED_AS_SENT.has(name) || name.startsWith('x-amz-meta-')) out.push([name, value]);
  }
  const storage = headerValue(raw, 'x-amz-storage-class');
  if (storage !== undefined && storage.toUpperCase() !== 'STANDARD')
    out.push(['x-amz-storage-class', storage]);
  const tagging = headerValue(raw, 'x-amz-tagging');
  if (tagging !== undefined && tagging !== '') {
    out.push(['x-amz-tagging-count', String(tagging.split('&').filter((t) => t !== '').length)]);
  }
  return out;
}

/** Headers of S3's answer to the write that a GET of the version repeats, lower-case names. */
export function storedAnswerHeaders(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (FROM_WRITE_ANSWER.has(name)) out.push([name, raw[i + 1] as string]);
  }
  return out;
}

/** `x-amz-checksum-*` of S3's answer to a PUT: what a checksum-mode GET of the whole object repeats. */
export function confirmedChecksums(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (name.startsWith('x-amz-checksum-')) out.push([name, raw[i + 1] as string]);
  }
  return out;
}
