// Looking at what a test did to the volume and the origin: whether a file is there, files under a
// directory, and the body bytes the origin (the memory origin, or RGW's counting front) sent while a
// block of reads ran.

import { access, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { OriginLogEntry } from './memory-origin.js';

/** Whether anything is at `path`. */
export function present(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Every file under `root/sub` (all of `root` when `sub` is omitted), as paths relative to `root`. */
export async function listFiles(root: string, sub = ''): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else out.push(relative(root, path));
    }
  };
  await walk(join(root, sub));
  return out.sort();
}

/** The GET and HEAD requests the origin saw while `fn` ran: their statuses and the body bytes sent. */
export async function originBodyBytesDuring<
  R extends Pick<OriginLogEntry, 'method' | 'status' | 'bodyBytesSent'>,
>(
  origin: { requests: R[] },
  fn: () => Promise<unknown>,
): Promise<{ bodyBytes: number; statuses: number[]; requests: R[] }> {
  const from = origin.requests.length;
  await fn();
  const requests = origin.requests.slice(from).filter((r) => r.method === 'GET' || r.method === 'HEAD');
  return {
    bodyBytes: requests.reduce((sum, r) => sum + r.bodyBytesSent, 0),
    statuses: requests.map((r) => r.status),
    requests,
  };
}
