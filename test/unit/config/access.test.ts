import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientFilter, parseCidr } from '../../../src/config/access.js';
import { buildConfig } from '../../../src/config/load.js';

describe('server.allow_clients', () => {
  test('CIDR ranges and single addresses parse; anything else does not', () => {
    assert.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    assert.deepEqual(parseCidr('2001:db8::/32'), { address: '2001:db8::', prefix: 32, family: 'ipv6' });
    assert.deepEqual(parseCidr('192.0.2.7'), { address: '192.0.2.7', prefix: 32, family: 'ipv4' });
    for (const bad of [
      '10.0.0.0/33',
      '10.0.0/8',
      'example.com/8',
      '10.0.0.0/8/1',
      '::/129',
      '10.0.0.0/x',
      '',
    ])
      assert.equal(parseCidr(bad), null, bad);
  });

  test('matches clients by range, IPv4 on a dual-stack listener included', () => {
    const allowed = clientFilter(['10.0.0.0/8', '2001:db8::/32']);
    assert.equal(allowed('10.1.2.3'), true);
    assert.equal(allowed('::ffff:10.1.2.3'), true);
    assert.equal(allowed('2001:db8::1'), true);
    assert.equal(allowed('192.168.1.1'), false);
    assert.equal(allowed('::ffff:192.168.1.1'), false);
    assert.equal(allowed('::1'), false);
    assert.equal(allowed(undefined), false);
    assert.equal(clientFilter([])('192.168.1.1'), true, 'empty: every client');
  });

  test('a bad range is a config problem that names the field and the item', () => {
    const built = buildConfig({ server: { allow_clients: ['10.0.0.0/8', '10.0.0.0/40'] } }, []);
    assert.equal(built.ok, false);
    assert.match(JSON.stringify(built), /server\.allow_clients.*10\.0\.0\.0\/40.*CIDR/);
  });
});
