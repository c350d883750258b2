// The chunked transfer coding of a response body (RFC 9112 §7.1): sizes in hex, extensions ignored,
// trailers read and dropped. Plain-HTTP origins frame some answers so (error documents, mostly).

import { MalformedResponseError } from './response-head.js';

/** Longest size line or trailer line accepted. */
const MAX_LINE = 4096;

export class ChunkedDecoder {
  #state: 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'size';
  #line = '';
  #left = 0;

  /** The body's end (the last chunk and the trailers) has been read. */
  get done(): boolean {
    return this.#state === 'done';
  }

  /**
   * Decodes `bytes`: returns the body's data in them (copies, since `bytes` is a reused read buffer) and
   * how many bytes were consumed; bytes past the body's end are left unconsumed.
   */
  push(bytes: Buffer): { data: Buffer[]; used: number } {
    const data: Buffer[] = [];
    let at = 0;
    while (at < bytes.length && this.#state !== 'done') {
      if (this.#state === 'data') {
        const take = Math.min(this.#left, bytes.length - at);
        data.push(Buffer.from(bytes.subarray(at, at + take)));
        at += take;
        this.#left -= take;
        if (this.#left === 0) this.#state = 'data-end';
        continue;
      }
      const nl = bytes.indexOf(10, at);
      const end = nl < 0 ? bytes.length : nl + 1;
      this.#line += bytes.toString('latin1', at, end);
      at = end;
      if (this.#line.length > MAX_LINE) throw new MalformedResponseError('chunk line too long');
      if (nl < 0) continue;
      const line = this.#line.replace(/\r?\n$/, '');
      this.#line = '';
      this.#lineDone(line);
    }
    return { data, used: at };
  }

  #lineDone(line: string): void {
    if (this.#state === 'data-end') {
      if (line !== '') throw new MalformedResponseError('chunk data longer than its size');
      this.#state = 'size';
    } else if (this.#state === 'size') {
      const m = /^([0-9a-fA-F]{1,12})[ \t]*(;.*)?$/.exec(line);
      if (!m) throw new MalformedResponseError('malformed chunk size');
      this.#left = Number.parseInt(m[1] as string, 16);
      this.#state = this.#left === 0 ? 'trailer' : 'data';
    } else if (this.#state === 'trailer' && line === '') {
      this.#state = 'done';
    }
  }
}
