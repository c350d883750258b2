import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseQuery, percentDecode, splitTarget } from '../../../src/s3/query.js';
import type { QueryParam } from '../../../src/s3/types.js';

describe('splitTarget', () => {
  const cases: [string, ReturnType<typeof splitTarget>][] = [
    ['/', { rawPath: '/', rawQuery: null, authority: null, scheme: null }],
    ['/b/k', { rawPath: '/b/k', rawQuery: null, authority: null, scheme: null }],
    ['/b/k?', { rawPath: '/b/k', rawQuery: '', authority: null, scheme: null }],
    ['/b/k?a=1&b', { rawPath: '/b/k', rawQuery: 'a=1&b', authority: null, scheme: null }],
    ['/b/k?a=?b', { rawPath: '/b/k', rawQuery: 'a=?b', authority: null, scheme: null }],
    ['/b/a%20b+c', { rawPath: '/b/a%20b+c', rawQuery: null, authority: null, scheme: null }],
    [
      '/b/../../etc/passwd',
      { rawPath: '/b/../../etc/passwd', rawQuery: null, authority: null, scheme: null },
    ],
    ['//double', { rawPath: '//double', rawQuery: null, authority: null, scheme: null }],
    ['/k%ZZ', { rawPath: '/k%ZZ', rawQuery: null, authority: null, scheme: null }],
    ['http://h/b/k?x', { rawPath: '/b/k', rawQuery: 'x', authority: 'h', scheme: 'http' }],
    ['HTTP://H:9000/b', { rawPath: '/b', rawQuery: null, authority: 'H:9000', scheme: 'http' }],
    [
      'https://bucket.s3.amazonaws.com/k',
      { rawPath: '/k', rawQuery: null, authority: 'bucket.s3.amazonaws.com', scheme: 'https' },
    ],
    ['http://h', { rawPath: '/', rawQuery: null, authority: 'h', scheme: 'http' }],
    ['http://h?list-type=2', { rawPath: '/', rawQuery: 'list-type=2', authority: 'h', scheme: 'http' }],
    ['http://[::1]:9000/b/k', { rawPath: '/b/k', rawQuery: null, authority: '[::1]:9000', scheme: 'http' }],
    ['http://user@h/b', { rawPath: '/b', rawQuery: null, authority: 'user@h', scheme: 'http' }],
    ['http:///b', { rawPath: '/b', rawQuery: null, authority: '', scheme: 'http' }],
    ['*', null],
    ['', null],
    ['h:443', null],
    ['ftp://h/b', null],
    ['http:/h/b', null],
    ['b/k', null],
    ['/b/k#frag', null],
    ['/b/k v', null],
    ['/b/k\r\nX-Injected: 1', null],
    ['/b/k\u0000', null],
    ['/b/k\u007f', null],
    ['/b/kü', null],
    ['http://h/b\tk', null],
  ];
  for (const [target, expected] of cases) {
    it(`${JSON.stringify(target)}`, () => {
      assert.deepEqual(splitTarget(target), expected);
    });
  }
});

describe('percentDecode', () => {
  const cases: [string, string | null][] = [
    ['', ''],
    ['plain', 'plain'],
    ['a%20b', 'a b'],
    ['a+b', 'a+b'],
    ['a%2Bb', 'a+b'],
    ['a%2fb', 'a/b'],
    ['%2e%2e%2f', '../'],
    ['%E6%97%A5%E6%9C%AC', '日本'],
    ['%F0%9F%98%80', '😀'],
    ['%00', '\u0000'],
    ['%0D%0A', '\r\n'],
    ['%25', '%'],
    ['%2525', '%25'],
    ['%', null],
    ['%2', null],
    ['%G0', null],
    ['%zz', null],
    ['abc%', null],
    ['%C3', null],
    ['%C3%28', null],
    ['%FF', null],
    ['%ED%A0%80', null],
    ['%C0%AF', null],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(percentDecode(input), expected);
    });
  }
});

describe('parseQuery', () => {
  const p = (name: string, value = ''): QueryParam => ({ name, value });
  const cases: [string | null, QueryParam[] | null][] = [
    [null, []],
    ['', []],
    ['&&&', []],
    ['uploads', [p('uploads')]],
    ['uploads=', [p('uploads')]],
    ['a=1&b=2', [p('a', '1'), p('b', '2')]],
    ['a=1&&b=2&', [p('a', '1'), p('b', '2')]],
    ['a=1=2', [p('a', '1=2')]],
    ['=v', [p('', 'v')]],
    ['a=x+y', [p('a', 'x+y')]],
    ['a=x%20y', [p('a', 'x y')]],
    ['a%5Bb%5D=1', [p('a[b]', '1')]],
    ['a=1&a=2', [p('a', '1'), p('a', '2')]],
    [
      'X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fs3%2Faws4_request',
      [p('X-Amz-Credential', 'AKID/20240101/us-east-1/s3/aws4_request')],
    ],
    [
      'response-content-disposition=attachment%3B%20filename%3D%22a.txt%22',
      [p('response-content-disposition', 'attachment; filename="a.txt"')],
    ],
    ['a=%', null],
    ['%=a', null],
    ['ok=1&bad=%E0%A4', null],
    ['a=%FF', null],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)}`, () => {
      assert.deepEqual(parseQuery(input), expected);
    });
  }
});
