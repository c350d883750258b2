import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseQuery } from '../../../src/s3/query.js';
import { isHeaderSigned, readSignature } from '../../../src/s3/signature.js';
import type { SignatureFacts } from '../../../src/s3/types.js';

const SIG = 'fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024';
const CRED = 'AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/s3/aws4_request';
const CRED_A = 'AKIAIOSFODNN7EXAMPLE/20240101/s3/aws4_request';
const v4 = (params: string) => `AWS4-HMAC-SHA256 ${params}`;
const standard = v4(`Credential=${CRED}, SignedHeaders=host;range;x-amz-date, Signature=${SIG}`);
const AMZ_DATE = ['X-Amz-Date', '20240101T120000Z'];
const at = (iso: string) => new Date(iso);

function read(headers: string[], query = ''): SignatureFacts {
  const params = parseQuery(query);
  assert.ok(params);
  return readSignature(headers, params);
}

const v4Base = {
  kind: 'sigv4',
  location: 'header',
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  date: at('2024-01-01T12:00:00Z'),
  scope: { date: '20240101', region: 'us-east-1', service: 's3' },
  regionSet: null,
  signedHeaders: new Set(['host', 'range', 'x-amz-date']),
  expiresAt: null,
  payloadHash: null,
} as const;

const presignV4 =
  'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request' +
  `&X-Amz-Date=20240101T120000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=${SIG}`;

