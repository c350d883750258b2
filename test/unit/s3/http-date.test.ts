import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAmzDate, parseHttpDate } from '../../../src/s3/http-date.js';

describe('parseAmzDate', () => {
  const cases: [string, string | null][] = [
    ['20240101T120000Z', '2024-01-01T12:00:00.000Z'],
    ['20240229T235959Z', '2024-02-29T23:59:59.000Z'],
    ['19700101T000000Z', '1970-01-01T00:00:00.000Z'],
    ['20230229T000000Z', null],
    ['20241301T000000Z', null],
    ['20240100T000000Z', null],
    ['20240101T240000Z', null],
    ['20240101T126000Z', null],
    ['20240101T120060Z', null],
    ['20240101T120000', null],
    ['20240101t120000z', null],
    ['2024-01-01T12:00:00Z', null],
    ['20240101T120000.000Z', null],
    [' 20240101T120000Z', null],
    ['00500101T000000Z', null],
    ['', null],
  ];
  for (const [text, expected] of cases) {
    it(JSON.stringify(text), () => {
      assert.equal(parseAmzDate(text)?.toISOString() ?? null, expected);
    });
  }
  it('the same text twice (the last one is kept): equal dates, each its own', () => {
    const first = parseAmzDate('20240101T120000Z') as Date;
    first.setTime(0);
    const second = parseAmzDate('20240101T120000Z') as Date;
    assert.equal(second.toISOString(), '2024-01-01T12:00:00.000Z');
    assert.notEqual(first, second);
    assert.equal(parseAmzDate('20240230T000000Z'), null);
    assert.equal(parseAmzDate('20240230T000000Z'), null);
  });
});

describe('parseHttpDate', () => {
  const now = Date.UTC(2024, 5, 1);
  const cases: [string, string | null][] = [
    ['Sun, 06 Nov 1994 08:49:37 GMT', '1994-11-06T08:49:37.000Z'],
    ['Mon, 01 Jan 2024 12:00:00 GMT', '2024-01-01T12:00:00.000Z'],
    ['Sunday, 06-Nov-94 08:49:37 GMT', '1994-11-06T08:49:37.000Z'],
    ['Monday, 01-Jan-24 12:00:00 GMT', '2024-01-01T12:00:00.000Z'],
    ['Monday, 01-Jan-74 12:00:00 GMT', '2074-01-01T12:00:00.000Z'],
    ['Monday, 01-Jan-75 12:00:00 GMT', '1975-01-01T12:00:00.000Z'],
    ['Sun Nov  6 08:49:37 1994', '1994-11-06T08:49:37.000Z'],
    ['Sun Nov 16 08:49:37 1994', '1994-11-16T08:49:37.000Z'],
    ['Sun, 06 Nov 1994 08:49:37 UTC', null],
    ['Sun, 6 Nov 1994 08:49:37 GMT', null],
    ['sun, 06 nov 1994 08:49:37 GMT', null],
    ['Sun, 06 Foo 1994 08:49:37 GMT', null],
    ['Sun, 31 Feb 1994 08:49:37 GMT', null],
    ['Sun, 06 Nov 1994 25:49:37 GMT', null],
    ['Sun, 06 Nov 1994 08:49:60 GMT', null],
    ['Sun,  06 Nov 1994 08:49:37 GMT', null],
    ['1994-11-06T08:49:37Z', null],
    ['784111777', null],
    ['', null],
  ];
  for (const [text, expected] of cases) {
    it(JSON.stringify(text), () => {
      assert.equal(parseHttpDate(text, now)?.toISOString() ?? null, expected);
    });
  }
});
