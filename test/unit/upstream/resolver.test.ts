import assert from 'node:assert/strict';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { lookup as systemLookup } from 'node:dns/promises';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { S3Resolver } from '../../../src/upstream/resolver.js';
import type { DnsRecords, TestDnsServer } from '../../support/dns-server.js';
import { startTestDnsServer } from '../../support/dns-server.js';

const WAIT_MS = 5_000;
/** Per-query timeout given to the resolver, so that a silent DNS server fails a test quickly. */
const DNS_TIMEOUT_MS = 1_000;

const THREE = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];

let dns: TestDnsServer;
const closers: (() => Promise<void> | void)[] = [];

before(async () => {
  dns = await startTestDnsServer({
    'three.s3.example-test': { A: THREE, ttl: 60 },
    'cached.s3.example-test': { A: ['10.0.1.1'], ttl: 60 },
    'together.s3.example-test': { A: ['10.0.1.2', '10.0.1.3'], ttl: 60 },
    'short.s3.example-test': { A: ['10.0.1.4'], ttl: 1 },
    'long.s3.example-test': { A: ['10.0.1.5'], ttl: 3600 },
    'stale.s3.example-test': { A: ['10.0.1.6'], ttl: 60 },
    'v4only.s3.example-test': { A: ['10.0.2.1', '10.0.2.2'], ttl: 60 },
    'dual.s3.example-test': { A: ['10.0.3.1'], AAAA: ['2001:db8::31', '2001:db8::32'], ttl: 60 },
    'v6only.s3.example-test': { AAAA: ['2001:db8::41', '::ffff:10.0.4.1'], ttl: 60 },
    'bucket.s3.example-test': { A: ['127.0.0.1'], ttl: 60 },
    'spread.s3.example-test': { A: ['127.0.0.1', '127.0.0.2'], ttl: 60 },
    'alias.s3.example-test': { CNAME: 's3-w.example-test', ttl: 60 },
    's3-w.example-test': { CNAME: 's3-1-w.example-test', ttl: 60 },
    's3-1-w.example-test': { A: ['10.0.5.1', '10.0.5.2'], ttl: 60 },
    'outage.s3.example-test': { A: ['10.0.1.7'], ttl: 60 },
  });
  closers.push(() => dns.close());
});

after(async () => {
  for (const close of closers.reverse()) await close();
});

function resolver(servers = [dns.server]): S3Resolver {
  return new S3Resolver(servers, DNS_TIMEOUT_MS);
}

/** Rejects if `promise` has not settled within `ms`. */
async function bounded<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface LookupResult {
  err: NodeJS.ErrnoException | null;
  address: string | LookupAddress[];
  family: number | undefined;
  calls: number;
}

/** Calls `r.lookup` as `net.connect` would, and collects what it calls back with. */
function lookup(r: S3Resolver, hostname: string, options: LookupOptions): Promise<LookupResult> {
  return bounded(
    new Promise<LookupResult>((resolve) => {
      let result: LookupResult | undefined;
      r.lookup(hostname, options, (err, address, family) => {
        if (result) {
          result.calls += 1;
          return;
        }
        result = { err, address, family, calls: 1 };
        // Let a second callback, if any, arrive before reporting.
        setImmediate(() => resolve(result as LookupResult));
      });
    }),
    `lookup ${hostname}`,
  );
}

function rotate<T>(list: readonly T[], by: number): T[] {
  const n = by % list.length;
  return [...list.slice(n), ...list.slice(0, n)];
}

const addresses = (list: readonly LookupAddress[]) => list.map((a) => a.address);

