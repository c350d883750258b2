// The AWS CLI v2 (Debian's /usr/bin/aws) as a matrix driver, with its classic transfer client or its CRT
// transfer client. The CRT client ignores the endpoint's port and connects to :80, so it is used as the
// AWS CLI v2 documents for proxies: the endpoint is RGW's own URL and HTTP_PROXY names Kura (through Kura)
// or the counting front, which forwards absolute-form requests to RGW untouched (direct).

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { awsCliEnv } from '../support/aws-cli.js';
import { type ClientMatrix, type Outcome, runCommand, type Side } from '../support/client-matrix.js';
import type { ClientDriver, Listing } from '../support/client-suite.js';

const AWS = '/usr/bin/aws';

export function awsCliDriver(opts: { crt: boolean }): ClientDriver {
  let env: NodeJS.ProcessEnv;

  const aws = (m: ClientMatrix, side: Side, args: string[]) => {
    const endpoint = opts.crt ? m.origin.rgw.endpoint : side.endpoint;
    const proxy = side.name === 'kura' ? m.kura.url : m.origin.url;
    const sideEnv = opts.crt ? { ...env, HTTP_PROXY: proxy, http_proxy: proxy } : env;
    return runCommand(AWS, ['--endpoint-url', endpoint, ...args], { env: sideEnv, timeoutMs: 120_000 });
  };
  const url = (m: ClientMatrix, key: string) => `s3://${m.bucket}/${key}`;
  const quiet = ['--only-show-errors', '--no-progress'];

  const driver: ClientDriver = {
    name: opts.crt ? 'awscli-crt' : 'awscli',
    async setup(m) {
      const dir = join(m.work, 'aws');
      await mkdir(dir, { recursive: true });
      // 5 MiB parts (the CLI's MB are MiB): the large object goes in two parts with either client.
      env = awsCliEnv(dir, {
        s3Config: [
          'multipart_threshold = 5MB',
          'multipart_chunksize = 5MB',
          ...(opts.crt ? ['preferred_transfer_client = crt'] : []),
        ],
      });
      const version = await runCommand(AWS, ['--version'], { env });
      assert.match(version.stdout, /^aws-cli\/2\./, `${AWS} must be the AWS CLI v2 (Debian's awscli)`);
    },
    upload: (m, side, file, key) => aws(m, side, ['s3', 'cp', ...quiet, file, url(m, key)]),
    async list(m, side, prefix): Promise<Listing> {
      const r = await aws(m, side, ['s3', 'ls', '--recursive', url(m, prefix)]);
      // `2026-12-03 06:53:57    9000000 crt/big.bin`
      const entries = [...r.stdout.matchAll(/^\S+ \S+\s+(\d+) (.+)$/gm)].map((x) => ({
        key: x[2] ?? '',
        size: Number(x[1]),
      }));
      return { ...r, entries };
    },
    download: (m, side, key, file) => aws(m, side, ['s3', 'cp', ...quiet, url(m, key), file]),
    downloadRange: (m, side, key, first, last, file) =>
      aws(m, side, [
        's3api',
        'get-object',
        '--bucket',
        m.bucket,
        '--key',
        key,
        '--range',
        `bytes=${first}-${last}`,
        file,
      ]),
    sync: (m, side, dir, prefix) => aws(m, side, ['s3', 'sync', ...quiet, dir, url(m, prefix)]),
    syncDown: (m, side, prefix, dir) => aws(m, side, ['s3', 'sync', ...quiet, url(m, prefix), dir]),
    copy: (m, side, from, to) => aws(m, side, ['s3', 'cp', ...quiet, url(m, from), url(m, to)]),
    remove: (m, side, key) => aws(m, side, ['s3', 'rm', '--only-show-errors', url(m, key)]),
  };
  if (!opts.crt) {
    driver.presign = async (m, side, key): Promise<Outcome & { url?: string }> => {
      const r = await aws(m, side, ['s3', 'presign', url(m, key), '--expires-in', '600']);
      return { ...r, url: r.stdout.trim() };
    };
  }
  return driver;
}
