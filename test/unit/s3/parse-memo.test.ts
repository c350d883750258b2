import assert from 'node:assert/strict';
import test from 'node:test';
import { parseHost } from '../../../src/s3/host.js';
import { ParseMemo } from '../../../src/s3/parse-memo.js';

test('a memo parses each text once and answers repeats, the last one or older ones', () => {
  const parsed: string[] = [];
  const memo = new ParseMemo((text) => {
    parsed.push(text);
    return { text };
  });
  const a = memo.get('a');
  assert.equal(memo.get('a'), a);
  const b = memo.get(['b'].join(''));
  assert.equal(memo.get('a'), a, 'an older text is still held');
  assert.equal(memo.get('b'), b);
  assert.deepEqual(parsed, ['a', 'b']);
});

test('a memo starts again past its size, and a text parsed to null stays null', () => {
  let calls = 0;
  const memo = new ParseMemo((text) => {
    calls += 1;
    return text === 'bad' ? null : text.length;
  });
  for (let i = 0; i < 1_500; i++) memo.get(`t${i}`);
  assert.equal(calls, 1_500);
  memo.get('t0');
  assert.equal(calls, 1_501, 't0 was let go when the memo started again');
  assert.equal(memo.get('bad'), null);
  assert.equal(memo.get('bad'), null);
  assert.equal(calls, 1_502);
});

test('a remembered host is shared, so it is frozen', () => {
  const host = parseHost('bucket.s3.amazonaws.com:8080');
  assert.deepEqual(host, { hostname: 'bucket.s3.amazonaws.com', port: 8080, kind: 'dns' });
  assert.equal(parseHost('bucket.s3.amazonaws.com:8080'), host);
  assert.ok(Object.isFrozen(host));
  assert.equal(parseHost('bad host'), null);
});