describe('S3Resolver.resolve', () => {
  test('a name with three A records resolves to all three, each call starting at the next address', async () => {
    const r = resolver();
    const answers: LookupAddress[][] = [];
    for (let i = 0; i < 6; i++) answers.push(await bounded(r.resolve('three.s3.example-test'), 'resolve'));

    const first = answers[0] as LookupAddress[];
    assert.deepEqual([...addresses(first)].sort(), THREE);
    assert.ok(first.every((a) => a.family === 4));
    answers.forEach((answer, i) => {
      assert.deepEqual(answer, rotate(first, i), `call ${i + 1} is the list rotated by ${i}`);
    });
    const starts = answers.map((a) => a[0]?.address);
    for (let i = 1; i < starts.length; i++) assert.notEqual(starts[i], starts[i - 1]);
    assert.deepEqual([...new Set(starts.slice(0, 3))].sort(), THREE, 'three calls start at every address');
  });

  test('answers are cached: repeated resolves within the TTL ask DNS nothing more', async () => {
    const name = 'cached.s3.example-test';
    const r = resolver();
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(await bounded(r.resolve(name), 'resolve'), [{ address: '10.0.1.1', family: 4 }]);
    }
    const viaLookup = await lookup(r, name, { all: true });
    assert.deepEqual(viaLookup.address, [{ address: '10.0.1.1', family: 4 }]);
    assert.equal(dns.count(name, 'A'), 1);
    assert.equal(dns.count(name, 'AAAA'), 1);

    // The cache is the resolver's own: a fresh one asks again (so the counts above are not an artefact).
    await bounded(resolver().resolve(name), 'resolve');
    assert.equal(dns.count(name, 'A'), 2);
  });

  test('concurrent resolves of an uncached name share one query and still rotate', async () => {
    const name = 'together.s3.example-test';
    const r = resolver();
    const answers = await bounded(Promise.all([1, 2, 3, 4].map(() => r.resolve(name))), 'resolves');
    assert.equal(dns.count(name, 'A'), 1);
    assert.equal(dns.count(name, 'AAAA'), 1);
    assert.deepEqual(
      answers.map((a) => a[0]?.address),
      ['10.0.1.2', '10.0.1.3', '10.0.1.2', '10.0.1.3'],
    );
  });

  test('a cached answer expires after its TTL, clamped to at least 5 s and at most 5 min', async (t) => {
    let now = Date.now();
    t.mock.method(Date, 'now', () => now);
    const r = resolver();
    const short = 'short.s3.example-test'; // TTL 1 s: kept 5 s
    const long = 'long.s3.example-test'; // TTL 1 h: kept 5 min
    const cached = 'cached.s3.example-test'; // TTL 60 s: kept 60 s
    const base = { short: dns.count(short, 'A'), long: dns.count(long, 'A'), cached: dns.count(cached, 'A') };
    const start = now;
    const at = async (ms: number) => {
      now = start + ms;
      for (const name of [short, long, cached]) await bounded(r.resolve(name), `resolve ${name} at ${ms} ms`);
      // An expired answer is refreshed behind the scenes; let those queries land before counting.
      await sleep(50);
      return {
        short: dns.count(short, 'A') - base.short,
        long: dns.count(long, 'A') - base.long,
        cached: dns.count(cached, 'A') - base.cached,
      };
    };
    assert.deepEqual(await at(0), { short: 1, long: 1, cached: 1 });
    assert.deepEqual(await at(4_999), { short: 1, long: 1, cached: 1 });
    assert.deepEqual(await at(5_000), { short: 2, long: 1, cached: 1 });
    assert.deepEqual(await at(59_999), { short: 3, long: 1, cached: 1 });
    assert.deepEqual(await at(60_000), { short: 3, long: 1, cached: 2 });
    assert.deepEqual(await at(299_999), { short: 4, long: 1, cached: 3 });
    assert.deepEqual(await at(300_000), { short: 4, long: 2, cached: 3 });
  });

  test('when DNS stops answering, the last answer is used for 10 more minutes, then resolving fails', async (t) => {
    const name = 'stale.s3.example-test';
    const flaky = await startTestDnsServer({ [name]: { A: ['10.0.1.6'], ttl: 60 } });
    closers.push(() => flaky.close());
    let now = Date.now();
    t.mock.method(Date, 'now', () => now);
    const r = resolver([flaky.server]);
    const start = now;
    assert.deepEqual(await bounded(r.resolve(name), 'resolve'), [{ address: '10.0.1.6', family: 4 }]);

    await flaky.close();
    now = start + 60_000 + 599_999;
    assert.deepEqual(await bounded(r.resolve(name), 'stale resolve'), [{ address: '10.0.1.6', family: 4 }]);
    now = start + 60_000 + 600_000;
    await assert.rejects(bounded(r.resolve(name), 'resolve after grace'), (err: NodeJS.ErrnoException) => {
      assert.equal(typeof err.code, 'string', String(err));
      return true;
    });
  });

  test('during a DNS outage, an expired answer is served at once while the refresh runs behind', async (t) => {
    // With Kura's defaults (5 s DNS timeout, 2 tries: about 20 s before c-ares gives up, against a 10 s
    // connect timeout), a connection that waited for a silent DNS server would fail; it must not wait.
    const name = 'outage.s3.example-test';
    const timeoutMs = 250;
    let now = Date.now();
    t.mock.method(Date, 'now', () => now);
    const r = new S3Resolver([dns.server], timeoutMs);
    assert.deepEqual(await bounded(r.resolve(name), 'resolve'), [{ address: '10.0.1.7', family: 4 }]);

    (dns.records[name] as DnsRecords).drop = ['A', 'AAAA'];
    now += 60_000;
    for (const attempt of ['first', 'second']) {
      const started = performance.now();
      assert.deepEqual(await bounded(r.resolve(name), `${attempt} stale resolve`), [
        { address: '10.0.1.7', family: 4 },
      ]);
      const ms = performance.now() - started;
      assert.ok(
        ms < timeoutMs,
        `the ${attempt} stale resolve waited ${Math.round(ms)} ms on the silent server`,
      );
    }
    await waitFor(() => dns.count(name, 'A') > 1, 'the refresh was attempted in the background');
  });

  test('a name answered through a CNAME chain resolves to the final addresses, and is cached', async () => {
    const r = resolver();
    const first = await bounded(r.resolve('alias.s3.example-test'), 'resolve');
    assert.deepEqual(
      [...first].sort((a, b) => a.address.localeCompare(b.address)),
      [
        { address: '10.0.5.1', family: 4 },
        { address: '10.0.5.2', family: 4 },
      ],
    );
    const second = await bounded(r.resolve('alias.s3.example-test'), 'resolve');
    assert.deepEqual(second, rotate(first, 1));
    assert.equal(dns.count('alias.s3.example-test', 'A'), 1);
    assert.equal(dns.count('s3-1-w.example-test'), 0, 'the chain came in one answer');
  });

  test('/etc/hosts is never read: localhost is asked of DNS, which says NXDOMAIN, so ENOTFOUND', async () => {
    // The system resolver answers localhost from /etc/hosts (clients' hosts files point S3 names at Kura
    // the same way); S3Resolver must not.
    const system = await bounded(systemLookup('localhost'), 'system lookup');
    assert.match(system.address, /^(127\.0\.0\.1|::1)$/);

    const r = resolver();
    const askedBefore = dns.count('localhost');
    await assert.rejects(bounded(r.resolve('localhost'), 'resolve localhost'), { code: 'ENOTFOUND' });
    assert.ok(dns.count('localhost') > askedBefore, 'the DNS server was asked');

    const viaLookup = await lookup(r, 'localhost', {});
    assert.equal(viaLookup.err?.code, 'ENOTFOUND');
    assert.equal(viaLookup.calls, 1);
  });

  test('an unknown name fails with ENOTFOUND', async () => {
    await assert.rejects(bounded(resolver().resolve('missing.s3.example-test'), 'resolve'), {
      code: 'ENOTFOUND',
    });
  });

  test('AAAA answers come back with family 6, alongside A answers with family 4', async () => {
    const r = resolver();
    assert.deepEqual(await bounded(r.resolve('v6only.s3.example-test'), 'resolve'), [
      { address: '2001:db8::41', family: 6 },
      { address: '::ffff:10.0.4.1', family: 6 },
    ]);
    const dual = await bounded(r.resolve('dual.s3.example-test'), 'resolve');
    assert.deepEqual(
      [...dual].sort((a, b) => a.address.localeCompare(b.address)),
      [
        { address: '10.0.3.1', family: 4 },
        { address: '2001:db8::31', family: 6 },
        { address: '2001:db8::32', family: 6 },
      ],
    );
  });
});

