// The AWS CLI, a real client with its own signer, multipart uploader and ranged parallel downloads,
// moves a 20 MiB file up and down through Kura against the signature-verifying origin.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { awsCliEnv } from '../support/aws-cli.js';
import { startTestKura, type TestKura } from '../support/kura.js';
import { DEFAULT_BUCKET, startTestOrigin, type TestOrigin } from '../support/origin.js';

const run = promisify(execFile);

let origin: TestOrigin;
let kura: TestKura;
let dir: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  origin = await startTestOrigin();
  kura = await startTestKura({ origin: origin.url });
  dir = await mkdtemp(join(tmpdir(), 'kura-awscli-'));
  env = { ...awsCliEnv(dir), AWS_ENDPOINT_URL_S3: kura.url };
});
after(async () => {
  await kura.close();
  await origin.close();
  await rm(dir, { recursive: true, force: true });
});

/** CLI v1 honours AWS_ENDPOINT_URL_S3; v2 from Debian ignores it and needs --endpoint-url. */
async function aws(...args: string[]): Promise<string> {
  const { stdout: version } = await run('aws', ['--version'], { env });
  const endpoint = version.startsWith('aws-cli/1.') ? [] : ['--endpoint-url', kura.url];
  const { stdout } = await run('aws', [...endpoint, ...args], { env, maxBuffer: 16 * 2 ** 20 });
  return stdout;
}

/** The CLI talking to the origin itself, with Kura as its HTTP proxy (absolute-form requests). */
async function awsViaProxy(...args: string[]): Promise<string> {
  const proxyEnv = { ...env, AWS_ENDPOINT_URL_S3: origin.url, HTTP_PROXY: kura.url, http_proxy: kura.url };
  const { stdout } = await run('aws', ['--endpoint-url', origin.url, ...args], { env: proxyEnv });
  return stdout;
}

test('aws s3 cp up and down a 20 MiB file through Kura', async () => {
  const data = randomBytes(20 * 2 ** 20);
  await writeFile(join(dir, 'up.bin'), data);
  const url = `s3://${DEFAULT_BUCKET}/cli/a file+name.bin`;
  await aws('s3', 'cp', '--only-show-errors', join(dir, 'up.bin'), url);
  await aws('s3', 'cp', '--only-show-errors', url, join(dir, 'down.bin'));
  assert.ok((await readFile(join(dir, 'down.bin'))).equals(data), 'downloaded bytes equal the uploaded ones');

  const through = origin.requests.filter((r) => r.rawUrl.includes('/cli/'));
  assert.ok(
    through.some((r) => r.rawUrl.includes('uploadId=')),
    'the upload was multipart',
  );
  assert.ok(through.filter((r) => r.method === 'GET').length > 1, 'the download used ranged GETs');
  assert.deepEqual(
    through.filter((r) => r.verdict !== 'ok').map((r) => `${r.method} ${r.rawUrl} ${r.verdict}`),
    [],
    'every request reached the origin with a valid signature',
  );
  const listing = await aws('s3', 'ls', `s3://${DEFAULT_BUCKET}/cli/`);
  assert.match(listing, /20971520 a file\+name\.bin/);
});

test('with HTTP_PROXY pointing at Kura, the CLI absolute-form requests go through untouched', async () => {
  const data = randomBytes(3 * 2 ** 20 + 7);
  await writeFile(join(dir, 'proxy.bin'), data);
  const url = `s3://${DEFAULT_BUCKET}/proxied/obj.bin`;
  const before = kura.access.length;
  await awsViaProxy('s3', 'cp', '--only-show-errors', join(dir, 'proxy.bin'), url);
  await awsViaProxy('s3', 'cp', '--only-show-errors', url, join(dir, 'proxy-down.bin'));
  assert.ok((await readFile(join(dir, 'proxy-down.bin'))).equals(data));
  const logged = kura.access.slice(before);
  assert.ok(
    logged.some((r) => r.operation === 'PutObject' && r.path.startsWith(`${origin.url}/`)),
    'absolute-form PUT',
  );
  assert.ok(
    logged.some((r) => r.operation === 'GetObject' && r.status === 200),
    'absolute-form GET',
  );
  const atOrigin = origin.requests.filter((r) => r.rawUrl.includes('/proxied/'));
  assert.ok(
    atOrigin.every((r) => r.rawUrl.startsWith('/') && r.verdict === 'ok'),
    'origin-form, valid signatures',
  );
});

test('an upload S3 refuses costs the CLI no body bytes: it hears the 403 instead of 100 Continue', async () => {
  // botocore sends `Expect: 100-continue` with every file body and waits a second for the answer.
  await writeFile(join(dir, 'refused.bin'), randomBytes(4 * 2 ** 20));
  const wrong = { ...env, AWS_SECRET_ACCESS_KEY: 'not-the-secret' };
  const { stdout: version } = await run('aws', ['--version'], { env });
  const v1 = version.startsWith('aws-cli/1.');
  const args = ['s3api', 'put-object', '--bucket', DEFAULT_BUCKET, '--key', 'cli/refused.bin'];
  const refusal = async (url: string) => {
    const failed = await run(
      'aws',
      [...(v1 ? [] : ['--endpoint-url', url]), ...args, '--body', join(dir, 'refused.bin')],
      {
        env: { ...wrong, AWS_ENDPOINT_URL_S3: url },
      },
    ).then(
      () => null,
      (err: Error & { stderr?: string }) => err.stderr ?? '',
    );
    assert.notEqual(failed, null, `the upload to ${url} was refused`);
    return (failed ?? '').trim().split('\n').at(-1);
  };
  // The CLI's error through Kura is the one it prints direct (SignatureDoesNotMatch; CLI v1 against RGW
  // cannot parse RGW's error and says "argument of type 'NoneType' is not iterable" both ways).
  const direct = await refusal(origin.url);
  if (!direct?.includes('NoneType')) assert.match(direct ?? '', /SignatureDoesNotMatch/);
  const before = kura.access.length;
  assert.equal(await refusal(kura.url), direct);
  const refused = kura.access.slice(before).filter((r) => r.operation === 'PutObject');
  assert.deepEqual(
    refused.map((r) => r.status),
    [403],
  );
  assert.ok((refused[0]?.bytesIn ?? Infinity) < 16 * 1024, `Kura received ${refused[0]?.bytesIn} bytes`);
  assert.equal(origin.requests.filter((r) => r.rawUrl.includes('cli/refused.bin')).at(-1)?.bodyBytes ?? 0, 0);
});
