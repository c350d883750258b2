// Who may read a fresh hit (`cache.hit_auth`): each level against the requests S3 would refuse, with the
// origin's request log proving who answered. The origin verifies every SigV4 signature and knows two users:
// S3RVER (every bucket) and OTHERKEY (only `other-bucket`).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { presign, type RawResponse, s3Path, sendRaw, signRequest } from '../support/signing.js';

const BUCKET = 'kura-test';
const KEY = 'tables/part-0.parquet';
const BODY = randomBytes(200_000);
const PATH = s3Path(BUCKET, KEY);

let origin: MemoryOrigin;

before(async () => {
  origin = await startMemoryOrigin({
    buckets: [BUCKET, 'other-bucket'],
    users: [{ accessKeyId: 'OTHERKEY', secretAccessKey: 'OTHERSECRET', buckets: ['other-bucket'] }],
  });
  origin.put(BUCKET, KEY, BODY);
});
after(async () => {
  await origin?.close();
});

type Probe = (url: string) => Promise<{ method: string; rawUrl: string; headers: string[] }>;

const get = { method: 'GET', path: PATH };
const hostOnly = (url: string) => ['host', new URL(url).host];

/** The requests of the threat model, each sent after a good client has filled the cache. */
const PROBES: Record<string, Probe> = {
  unsigned: async (url) => ({ method: 'GET', rawUrl: PATH, headers: hostOnly(url) }),
  'SigV2 presigned, garbage signature': async (url) => ({
    method: 'GET',
    rawUrl: `${PATH}?AWSAccessKeyId=NOBODY&Expires=${Math.floor(Date.now() / 1000) + 600}&Signature=Z2FyYmFnZQ%3D%3D`,
    headers: hostOnly(url),
  }),
  'expired presigned URL': async (url) => ({
    method: 'GET',
    rawUrl: await presign(url, get, { signingDate: new Date(Date.now() - 3_600_000), expiresIn: 60 }),
    headers: hostOnly(url),
  }),
  'unknown access key': async (url) =>
    signRequest(url, get, { accessKeyId: 'NOBODY', secretAccessKey: 'NOBODY' }),
  'a key S3 denies for the bucket': async (url) =>
    signRequest(url, get, { accessKeyId: 'OTHERKEY', secretAccessKey: 'OTHERSECRET' }),
  'a two-day-old x-amz-date': async (url) =>
    signRequest(url, get, { signingDate: new Date(Date.now() - 2 * 86_400_000) }),
  'the authorized key with a wrong secret': async (url) =>
    signRequest(url, get, { secretAccessKey: 'not-the-secret' }),
};

interface Seen {
  res: RawResponse;
  /** Requests the origin received for this one. */
  asked: number;
}

async function send(kura: TestKura, probe: Probe): Promise<Seen> {
  const before = origin.requests.length;
  const res = await sendRaw(kura.url, await probe(kura.url));
  return { res, asked: origin.requests.length - before };
}

const good: Probe = (url) => signRequest(url, get);

async function withLevel(level: string, run: (kura: TestKura) => Promise<void>, settings = {}) {
  const kura = await startTestKura({
    origin: origin.url,
    settings: { 'cache.get_ttl': '1h', 'cache.hit_auth': level, ...settings },
  });
  try {
    const warm = await send(kura, good);
    assert.equal(warm.res.status, 200);
    assert.equal(warm.res.headers['x-cache'], 'MISS');
    await run(kura);
  } finally {
    await kura.close();
  }
}

/** S3's own answer reached the client: the origin was asked and no cached byte went out. */
function assertS3Refused(seen: Seen, name: string) {
  assert.ok(seen.asked >= 1, `${name}: the origin was asked`);
  assert.ok(seen.res.status >= 400, `${name}: refused (${seen.res.status})`);
  assert.ok(!seen.res.body.includes(BODY.subarray(0, 64)), `${name}: no cached bytes`);
}

function assertHit(seen: Seen, name: string) {
  assert.equal(seen.res.status, 200, name);
  assert.equal(seen.res.headers['x-cache'], 'HIT', name);
  assert.equal(seen.asked, 0, `${name}: the origin was not asked`);
  assert.ok(seen.res.body.equals(BODY), `${name}: the origin's bytes`);
}

