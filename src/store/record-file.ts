// The record file codec. A record is trusted only when the CRC32 beside it matches its bytes: a flipped
// bit that still parses (a lower `size`, another ETag) would otherwise answer for the object with wrong
// or missing bytes (docs/architecture.md, rule 2).
//
// Layout: JSON, so that operators can still read it, with the record's own bytes checksummed exactly as
// they are stored (no re-serialisation, whose output could differ from the bytes written):
//   {"crc32":"<8 lower-case hex digits>","record":<the record as JSON>}
// The CRC32 covers the bytes of <the record as JSON>. CRC32 detects every single-bit and every burst
// error up to 32 bits, and every bit of the envelope around it is checked literally.
//
// A file that is a bare record (`{"format":1,…}`) was written before records carried a checksum: it is
// no record either, but not damage; the next fill replaces it.

import { crc32 } from 'node:zlib';
import type { Codec, ObjectRecord, PartAnswer } from './types.js';

const HEAD = Buffer.from('{"crc32":"', 'latin1');
const MID = Buffer.from('","record":', 'latin1');
const HEX_DIGITS = 8;
const BODY_AT = HEAD.length + HEX_DIGITS + MID.length;
const CLOSE = 0x7d; // '}'

export type RecordFile =
  | { kind: 'record'; record: ObjectRecord }
  | { kind: 'previous-format' }
  | { kind: 'damaged'; reason: string };

export function encodeRecordFile(record: ObjectRecord): Buffer {
  const body = Buffer.from(JSON.stringify(record), 'utf8');
  const sum = Buffer.from(crc32(body).toString(16).padStart(HEX_DIGITS, '0'), 'latin1');
  return Buffer.concat([HEAD, sum, MID, body, Buffer.of(CLOSE)]);
}

/** What a record file holds; never throws. */
export function decodeRecordFile(file: Buffer): RecordFile {
  const enveloped =
    file.length > BODY_AT &&
    file.subarray(0, HEAD.length).equals(HEAD) &&
    file.subarray(HEAD.length + HEX_DIGITS, BODY_AT).equals(MID) &&
    file[file.length - 1] === CLOSE;
  if (!enveloped) return isPreviousFormat(file) ? { kind: 'previous-format' } : damaged('not a record file');
  const hex = file.toString('latin1', HEAD.length, HEAD.length + HEX_DIGITS);
  if (!/^[0-9a-f]{8}$/.test(hex)) return damaged('malformed checksum');
  const body = file.subarray(BODY_AT, file.length - 1);
  if (crc32(body) !== Number.parseInt(hex, 16)) return damaged('checksum mismatch');
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return damaged('checksummed bytes that are not JSON');
  }
  // A record of a later format, or one a bug wrote: never trusted.
  return isObjectRecord(value) ? { kind: 'record', record: value } : damaged('not a format-1 record');
}

function damaged(reason: string): RecordFile {
  return { kind: 'damaged', reason };
}

function isPreviousFormat(file: Buffer): boolean {
  try {
    return isObjectRecord(JSON.parse(file.toString('utf8')));
  } catch {
    return false;
  }
}

/** Checks every field, so that the cache never trusts a damaged or other-shaped file. */
function isObjectRecord(v: unknown): v is ObjectRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    r.format === 1 &&
    typeof r.namespace === 'string' &&
    typeof r.bucket === 'string' &&
    typeof r.key === 'string' &&
    typeof r.etag === 'string' &&
    isCount(r.size) &&
    (r.lastModified === null || typeof r.lastModified === 'string') &&
    isPairs(r.headers) &&
    (r.checksums === null || isPairs(r.checksums)) &&
    (r.partsCount === null || isCount(r.partsCount)) &&
    isParts(r.parts) &&
    (r.source === 'get' || r.source === 'head' || r.source === 'put') &&
    isCodec(r.codec) &&
    (r.validatedGet === null || isCount(r.validatedGet)) &&
    (r.validatedHead === null || isCount(r.validatedHead)) &&
    isCount(r.createdAt)
  );
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isCodec(v: unknown): v is Codec {
  return v === 'raw' || v === 'lz4';
}

function isPairs(v: unknown): v is [string, string][] {
  return (
    Array.isArray(v) &&
    v.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string')
  );
}

function isParts(v: unknown): v is Record<string, PartAnswer> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return Object.values(v).every((p: unknown) => {
    if (typeof p !== 'object' || p === null) return false;
    const a = p as Record<string, unknown>;
    return isCount(a.start) && isCount(a.end) && isCount(a.status);
  });
}
