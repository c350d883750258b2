import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildConfig } from '../../../src/config/load.js';
import { isInternalAddress, routeTunnel } from '../../../src/upstream/tunnel-route.js';

function upstream(file: Record<string, unknown>) {
  const r = buildConfig({ upstream: file }, []);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config.upstream;
}

test('routeTunnel: overrides first, then the allowlist, like HTTP routing', () => {
  const config = upstream({
    allow: ['*.amazonaws.com', 'storage.example.org'],
    overrides: {
      's3.kura.test': 'https://127.0.0.1:9443',
      '*.minio.test': 'http://minio.internal',
      'v6.kura.test': 'https://[::1]:8443',
    },
  });
  const cases: [string, unknown][] = [
    ['s3.kura.test', { host: '127.0.0.1', port: 9443, via: 'override' }],
    ['bucket.minio.test', { host: 'minio.internal', port: 443, via: 'override' }],
    ['v6.kura.test', { host: '::1', port: 8443, via: 'override' }],
    [
      'bucket.s3.us-east-1.amazonaws.com',
      { host: 'bucket.s3.us-east-1.amazonaws.com', port: 443, via: 's3' },
    ],
    ['storage.example.org', { host: 'storage.example.org', port: 443, via: 's3' }],
    ['evil.example.com', null],
    // `*.amazonaws.com` is for S3's names; STS and EC2 must be listed exactly, as for HTTP.
    ['sts.amazonaws.com', null],
    ['ec2.us-east-1.amazonaws.com', null],
  ];
  for (const [name, want] of cases) {
    const got = routeTunnel(name, 443, config);
    assert.deepEqual(got.ok ? got.target : null, want, name);
  }
});

test('isInternalAddress', () => {
  const cases: [string, boolean][] = [
    ['52.216.1.1', false],
    ['3.5.0.1', false],
    ['2600:1fa0::1', false],
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['172.32.0.1', false],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['224.0.0.1', true],
    ['255.255.255.255', true],
    ['::1', true],
    ['::', true],
    ['fd00:ec2::254', true],
    ['fe80::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:169.254.169.254', true],
    ['::ffff:52.216.1.1', false],
    ['not an address', true],
  ];
  for (const [address, want] of cases) assert.equal(isInternalAddress(address), want, address);
});
