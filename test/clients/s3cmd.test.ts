// s3cmd (Debian's, 2.3) through Kura and direct against RGW. Path style: `host_bucket` without
// `%(bucket)s`. Its `signurl` presigns with SigV2 (AWSAccessKeyId, Expires, Signature).

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ClientMatrix, runCommand, type Side } from '../support/client-matrix.js';
import { clientMatrixTests } from '../support/client-suite.js';

const configs = new Map<string, string>();

function s3cmd(m: ClientMatrix, side: Side, args: string[]) {
  const config = configs.get(side.name) ?? '';
  return runCommand('s3cmd', ['-c', config, '--no-progress', ...args], {
    env: { PATH: process.env.PATH, HOME: m.work },
    timeoutMs: 120_000,
  });
}

const url = (m: ClientMatrix, key: string) => `s3://${m.bucket}/${key}`;

clientMatrixTests({
  name: 's3cmd',
  async setup(m) {
    for (const side of Object.values(m.sides)) {
      const host = new URL(side.endpoint).host;
      const file = join(m.work, `s3cfg-${side.name}`);
      await writeFile(
        file,
        [
          '[default]',
          'access_key = S3RVER',
          'secret_key = S3RVER',
          `host_base = ${host}`,
          `host_bucket = ${host}`,
          'use_https = False',
          'signature_v2 = False',
          'bucket_location = us-east-1',
          'multipart_chunk_size_mb = 5',
          '',
        ].join('\n'),
      );
      configs.set(side.name, file);
    }
  },
  upload: (m, side, file, key) => s3cmd(m, side, ['put', '-q', file, url(m, key)]),
  async list(m, side, prefix) {
    const r = await s3cmd(m, side, ['ls', '-r', url(m, prefix)]);
    // `2026-12-03 06:48      9000000  s3://bucket/kura/big.bin`
    const entries = [...r.stdout.matchAll(/^\S+ \S+\s+(\d+)\s+s3:\/\/[^/]+\/(.+)$/gm)].map((x) => ({
      key: x[2] ?? '',
      size: Number(x[1]),
    }));
    return { ...r, entries };
  },
  download: (m, side, key, file) => s3cmd(m, side, ['get', '-q', '--force', url(m, key), file]),
  sync: (m, side, dir, prefix) => s3cmd(m, side, ['sync', '-q', `${dir}/`, url(m, prefix)]),
  syncDown: (m, side, prefix, dir) => s3cmd(m, side, ['sync', '-q', url(m, prefix), `${dir}/`]),
  copy: (m, side, from, to) => s3cmd(m, side, ['cp', '-q', url(m, from), url(m, to)]),
  remove: (m, side, key) => s3cmd(m, side, ['del', '-q', url(m, key)]),
  async presign(m, side, key) {
    const r = await s3cmd(m, side, ['signurl', url(m, key), '+600']);
    return { ...r, url: r.stdout.trim() };
  },
});
