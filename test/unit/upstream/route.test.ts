import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildConfig } from '../../../src/config/load.js';
import type { EndpointKind, HostPort } from '../../../src/s3/types.js';
import { findOverride, routeRequest } from '../../../src/upstream/route.js';

function upstream(file: unknown) {
  const r = buildConfig({ upstream: file }, []);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config.upstream;
}

const dns = (hostname: string, port: number | null = null): HostPort => ({ hostname, port, kind: 'dns' });

describe('findOverride', () => {
  const overrides = upstream({
    overrides: {
      '127.0.0.1:8080': 'http://127.0.0.1:1',
      '127.0.0.1': 'http://127.0.0.1:2',
      '*.amazonaws.com': 'http://127.0.0.1:3',
      '*.us-east-1.amazonaws.com': 'http://127.0.0.1:4',
      'S3.Example.COM': 'http://127.0.0.1:5',
      '[::1]:9000': 'http://127.0.0.1:6',
    },
  }).overrides;
  const cases: [HostPort, string | null][] = [
    [{ hostname: '127.0.0.1', port: 8080, kind: 'ipv4' }, 'http://127.0.0.1:1'],
    [{ hostname: '127.0.0.1', port: 9999, kind: 'ipv4' }, 'http://127.0.0.1:2'],
    [{ hostname: '127.0.0.1', port: null, kind: 'ipv4' }, 'http://127.0.0.1:2'],
    [dns('s3.us-east-1.amazonaws.com'), 'http://127.0.0.1:4'],
    [dns('b.s3.us-east-1.amazonaws.com'), 'http://127.0.0.1:4'],
    [dns('s3.eu-west-1.amazonaws.com'), 'http://127.0.0.1:3'],
    [dns('s3.example.com'), 'http://127.0.0.1:5'],
    [{ hostname: '::1', port: 9000, kind: 'ipv6' }, 'http://127.0.0.1:6'],
    [{ hostname: '::1', port: 9001, kind: 'ipv6' }, null],
    [dns('amazonaws.com.evil.net'), null],
    [dns('evilamazonaws.com'), null],
  ];
  for (const [host, expected] of cases) {
    test(`${host.hostname}:${host.port}`, () =>
      assert.equal(findOverride(host, overrides)?.url ?? null, expected));
  }
  test('* catches every host that nothing more specific names', () => {
    const o = upstream({ overrides: { '*': 'http://127.0.0.1:7', 'a.com': 'http://127.0.0.1:8' } }).overrides;
    assert.equal(findOverride(dns('anything.example'), o)?.url, 'http://127.0.0.1:7');
    assert.equal(findOverride(dns('a.com'), o)?.url, 'http://127.0.0.1:8');
  });
});

describe('routeRequest', () => {
  const defaults = upstream({});
  const cases: [string, HostPort, EndpointKind, string | null][] = [
    ['regional S3', dns('s3.us-east-1.amazonaws.com'), 'aws-s3', 'https://s3.us-east-1.amazonaws.com:443'],
    ['virtual-hosted', dns('b.s3.amazonaws.com', 80), 'aws-s3', 'https://b.s3.amazonaws.com:443'],
    [
      'access point',
      dns('ap-123.s3-accesspoint.us-east-1.amazonaws.com'),
      'aws-access-point',
      'https://ap-123.s3-accesspoint.us-east-1.amazonaws.com:443',
    ],
    ['STS is not S3', dns('sts.amazonaws.com'), 'aws-other', null],
    ['EC2 metadata-like IP', { hostname: '169.254.169.254', port: null, kind: 'ipv4' }, 'custom', null],
    ['another site', dns('example.com'), 'custom', null],
    ['suffix trick', dns('s3.amazonaws.com.evil.net'), 'custom', null],
  ];
  for (const [name, host, kind, origin] of cases) {
    test(name, () => {
      const r = routeRequest(host, kind, defaults);
      assert.equal(r.ok ? r.route.origin : null, origin);
      if (r.ok) assert.equal(r.route.via, 's3');
    });
  }
  test('an AWS name that is not S3 is reachable only when listed exactly', () => {
    const r = routeRequest(dns('sts.amazonaws.com'), 'aws-other', upstream({ allow: ['sts.amazonaws.com'] }));
    assert.ok(r.ok);
  });
  test('overrides are reachable without being on the allowlist', () => {
    const r = routeRequest(
      dns('minio.lan', 9000),
      'custom',
      upstream({ allow: [], overrides: { 'minio.lan': 'https://10.1.1.1:9000' } }),
    );
    assert.deepEqual(r, {
      ok: true,
      route: { origin: 'https://10.1.1.1:9000', via: 'override', tlsVerify: true },
    });
  });
});
