// aws-chunked bodies for tests, written and read whole — independently of src/s3/aws-chunked.ts, so the
// test origin and Kura's incremental decoder check each other.

export interface FrameOptions {
  /** Object bytes per chunk (the SDKs use 64 KiB). */
  chunkSize?: number;
  /** `sigv4` adds 64-hex-digit chunk signatures, `sigv4a` 144; `unsigned` none. */
  signing?: 'sigv4' | 'sigv4a' | 'unsigned';
  trailers?: [string, string][];
}

export function frameAwsChunked(body: Buffer, opts: FrameOptions = {}): Buffer {
  const size = opts.chunkSize ?? 64 * 1024;
  const signing = opts.signing ?? 'unsigned';
  const ext = () =>
    signing === 'unsigned' ? '' : `;chunk-signature=${'ab'.repeat(signing === 'sigv4' ? 32 : 72)}`;
  const out: Buffer[] = [];
  for (let at = 0; at < body.length; at += size) {
    const data = body.subarray(at, at + size);
    out.push(Buffer.from(`${data.length.toString(16)}${ext()}\r\n`), data, Buffer.from('\r\n'));
  }
  out.push(Buffer.from(`0${ext()}\r\n`));
  for (const [name, value] of opts.trailers ?? []) out.push(Buffer.from(`${name}:${value}\r\n`));
  if (signing !== 'unsigned' && (opts.trailers?.length ?? 0) > 0) {
    out.push(Buffer.from(`x-amz-trailer-signature:${'cd'.repeat(32)}\r\n`));
  }
  out.push(Buffer.from('\r\n'));
  return Buffer.concat(out);
}

/** The object bytes and trailers of a whole aws-chunked body; null when its framing is wrong. */
export function unframeAwsChunked(framed: Buffer): { body: Buffer; trailers: Map<string, string> } | null {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = framed.indexOf('\r\n', at);
    if (eol === -1) return null;
    const size = Number.parseInt(framed.toString('latin1', at, eol).split(';')[0] ?? '', 16);
    if (!Number.isSafeInteger(size) || size < 0) return null;
    at = eol + 2;
    if (size === 0) break;
    if (framed.length < at + size + 2 || framed.toString('latin1', at + size, at + size + 2) !== '\r\n') {
      return null;
    }
    parts.push(framed.subarray(at, at + size));
    at += size + 2;
  }
  const trailers = new Map<string, string>();
  for (;;) {
    const eol = framed.indexOf('\r\n', at);
    if (eol === -1) return null;
    const line = framed.toString('latin1', at, eol);
    at = eol + 2;
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon < 1) return null;
    trailers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return at === framed.length ? { body: Buffer.concat(parts), trailers } : null;
}
