import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseHost } from '../../../src/s3/host.js';
import type { HostPort } from '../../../src/s3/types.js';

const valid: [string, HostPort][] = [
  ['s3.amazonaws.com', { hostname: 's3.amazonaws.com', port: null, kind: 'dns' }],
  ['S3.US-EAST-1.AmazonAWS.com', { hostname: 's3.us-east-1.amazonaws.com', port: null, kind: 'dns' }],
  ['bucket.s3.amazonaws.com.', { hostname: 'bucket.s3.amazonaws.com', port: null, kind: 'dns' }],
  ['localhost:9000', { hostname: 'localhost', port: 9000, kind: 'dns' }],
  ['minio:1', { hostname: 'minio', port: 1, kind: 'dns' }],
  ['minio:65535', { hostname: 'minio', port: 65535, kind: 'dns' }],
  ['my_host.internal', { hostname: 'my_host.internal', port: null, kind: 'dns' }],
  ['a-b.c-d', { hostname: 'a-b.c-d', port: null, kind: 'dns' }],
  ['x', { hostname: 'x', port: null, kind: 'dns' }],
  ['1a.example', { hostname: '1a.example', port: null, kind: 'dns' }],
  ['example.com.:8080', { hostname: 'example.com', port: 8080, kind: 'dns' }],
  [`${'a'.repeat(63)}.com`, { hostname: `${'a'.repeat(63)}.com`, port: null, kind: 'dns' }],
  ['127.0.0.1', { hostname: '127.0.0.1', port: null, kind: 'ipv4' }],
  ['127.0.0.1:80', { hostname: '127.0.0.1', port: 80, kind: 'ipv4' }],
  ['0.0.0.0', { hostname: '0.0.0.0', port: null, kind: 'ipv4' }],
  ['255.255.255.255:443', { hostname: '255.255.255.255', port: 443, kind: 'ipv4' }],
  ['[::1]', { hostname: '::1', port: null, kind: 'ipv6' }],
  ['[::1]:9000', { hostname: '::1', port: 9000, kind: 'ipv6' }],
  ['[2001:DB8::A]', { hostname: '2001:db8::a', port: null, kind: 'ipv6' }],
  ['[::ffff:10.0.0.1]:80', { hostname: '::ffff:10.0.0.1', port: 80, kind: 'ipv6' }],
  ['[1:2:3:4:5:6:7:8]', { hostname: '1:2:3:4:5:6:7:8', port: null, kind: 'ipv6' }],
  ['host:0080', { hostname: 'host', port: 80, kind: 'dns' }],
];

const invalid: [string, string][] = [
  ['', 'empty'],
  [' ', 'space'],
  ['a b.com', 'inner space'],
  [' example.com', 'leading space'],
  ['example.com ', 'trailing space'],
  ['user@example.com', 'userinfo'],
  ['example.com/path', 'path'],
  ['example.com?x', 'query'],
  ['example.com#f', 'fragment'],
  ['a..b', 'empty label'],
  ['.example.com', 'leading dot'],
  ['..', 'dots only'],
  ['.', 'single dot'],
  ['example.com..', 'two trailing dots'],
  ['-a.com', 'label starts with hyphen'],
  ['a-.com', 'label ends with hyphen'],
  [`${'a'.repeat(64)}.com`, 'label of 64'],
  [`${'abcdefghi.'.repeat(25)}abcd`, 'name over 253'],
  ['example.com:', 'empty port'],
  ['example.com:0', 'port 0'],
  ['example.com:65536', 'port too large'],
  ['example.com:99999999999', 'huge port'],
  ['example.com:-1', 'negative port'],
  ['example.com:+80', 'signed port'],
  ['example.com:8a', 'port with letter'],
  ['example.com:80:80', 'two ports'],
  ['::1', 'unbracketed IPv6'],
  ['2001:db8::1', 'unbracketed IPv6 full'],
  ['[::1', 'unclosed bracket'],
  ['[::1]x', 'junk after bracket'],
  ['[::1]:', 'bracket empty port'],
  ['[::1]:70000', 'bracket bad port'],
  ['[fe80::1%25eth0]', 'zone id'],
  ['[fe80::1%eth0]', 'raw zone id'],
  ['[example.com]', 'name in brackets'],
  ['[1.2.3.4]', 'IPv4 in brackets'],
  ['[]', 'empty brackets'],
  ['256.1.1.1', 'octet over 255'],
  ['1.2.3.04', 'leading zero octet'],
  ['01.2.3.4', 'leading zero first octet'],
  ['1.2.3', 'three numeric labels'],
  ['1.2.3.4.5', 'five numeric labels'],
  ['127.1', 'short IPv4'],
  ['0x7f.0.0.1', 'hex first octet then numeric'],
  ['0x7f000001', 'hex integer'],
  ['2130706433', 'decimal integer'],
  ['example.123', 'numeric TLD'],
  ['example.com\r\nX-Injected: 1', 'CRLF injection'],
  ['example.com\u0000', 'NUL'],
  ['exa\tmple.com', 'tab'],
  ['bücher.de', 'non-ASCII'],
  ['example.com%2f', 'percent'],
  ['exa*mple.com', 'asterisk'],
  ['exa\\mple.com', 'backslash'],
];

describe('parseHost', () => {
  for (const [input, expected] of valid) {
    it(`accepts ${JSON.stringify(input).slice(0, 60)}`, () => {
      assert.deepEqual(parseHost(input), expected);
    });
  }
  for (const [input, why] of invalid) {
    it(`rejects ${why}`, () => {
      assert.equal(parseHost(input), null);
    });
  }
});
