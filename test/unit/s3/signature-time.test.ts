import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSignatureCurrent } from '../../../src/s3/signature-time.js';
import type { SignatureFacts, SigV4Facts } from '../../../src/s3/types.js';

const NOW = Date.parse('2026-12-02T12:00:00Z');
const MIN = 60_000;

function v4(location: 'header' | 'query', date: number | null, expiresAt: number | null = null): SigV4Facts {
  const day = date === null ? '20261202' : new Date(date).toISOString().slice(0, 10).replaceAll('-', '');
  return {
    kind: 'sigv4',
    location,
    accessKeyId: 'AKIDEXAMPLE',
    date: date === null ? null : new Date(date),
    scope: { date: day, region: 'us-east-1', service: 's3' },
    regionSet: null,
    signedHeaders: new Set(['host']),
    expiresAt: expiresAt === null ? null : new Date(expiresAt),
    payloadHash: null,
  };
}

describe('isSignatureCurrent', () => {
  test('a header signature within 15 minutes of now', () => {
    assert.equal(isSignatureCurrent(v4('header', NOW - 14 * MIN), [], NOW), true);
    assert.equal(isSignatureCurrent(v4('header', NOW + 14 * MIN), [], NOW), true);
    assert.equal(isSignatureCurrent(v4('header', NOW - 16 * MIN), [], NOW), false);
    assert.equal(isSignatureCurrent(v4('header', NOW + 16 * MIN), [], NOW), false);
    assert.equal(isSignatureCurrent(v4('header', null), [], NOW), false);
  });

  test('a credential scope naming another day than the date', () => {
    const sig = { ...v4('header', NOW), scope: { date: '20261201', region: 'us-east-1', service: 's3' } };
    assert.equal(isSignatureCurrent(sig, [], NOW), false);
  });

  test('a presigned URL until it expires, and not one dated in the future', () => {
    assert.equal(isSignatureCurrent(v4('query', NOW - 3_600_000, NOW + 1_000), [], NOW), true);
    assert.equal(isSignatureCurrent(v4('query', NOW - 3_600_000, NOW), [], NOW), false);
    assert.equal(isSignatureCurrent(v4('query', NOW + 20 * MIN, NOW + 30 * MIN), [], NOW), false);
  });

  test('SigV2: presigned by Expires, header-signed by x-amz-date or Date', () => {
    const query: SignatureFacts = {
      kind: 'sigv2',
      location: 'query',
      accessKeyId: 'A',
      expiresAt: new Date(NOW + 1),
    };
    assert.equal(isSignatureCurrent(query, [], NOW), true);
    assert.equal(isSignatureCurrent({ ...query, expiresAt: new Date(NOW - 1) }, [], NOW), false);
    const header: SignatureFacts = { kind: 'sigv2', location: 'header', accessKeyId: 'A', expiresAt: null };
    assert.equal(isSignatureCurrent(header, ['Date', new Date(NOW - MIN).toUTCString()], NOW), true);
    assert.equal(
      isSignatureCurrent(header, ['x-amz-date', new Date(NOW - 2 * 86_400_000).toUTCString()], NOW),
      false,
    );
    assert.equal(isSignatureCurrent(header, [], NOW), false);
  });

  test('anonymous and unreadable requests carry nothing current', () => {
    assert.equal(isSignatureCurrent({ kind: 'anonymous' }, [], NOW), false);
    assert.equal(isSignatureCurrent({ kind: 'unreadable', reason: 'x' }, [], NOW), false);
  });
});
