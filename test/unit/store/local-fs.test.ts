import assert from 'node:assert/strict';
import { statfsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isLocalFileSystem, isLocalType } from '../../../src/store/local-fs.js';

test('local file systems are told from network ones by their statfs type', () => {
  for (const local of [0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x794c7630]) assert.ok(isLocalType(local));
  // NFS (and EFS), SMB2, CIFS, Lustre (FSx), FUSE: a stat may be a round trip to a server.
  for (const remote of [0x6969, 0xfe534d42, 0xff534d42, 0x0bd00bd0, 0x65735546])
    assert.ok(!isLocalType(remote));
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
