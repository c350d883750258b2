// Logs as JSON lines: operational events on stderr, one access line per request on stdout or a file.

import { createWriteStream, type WriteStream } from 'node:fs';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export type Fields = Record<string, unknown>;

export interface Logger {
  error(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  debug(msg: string, fields?: Fields): void;
}

export function createLogger(level: LogLevel, out: NodeJS.WritableStream = process.stderr): Logger {
  const write = (at: LogLevel) => (msg: string, fields?: Fields) => {
    if (RANK[at] > RANK[level]) return;
    out.write(`${JSON.stringify({ time: new Date().toISOString(), level: at, msg, ...fields })}\n`);
  };
  return { error: write('error'), warn: write('warn'), info: write('info'), debug: write('debug') };
}

/** What one request did, as the access log records it. */
export interface AccessRecord {
  requestId: string;
  remote: string;
  method: string;
  host: string;
  path: string;
  operation: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  upstream: string | null;
  /** Why Kura answered itself or the exchange broke off, when it did. */
  error?: string;
}

export interface AccessLog {
  write(record: AccessRecord): void;
  close(): Promise<void>;
}

export function createAccessLog(target: string): AccessLog {
  if (target === 'off') return { write() {}, close: async () => {} };
  const stream: NodeJS.WritableStream | WriteStream =
    target === 'stdout' ? process.stdout : createWriteStream(target, { flags: 'a', mode: 0o640 });
  return {
    write(record) {
      stream.write(`${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);
    },
    close: () =>
      target === 'stdout'
        ? Promise.resolve()
        : new Promise<void>((resolve) => (stream as WriteStream).end(resolve)),
  };
}