describe('cache.hit_auth', () => {
  test('any: every request that reaches Kura reads a fresh hit, but an expired presigned URL', async () => {
    await withLevel('any', async (kura) => {
      for (const [name, probe] of Object.entries(PROBES)) {
        const seen = await send(kura, probe);
        if (name === 'expired presigned URL') assertS3Refused(seen, name);
        else assertHit(seen, name);
      }
    });
  });

  test('signed (the default): only a current signature of a key S3 let read the bucket reads a hit', async () => {
    await withLevel('signed', async (kura) => {
      for (const [name, probe] of Object.entries(PROBES)) {
        // The good client first: S3 has just let its key read the bucket, whatever the probe before did.
        assert.equal((await send(kura, good)).res.status, 200);
        const seen = await send(kura, probe);
        // What `signed` cannot stop (docs/deployment.md): a forged request with an authorized key id.
        if (name === 'the authorized key with a wrong secret') assertHit(seen, name);
        else assertS3Refused(seen, name);
      }
      assertHit(await send(kura, good), 'the good client');
      // S3's 403 to a request with the good key (here, a stale date) makes Kura forget that key's standing:
      // its next request is S3's to judge again, and costs S3 no body.
      assertS3Refused(await send(kura, PROBES['a two-day-old x-amz-date'] as Probe), 'stale date');
      const again = await send(kura, good);
      assert.equal(again.res.headers['x-cache'], 'REVALIDATED');
      assert.ok(again.res.body.equals(BODY));
      assertHit(await send(kura, good), 'and then a hit again');
    });
    // The default is `signed`: an unknown key is S3's to judge without any setting.
    const kura = await startTestKura({ origin: origin.url, settings: { 'cache.get_ttl': '1h' } });
    try {
      assert.equal((await send(kura, good)).res.status, 200);
      assertS3Refused(await send(kura, PROBES['unknown access key'] as Probe), 'default level');
    } finally {
      await kura.close();
    }
  });

  test('s3: S3 judges every hit; the good client is revalidated and gets no body from S3', async () => {
    await withLevel('s3', async (kura) => {
      for (const [name, probe] of Object.entries(PROBES)) {
        if (name !== 'the authorized key with a wrong secret') assertS3Refused(await send(kura, probe), name);
      }
      assertS3Refused(
        await send(kura, PROBES['the authorized key with a wrong secret'] as Probe),
        'the authorized key with a wrong secret',
      );
      const before = origin.requests.length;
      const seen = await send(kura, good);
      assert.equal(seen.res.status, 200);
      assert.equal(seen.res.headers['x-cache'], 'REVALIDATED');
      assert.ok(seen.res.body.equals(BODY));
      const asked = origin.requests.slice(before);
      assert.deepEqual(
        asked.map((r) => [r.status, r.bodyBytesSent]),
        [[304, 0]],
      );
    });
  });

  test('signed: anonymous requests read a hit only of an object S3 served anonymously', async () => {
    const open = await startMemoryOrigin({ buckets: [BUCKET], allowAnonymous: true });
    open.put(BUCKET, KEY, BODY);
    open.put(BUCKET, 'private-looking.bin', BODY);
    const kura = await startTestKura({ origin: open.url, settings: { 'cache.get_ttl': '1h' } });
    const anonymous = (path: string) => async (url: string) => ({
      method: 'GET',
      rawUrl: path,
      headers: hostOnly(url),
    });
    try {
      // Filled by a signed client: S3 has not said anything about anonymous readers of this object yet.
      const other = s3Path(BUCKET, 'private-looking.bin');
      assert.equal(
        (await sendRaw(kura.url, await signRequest(kura.url, { method: 'GET', path: other }))).status,
        200,
      );
      const before = open.requests.length;
      const first = await sendRaw(kura.url, await anonymous(other)(kura.url));
      assert.equal(first.status, 200);
      assert.equal(first.headers['x-cache'], 'REVALIDATED', 'S3 was asked first');
      assert.equal(open.requests.length - before, 1);
      // Filled by an anonymous client: S3 said yes to anonymous readers of it.
      assert.equal((await sendRaw(kura.url, await anonymous(PATH)(kura.url))).headers['x-cache'], 'MISS');
      const mark = open.requests.length;
      const hit = await sendRaw(kura.url, await anonymous(PATH)(kura.url));
      assert.equal(hit.headers['x-cache'], 'HIT');
      assert.ok(hit.body.equals(BODY));
      assert.equal(open.requests.length, mark);
    } finally {
      await kura.close();
      await open.close();
    }
  });

  test('a rule sets the level per object', async () => {
    const { writeFile, mkdtemp } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const rules = join(await mkdtemp(join(tmpdir(), 'kura-hit-auth-')), 'rules.yaml');
    await writeFile(rules, JSON.stringify({ rules: [{ match: `${BUCKET}/tables/**`, hit_auth: 'any' }] }));
    await withLevel(
      'signed',
      async (kura) => {
        assertHit(await send(kura, PROBES.unsigned as Probe), 'unsigned, under an `any` rule');
      },
      { 'cache.rules': rules },
    );
  });

  test('stale-if-error serves only a request that could have read the hit', async () => {
    await withLevel(
      'signed',
      async (kura) => {
        await new Promise((r) => setTimeout(r, 1_100)); // past the TTL: every read asks S3
        origin.injectFault({ kind: 'status', status: 503, code: 'SlowDown', count: 2 });
        try {
          const denied = await send(kura, PROBES['a key S3 denies for the bucket'] as Probe);
          assert.equal(denied.res.status, 503, 'a key S3 never let read gets S3 answer, not stale bytes');
          const stale = await send(kura, good);
          assert.equal(stale.res.status, 200, 'the good client gets the stale answer');
          assert.ok(stale.res.body.equals(BODY));
        } finally {
          origin.clearFaults();
        }
      },
      { 'cache.stale_if_error': '1h', 'cache.get_ttl': '1s' },
    );
  });

  test('with TTL 0, a forged request waiting on a good cold fill gets S3 403, never the bytes', async () => {
    const slow = await startMemoryOrigin({ buckets: [BUCKET], firstByteLatencyMs: 300 });
    slow.put(BUCKET, KEY, BODY);
    const kura = await startTestKura({
      origin: slow.url,
      settings: { 'cache.get_ttl': '0s', 'cache.head_ttl': '0s', 'cache.hit_auth': 'any' },
    });
    try {
      const filling = sendRaw(kura.url, await good(kura.url));
      await new Promise((r) => setTimeout(r, 100));
      const forged = await sendRaw(
        kura.url,
        await (PROBES['the authorized key with a wrong secret'] as Probe)(kura.url),
      );
      const filled = await filling;
      assert.equal(filled.status, 200);
      assert.ok(filled.body.equals(BODY));
      assert.equal(forged.status, 403);
      assert.ok(!forged.body.includes(BODY.subarray(0, 64)));
      assert.equal(kura.cache.stats.coalesced, 1, 'the forged request waited on the fill');
    } finally {
      await kura.close();
      await slow.close();
    }
  });
});

describe('server.allow_clients', () => {
  test('a client outside the ranges gets 403 AccessDenied, and S3 is never asked', async () => {
    const kura = await startTestKura({
      origin: origin.url,
      settings: { 'server.allow_clients': '10.0.0.0/8,2001:db8::/32' },
    });
    try {
      const seen = await send(kura, good);
      assert.equal(seen.res.status, 403);
      assert.match(seen.res.body.toString(), /<Code>AccessDenied<\/Code>/);
      assert.equal(seen.asked, 0);
    } finally {
      await kura.close();
    }
  });

  test('a client inside them is served', async () => {
    const kura = await startTestKura({
      origin: origin.url,
      settings: { 'server.allow_clients': '127.0.0.0/8' },
    });
    try {
      const seen = await send(kura, good);
      assert.equal(seen.res.status, 200);
      assert.ok(seen.res.body.equals(BODY));
    } finally {
      await kura.close();
    }
  });
});
