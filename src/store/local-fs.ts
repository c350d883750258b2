// Whether the volume is on a file system of this machine's kernel. A hit checks its record file with a
// stat (record-memo.ts); on a local file system, the stat of a file read moments ago is answered from the
// kernel's inode cache, and made synchronously it costs about 2 µs of CPU against about 20 µs through
// libuv's thread pool (measured on this project's machines), a fifth of a small hit's CPU. On NFS, EFS,
// SMB, Lustre or FUSE the same stat can be a round trip to a server, and one that hangs must not stop the
// event loop: those keep the thread pool. What is not known to be local counts as remote.
//
// And whether a local ext4 has a journal: without one, making files costs more (ext4Journal below).

import { readFileSync, readlinkSync, statfsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

/** statfs(2) `f_type` of ext2, ext3 and ext4. */
const EXT4_TYPE = 0xef53;

/** statfs(2) `f_type` of the local file systems Kura's volume is found on, and their names. */
const LOCAL_TYPES = new Map([
  [EXT4_TYPE, 'ext4'], // ext2 and ext3 too
  [0x58465342, 'xfs'],
  [0x9123683e, 'btrfs'],
  [0x2fc12fc1, 'zfs'],
  [0xf2f52010, 'f2fs'],
  [0x01021994, 'tmpfs'],
  [0x858458f6, 'ramfs'],
  [0x794c7630, 'overlayfs'], // containers' writable layer
]);

export function isLocalType(type: number): boolean {
  return LOCAL_TYPES.has(type);
}

/** The name of a statfs(2) `f_type`: a local file system's, or the number in hex. */
export function fileSystemName(type: number): string {
  return LOCAL_TYPES.get(type) ?? `type 0x${type.toString(16)}`;
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

/**
 * Whether `dir` is on ext4 with a journal: 'none' for one without (made with `mkfs.ext4 -O ^has_journal`,
 * as some cache disks are), null when it is not ext4 or cannot be told. Without a journal, ext4 will not
 * reuse an inode freed less than 60 s ago (300 s while its inode table is not yet written back), and it
 * reads each such inode's table entry whenever it creates a file. A cache that frees files as it makes
 * them (leases, locks, evicted chunks) then makes each new file more slowly: docs/volume.md.
 *
 * Linux names the file system by its block device in /sys/fs/ext4/{device}, whose `journal_task` is
 * `<none>` without a journal; the device is found from `dir`'s device number in /sys/dev/block.
 */
export function ext4Journal(dir: string): 'journal' | 'none' | null {
  try {
    if (statfsSync(dir).type !== EXT4_TYPE) return null;
    return ext4JournalOf(statSync(dir, { bigint: true }).dev, '/sys');
  } catch {
    return null;
  }
}

/** ext4Journal for the file system on device `dev` (a `stat`'s `dev`), as `sys` (sysfs) shows it. */
export function ext4JournalOf(dev: bigint, sys: string): 'journal' | 'none' | null {
  // glibc's encoding of dev_t: the major and minor numbers are split across low and high bits.
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  try {
    const device = basename(readlinkSync(join(sys, 'dev/block', `${major}:${minor}`)));
    const task = readFileSync(join(sys, 'fs/ext4', device, 'journal_task'), 'utf8').trim();
    return task === '<none>' ? 'none' : 'journal';
  } catch {
    // An older kernel without journal_task, or a device sysfs does not show: nothing is known.
    return null;
  }
}
