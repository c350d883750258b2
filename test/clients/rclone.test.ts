// rclone (Debian's, 1.60) through Kura and direct against RGW, with 5 MiB upload chunks. rclone refuses
// to start while AWS_CA_BUNDLE is set (LoadCustomCABundleError), so its environment is PATH and HOME only.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ClientMatrix, runCommand, type Side } from '../support/client-matrix.js';
import { clientMatrixTests } from '../support/client-suite.js';

/** One config with a remote per side (`kura:`, `direct:`): the remote in `args` picks the side. */
function rclone(m: ClientMatrix, args: string[]) {
  return runCommand(
    'rclone',
    [
      '--config',
      join(m.work, 'rclone.conf'),
      '--s3-upload-cutoff',
      '5M',
      '--s3-chunk-size',
      '5M',
      '-q',
      ...args,
    ],
    { env: { PATH: process.env.PATH, HOME: m.work }, timeoutMs: 120_000 },
  );
}

const path = (m: ClientMatrix, side: Side, key: string) => `${side.name}:${m.bucket}/${key}`;

clientMatrixTests({
  name: 'rclone',
  async setup(m) {
    const remotes = Object.values(m.sides).map((side) =>
      [
        `[${side.name}]`,
        'type = s3',
        'provider = Ceph',
        'access_key_id = S3RVER',
        'secret_access_key = S3RVER',
        'region = us-east-1',
        `endpoint = ${side.endpoint}`,
        'force_path_style = true',
        '',
      ].join('\n'),
    );
    await writeFile(join(m.work, 'rclone.conf'), remotes.join('\n'));
  },
  upload: (m, side, file, key) => rclone(m, ['copyto', file, path(m, side, key)]),
  async list(m, side, prefix) {
    const r = await rclone(m, ['ls', path(m, side, prefix)]);
    // `  9000000 big.bin`, relative to the prefix
    const entries = [...r.stdout.matchAll(/^\s*(\d+) (.+)$/gm)].map((x) => ({
      key: `${prefix}${x[2] ?? ''}`,
      size: Number(x[1]),
    }));
    return { ...r, entries };
  },
  download: (m, side, key, file) => rclone(m, ['copyto', path(m, side, key), file]),
  async downloadRange(m, side, key, first, last, file) {
    const r = await rclone(m, [
      'cat',
      '--offset',
      String(first),
      '--count',
      String(last - first + 1),
      path(m, side, key),
    ]);
    await writeFile(file, r.stdoutBytes);
    return r;
  },
  sync: (m, side, dir, prefix) => rclone(m, ['sync', dir, path(m, side, prefix)]),
  syncDown: (m, side, prefix, dir) => rclone(m, ['sync', path(m, side, prefix), dir]),
  copy: (m, side, from, to) => rclone(m, ['copyto', path(m, side, from), path(m, side, to)]),
  remove: (m, side, key) => rclone(m, ['deletefile', path(m, side, key)]),
  async presign(m, side, key) {
    const r = await rclone(m, ['link', path(m, side, key)]);
    return { ...r, url: r.stdout.trim() };
  },
});
