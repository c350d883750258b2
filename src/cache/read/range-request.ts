// Which bytes a GET or HEAD asks for, resolved against a record: the answer's status and range.

import { parseRange, resolveRange } from '../../s3/range.js';
import type { ReadHeaders } from '../../s3/read-headers.js';
import { isHeaderSigned } from '../../s3/signature.js';
import type { SignatureFacts } from '../../s3/types.js';
import type { ObjectRecord } from '../../store/types.js';

export interface RangeRequest {
  status: 200 | 206;
  /** Inclusive; null for an empty object. */
  range: { start: number; end: number } | null;
  /** `x-amz-mp-parts-count` of a `partNumber` answer. */
  partsCount: number | null;
}

/**
 * The answer S3 would give, or null when the record cannot say: an unknown part, or a Range that
 * selects nothing (S3's 416 is S3's to give).
 */
export function rangeRequestOf(
  headers: ReadHeaders,
  record: ObjectRecord,
  part: number | null,
): RangeRequest | null {
  if (part !== null) {
    const answer = record.parts[String(part)];
    if (answer === undefined) return null;
    return {
      status: answer.status === 206 ? 206 : 200,
      range: { start: answer.start, end: answer.end },
      partsCount: record.partsCount,
    };
  }
  const header = parseRange(headers.range[0]);
  if (header === null) {
    return {
      status: 200,
      range: record.size > 0 ? { start: 0, end: record.size - 1 } : null,
      partsCount: null,
    };
  }
  if (header.kind !== 'single') return null;
  const range = resolveRange(header.spec, record.size);
  return range === null ? null : { status: 206, range, partsCount: null };
}

/** Whether the client signed its Range: then Kura must send it as it is, or not at all. */
export function isRangeHeaderSigned(signature: SignatureFacts, headers: ReadHeaders): boolean {
  return headers.range.length > 0 && isHeaderSigned(signature, 'range');
}
