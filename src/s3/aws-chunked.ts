// The `aws-chunked` content encoding of streaming uploads: the object's bytes in framed chunks, each
// `<hex size>[;chunk-signature=<sig>]\r\n<bytes>\r\n`, ending with a zero-size chunk, optional trailer
// lines (`x-amz-checksum-crc32:…`, `x-amz-trailer-signature:…`) and an empty line. The same framing serves
// signed chunks (SigV4: 64 hex digits; SigV4A: a longer ECDSA signature) and unsigned streaming with
// trailers. Kura never checks chunk signatures — S3 does, and nothing is cached unless S3 says 2xx — but it
// refuses any framing it cannot read exactly, so the bytes it keeps are the bytes S3 stored.

/** What the framing announced that the decoder could not accept; the upload itself goes on regardless. */
export class AwsChunkedError extends Error {}

export interface AwsChunkedLimits {
  /** `x-amz-decoded-content-length`: the object's size, which the chunks must add up to exactly. */
  decodedLength: number;
  /** Bytes of trailer lines accepted after the last chunk. */
  maxTrailerBytes?: number;
}

/** A chunk header line is a size, maybe a signature extension; anything longer is not framing. */
const MAX_HEADER_LINE = 256;
const DEFAULT_MAX_TRAILER_BYTES = 16 * 1024;
const HEADER_LINE = /^([0-9a-fA-F]{1,16})(?:;chunk-signature=[0-9a-fA-F]{64,160})?$/;
const TRAILER_LINE = /^(x-amz-[a-z0-9-]{1,64}):([\x21-\x7e ]{0,512})$/i;

type State = 'header' | 'data' | 'data-end' | 'trailer' | 'done';

/**
 * Decodes a body as it arrives: `push` returns the object bytes the given body bytes complete (slices
 * of the input, no copies), `end` says whether the body was whole. Any error is final.
 */
export class AwsChunkedDecoder {
  readonly #decodedLength: number;
  readonly #maxTrailerBytes: number;
  #state: State = 'header';
  /** A header, CRLF or trailer line split across pushes. */
  #line = '';
  /** Bytes left in the current chunk's data. */
  #left = 0;
  #decoded = 0;
  #trailerBytes = 0;
  readonly trailers: [string, string][] = [];

  constructor(limits: AwsChunkedLimits) {
    this.#decodedLength = limits.decodedLength;
    this.#maxTrailerBytes = limits.maxTrailerBytes ?? DEFAULT_MAX_TRAILER_BYTES;
  }

  /** Bytes of the object decoded so far. */
  get decoded(): number {
    return this.#decoded;
  }

  push(input: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let at = 0;
    while (at < input.length) {
      if (this.#state === 'data') {
        const take = Math.min(this.#left, input.length - at);
        out.push(input.subarray(at, at + take));
        at += take;
        this.#left -= take;
        this.#decoded += take;
        if (this.#left === 0) this.#state = 'data-end';
        continue;
      }
      if (this.#state === 'done') throw new AwsChunkedError('bytes after the final chunk');
      const eol = input.indexOf(0x0a, at);
      const upTo = eol === -1 ? input.length : eol + 1;
      this.#line += input.toString('latin1', at, upTo);
      at = upTo;
      if (this.#line.length > this.#lineLimit()) throw new AwsChunkedError(this.#tooLong());
      if (eol !== -1) this.#takeLine();
    }
    return out;
  }

  /** The body ended: whole only if the final chunk, its trailers and the closing empty line all came. */
  end(): void {
    if (this.#state !== 'done') throw new AwsChunkedError('the body ended inside the chunk framing');
  }

  #lineLimit(): number {
    return this.#state === 'trailer' ? this.#maxTrailerBytes - this.#trailerBytes : MAX_HEADER_LINE;
  }

  #tooLong(): string {
    return this.#state === 'trailer' ? 'trailers longer than allowed' : 'a chunk header line too long';
  }

  #takeLine(): void {
    const raw = this.#line;
    this.#line = '';
    if (!raw.endsWith('\r\n')) throw new AwsChunkedError('a line not ended by CRLF');
    const line = raw.slice(0, -2);
    switch (this.#state) {
      case 'data-end':
        if (line !== '') throw new AwsChunkedError('chunk data longer than its declared size');
        this.#state = 'header';
        return;
      case 'header':
        this.#takeHeader(line);
        return;
      case 'trailer':
        this.#takeTrailer(line, raw.length);
        return;
    }
  }

  #takeHeader(line: string): void {
    const m = HEADER_LINE.exec(line);
    if (!m) throw new AwsChunkedError(`not a chunk header: ${JSON.stringify(line.slice(0, 40))}`);
    const size = Number.parseInt(m[1] as string, 16);
    if (size > this.#decodedLength - this.#decoded) {
      throw new AwsChunkedError(`a chunk of ${size} bytes goes past x-amz-decoded-content-length`);
    }
    if (size > 0) {
      this.#left = size;
      this.#state = 'data';
      return;
    }
    if (this.#decoded !== this.#decodedLength) {
      throw new AwsChunkedError(`${this.#decoded} bytes decoded, ${this.#decodedLength} declared`);
    }
    this.#state = 'trailer';
  }

  #takeTrailer(line: string, rawLength: number): void {
    if (line === '') {
      this.#state = 'done';
      return;
    }
    this.#trailerBytes += rawLength;
    const m = TRAILER_LINE.exec(line);
    if (!m) throw new AwsChunkedError(`not a trailer line: ${JSON.stringify(line.slice(0, 40))}`);
    this.trailers.push([(m[1] as string).toLowerCase(), (m[2] as string).trim()]);
  }
}

/** `Content-Encoding` says aws-chunked (alone or first of a list, as the SDKs send it). */
export function isAwsChunked(contentEncoding: string | undefined): boolean {
  return contentEncoding?.split(',').some((c) => c.trim() === 'aws-chunked') ?? false;
}

/** The encodings S3 stores for the object: the request's list without `aws-chunked`; null when none. */
export function storedContentEncoding(contentEncoding: string | undefined): string | null {
  if (contentEncoding === undefined) return null;
  const rest = contentEncoding
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '' && c !== 'aws-chunked');
  return rest.length === 0 ? null : rest.join(',');
}