describe('S3Resolver.lookup', () => {
  test('{ all: true } gives every address, rotated on each call', async () => {
    const r = resolver();
    const results: LookupResult[] = [];
    for (let i = 0; i < 4; i++) results.push(await lookup(r, 'three.s3.example-test', { all: true }));
    const first = results[0]?.address as LookupAddress[];
    assert.ok(Array.isArray(first));
    assert.deepEqual([...addresses(first)].sort(), THREE);
    results.forEach((res, i) => {
      assert.equal(res.err, null);
      assert.equal(res.calls, 1);
      assert.deepEqual(res.address, rotate(first, i));
    });
  });

  test('{ all: true, family } keeps only that family', async () => {
    const r = resolver();
    const v6 = await lookup(r, 'dual.s3.example-test', { all: true, family: 6 });
    assert.equal(v6.err, null);
    assert.deepEqual(
      [...(v6.address as LookupAddress[])].sort((a, b) => a.address.localeCompare(b.address)),
      [
        { address: '2001:db8::31', family: 6 },
        { address: '2001:db8::32', family: 6 },
      ],
    );
    const v4 = await lookup(r, 'dual.s3.example-test', { all: true, family: 4 });
    assert.deepEqual(v4.address, [{ address: '10.0.3.1', family: 4 }]);
  });

  test('without all it calls back with one (address, family), the next address each call', async () => {
    const r = resolver();
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await lookup(r, 'three.s3.example-test', {});
      assert.equal(res.err, null);
      assert.equal(typeof res.address, 'string');
      assert.equal(res.family, 4);
      seen.push(res.address as string);
    }
    assert.deepEqual([...seen].sort(), THREE);
  });

  test('{ family: 4 } gives one IPv4 address, even for a name with AAAA records', async () => {
    const r = resolver();
    for (let i = 0; i < 3; i++) {
      const res = await lookup(r, 'dual.s3.example-test', { family: 4 });
      assert.equal(res.err, null);
      assert.equal(res.address, '10.0.3.1');
      assert.equal(res.family, 4);
    }
  });

  test('{ family: 6 } gives an IPv6 address with family 6', async () => {
    const res = await lookup(resolver(), 'dual.s3.example-test', { family: 6 });
    assert.equal(res.err, null);
    assert.match(res.address as string, /^2001:db8::3[12]$/);
    assert.equal(res.family, 6);
  });

  test('{ family: 6 } for a name with only A records fails with ENOTFOUND', async () => {
    const r = resolver();
    const res = await lookup(r, 'v4only.s3.example-test', { family: 6 });
    assert.equal(res.err?.code, 'ENOTFOUND');
    assert.equal(res.calls, 1);
    const all = await lookup(r, 'v4only.s3.example-test', { family: 6, all: true });
    assert.equal(all.err?.code, 'ENOTFOUND');
  });
});

