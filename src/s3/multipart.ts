// The XML of multipart uploads, as far as a cache needs it: the upload id S3 hands out, the part list a
// client completes with, and S3's verdict on the completion (which may be an error inside a 200).

export interface ListedPart {
  partNumber: number;
  /** As listed, quotes included when the client sent them. */
  etag: string;
}

/**
 * Upload ids become directory names under `uploads/`: only S3's own alphabet (letters, digits, `.`, `_`,
 * `-`, and the URL-safe base64 of some stores), never `.` or `..`, never a separator or a NUL.
 */
export function isSafeUploadId(id: string): boolean {
  return /^[A-Za-z0-9._~=-]{1,512}$/.test(id) && id !== '.' && id !== '..';
}

/** `<UploadId>` of an InitiateMultipartUploadResult; null when there is none. */
export function initiatedUploadId(xml: string): string | null {
  return textOf(xml, 'UploadId');
}

/**
 * The parts of a CompleteMultipartUpload request in the order listed; null when the list is empty or a
 * part lacks its number or ETag (S3 refuses those, and Kura caches nothing it cannot check).
 */
export function completedParts(xml: string): ListedPart[] | null {
  const parts: ListedPart[] = [];
  for (const m of xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)) {
    const inner = m[1] ?? '';
    const number = Number(textOf(inner, 'PartNumber'));
    const etag = textOf(inner, 'ETag');
    if (!Number.isInteger(number) || number < 1 || number > 10_000 || etag === null) return null;
    parts.push({ partNumber: number, etag });
  }
  return parts.length > 0 ? parts : null;
}

export type CompletionVerdict = { ok: true; etag: string } | { ok: false; reason: string };

/** S3's answer to CompleteMultipartUpload: a 200 whose body is an `<Error>` is a failure too. */
export function completionVerdict(status: number, xml: string): CompletionVerdict {
  if (status < 200 || status > 299) return { ok: false, reason: `status ${status}` };
  if (/<Error>/.test(xml))
    return { ok: false, reason: `error in a ${status}: ${textOf(xml, 'Code') ?? '?'}` };
  if (!/<CompleteMultipartUploadResult[\s>]/.test(xml)) return { ok: false, reason: 'no result' };
  const etag = textOf(xml, 'ETag');
  return etag === null ? { ok: false, reason: 'no ETag' } : { ok: true, etag };
}

/** `"…-N"`: the part count a multipart ETag states; null for an ETag of another form. */
export function etagPartCount(etag: string): number | null {
  const m = /^"?[0-9a-fA-F]+-(\d+)"?$/.exec(etag);
  return m ? Number(m[1]) : null;
}

/** Two ETags name the same bytes, whether or not each came with its quotes. */
export function sameEtag(a: string, b: string): boolean {
  return unquote(a) === unquote(b);
}

export function unquote(etag: string): string {
  return etag.length >= 2 && etag.startsWith('"') && etag.endsWith('"') ? etag.slice(1, -1) : etag;
}

function textOf(xml: string, element: string): string | null {
  const m = new RegExp(`<${element}>([^<]*)</${element}>`).exec(xml);
  return m ? unescapeXml(m[1] ?? '') : null;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (!e.startsWith('#')) return ENTITIES[e] ?? '';
    const code = e.startsWith('#x') ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1));
    return code <= 0x10ffff ? String.fromCodePoint(code) : '\ufffd';
  });
}