describe('readSignature: readable', () => {
  const cases: [string, string[], string, SignatureFacts][] = [
    ['anonymous', ['Host', 'h'], '', { kind: 'anonymous' }],
    ['anonymous with unrelated query', [], 'list-type=2&Expires=5', { kind: 'anonymous' }],
    ['SigV4 header', ['Authorization', standard, ...AMZ_DATE], '', v4Base],
    [
      'SigV4 header, no spaces after commas, payload hash',
      [
        'authorization',
        v4(`Credential=${CRED},SignedHeaders=host;range;x-amz-date,Signature=${SIG}`),
        'x-amz-date',
        '20240101T120000Z',
        'X-Amz-Content-Sha256',
        'UNSIGNED-PAYLOAD',
      ],
      '',
      { ...v4Base, payloadHash: 'UNSIGNED-PAYLOAD' },
    ],
    [
      'SigV4 header, extra spaces, any order, upper-case SignedHeaders',
      [
        'Authorization',
        v4(`  Signature=${SIG} ,   SignedHeaders=Host;RANGE;x-amz-date ,Credential=${CRED}  `),
        ...AMZ_DATE,
      ],
      '',
      v4Base,
    ],
    [
      'SigV4 header with Date instead of X-Amz-Date',
      ['Authorization', standard, 'Date', 'Mon, 01 Jan 2024 12:00:00 GMT'],
      '',
      v4Base,
    ],
    ['SigV4 header without any date', ['Authorization', standard], '', { ...v4Base, date: null }],
    [
      'SigV4 header with malformed X-Amz-Date does not fall back to Date',
      [
        'Authorization',
        standard,
        'X-Amz-Date',
        '2024-01-01T12:00:00Z',
        'Date',
        'Mon, 01 Jan 2024 12:00:00 GMT',
      ],
      '',
      { ...v4Base, date: null },
    ],
    [
      'SigV4 header with two X-Amz-Date',
      ['Authorization', standard, ...AMZ_DATE, ...AMZ_DATE],
      '',
      { ...v4Base, date: null },
    ],
    [
      'SigV4 header for another service and a custom region',
      [
        'Authorization',
        v4(`Credential=minio/20240101/garage/s3express/aws4_request, SignedHeaders=host, Signature=${SIG}`),
        ...AMZ_DATE,
      ],
      '',
      {
        ...v4Base,
        accessKeyId: 'minio',
        scope: { date: '20240101', region: 'garage', service: 's3express' },
        signedHeaders: new Set(['host']),
      },
    ],
    [
      'SigV4A header',
      [
        'Authorization',
        `AWS4-ECDSA-P256-SHA256 Credential=${CRED_A}, SignedHeaders=host;x-amz-region-set, Signature=3045022100ab`,
        'X-Amz-Region-Set',
        'us-east-1, us-west-2',
        ...AMZ_DATE,
      ],
      '',
      {
        ...v4Base,
        kind: 'sigv4a',
        scope: { date: '20240101', region: null, service: 's3' },
        regionSet: ['us-east-1', 'us-west-2'],
        signedHeaders: new Set(['host', 'x-amz-region-set']),
      },
    ],
    [
      'SigV4 presigned',
      ['Host', 'h'],
      presignV4,
      {
        ...v4Base,
        location: 'query',
        signedHeaders: new Set(['host']),
        expiresAt: at('2024-01-01T13:00:00Z'),
      },
    ],
    [
      'SigV4 presigned with token and zero expiry',
      [],
      `${presignV4.replace('X-Amz-Expires=3600', 'X-Amz-Expires=0')}&X-Amz-Security-Token=t`,
      {
        ...v4Base,
        location: 'query',
        signedHeaders: new Set(['host']),
        expiresAt: at('2024-01-01T12:00:00Z'),
      },
    ],
    [
      'SigV4 presigned for seven days',
      [],
      presignV4.replace('X-Amz-Expires=3600', 'X-Amz-Expires=604800'),
      {
        ...v4Base,
        location: 'query',
        signedHeaders: new Set(['host']),
        expiresAt: at('2024-01-08T12:00:00Z'),
      },
    ],
    [
      'SigV4A presigned',
      [],
      `X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256&X-Amz-Credential=${encodeURIComponent(CRED_A)}` +
        '&X-Amz-Date=20240101T120000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host' +
        '&X-Amz-Signature=30450221&X-Amz-Region-Set=*',
      {
        ...v4Base,
        kind: 'sigv4a',
        location: 'query',
        scope: { date: '20240101', region: null, service: 's3' },
        regionSet: ['*'],
        signedHeaders: new Set(['host']),
        expiresAt: at('2024-01-01T12:01:00Z'),
      },
    ],
    [
      'SigV2 header',
      ['Authorization', 'AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg='],
      '',
      { kind: 'sigv2', location: 'header', accessKeyId: 'AKIAIOSFODNN7EXAMPLE', expiresAt: null },
    ],
    [
      'SigV2 presigned',
      [],
      'AWSAccessKeyId=AKID&Expires=1700000000&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D',
      { kind: 'sigv2', location: 'query', accessKeyId: 'AKID', expiresAt: at('2023-11-14T22:13:20Z') },
    ],
  ];
  for (const [name, headers, query, expected] of cases) {
    it(name, () => {
      assert.deepEqual(read(headers, query), expected);
    });
  }
});

