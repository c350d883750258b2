// Looking at what a test did to the volume and the origin: whether a file is there, files under a
// directory, and the body bytes the origin (the memory origin, or RGW's counting front) sent while a
// block of reads ran.

import { access, copyFile, mkdir, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { OriginLogEntry } from './memory-origin.js';

/** Whether anything is at `path`. */
export function present(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Copies the volume at `from`, which a running instance is using, to `to`. Temp files (`*.tmp`) are left
 * out: the instance renames them onto their names or removes them while the copy runs, and they are no
 * part of what the volume holds. A file that goes between its listing and its copy (a heartbeat rewritten,
 * a journal segment consolidated) is skipped, as a snapshot taken a moment later would not have it.
 */
export async function copyLiveVolume(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) await copyLiveVolume(source, target);
    else if (entry.isFile() && !entry.name.endsWith('.tmp'))
      await copyFile(source, target).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
  }
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
