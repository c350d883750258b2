import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  completedParts,
  completionVerdict,
  etagPartCount,
  initiatedUploadId,
  isSafeUploadId,
  sameEtag,
} from '../../../src/s3/multipart.js';

describe('isSafeUploadId', () => {
  const cases: [string, boolean][] = [
    ['VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA', true],
    ['2~iCw_lDY8VoUUeMUqw-T0xYxHrKK_n8N', true],
    ['a.b_c-d=', true],
    ['', false],
    ['.', false],
    ['..', false],
    ['../x', false],
    ['a/b', false],
    ['a\\b', false],
    ['x\0y', false],
    ['a b', false],
    ['%2e%2e', false],
    ['x'.repeat(512), true],
    ['x'.repeat(513), false],
  ];
  for (const [id, safe] of cases)
    it(`${JSON.stringify(id.slice(0, 20))} → ${safe}`, () => assert.equal(isSafeUploadId(id), safe));
});

describe('multipart XML', () => {
  it('reads the upload id S3 hands out', () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>k</Key><UploadId>abc.DEF-1</UploadId></InitiateMultipartUploadResult>';
    assert.equal(initiatedUploadId(xml), 'abc.DEF-1');
    assert.equal(initiatedUploadId('<Error><Code>AccessDenied</Code></Error>'), null);
  });

  it('reads a completion part list in order, ETags unescaped, whatever the element order', () => {
    const xml = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
      <Part><ETag>&quot;aa&quot;</ETag><PartNumber>1</PartNumber></Part>
      <Part><PartNumber>2</PartNumber><ChecksumCRC32>x==</ChecksumCRC32><ETag>"bb"</ETag></Part>
    </CompleteMultipartUpload>`;
    assert.deepEqual(completedParts(xml), [
      { partNumber: 1, etag: '"aa"' },
      { partNumber: 2, etag: '"bb"' },
    ]);
  });

  it('refuses a part list it cannot check', () => {
    assert.equal(completedParts('<CompleteMultipartUpload></CompleteMultipartUpload>'), null);
    assert.equal(completedParts('<Part><PartNumber>1</PartNumber></Part>'), null);
    assert.equal(completedParts('<Part><PartNumber>0</PartNumber><ETag>"a"</ETag></Part>'), null);
    assert.equal(completedParts('<Part><PartNumber>10001</PartNumber><ETag>"a"</ETag></Part>'), null);
    assert.equal(completedParts('<Part><PartNumber>x</PartNumber><ETag>"a"</ETag></Part>'), null);
  });

  it('judges a completion answer, an error inside a 200 included', () => {
    const ok =
      '<CompleteMultipartUploadResult><Location>l</Location><ETag>&quot;abc-2&quot;</ETag></CompleteMultipartUploadResult>';
    assert.deepEqual(completionVerdict(200, ok), { ok: true, etag: '"abc-2"' });
    assert.equal(completionVerdict(200, '<Error><Code>InternalError</Code></Error>').ok, false);
    assert.equal(completionVerdict(400, ok).ok, false);
    assert.equal(completionVerdict(200, '').ok, false);
    assert.equal(
      completionVerdict(200, '<CompleteMultipartUploadResult></CompleteMultipartUploadResult>').ok,
      false,
    );
  });

  it('reads the part count of a multipart ETag', () => {
    assert.equal(etagPartCount('"3858f62230ac3c915f300c664312c11f-9"'), 9);
    assert.equal(etagPartCount('3858f62230ac3c915f300c664312c11f-12'), 12);
    assert.equal(etagPartCount('"3858f62230ac3c915f300c664312c11f"'), null);
    assert.equal(etagPartCount('W/"x-1"'), null);
    assert.equal(sameEtag('"ab"', 'ab'), true);
    assert.equal(sameEtag('"ab"', '"ac"'), false);
  });

  it('never throws on numeric entities out of range', () => {
    assert.equal(initiatedUploadId('<UploadId>&#99999999999;</UploadId>'), '\ufffd');
  });
});
