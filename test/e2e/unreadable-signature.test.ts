// A signature Kura cannot read is S3's to judge: the request is forwarded (its hop-by-hop headers dropped
// as for any request) and never answered from the cache. The case here is a presigned URL whose
// X-Amz-Expires exceeds S3's one-week cap: S3 answers 400 AuthorizationQueryParametersError, and so must
// Kura's client, even while the object is fresh in the cache.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { errorCode, presign, type RawResponse, s3Path, sendRaw, signRequest } from '../support/signing.js';

const BUCKET = 'kura-test';
const WEEK_SECONDS = 604_800;

let origin: MemoryOrigin;
let kura: TestKura;

/**
 * A presigned GET for Kura's Host that asks for one second more than a week. The signer refuses to make
 * one, so a week's URL gets its X-Amz-Expires raised after signing (S3 rejects the value before it
 * checks the signature).
 */
async function overlongPresignedUrl(key: string): Promise<string> {
  const rawUrl = await presign(
    kura.url,
    { method: 'GET', path: s3Path(BUCKET, key) },
    { expiresIn: WEEK_SECONDS },
  );
  assert.match(rawUrl, new RegExp(`X-Amz-Expires=${WEEK_SECONDS}(&|$)`));
  return rawUrl.replace(`X-Amz-Expires=${WEEK_SECONDS}`, `X-Amz-Expires=${WEEK_SECONDS + 1}`);
}

/** The presigned GET sent with `Connection: keep-alive`, to `baseUrl`, Host naming Kura. */
function getWithKeepAlive(baseUrl: string, rawUrl: string): Promise<RawResponse> {
  const host = new URL(kura.url).host;
  return sendRaw(baseUrl, { method: 'GET', rawUrl, headers: ['Host', host, 'Connection', 'keep-alive'] });
}

function assertS3Refusal(r: RawResponse, via: string): void {
  assert.equal(r.status, 400, `${via}: ${r.body.toString()}`);
  assert.equal(errorCode(r.body), 'AuthorizationQueryParametersError', via);
}

describe('a signature Kura cannot read is forwarded for S3 to judge, never answered from the cache', () => {
  before(async () => {
    origin = await startMemoryOrigin();
    kura = await startTestKura({ origin: origin.url });
  });

  after(async () => {
    await kura?.close();
    await origin?.close();
  });

  test('X-Amz-Expires over a week with Connection: keep-alive: S3 answers 400, through Kura as direct', async () => {
    const key = 'unreadable/cold';
    origin.put(BUCKET, key, randomBytes(1024));
    const rawUrl = await overlongPresignedUrl(key);

    assertS3Refusal(await getWithKeepAlive(origin.url, rawUrl), 'direct');
    const bypassed = kura.cache.stats.bypasses['signature-unreadable'] ?? 0;
    const viaKura = await getWithKeepAlive(kura.url, rawUrl);
    assertS3Refusal(viaKura, 'through Kura');
    assert.equal(viaKura.headers['x-cache'], 'BYPASS');

    const forwarded = origin.requests.filter((r) => r.rawUrl === rawUrl);
    assert.equal(forwarded.length, 2, 'the origin did not get the request once direct and once through Kura');
    assert.equal(forwarded[1]?.verdict, 'AuthorizationQueryParametersError');
    assert.equal(kura.cache.stats.bypasses['signature-unreadable'], bypassed + 1);
  });

  test('the same URL for an object fresh in the cache still gets S3 400, not the cached bytes', async () => {
    const key = 'unreadable/cached';
    const body = randomBytes(4096);
    origin.put(BUCKET, key, body);
    const get = await signRequest(kura.url, { method: 'GET', path: s3Path(BUCKET, key) });
    const first = await sendRaw(kura.url, get);
    assert.equal(first.status, 200, first.body.toString());
    const again = await sendRaw(
      kura.url,
      await signRequest(kura.url, { method: 'GET', path: s3Path(BUCKET, key) }),
    );
    assert.equal(again.headers['x-cache'], 'HIT', 'the object is not fresh in the cache');
    assert.ok(again.body.equals(body));

    const rawUrl = await overlongPresignedUrl(key);
    const before = origin.requests.length;
    const viaKura = await getWithKeepAlive(kura.url, rawUrl);
    assertS3Refusal(viaKura, 'through Kura');
    assert.notEqual(viaKura.headers['x-cache'], 'HIT');
    assert.deepEqual(
      origin.requests.slice(before).map((r) => r.rawUrl),
      [rawUrl],
      'the request did not reach the origin',
    );
  });

  test('an Authorization scheme named like an inherited member (constructor) is forwarded: S3 answers, as direct', async () => {
    const key = 'unreadable/scheme';
    origin.put(BUCKET, key, randomBytes(1024));
    const signed = await signRequest(kura.url, { method: 'GET', path: s3Path(BUCKET, key) });
    const headers = signed.headers.map((value, i) =>
      i % 2 === 1 && signed.headers[i - 1]?.toLowerCase() === 'authorization'
        ? value.replace('AWS4-HMAC-SHA256', 'constructor')
        : value,
    );
    assert.ok(headers.some((value) => value.startsWith('constructor ')));
    const direct = await sendRaw(origin.url, { ...signed, headers });
    const viaKura = await sendRaw(kura.url, { ...signed, headers });
    assert.ok(direct.status >= 400, `direct: ${direct.status}`);
    assert.equal(viaKura.status, direct.status, viaKura.body.toString());
    assert.equal(errorCode(viaKura.body), errorCode(direct.body));
    assert.equal(viaKura.headers['x-cache'], 'BYPASS');
  });
});
