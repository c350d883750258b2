// Application logs as JSON lines on stderr, with levels. The access log is in access-log.ts.

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export type Fields = Record<string, unknown>;

export interface Logger {
  error(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  debug(msg: string, fields?: Fields): void;
}

/** `base` fields go on every line, e.g. `{ worker: 2 }` in a worker process. */
export function createLogger(
  level: LogLevel,
  out: NodeJS.WritableStream = process.stderr,
  base: Fields = {},
): Logger {
  const write = (at: LogLevel) => (msg: string, fields?: Fields) => {
    if (RANK[at] > RANK[level]) return;
    out.write(`${JSON.stringify({ time: new Date().toISOString(), level: at, msg, ...base, ...fields })}\n`);
  };
  return { error: write('error'), warn: write('warn'), info: write('info'), debug: write('debug') };
}
