import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  connectionListed,
  HOP_BY_HOP,
  hasHeader,
  headerValue,
  headerValues,
} from '../../../src/s3/headers.js';

const raw = [
  'Host',
  'b.s3.amazonaws.com',
  'X-Amz-Meta-A',
  'one',
  'x-amz-meta-a',
  'two',
  'Empty',
  '',
  'Connection',
  'keep-alive, X-Secret , ,Upgrade',
  'CONNECTION',
  'close',
];

describe('headerValues / headerValue / hasHeader', () => {
  const cases: [string, string[]][] = [
    ['host', ['b.s3.amazonaws.com']],
    ['HOST', ['b.s3.amazonaws.com']],
    ['x-amz-meta-a', ['one', 'two']],
    ['X-AMZ-META-A', ['one', 'two']],
    ['empty', ['']],
    ['missing', []],
    ['b.s3.amazonaws.com', []],
    ['', []],
  ];
  for (const [name, values] of cases) {
    it(`${JSON.stringify(name)} → ${JSON.stringify(values)}`, () => {
      assert.deepEqual(headerValues(raw, name), values);
      assert.equal(headerValue(raw, name), values[0]);
      assert.equal(hasHeader(raw, name), values.length > 0);
    });
  }

  it('ignores a dangling name without a value', () => {
    assert.deepEqual(headerValues(['Range', 'bytes=0-1', 'Range'], 'range'), ['bytes=0-1']);
    assert.equal(headerValue(['Range'], 'range'), undefined);
  });

  it('finds nothing in an empty array', () => {
    assert.deepEqual(headerValues([], 'host'), []);
    assert.equal(headerValue([], 'host'), undefined);
  });
});

describe('connectionListed', () => {
  const cases: [string[], string[]][] = [
    [[], []],
    [['Connection', 'close'], ['close']],
    [
      ['connection', 'Keep-Alive, TE'],
      ['keep-alive', 'te'],
    ],
    [raw, ['keep-alive', 'x-secret', 'upgrade', 'close']],
    [['Connection', ' , ,, '], []],
    [['Proxy-Connection', 'x-foo'], []],
  ];
  for (const [headers, listed] of cases) {
    it(`${JSON.stringify(headers)}`, () => {
      assert.deepEqual([...connectionListed(headers)], listed);
    });
  }
});

describe('HOP_BY_HOP', () => {
  const hop = [
    'connection',
    'keep-alive',
    'proxy-connection',
    'proxy-authenticate',
    'proxy-authorization',
    'te',
    'trailer',
    'transfer-encoding',
    'upgrade',
  ];
  it('holds exactly the hop-by-hop fields', () => {
    assert.deepEqual([...HOP_BY_HOP].sort(), [...hop].sort());
  });
  for (const endToEnd of [
    'host',
    'authorization',
    'range',
    'content-length',
    'x-amz-date',
    'if-none-match',
  ]) {
    it(`does not hold ${endToEnd}`, () => {
      assert.equal(HOP_BY_HOP.has(endToEnd), false);
    });
  }
});
