// One access-log line per request, with what an operator needs, and nothing that grants access.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createAccessLog } from '../../src/telemetry/access-log.js';
import { startTestKura, type TestKura } from '../support/kura.js';
import { DEFAULT_BUCKET, startTestOrigin, type TestOrigin } from '../support/origin.js';
import { presign, s3Path, sendRaw, signRequest } from '../support/signing.js';

let origin: TestOrigin;
let kura: TestKura;

before(async () => {
  origin = await startTestOrigin();
  kura = await startTestKura({ origin: origin.url });
});
after(async () => {
  await kura.close();
  await origin.close();
});

test('a presigned GET is logged with its operation, status and bytes, and its signature redacted', async () => {
  const body = Buffer.alloc(10_000, 'a');
  const put = await signRequest(kura.url, { method: 'PUT', path: s3Path(DEFAULT_BUCKET, 'logged'), body });
  assert.equal((await sendRaw(kura.url, put)).status, 200);
  const target = await presign(kura.url, { method: 'GET', path: s3Path(DEFAULT_BUCKET, 'logged') });
  const res = await sendRaw(kura.url, {
    method: 'GET',
    rawUrl: target,
    headers: ['Host', `127.0.0.1:${kura.port}`],
  });
  assert.equal(res.status, 200);
  assert.ok(res.body.equals(body));

  const signature = /X-Amz-Signature=([0-9a-f]+)/.exec(target)?.[1] as string;
  const record = kura.access.at(-1);
  assert.ok(record);
  assert.equal(record.operation, 'GetObject');
  assert.equal(record.method, 'GET');
  assert.equal(record.status, 200);
  assert.equal(record.upstream, origin.url);
  assert.ok(record.bytesOut > body.length, 'bytes out count the body and headers');
  assert.match(record.requestId, /^[0-9A-F]{16}$/);
  assert.ok(record.path.includes('X-Amz-Signature=REDACTED'), record.path);
  assert.ok(!record.path.includes(signature), 'the signature never reaches the log');
  assert.ok(record.path.includes('X-Amz-Credential='), 'the credential scope stays, as in S3 logs');
});

test('a file access log gets one JSON line per record', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kura-access-'));
  try {
    const log = createAccessLog(join(dir, 'access.log'));
    for (const status of [200, 404]) {
      log.write({
        requestId: 'R',
        remote: '127.0.0.1',
        method: 'GET',
        host: 'h',
        path: '/b/k',
        operation: 'GetObject',
        status,
        bytesIn: 0,
        bytesOut: 1,
        durationMs: 1,
        upstream: null,
      });
    }
    await log.close();
    const lines = (await readFile(join(dir, 'access.log'), 'utf8')).trimEnd().split('\n');
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { status: number }).status),
      [200, 404],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
