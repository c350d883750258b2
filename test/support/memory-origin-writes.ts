// Writes to the in-memory origin as Amazon S3 takes them: PutObject, aws-chunked bodies (decoded, their
// length and CRC32 trailer checked), and multipart uploads — create, parts, complete (with S3's checks:
// every part listed exists with its ETag, ascending order, parts but the last at least 5 MiB) and abort.

import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { crc32 } from 'node:zlib';
import { unframeAwsChunked } from './aws-chunked-body.js';
import { type Answer, createEntry, type PutOptions, type StoredEntry, s3Error } from './memory-origin-s3.js';

/** S3's smallest part but the last (EntityTooSmall below it). Tests may lower it on their origin. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

// Headers a PUT (or CreateMultipartUpload) stores and GET answers back, besides Content-Type and x-amz-meta-*.
const STORED_PUT_HEADERS = /^(cache-control|content-disposition|content-encoding|content-language|expires)$/;

/** The request's body as S3 stores it: aws-chunked framing removed and checked; else an error answer. */
export function objectBytes(
  body: Buffer,
  headers: IncomingHttpHeaders,
  payloadHash: string,
): { body: Buffer; trailerCrc32?: string } | Answer {
  const encoding = headers['content-encoding'] ?? '';
  if (!payloadHash.startsWith('STREAMING-') && !/aws-chunked/i.test(encoding)) return { body };
  const decoded = unframeAwsChunked(body);
  if (decoded === null) return s3Error(400, 'IncompleteBody', 'The request body terminated unexpectedly');
  if (String(decoded.body.length) !== headers['x-amz-decoded-content-length']) {
    return s3Error(400, 'IncompleteBody', 'You did not provide the number of bytes specified');
  }
  const crc = decoded.trailers.get('x-amz-checksum-crc32');
  if (crc !== undefined && crc !== crc32Base64(decoded.body)) {
    return s3Error(400, 'BadDigest', 'The CRC32 you specified did not match the calculated checksum.');
  }
  return { body: decoded.body, ...(crc === undefined ? {} : { trailerCrc32: crc }) };
}

/** What S3 keeps of a write request's headers (a PUT's, or a CreateMultipartUpload's). */
export function putOptionsOf(headers: IncomingHttpHeaders): PutOptions {
  const metadata: Record<string, string> = {};
  const stored: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') continue;
    if (name.startsWith('x-amz-meta-')) metadata[name.slice('x-amz-meta-'.length)] = value;
    else if (name === 'content-encoding') {
      const rest = value
        .split(',')
        .map((c) => c.trim())
        .filter((c) => c !== '' && c !== 'aws-chunked');
      if (rest.length > 0) stored[name] = rest.join(',');
    } else if (STORED_PUT_HEADERS.test(name)) stored[name] = value;
  }
  const contentType = headers['content-type'];
  return { metadata, headers: stored, ...(contentType ? { contentType } : {}) };
}

/** PutObject with its whole (decoded) body: checks it against the hashes it states, and what to store. */
export function answerPut(
  bucket: string,
  key: string,
  raw: Buffer,
  headers: IncomingHttpHeaders,
  payloadHash: string,
): { answer: Answer; stored?: StoredEntry } {
  const hashError = checkPayloadHash(raw, payloadHash);
  if (hashError) return { answer: hashError };
  const decoded = objectBytes(raw, headers, payloadHash);
  if (!('body' in decoded) || decoded.body === undefined) return { answer: decoded as Answer };
  const { body, trailerCrc32 } = decoded as { body: Buffer; trailerCrc32?: string };
  const md5 = headers['content-md5'];
  if (md5 !== undefined && md5 !== createHash('md5').update(body).digest('base64')) {
    const message = 'The Content-MD5 you specified did not match what we received.';
    return { answer: s3Error(400, 'BadDigest', message) };
  }
  const entry = createEntry(bucket, key, body, putOptionsOf(headers));
  const crc = headers['x-amz-checksum-crc32'] ?? trailerCrc32;
  if (crc !== undefined && crc !== entry.object.checksumCrc32) {
    const message = 'The CRC32 you specified did not match the calculated checksum.';
    return { answer: s3Error(400, 'BadDigest', message) };
  }
  const echo = crc === undefined ? [] : ['x-amz-checksum-crc32', crc];
  return { answer: { status: 200, headers: ['ETag', entry.object.etag, ...echo] }, stored: entry };
}

function checkPayloadHash(raw: Buffer, payloadHash: string): Answer | null {
  if (!/^[0-9a-fA-F]{64}$/.test(payloadHash)) return null;
  const sha = createHash('sha256').update(raw).digest('hex');
  if (sha === payloadHash.toLowerCase()) return null;
  const message = "The provided 'x-amz-content-sha256' header does not match what was computed.";
  const fields = { ClientComputedContentSHA256: payloadHash, S3ComputedContentSHA256: sha };
  return s3Error(400, 'XAmzContentSHA256Mismatch', message, fields);
}

