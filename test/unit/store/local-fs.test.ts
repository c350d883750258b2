import assert from 'node:assert/strict';
import { statfsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ext4Journal,
  ext4JournalOf,
  fileSystemName,
  isLocalFileSystem,
  isLocalType,
} from '../../../src/store/local-fs.js';

test('local file systems are told from network ones by their statfs type', () => {
  for (const local of [0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x794c7630]) assert.ok(isLocalType(local));
  // NFS (and EFS), SMB2, CIFS, Lustre (FSx), FUSE: a stat may be a round trip to a server.
  for (const remote of [0x6969, 0xfe534d42, 0xff534d42, 0x0bd00bd0, 0x65735546])
    assert.ok(!isLocalType(remote));
  // Named for the bench's results; a file system not known here by its number.
  assert.equal(fileSystemName(0xef53), 'ext4');
  assert.equal(fileSystemName(0x01021994), 'tmpfs');
  assert.equal(fileSystemName(0x6969), 'type 0x6969');
});

test('a directory that cannot be looked at is not known to be local', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kura-local-fs-'));
  try {
    assert.equal(isLocalFileSystem(dir), isLocalType(statfsSync(dir).type));
    assert.equal(isLocalFileSystem(join(dir, 'missing')), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('ext4 without a journal is told from sysfs by the device of the directory', async () => {
  const sys = await mkdtemp(join(tmpdir(), 'kura-sysfs-'));
  try {
    // sysfs as Linux lays it out: the device number links to the block device, named in fs/ext4.
    await mkdir(join(sys, 'dev/block'), { recursive: true });
    await mkdir(join(sys, 'devices/virtual/block/vdb/vdb1'), { recursive: true });
    await symlink('../../devices/virtual/block/vdb/vdb1', join(sys, 'dev/block/254:17'));
    await mkdir(join(sys, 'devices/virtual/block/dm-3'), { recursive: true });
    await symlink('../../devices/virtual/block/dm-3', join(sys, 'dev/block/253:3'));
    await mkdir(join(sys, 'fs/ext4/vdb1'), { recursive: true });
    await mkdir(join(sys, 'fs/ext4/dm-3'), { recursive: true });
    await writeFile(join(sys, 'fs/ext4/vdb1/journal_task'), '<none>\n');
    await writeFile(join(sys, 'fs/ext4/dm-3/journal_task'), '1386\n');
    const dev = (major: number, minor: number) => BigInt(major * 256 + minor);
    assert.equal(ext4JournalOf(dev(254, 17), sys), 'none');
    assert.equal(ext4JournalOf(dev(253, 3), sys), 'journal');
    // A minor number past 255 sits in the high bits of dev_t (glibc's encoding): 259:300 (an NVMe disk).
    await mkdir(join(sys, 'fs/ext4/nvme0n1p3'), { recursive: true });
    await writeFile(join(sys, 'fs/ext4/nvme0n1p3/journal_task'), '<none>\n');
    await symlink('../../devices/pci/nvme0n1p3', join(sys, 'dev/block/259:300'));
    const high = (259n << 8n) | (300n & 0xffn) | ((300n & ~0xffn) << 12n);
    assert.equal(ext4JournalOf(high, sys), 'none');
    // A device sysfs does not show, or an ext4 of an older kernel without journal_task: not known.
    assert.equal(ext4JournalOf(dev(8, 1), sys), null);
    await mkdir(join(sys, 'fs/ext4/sda2'), { recursive: true });
    await symlink('../../devices/sda/sda2', join(sys, 'dev/block/8:2'));
    assert.equal(ext4JournalOf(dev(8, 2), sys), null);
    // Not ext4 (tmpfs), or no directory at all: nothing to say.
    assert.equal(ext4Journal('/dev/shm'), null);
    assert.equal(ext4Journal(join(sys, 'missing')), null);
  } finally {
    await rm(sys, { recursive: true, force: true });
  }
});