describe('S3Resolver.lookup with net.connect', () => {
  async function listen(
    host: string,
    port = 0,
  ): Promise<{ server: net.Server; port: number; peers: string[] }> {
    const peers: string[] = [];
    const accepted = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      accepted.add(socket);
      socket.once('close', () => accepted.delete(socket));
      peers.push(socket.localAddress ?? '');
      socket.end('hello');
    });
    await bounded(
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      }),
      `listen on ${host}`,
    );
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const socket of accepted) socket.destroy();
        }),
    );
    return { server, port: (server.address() as AddressInfo).port, peers };
  }

  /** Connects through `r.lookup`; resolves with the address connected to and what the server sent. */
  function connect(r: S3Resolver, host: string, port: number, autoSelectFamily: boolean) {
    const socket = net.connect({ host, port, lookup: r.lookup, autoSelectFamily });
    closers.push(() => void socket.destroy());
    return bounded(
      new Promise<{ remote: string | undefined; data: string }>((resolve, reject) => {
        let data = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => {
          data += chunk;
        });
        socket.once('error', reject);
        socket.once('end', () => resolve({ remote: socket.remoteAddress, data }));
      }),
      `connect to ${host}:${port}`,
    );
  }

  for (const autoSelectFamily of [true, false]) {
    test(`connects to the resolved address (autoSelectFamily: ${autoSelectFamily})`, async () => {
      const { port, peers } = await listen('127.0.0.1');
      const res = await connect(resolver(), 'bucket.s3.example-test', port, autoSelectFamily);
      assert.deepEqual(res, { remote: '127.0.0.1', data: 'hello' });
      assert.deepEqual(peers, ['127.0.0.1']);
    });
  }

  test('successive connections spread over every address', async () => {
    // The same port on two loopback addresses: a port free on 127.0.0.1 may be taken on 127.0.0.2 by
    // another test, so a few pairs are tried; a machine without 127.0.0.2 fails here (docs/testing.md).
    let one: Awaited<ReturnType<typeof listen>> | undefined;
    let two: Awaited<ReturnType<typeof listen>> | undefined;
    const errors: string[] = [];
    for (let attempt = 0; attempt < 5 && two === undefined; attempt++) {
      one = await listen('127.0.0.1');
      two = await listen('127.0.0.2', one.port).catch((err: Error) => {
        errors.push(`127.0.0.2:${one?.port}: ${err.message}`);
        return undefined;
      });
    }
    if (one === undefined || two === undefined)
      assert.fail(`cannot listen on 127.0.0.2: ${errors.join('; ')}`);
    const r = resolver();
    const remotes: (string | undefined)[] = [];
    for (let i = 0; i < 4; i++)
      remotes.push((await connect(r, 'spread.s3.example-test', one.port, true)).remote);
    assert.deepEqual(remotes, ['127.0.0.1', '127.0.0.2', '127.0.0.1', '127.0.0.2']);
    assert.deepEqual(one.peers, ['127.0.0.1', '127.0.0.1']);
    assert.deepEqual(two.peers, ['127.0.0.2', '127.0.0.2']);
  });
});

/** Polls `ok` every 10 ms for up to 2 s. */
async function waitFor(ok: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (ok()) return;
    await sleep(10);
  }
  assert.fail(`timed out waiting: ${what}`);
}