function crc32Base64(body: Buffer): string {
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return crc.toString('base64');
}

interface Upload {
  bucket: string;
  key: string;
  options: PutOptions;
  parts: Map<number, { etag: string; body: Buffer }>;
}

/** Multipart uploads in progress, by upload id. */
export class Uploads {
  readonly #uploads = new Map<string, Upload>();
  /** Complete answers 200 with an error in its body, as S3 may after it has started to reply. */
  failNextCompleteWith200 = false;
  minPartSize = MIN_PART_SIZE;

  /** Upload ids still open (tests check an abort reached the origin). */
  get open(): string[] {
    return [...this.#uploads.keys()];
  }

  create(bucket: string, key: string, headers: IncomingHttpHeaders): Answer {
    const uploadId = randomBytes(24).toString('base64url');
    this.#uploads.set(uploadId, { bucket, key, options: putOptionsOf(headers), parts: new Map() });
    return xmlAnswer(
      'InitiateMultipartUploadResult',
      `<Bucket>${esc(bucket)}</Bucket><Key>${esc(key)}</Key><UploadId>${uploadId}</UploadId>`,
    );
  }

  part(
    uploadId: string,
    partNumber: number,
    raw: Buffer,
    headers: IncomingHttpHeaders,
    payloadHash: string,
  ): Answer {
    const upload = this.#uploads.get(uploadId);
    if (!upload) return noSuchUpload(uploadId);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
      return s3Error(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
    }
    const hashError = checkPayloadHash(raw, payloadHash);
    if (hashError) return hashError;
    const decoded = objectBytes(raw, headers, payloadHash);
    if (!('body' in decoded) || decoded.body === undefined) return decoded as Answer;
    const body = decoded.body;
    const etag = `"${createHash('md5').update(body).digest('hex')}"`;
    upload.parts.set(partNumber, { etag, body });
    return { status: 200, headers: ['ETag', etag] };
  }

  complete(uploadId: string, request: Buffer): { answer: Answer; stored?: StoredEntry; key?: string } {
    const upload = this.#uploads.get(uploadId);
    if (!upload) return { answer: noSuchUpload(uploadId) };
    if (this.failNextCompleteWith200) {
      this.failNextCompleteWith200 = false;
      const body = Buffer.from(
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>',
      );
      return { answer: { status: 200, headers: xmlHeaders(body), body } };
    }
    const listed = [...request.toString('utf8').matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
      number: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(m[1] ?? '')?.[1]),
      etag: unescapeXml(/<ETag>([^<]*)<\/ETag>/.exec(m[1] ?? '')?.[1] ?? ''),
    }));
    if (listed.length === 0)
      return { answer: s3Error(400, 'MalformedXML', 'The XML you provided was not well-formed') };
    const bodies: Buffer[] = [];
    for (const [i, p] of listed.entries()) {
      if (i > 0 && p.number <= (listed[i - 1]?.number ?? 0)) {
        return { answer: s3Error(400, 'InvalidPartOrder', 'The list of parts was not in ascending order.') };
      }
      const part = upload.parts.get(p.number);
      if (!part || part.etag.replaceAll('"', '') !== p.etag.replaceAll('"', '')) {
        const message = 'One or more of the specified parts could not be found.';
        return {
          answer: s3Error(400, 'InvalidPart', message, { UploadId: uploadId, PartNumber: String(p.number) }),
        };
      }
      if (i < listed.length - 1 && part.body.length < this.minPartSize) {
        return {
          answer: s3Error(
            400,
            'EntityTooSmall',
            'Your proposed upload is smaller than the minimum allowed object size.',
          ),
        };
      }
      bodies.push(part.body);
    }
    const stored = createEntry(upload.bucket, upload.key, Buffer.concat(bodies), {
      ...upload.options,
      partSizes: bodies.map((b) => b.length),
    });
    this.#uploads.delete(uploadId);
    const answer = xmlAnswer(
      'CompleteMultipartUploadResult',
      `<Location>/${esc(upload.bucket)}/${esc(upload.key)}</Location><Bucket>${esc(upload.bucket)}</Bucket><Key>${esc(upload.key)}</Key><ETag>${esc(stored.object.etag)}</ETag>`,
    );
    return { answer, stored, key: upload.key };
  }

  abort(uploadId: string): Answer {
    if (!this.#uploads.delete(uploadId)) return noSuchUpload(uploadId);
    return { status: 204, headers: [] };
  }
}

function noSuchUpload(uploadId: string): Answer {
  const message =
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.';
  return s3Error(404, 'NoSuchUpload', message, { UploadId: uploadId });
}

function xmlAnswer(root: string, inner: string): Answer {
  const body = Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</${root}>`,
  );
  return { status: 200, headers: xmlHeaders(body), body };
}

function xmlHeaders(body: Buffer): string[] {
  return ['Content-Type', 'application/xml', 'Content-Length', String(body.length)];
}

function esc(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function unescapeXml(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n: string) => String.fromCharCode(Number.parseInt(n, 16)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
