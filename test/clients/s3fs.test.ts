// s3fs (Debian's, 1.90), a FUSE file system over S3, mounted once through Kura and once direct against
// RGW: files written (multipart above 5 MiB), listed, read whole and at an offset, a directory copied in,
// a file copied (s3fs reads and writes it: no server-side copy) and removed. s3fs cannot presign.
// It needs /dev/fuse and the right to mount (root here); without them the test fails saying so.

import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, open, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { type ClientMatrix, type Outcome, runCommand, type Side } from '../support/client-matrix.js';
import { clientMatrixTests } from '../support/client-suite.js';

const mounts = new Map<string, { dir: string; child: ChildProcess; stderr: () => string }>();

// A test process that ends without its after() hook still leaves no mount behind.
process.once('exit', () => {
  for (const { dir, child } of mounts.values()) {
    try {
      execFileSync('fusermount', ['-u', dir], { stdio: 'ignore', timeout: 5_000 });
    } catch {
      // Not mounted any more, or nothing more can be done at exit.
    }
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

function mountDir(side: Side): string {
  const mount = mounts.get(side.name);
  assert.ok(mount, `no s3fs mount for ${side.name}`);
  return mount.dir;
}

/** 0, or the errno code the file system call failed with. */
async function outcome(call: () => Promise<unknown>): Promise<Outcome> {
  try {
    await call();
    return { code: 0 };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { code: e.code ?? 'Error', detail: e.message };
  }
}

async function isMounted(dir: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  return mounts.split('\n').some((line) => line.split(' ')[1] === dir);
}

async function mount(m: ClientMatrix, side: Side): Promise<void> {
  const dir = join(m.work, `mnt-${side.name}`);
  await mkdir(dir, { recursive: true });
  const passwd = join(m.work, 's3fs-passwd');
  await writeFile(passwd, 'S3RVER:S3RVER\n', { mode: 0o600 });
  const options = [
    `url=${side.endpoint}`,
    'use_path_request_style',
    `passwd_file=${passwd}`,
    'endpoint=us-east-1',
    'sigv4',
    'multipart_size=5',
    // Metadata cached for 1 s only: a test reads right after it writes, through another path.
    'stat_cache_expire=1',
    'dbglevel=warn',
  ];
  const child = spawn('s3fs', [m.bucket, dir, '-f', '-o', options.join(',')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  let spawnError: Error | null = null;
  child.on('error', (err) => {
    spawnError = err;
  });
  mounts.set(side.name, { dir, child, stderr: () => stderr });
  for (let i = 0; i < 100; i++) {
    if (await isMounted(dir)) return;
    if (spawnError !== null || child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `s3fs could not mount ${dir} (${spawnError ?? `exit ${child.exitCode}`}): ${stderr.trim()}`,
  );
}

async function unmount(name: string): Promise<void> {
  const mount = mounts.get(name);
  if (!mount) return;
  mounts.delete(name);
  if (await isMounted(mount.dir)) await runCommand('fusermount', ['-u', mount.dir], { timeoutMs: 10_000 });
  if (mount.child.exitCode === null && mount.child.signalCode === null) {
    const exited = new Promise((r) => mount.child.once('exit', r));
    const timer = setTimeout(() => mount.child.kill('SIGKILL'), 5_000);
    mount.child.kill('SIGTERM');
    await exited;
    clearTimeout(timer);
  }
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else out.push(path);
  }
  return out;
}

clientMatrixTests({
  name: 's3fs',
  async setup(m) {
    assert.ok(existsSync('/dev/fuse'), 's3fs needs /dev/fuse, which this machine does not have');
    for (const side of Object.values(m.sides)) await mount(m, side);
  },
  async teardown() {
    for (const name of [...mounts.keys()]) await unmount(name);
  },
  upload: (_m, side, file, key) =>
    outcome(async () => {
      const path = join(mountDir(side), key);
      await mkdir(dirname(path), { recursive: true });
      await copyFile(file, path);
    }),
  async list(_m, side, prefix) {
    const entries: Array<{ key: string; size: number }> = [];
    const r = await outcome(async () => {
      for (const path of await walk(join(mountDir(side), prefix))) {
        entries.push({ key: relative(mountDir(side), path), size: (await stat(path)).size });
      }
    });
    return { ...r, entries };
  },
  download: (_m, side, key, file) => outcome(() => copyFile(join(mountDir(side), key), file)),
  downloadRange: (_m, side, key, first, last, file) =>
    outcome(async () => {
      const handle = await open(join(mountDir(side), key));
      try {
        const buffer = Buffer.alloc(last - first + 1);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, first);
        await writeFile(file, buffer.subarray(0, bytesRead));
      } finally {
        await handle.close();
      }
    }),
  sync: (_m, side, dir, prefix) =>
    outcome(() => cp(dir, join(mountDir(side), prefix), { recursive: true, force: true })),
  syncDown: (_m, side, prefix, dir) =>
    outcome(() => cp(join(mountDir(side), prefix), dir, { recursive: true, force: true })),
  copy: (_m, side, from, to) => outcome(() => copyFile(join(mountDir(side), from), join(mountDir(side), to))),
  remove: (_m, side, key) => outcome(() => unlink(join(mountDir(side), key))),
});
