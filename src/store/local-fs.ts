// Whether the volume is on a file system of this machine's kernel. A hit checks its record file with a
// stat (record-memo.ts); on a local file system, the stat of a file read moments ago is answered from the
// kernel's inode cache, and made synchronously it costs about 2 µs of CPU against about 20 µs through
// libuv's thread pool (measured on this project's machines), a fifth of a small hit's CPU. On NFS, EFS,
// SMB, Lustre or FUSE the same stat can be a round trip to a server, and one that hangs must not stop the
// event loop: those keep the thread pool. What is not known to be local counts as remote.

import { statfsSync } from 'node:fs';

/** statfs(2) `f_type` of the local file systems Kura's volume is found on. */
const LOCAL_TYPES = new Set([
  0xef53, // ext2, ext3, ext4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x2fc12fc1, // zfs
  0xf2f52010, // f2fs
  0x01021994, // tmpfs
  0x858458f6, // ramfs
  0x794c7630, // overlayfs (containers' writable layer)
]);

export function isLocalType(type: number): boolean {
  return LOCAL_TYPES.has(type);
}

/** Whether `dir` is on a local file system; false when it cannot be told. */
export function isLocalFileSystem(dir: string): boolean {
  try {
    return isLocalType(statfsSync(dir).type);
  } catch {
    // Not known to be local: the safe answer (a stat through the thread pool) is the one made.
    return false;
  }
}
