// A client that signs `Transfer-Encoding: chunked` gets its upload to S3 framed chunked, whatever the
// timing: undici measures a request body that has already ended and frames it with Content-Length, which
// would change a signed header (src/upstream/request-body.ts). A small body usually arrives whole before
// Kura forwards it, a large one rarely does, so both sizes are sent many times.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import {
  createS3Signer,
  errorCode,
  type SignedRequest,
  s3Path,
  sendRaw,
  sha256Hex,
} from '../support/signing.js';

const BUCKET = 'kura-test';
const ROUNDS = 25;

let origin: MemoryOrigin;
let kura: TestKura;

/** A PUT whose signature covers `transfer-encoding: chunked`, signed for `baseUrl`'s Host. */
async function signedChunkedPut(baseUrl: string, key: string, body: Buffer): Promise<SignedRequest> {
  const url = new URL(baseUrl);
  const path = s3Path(BUCKET, key);
  const signed = await createS3Signer().sign(
    {
      method: 'PUT',
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path,
      query: {},
      headers: {
        host: url.host,
        'transfer-encoding': 'chunked',
        'x-amz-content-sha256': sha256Hex(body),
      },
      body,
    },
    // The SDK's signer leaves transfer-encoding out unless told; some clients sign it.
    { signingDate: new Date(), signableHeaders: new Set(['transfer-encoding']) },
  );
  assert.match(signed.headers.authorization ?? '', /SignedHeaders=[^,]*\btransfer-encoding\b/);
  return { method: 'PUT', rawUrl: path, headers: Object.entries(signed.headers).flat(), body };
}

function headerOf(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i]?.toLowerCase() === name) return headers[i + 1];
  }
  return undefined;
}

describe('a signed chunked upload reaches S3 chunked, as signed', () => {
  before(async () => {
    origin = await startMemoryOrigin();
    kura = await startTestKura({ origin: origin.url });
  });

  after(async () => {
    await kura?.close();
    await origin?.close();
  });

  for (const size of [3, 100 * 1024]) {
    test(`${size} bytes, ${ROUNDS} times: 200 through Kura as direct, the origin sees chunked framing`, async () => {
      const direct = await signedChunkedPut(origin.url, `framing/direct-${size}`, randomBytes(size));
      const answer = await sendRaw(origin.url, direct);
      assert.equal(answer.status, 200, `direct: ${answer.body.toString()}`);

      for (let round = 0; round < ROUNDS; round++) {
        const key = `framing/${size}-${round}`;
        const body = randomBytes(size);
        const req = await signedChunkedPut(kura.url, key, body);
        const r = await sendRaw(kura.url, req);
        assert.equal(r.status, 200, `round ${round}: ${errorCode(r.body)} ${r.body.toString()}`);
        const rec = origin.requests.find((e) => e.method === 'PUT' && e.rawUrl === req.rawUrl);
        assert.ok(rec, `round ${round}: the origin never saw the PUT`);
        assert.equal(rec.verdict, 'ok');
        assert.equal(headerOf(rec.rawHeaders, 'transfer-encoding'), 'chunked', `round ${round}`);
        assert.equal(headerOf(rec.rawHeaders, 'content-length'), undefined, `round ${round}`);
        assert.ok(origin.get(BUCKET, key)?.body.equals(body), `round ${round}: other bytes stored`);
      }
    });
  }
});
