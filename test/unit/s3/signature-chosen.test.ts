// What a client chooses to write in its signature: algorithm names an object would inherit, and the
// Authorization fields in any spacing. Whatever it is, the facts are read or the signature is unreadable.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseQuery } from '../../../src/s3/query.js';
import { readSignature } from '../../../src/s3/signature.js';
import type { SignatureFacts } from '../../../src/s3/types.js';

const SIG = 'fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024';
const CRED = 'AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/s3/aws4_request';
const v4 = (params: string) => `AWS4-HMAC-SHA256 ${params}`;
const AMZ_DATE = ['X-Amz-Date', '20240101T120000Z'];
const presignV4 =
  'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request' +
  `&X-Amz-Date=20240101T120000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=${SIG}`;

function read(headers: string[], query = ''): SignatureFacts {
  const params = parseQuery(query);
  assert.ok(params);
  return readSignature(headers, params);
}

describe('readSignature: names a client chooses', () => {
  for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
    it(`an algorithm named ${name} is unreadable, not a failure`, () => {
      const inHeader = read([
        'Authorization',
        `${name} Credential=${CRED}, SignedHeaders=host, Signature=${SIG}`,
      ]);
      assert.deepEqual(inHeader, { kind: 'unreadable', reason: 'unknown Authorization scheme' });
      const inQuery = read(
        [],
        presignV4.replace('X-Amz-Algorithm=AWS4-HMAC-SHA256', `X-Amz-Algorithm=${name}`),
      );
      assert.deepEqual(inQuery, { kind: 'unreadable', reason: 'unknown X-Amz-Algorithm' });
    });
  }
});

describe('readSignature: the Authorization fields', () => {
  /** The fields as `Credential=…, SignedHeaders=…, Signature=…` is defined: pieces split at commas and trimmed. */
  function reference(params: string): Record<string, string> | null {
    const fields: Record<string, string> = {};
    for (const piece of params.split(',')) {
      const part = piece.trim();
      const equals = part.indexOf('=');
      if (equals <= 0) return null;
      const name = part.slice(0, equals);
      if (!['Credential', 'SignedHeaders', 'Signature'].includes(name) || name in fields) return null;
      fields[name] = part.slice(equals + 1);
    }
    return Object.keys(fields).length === 3 ? fields : null;
  }

  it('are read as pieces split at commas and trimmed, for 3,000 generated headers', () => {
    let x = 5;
    const next = (n: number) => {
      x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
      return Math.floor(x / 65_536) % n;
    };
    const names = ['Credential', 'SignedHeaders', 'Signature', 'credential', 'Signatures', 'Sig', ''];
    const values = [CRED, 'host;x-amz-date', SIG, '', 'a=b', ' host', 'host '];
    const pads = ['', ' ', '  ', '\t', '\u00a0', '\u2028', '\ufeff', '\u200b'];
    const field = (name: string, value: string) =>
      `${pads[next(pads.length)]}${name}${next(6) === 0 ? '' : '='}${value}${pads[next(pads.length)]}`;
    for (let i = 0; i < 3000; i++) {
      const count = next(6) === 0 ? next(5) : 3;
      const pieces = Array.from({ length: count }, (_, j) =>
        next(4) === 0
          ? field(names[next(names.length)] as string, values[next(values.length)] as string)
          : field(
              ['Credential', 'SignedHeaders', 'Signature'][j % 3] as string,
              [CRED, 'host;x-amz-date', SIG][j % 3] as string,
            ),
      );
      const params = pieces.join(next(5) === 0 ? ' ,' : ',');
      const facts = read(['Authorization', v4(params), ...AMZ_DATE]);
      const expected = reference(params);
      const unparsed = facts.kind === 'unreadable' && facts.reason.startsWith('Authorization needs exactly');
      assert.equal(unparsed, expected === null, JSON.stringify(params));
      if (expected !== null && facts.kind === 'sigv4') {
        assert.equal(
          `${facts.accessKeyId}/${facts.scope.date}/${facts.scope.region}/${facts.scope.service}/aws4_request`,
          expected.Credential,
        );
        assert.deepEqual(
          [...facts.signedHeaders].join(';'),
          (expected.SignedHeaders as string).toLowerCase(),
        );
      }
    }
  });
});
