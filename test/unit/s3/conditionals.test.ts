import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ConditionalOutcome,
  type Conditionals,
  etagStrongMatch,
  etagWeakMatch,
  evaluateConditionals,
  hasConditionals,
  readConditionals,
  type Validators,
} from '../../../src/s3/conditionals.js';
import { readHeadersOf } from '../../../src/s3/read-headers.js';

const LM = 'Wed, 21 Oct 2015 07:28:00 GMT';
const BEFORE = 'Wed, 21 Oct 2015 07:27:59 GMT';
const AFTER = 'Wed, 21 Oct 2015 07:28:01 GMT';
const LM_MS = Date.parse(LM);
const V: Validators = { etag: '"abc"', lastModified: LM };

const NONE: Conditionals = {
  ifMatch: null,
  ifNoneMatch: null,
  ifModifiedSince: null,
  ifUnmodifiedSince: null,
  ifRange: null,
};

const PROCEED: ConditionalOutcome = { kind: 'proceed' };
const NOT_MODIFIED: ConditionalOutcome = { kind: 'not-modified' };
const FAILED: ConditionalOutcome = { kind: 'precondition-failed' };
const FORWARD = 'forward';

describe('readConditionals', () => {
  const cases: [string, string[], Partial<Conditionals>][] = [
    ['nothing', [], {}],
    ['If-Match one tag', ['If-Match', '"a"'], { ifMatch: ['"a"'] }],
    ['If-Match list with OWS', ['if-match', ' "a" ,\t"b" '], { ifMatch: ['"a"', '"b"'] }],
    ['comma inside a quoted tag', ['If-Match', '"a,b", W/"c"'], { ifMatch: ['"a,b"', 'W/"c"'] }],
    ['weak tag kept weak', ['If-None-Match', 'W/"x"'], { ifNoneMatch: ['W/"x"'] }],
    ['star', ['If-None-Match', '*'], { ifNoneMatch: ['*'] }],
    ['empty elements skipped', ['If-None-Match', ' , "a" ,, '], { ifNoneMatch: ['"a"'] }],
    [
      'several field lines joined',
      ['If-None-Match', '"a"', 'IF-NONE-MATCH', '"b", "c"'],
      { ifNoneMatch: ['"a"', '"b"', '"c"'] },
    ],
    ['empty field is an empty list', ['If-None-Match', ''], { ifNoneMatch: [] }],
    ['unquoted kept for judging', ['If-Match', 'abc, "d"'], { ifMatch: ['abc', '"d"'] }],
    ['unterminated quote runs to the end', ['If-Match', '"a, "b'], { ifMatch: ['"a, "b'] }],
    ['If-Modified-Since IMF-fixdate', ['If-Modified-Since', LM], { ifModifiedSince: new Date(LM_MS) }],
    [
      'If-Modified-Since rfc850',
      ['If-Modified-Since', 'Wednesday, 21-Oct-15 07:28:00 GMT'],
      { ifModifiedSince: new Date(LM_MS) },
    ],
    [
      'If-Modified-Since asctime',
      ['If-Modified-Since', 'Wed Oct 21 07:28:00 2015'],
      { ifModifiedSince: new Date(LM_MS) },
    ],
    ['date with OWS', ['If-Unmodified-Since', ` ${LM}\t`], { ifUnmodifiedSince: new Date(LM_MS) }],
    ['invalid date ignored', ['If-Modified-Since', 'yesterday'], {}],
    ['impossible date ignored', ['If-Unmodified-Since', 'Sat, 31 Feb 2015 07:28:00 GMT'], {}],
    ['repeated date ignored', ['If-Modified-Since', LM, 'If-Modified-Since', LM], {}],
    ['If-Range with Range', ['Range', 'bytes=0-1', 'If-Range', ' "abc" '], { ifRange: '"abc"' }],
    ['If-Range without Range ignored', ['If-Range', '"abc"'], {}],
  ];
  for (const [name, headers, expected] of cases) {
    it(name, () => assert.deepEqual(readConditionals(readHeadersOf(headers)), { ...NONE, ...expected }));
  }
});