describe('readSignature: unreadable', () => {
  const header = (value: string) => ['Authorization', value, ...AMZ_DATE];
  const cases: [string, string[], string][] = [
    ['empty Authorization', header(''), ''],
    ['Bearer token', header('Bearer abc'), ''],
    ['lower-case algorithm', header(standard.toLowerCase()), ''],
    ['algorithm only', header('AWS4-HMAC-SHA256'), ''],
    ['two Authorization headers', [...header(standard), 'authorization', standard], ''],
    ['header and presigned query', header(standard), presignV4],
    ['header and V2 query', header(standard), 'AWSAccessKeyId=A&Expires=1&Signature=s'],
    ['V4 and V2 presign together', [], `${presignV4}&AWSAccessKeyId=A&Expires=1&Signature=s`],
    ['missing Signature', header(v4(`Credential=${CRED}, SignedHeaders=host`)), ''],
    ['missing SignedHeaders', header(v4(`Credential=${CRED}, Signature=${SIG}`)), ''],
    [
      'unknown component',
      header(v4(`Credential=${CRED}, SignedHeaders=host, Signature=${SIG}, Extra=1`)),
      '',
    ],
    ['repeated component', header(v4(`Credential=${CRED}, Credential=${CRED}, Signature=${SIG}`)), ''],
    ['component without =', header(v4(`Credential=${CRED}, SignedHeaders, Signature=${SIG}`)), ''],
    ['space instead of comma', header(v4(`Credential=${CRED} SignedHeaders=host Signature=${SIG}`)), ''],
    ['trailing comma', header(v4(`Credential=${CRED}, SignedHeaders=host, Signature=${SIG},`)), ''],
    ['non-hex signature', header(v4(`Credential=${CRED}, SignedHeaders=host, Signature=xyz`)), ''],
    ['empty signature', header(v4(`Credential=${CRED}, SignedHeaders=host, Signature=`)), ''],
    ['empty SignedHeaders', header(v4(`Credential=${CRED}, SignedHeaders=, Signature=${SIG}`)), ''],
    [
      'empty SignedHeaders entry',
      header(v4(`Credential=${CRED}, SignedHeaders=host;;range, Signature=${SIG}`)),
      '',
    ],
    [
      'SignedHeaders with space',
      header(v4(`Credential=${CRED}, SignedHeaders=host; range, Signature=${SIG}`)),
      '',
    ],
    [
      'SignedHeaders with injected CRLF',
      header(v4(`Credential=${CRED}, SignedHeaders=host\r\nx-evil, Signature=${SIG}`)),
      '',
    ],
    [
      'credential too short',
      header(v4(`Credential=AKID/20240101/s3/aws4_request, SignedHeaders=host, Signature=${SIG}`)),
      '',
    ],
    [
      'credential bad terminator',
      header(v4(`Credential=AKID/20240101/us-east-1/s3/aws4, SignedHeaders=host, Signature=${SIG}`)),
      '',
    ],
    [
      'credential bad date',
      header(v4(`Credential=AKID/20241301/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${SIG}`)),
      '',
    ],
    [
      'credential short date',
      header(v4(`Credential=AKID/2024011/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${SIG}`)),
      '',
    ],
    [
      'credential empty key',
      header(v4(`Credential=/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${SIG}`)),
      '',
    ],
    [
      'credential empty region',
      header(v4(`Credential=AKID/20240101//s3/aws4_request, SignedHeaders=host, Signature=${SIG}`)),
      '',
    ],
    [
      'SigV4A with a SigV4 credential',
      [
        ...header(`AWS4-ECDSA-P256-SHA256 Credential=${CRED}, SignedHeaders=host, Signature=ab`),
        'X-Amz-Region-Set',
        '*',
      ],
      '',
    ],
    [
      'SigV4A without region set',
      header(`AWS4-ECDSA-P256-SHA256 Credential=${CRED_A}, SignedHeaders=host, Signature=ab`),
      '',
    ],
    [
      'SigV4A with empty region in set',
      [
        ...header(`AWS4-ECDSA-P256-SHA256 Credential=${CRED_A}, SignedHeaders=host, Signature=ab`),
        'X-Amz-Region-Set',
        'us-east-1,',
      ],
      '',
    ],
    ['SigV2 header without colon', header('AWS AKIDsignature'), ''],
    ['SigV2 header empty key', header('AWS :sig='), ''],
    ['SigV2 header empty signature', header('AWS AKID:'), ''],
    ['SigV2 header with space', header('AWS AKID:si g'), ''],
    ['presign missing X-Amz-Date', [], presignV4.replace('&X-Amz-Date=20240101T120000Z', '')],
    ['presign missing X-Amz-Expires', [], presignV4.replace('&X-Amz-Expires=3600', '')],
    ['presign missing X-Amz-SignedHeaders', [], presignV4.replace('&X-Amz-SignedHeaders=host', '')],
    ['presign only signature', [], `X-Amz-Signature=${SIG}`],
    ['presign only algorithm', [], 'X-Amz-Algorithm=AWS4-HMAC-SHA256'],
    ['presign in lower case', [], presignV4.toLowerCase()],
    ['presign with one name in wrong case', [], presignV4.replace('X-Amz-Signature', 'x-amz-signature')],
    ['presign unknown algorithm', [], presignV4.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA512')],
    ['presign date without Z', [], presignV4.replace('20240101T120000Z', '20240101T120000')],
    ['presign date extended format', [], presignV4.replace('20240101T120000Z', '2024-01-01T12%3A00%3A00Z')],
    ['presign impossible date', [], presignV4.replace('20240101T120000Z', '20240230T120000Z')],
    ['presign hour 24', [], presignV4.replace('20240101T120000Z', '20240101T240000Z')],
    ['presign expires over a week', [], presignV4.replace('X-Amz-Expires=3600', 'X-Amz-Expires=604801')],
    [
      'presign expires huge',
      [],
      presignV4.replace('X-Amz-Expires=3600', 'X-Amz-Expires=99999999999999999999'),
    ],
    ['presign expires negative', [], presignV4.replace('X-Amz-Expires=3600', 'X-Amz-Expires=-1')],
    ['presign expires decimal', [], presignV4.replace('X-Amz-Expires=3600', 'X-Amz-Expires=1.5')],
    ['presign expires empty', [], presignV4.replace('X-Amz-Expires=3600', 'X-Amz-Expires=')],
    ['presign duplicate signature', [], `${presignV4}&X-Amz-Signature=${SIG}`],
    ['presign duplicate date', [], `${presignV4}&X-Amz-Date=20240101T120000Z`],
    [
      'presign SigV4A without region set',
      [],
      presignV4.replace('AWS4-HMAC-SHA256', 'AWS4-ECDSA-P256-SHA256'),
    ],
    ['V2 presign missing Expires', [], 'AWSAccessKeyId=A&Signature=s'],
    ['V2 presign missing key', [], 'Expires=1&Signature=s'],
    ['V2 presign missing signature', [], 'AWSAccessKeyId=A&Expires=1'],
    ['V2 presign bad Expires', [], 'AWSAccessKeyId=A&Expires=tomorrow&Signature=s'],
    ['V2 presign huge Expires', [], 'AWSAccessKeyId=A&Expires=99999999999999&Signature=s'],
    ['V2 presign duplicate key', [], 'AWSAccessKeyId=A&AWSAccessKeyId=B&Expires=1&Signature=s'],
  ];
  for (const [name, headers, query] of cases) {
    it(name, () => {
      const facts = read(headers, query);
      assert.equal(facts.kind, 'unreadable', JSON.stringify(facts));
      assert.ok(facts.kind === 'unreadable' && facts.reason.length > 0);
    });
  }
});

describe('isHeaderSigned', () => {
  const v4Facts = read(['Authorization', standard, ...AMZ_DATE]);
  const v2Facts = read(['Authorization', 'AWS AKID:c2ln']);
  const cases: [string, SignatureFacts, string, boolean][] = [
    ['v4 range', v4Facts, 'range', true],
    ['v4 Range (any case)', v4Facts, 'Range', true],
    ['v4 HOST', v4Facts, 'HOST', true],
    ['v4 if-none-match', v4Facts, 'if-none-match', false],
    ['v4 x-amz-content-sha256 not listed', v4Facts, 'x-amz-content-sha256', false],
    ['v2 content-md5', v2Facts, 'Content-MD5', true],
    ['v2 content-type', v2Facts, 'content-type', true],
    ['v2 date', v2Facts, 'Date', true],
    ['v2 x-amz-meta-a', v2Facts, 'X-Amz-Meta-A', true],
    ['v2 range', v2Facts, 'range', false],
    ['v2 if-none-match', v2Facts, 'if-none-match', false],
    ['unreadable range', { kind: 'unreadable', reason: 'x' }, 'range', true],
    ['unreadable if-none-match', { kind: 'unreadable', reason: 'x' }, 'if-none-match', true],
    ['anonymous range', { kind: 'anonymous' }, 'range', false],
    ['anonymous x-amz-date', { kind: 'anonymous' }, 'x-amz-date', false],
  ];
  for (const [name, facts, header, expected] of cases) {
    it(name, () => {
      assert.equal(isHeaderSigned(facts, header), expected);
    });
  }
});
