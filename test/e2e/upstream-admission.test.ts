// Slow uploads must not starve reads (src/upstream/admission.ts, docs/forwarding.md): 300 signed PUTs
// whose clients send a few bytes of their body and then trickle, more than `upstream.connections`
// (256). Uploads hold at most 256 - read_reserve (64) = 192 connections; the others wait
// `upstream.queue_timeout` and are refused with S3's 503 SlowDown; cold GETs meanwhile are answered,
// byte-exact, within a bound.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { sdkClient, sdkGet } from '../support/cache-client.js';
import { startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { errorCode, s3Path, signRequest } from '../support/signing.js';

const BUCKET = 'kura-test';
const UPLOADS = 300;
const UPLOAD_SHARE = 256 - 64;
const QUEUE_TIMEOUT_MS = 2_000;
/**
 * A cold GET must be answered within this, slow uploads or not (generous for a busy machine: starved,
 * reads would wait the queue timeout and get 503, or without a bound wait for an upload to end).
 */
const READ_BOUND_MS = 10_000;

let origin: MemoryOrigin;
let kura: TestKura;

before(async () => {
  origin = await startMemoryOrigin();
  kura = await startTestKura({
    origin: origin.url,
    settings: { 'upstream.queue_timeout': `${QUEUE_TIMEOUT_MS}ms` },
  });
});
after(async () => {
  await kura?.close();
  await origin?.close();
});

interface SlowUpload {
  req: http.ClientRequest;
  answer: Promise<{ status: number; code: string | undefined; at: number }>;
}

/** A signed PUT that sends 1 KiB of its 64 KiB body, then one byte per second until destroyed. */
async function slowUpload(i: number): Promise<SlowUpload> {
  const body = randomBytes(64 * 1024);
  const signed = await signRequest(kura.url, {
    method: 'PUT',
    path: s3Path(BUCKET, `slow/upload-${i}`),
    body,
  });
  const url = new URL(kura.url);
  const req = http.request({
    host: url.hostname,
    port: Number(url.port),
    method: 'PUT',
    path: signed.rawUrl,
    headers: signed.headers,
    setHost: false,
    agent: false,
  });
  const answer = new Promise<{ status: number; code: string | undefined; at: number }>((resolve) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, code: errorCode(Buffer.concat(chunks)), at: Date.now() }),
      );
      res.on('error', () => resolve({ status: -1, code: undefined, at: Date.now() }));
    });
    req.on('error', () => resolve({ status: -1, code: undefined, at: Date.now() }));
  });
  req.write(body.subarray(0, 1024));
  let sent = 1024;
  const trickle = setInterval(() => {
    if (req.destroyed || sent >= body.length - 1) return clearInterval(trickle);
    req.write(body.subarray(sent, sent + 1));
    sent += 1;
  }, 1_000);
  req.on('close', () => clearInterval(trickle));
  return { req, answer };
}

test('300 slow uploads hold at most their share of connections: cold GETs answered within a bound, the excess refused with 503 SlowDown', async () => {
  const objects = new Map<string, Buffer>();
  for (let i = 0; i < 12; i++) {
    const key = `cold/object-${i}.bin`;
    objects.set(key, randomBytes(256 * 1024));
    origin.put(BUCKET, key, objects.get(key) as Buffer);
  }
  // The client's first request loads the SDK's machinery: not what is measured.
  const client = sdkClient(kura.url);
  origin.put(BUCKET, 'warm/up', Buffer.from('warm'));
  assert.equal((await sdkGet(client, BUCKET, 'warm/up')).status, 200);
  const started = Date.now();
  const uploads: SlowUpload[] = [];
  try {
    for (let i = 0; i < UPLOADS; i++) uploads.push(await slowUpload(i));
    // Every upload has reached Kura and taken its place (or queued) before the reads start.
    await new Promise((r) => setTimeout(r, 500));

    const times: number[] = [];
    await Promise.all(
      [...objects].map(async ([key, body]) => {
        const t0 = Date.now();
        const r = await sdkGet(client, BUCKET, key);
        times.push(Date.now() - t0);
        assert.equal(r.status, 200, `${key}: ${r.status}`);
        assert.ok(r.body.equals(body), `${key} byte-exact`);
      }),
    );
    console.log(`cold GETs among ${UPLOADS} slow uploads: slowest ${Math.max(...times)} ms`);
    assert.ok(Math.max(...times) < READ_BOUND_MS, `every cold GET within ${READ_BOUND_MS} ms: ${times}`);

    // The uploads beyond their share waited their bound and were refused as S3 refuses an overload.
    const answers: { status: number; code: string | undefined; at: number }[] = [];
    for (const u of uploads) void u.answer.then((a) => answers.push(a));
    const deadline = Date.now() + 20_000;
    while (answers.length < UPLOADS - UPLOAD_SHARE && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 500));
    const slowDowns = answers.filter((a) => a.status === 503 && a.code === 'SlowDown');
    assert.equal(slowDowns.length, UPLOADS - UPLOAD_SHARE, 'each upload beyond the share is refused');
    for (const a of slowDowns) {
      assert.ok(a.at - started >= QUEUE_TIMEOUT_MS, 'refused only after waiting the queue timeout');
    }
    assert.equal(answers.length, slowDowns.length, 'the uploads within the share are still streaming');
  } finally {
    for (const u of uploads) u.req.destroy();
  }
});