describe('hasConditionals', () => {
  const cases: [string[], boolean][] = [
    [[], false],
    [['Range', 'bytes=0-1'], false],
    [['If-Range', '"a"'], false],
    [['If-Modified-Since', 'garbage'], false],
    [['If-Match', '*'], true],
    [['If-None-Match', '"a"'], true],
    [['If-Modified-Since', LM], true],
    [['If-Unmodified-Since', LM], true],
    [['Range', 'bytes=0-1', 'If-Range', LM], true],
  ];
  for (const [headers, expected] of cases) {
    it(JSON.stringify(headers), () =>
      assert.equal(hasConditionals(readConditionals(readHeadersOf(headers))), expected),
    );
  }
});

describe('entity-tag comparison (RFC 9110 §8.8.3.2)', () => {
  const cases: [string, string, boolean, boolean][] = [
    ['W/"1"', 'W/"1"', false, true],
    ['W/"1"', 'W/"2"', false, false],
    ['W/"1"', '"1"', false, true],
    ['"1"', 'W/"1"', false, true],
    ['"1"', '"1"', true, true],
    ['"1"', '"2"', false, false],
    ['"a,b"', '"a,b"', true, true],
    ['"abc"', '"ABC"', false, false],
  ];
  for (const [a, b, strong, weak] of cases) {
    it(`${a} vs ${b}`, () => {
      assert.equal(etagStrongMatch(a, b), strong);
      assert.equal(etagWeakMatch(a, b), weak);
    });
  }
});

