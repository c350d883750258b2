// A synchronous XMLHttpRequest for Node, enough for duckdb-wasm's blocking build (bench/duckdb.ts), which
// reads remote files with synchronous XHRs as it does in a browser. Each request goes to a worker thread
// (bench/sync-http-worker.ts) that performs it with fetch; this thread waits on a shared flag and takes
// the answer off the port synchronously.

import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { SyncAnswer, SyncRequest } from './sync-http-worker.js';

/**
 * `=` in the path as `%3D`. DuckDB signs a hive path (`day=1/`) with `%3D`, as SigV4 encodes it, and
 * sends it raw, as a browser's XHR does; S3 reads both spellings as the same key and signs the encoded
 * one, but the verifying origin takes the path as sent (test/support/sigv4.ts). Sent encoded, the path
 * means the same to S3 and matches what was signed.
 */
function s3Path(url: string): string {
  const q = url.indexOf('?');
  const [path, query] = q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q)];
  const host = path.indexOf('/', path.indexOf('//') + 2);
  return host < 0 ? url : path.slice(0, host) + path.slice(host).replaceAll('=', '%3D') + query;
}

/** The worker and the channel; `close()` ends the worker. */
export class SyncHttp {
  private readonly worker = new Worker(new URL('./sync-http-worker.js', import.meta.url));
  private readonly channel = new MessageChannel();
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));

  constructor(private readonly timeoutMs = 120_000) {
    this.worker.postMessage({ port: this.channel.port2, flag: this.flag }, [this.channel.port2]);
    this.worker.unref();
  }

  request(req: SyncRequest): SyncAnswer {
    Atomics.store(this.flag, 0, 0);
    this.channel.port1.postMessage(req);
    if (Atomics.wait(this.flag, 0, 0, this.timeoutMs) === 'timed-out')
      return { error: `${req.method} ${req.url}: no answer within ${this.timeoutMs} ms` };
    const got = receiveMessageOnPort(this.channel.port1);
    return (got?.message as SyncAnswer | undefined) ?? { error: 'the worker answered nothing' };
  }

  async close(): Promise<void> {
    this.channel.port1.close();
    await this.worker.terminate();
  }

  /** An XMLHttpRequest class whose requests, asynchronous ones too, run through `http`. */
  static xhrClass(http: SyncHttp): unknown {
    return class SyncXMLHttpRequest {
      readyState = 0;
      status = 0;
      statusText = '';
      responseType = '';
      response: unknown = null;
      responseText = '';
      onload: (() => void) | null = null;
      onerror: ((e: unknown) => void) | null = null;
      private method = 'GET';
      private url = '';
      private async = true;
      private readonly headers: Record<string, string> = {};
      private answerHeaders: Record<string, string> = {};

      open(method: string, url: string, async = true): void {
        this.method = method;
        this.url = url;
        this.async = async;
        this.readyState = 1;
      }

      setRequestHeader(name: string, value: string): void {
        this.headers[name] = value;
      }

      getResponseHeader(name: string): string | null {
        return this.answerHeaders[name.toLowerCase()] ?? null;
      }

      getAllResponseHeaders(): string {
        return Object.entries(this.answerHeaders)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('');
      }

      send(body?: Uint8Array | string | null): void {
        const bytes = typeof body === 'string' ? Buffer.from(body) : (body ?? undefined);
        const answer = http.request({
          method: this.method,
          url: s3Path(this.url),
          headers: this.headers,
          body: bytes,
        });
        this.readyState = 4;
        if ('error' in answer) {
          if (!this.async) throw new Error(answer.error);
          setImmediate(() => this.onerror?.(new Error(answer.error)));
          return;
        }
        this.status = answer.status;
        this.statusText = answer.statusText;
        this.answerHeaders = answer.headers;
        if (this.responseType === 'arraybuffer') this.response = answer.body;
        else {
          this.responseText = Buffer.from(answer.body).toString('utf8');
          this.response = this.responseText;
        }
        if (this.async) setImmediate(() => this.onload?.());
      }
    };
  }
}