describe('evaluateConditionals', () => {
  interface Case {
    name: string;
    headers: string[];
    expected: ConditionalOutcome | typeof FORWARD;
    validators?: Validators;
    method?: 'GET' | 'HEAD';
  }
  const cases: Case[] = [
    { name: 'no conditionals', headers: [], expected: PROCEED },
    { name: 'Range alone', headers: ['Range', 'bytes=0-9'], expected: PROCEED },
    // Step 1: If-Match, strong comparison.
    { name: 'If-Match equal', headers: ['If-Match', '"abc"'], expected: PROCEED },
    { name: 'If-Match different', headers: ['If-Match', '"xyz"'], expected: FAILED },
    { name: 'If-Match different on HEAD', headers: ['If-Match', '"xyz"'], expected: FAILED, method: 'HEAD' },
    { name: 'If-Match list with a match', headers: ['If-Match', '"xyz", "abc"'], expected: PROCEED },
    { name: 'If-Match *', headers: ['If-Match', '*'], expected: PROCEED },
    { name: 'If-Match weak never matches', headers: ['If-Match', 'W/"abc"'], expected: FAILED },
    {
      name: 'If-Match against a weak cached tag',
      headers: ['If-Match', '"abc"'],
      validators: { etag: 'W/"abc"', lastModified: LM },
      expected: FAILED,
    },
    { name: 'If-Match unquoted', headers: ['If-Match', 'abc'], expected: FORWARD },
    { name: 'If-Match * in a list', headers: ['If-Match', '*, "abc"'], expected: FORWARD },
    { name: 'If-Match empty', headers: ['If-Match', ''], expected: FORWARD },
    { name: 'If-Match two tags without comma', headers: ['If-Match', '"abc" "x"'], expected: FORWARD },
    {
      name: 'cached ETag not an entity-tag',
      headers: ['If-Match', '"abc"'],
      validators: { etag: 'abc', lastModified: LM },
      expected: FORWARD,
    },
    {
      name: 'If-Match * with an odd cached ETag',
      headers: ['If-Match', '*'],
      validators: { etag: 'abc', lastModified: LM },
      expected: PROCEED,
    },
    // Step 2: If-Unmodified-Since, only without If-Match.
    { name: 'IUS after Last-Modified', headers: ['If-Unmodified-Since', AFTER], expected: PROCEED },
    { name: 'IUS equal to Last-Modified', headers: ['If-Unmodified-Since', LM], expected: PROCEED },
    { name: 'IUS before Last-Modified', headers: ['If-Unmodified-Since', BEFORE], expected: FAILED },
    { name: 'IUS invalid is ignored', headers: ['If-Unmodified-Since', 'soon'], expected: PROCEED },
    {
      name: 'IUS ignored when If-Match passes',
      headers: ['If-Match', '"abc"', 'If-Unmodified-Since', BEFORE],
      expected: PROCEED,
    },
    {
      name: 'If-Match fails even when IUS passes',
      headers: ['If-Match', '"xyz"', 'If-Unmodified-Since', AFTER],
      expected: FAILED,
    },
    {
      name: 'IUS without Last-Modified',
      headers: ['If-Unmodified-Since', AFTER],
      validators: { etag: '"abc"', lastModified: null },
      expected: FORWARD,
    },
    {
      name: 'IUS with an unreadable Last-Modified',
      headers: ['If-Unmodified-Since', AFTER],
      validators: { etag: '"abc"', lastModified: 'yesterday' },
      expected: FORWARD,
    },
    {
      name: 'If-Match decides before a missing Last-Modified matters',
      headers: ['If-Match', '"abc"', 'If-Unmodified-Since', AFTER],
      validators: { etag: '"abc"', lastModified: null },
      expected: PROCEED,
    },
    // Step 3: If-None-Match, weak comparison.
    { name: 'INM equal on GET', headers: ['If-None-Match', '"abc"'], expected: NOT_MODIFIED },
    {
      name: 'INM equal on HEAD',
      headers: ['If-None-Match', '"abc"'],
      expected: NOT_MODIFIED,
      method: 'HEAD',
    },
    { name: 'INM weak matches weakly', headers: ['If-None-Match', 'W/"abc"'], expected: NOT_MODIFIED },
    { name: 'INM different', headers: ['If-None-Match', '"xyz"'], expected: PROCEED },
    { name: 'INM *', headers: ['If-None-Match', '*'], expected: NOT_MODIFIED },
    { name: 'INM list with a match', headers: ['If-None-Match', '"xyz", "abc"'], expected: NOT_MODIFIED },
    {
      name: 'INM over two field lines',
      headers: ['If-None-Match', '"x"', 'If-None-Match', '"abc"'],
      expected: NOT_MODIFIED,
    },
    {
      name: 'INM comma inside the tag matches whole',
      headers: ['If-None-Match', '"a,b"'],
      validators: { etag: '"a,b"', lastModified: LM },
      expected: NOT_MODIFIED,
    },
    {
      name: 'INM comma inside the tag is not two tags',
      headers: ['If-None-Match', '"a,b"'],
      validators: { etag: '"a"', lastModified: LM },
      expected: PROCEED,
    },
    { name: 'INM unquoted', headers: ['If-None-Match', 'abc'], expected: FORWARD },
    { name: 'INM empty', headers: ['If-None-Match', ''], expected: FORWARD },
    // Step 4: If-Modified-Since, only without If-None-Match.
    { name: 'IMS equal to Last-Modified', headers: ['If-Modified-Since', LM], expected: NOT_MODIFIED },
    { name: 'IMS after Last-Modified', headers: ['If-Modified-Since', AFTER], expected: NOT_MODIFIED },
    { name: 'IMS before Last-Modified', headers: ['If-Modified-Since', BEFORE], expected: PROCEED },
    {
      name: 'IMS in rfc850 form',
      headers: ['If-Modified-Since', 'Wednesday, 21-Oct-15 07:28:00 GMT'],
      expected: NOT_MODIFIED,
    },
    { name: 'IMS invalid is ignored', headers: ['If-Modified-Since', '21 Oct 2015'], expected: PROCEED },
    {
      name: 'IMS ignored when INM does not match',
      headers: ['If-None-Match', '"xyz"', 'If-Modified-Since', AFTER],
      expected: PROCEED,
    },
    {
      name: 'INM match wins over a modified IMS',
      headers: ['If-None-Match', '"abc"', 'If-Modified-Since', BEFORE],
      expected: NOT_MODIFIED,
    },
    {
      name: 'IMS without Last-Modified',
      headers: ['If-Modified-Since', LM],
      validators: { etag: '"abc"', lastModified: null },
      expected: FORWARD,
    },
    {
      name: 'INM decides before a missing Last-Modified matters',
      headers: ['If-None-Match', '"xyz"', 'If-Modified-Since', LM],
      validators: { etag: '"abc"', lastModified: null },
      expected: PROCEED,
    },
    // Precedence between the steps.
    {
      name: '412 from If-Match before 304 from INM',
      headers: ['If-Match', '"xyz"', 'If-None-Match', '"abc"'],
      expected: FAILED,
    },
    {
      name: '412 from IUS before 304 from IMS',
      headers: ['If-Unmodified-Since', BEFORE, 'If-Modified-Since', AFTER],
      expected: FAILED,
    },
    {
      name: 'If-Match passes, INM matches: 304',
      headers: ['If-Match', '"abc"', 'If-None-Match', '"abc"'],
      expected: NOT_MODIFIED,
    },
    {
      name: 'IUS passes, IMS not modified: 304',
      headers: ['If-Unmodified-Since', AFTER, 'If-Modified-Since', LM],
      expected: NOT_MODIFIED,
    },
    {
      name: 'a malformed If-Match forwards even beside INM',
      headers: ['If-Match', 'x', 'If-None-Match', '"abc"'],
      expected: FORWARD,
    },
    // If-Range (§13.1.5): S3 decides; without a Range it is ignored.
    { name: 'If-Range with Range', headers: ['Range', 'bytes=0-9', 'If-Range', '"abc"'], expected: FORWARD },
    { name: 'If-Range date with Range', headers: ['Range', 'bytes=0-9', 'If-Range', LM], expected: FORWARD },
    {
      name: 'If-Range forwards even when If-Match fails',
      headers: ['Range', 'bytes=0-9', 'If-Range', '"abc"', 'If-Match', '"xyz"'],
      expected: FORWARD,
    },
    { name: 'If-Range without Range', headers: ['If-Range', '"xyz"'], expected: PROCEED },
    {
      name: 'If-Range without Range leaves INM to decide',
      headers: ['If-Range', '"xyz"', 'If-None-Match', '"abc"'],
      expected: NOT_MODIFIED,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const outcome = evaluateConditionals(
        readConditionals(readHeadersOf(c.headers)),
        c.validators ?? V,
        c.method ?? 'GET',
      );
      if (c.expected === FORWARD) {
        assert.equal(outcome.kind, 'forward');
        assert.ok(outcome.kind === 'forward' && outcome.reason.length > 0);
      } else {
        assert.deepEqual(outcome, c.expected);
      }
    });
  }

  it('compares whole seconds', () => {
    // Sub-second parts of a date never decide: HTTP-dates cannot carry them (RFC 9110 §5.6.7).
    const at = (ms: number, field: 'ifModifiedSince' | 'ifUnmodifiedSince'): ConditionalOutcome =>
      evaluateConditionals({ ...NONE, [field]: new Date(ms) }, V, 'GET');
    assert.deepEqual(at(LM_MS + 999, 'ifModifiedSince'), NOT_MODIFIED);
    assert.deepEqual(at(LM_MS - 1, 'ifModifiedSince'), PROCEED);
    assert.deepEqual(at(LM_MS - 1000, 'ifModifiedSince'), PROCEED);
    assert.deepEqual(at(LM_MS + 999, 'ifUnmodifiedSince'), PROCEED);
    assert.deepEqual(at(LM_MS - 1, 'ifUnmodifiedSince'), FAILED);
  });
});
