import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  accessDenied,
  badGateway,
  badRequest,
  connectPortRefused,
  corsForbidden,
  entityTooLarge,
  escapeXml,
  gatewayTimeout,
  headersTooLarge,
  incompleteBody,
  invalidHost,
  invalidPath,
  invalidUri,
  maxMessageLengthExceeded,
  methodNotAllowed,
  methodNotAllowedOnRoute,
  missingContentLength,
  noSuchKey,
  noSuchRoute,
  notImplemented,
  preconditionFailed,
  renderS3Error,
  requestTimeout,
  slowDown,
  unauthorized,
  upstreamRefused,
} from '../../../src/s3/errors.js';
import type { S3ErrorSpec } from '../../../src/s3/types.js';

const HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';

describe('renderS3Error', () => {
  const cases: [string, Parameters<typeof renderS3Error>[0], string][] = [
    [
      'minimal',
      { code: 'SlowDown', message: 'Please reduce your request rate.', requestId: 'R1' },
      `${HEAD}<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>R1</RequestId></Error>`,
    ],
    [
      'all fields, in S3 order',
      {
        code: 'NoSuchKey',
        message: 'm',
        requestId: 'R',
        resource: '/b/k',
        hostId: 'H',
        extra: { Key: 'k', BucketName: 'b' },
      },
      `${HEAD}<Error><Code>NoSuchKey</Code><Message>m</Message><Resource>/b/k</Resource><Key>k</Key>` +
        '<BucketName>b</BucketName><RequestId>R</RequestId><HostId>H</HostId></Error>',
    ],
    [
      'escapes every value',
      {
        code: 'A&B',
        message: '<script>"x"\'y\'</script>',
        requestId: '<id>',
        resource: '/b/a&b',
        hostId: ']]>',
        extra: { Key: '</Key><Evil>' },
      },
      `${HEAD}<Error><Code>A&amp;B</Code><Message>&lt;script&gt;&quot;x&quot;&apos;y&apos;&lt;/script&gt;</Message>` +
        '<Resource>/b/a&amp;b</Resource><Key>&lt;/Key&gt;&lt;Evil&gt;</Key><RequestId>&lt;id&gt;</RequestId>' +
        '<HostId>]]&gt;</HostId></Error>',
    ],
    [
      'drops extra elements whose names are not XML names',
      { code: 'C', message: 'm', requestId: 'R', extra: { 'a b': '1', '<x>': '2', '1x': '3', Ok_1: '4' } },
      `${HEAD}<Error><Code>C</Code><Message>m</Message><Ok_1>4</Ok_1><RequestId>R</RequestId></Error>`,
    ],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => {
      assert.equal(renderS3Error(input), expected);
    });
  }
});

describe('escapeXml', () => {
  const cases: [string, string][] = [
    ['plain', 'plain'],
    ['a&b<c>d"e\'f', 'a&amp;b&lt;c&gt;d&quot;e&apos;f'],
    ['&amp;', '&amp;amp;'],
    ['tab\tnl\n', 'tab\tnl\n'],
    ['cr\r', 'cr&#13;'],
    ['nul\u0000', 'nul\uFFFD'],
    ['bell\u0007esc\u001b', 'bell\uFFFDesc\uFFFD'],
    ['\uFFFE\uFFFF', '\uFFFD\uFFFD'],
    ['日本😀', '日本😀'],
    ['lone\uD800high', 'lone\uFFFDhigh'],
    ['lone\uDC00low', 'lone\uFFFDlow'],
    ['end\uD83D', 'end\uFFFD'],
    ['\uDE00\uD83D', '\uFFFD\uFFFD'],
  ];
  for (const [input, expected] of cases) {
    it(JSON.stringify(input), () => {
      assert.equal(escapeXml(input), expected);
    });
  }
});

describe('error catalogue', () => {
  const cases: [string, S3ErrorSpec, number, string][] = [
    ['badRequest', badRequest('Bad thing.'), 400, 'InvalidRequest'],
    ['invalidUri', invalidUri(), 400, 'InvalidURI'],
    ['invalidHost', invalidHost('a b'), 400, 'InvalidArgument'],
    ['headersTooLarge', headersTooLarge(), 400, 'RequestHeaderSectionTooLarge'],
    ['methodNotAllowed', methodNotAllowed('BREW'), 405, 'MethodNotAllowed'],
    ['upstreamRefused', upstreamRefused('evil.example'), 403, 'AccessDenied'],
    ['entityTooLarge', entityTooLarge(), 413, 'EntityTooLarge'],
    ['badGateway', badGateway('ECONNREFUSED'), 502, 'BadGateway'],
    ['gatewayTimeout', gatewayTimeout('30s'), 504, 'GatewayTimeout'],
    ['slowDown', slowDown(), 503, 'SlowDown'],
    ['notImplemented', notImplemented('No.'), 501, 'NotImplemented'],
    ['incompleteBody', incompleteBody(), 400, 'IncompleteBody'],
    ['requestTimeout', requestTimeout(), 400, 'RequestTimeout'],
    ['maxMessageLengthExceeded', maxMessageLengthExceeded(), 400, 'MaxMessageLengthExceeded'],
    ['preconditionFailed', preconditionFailed(), 412, 'PreconditionFailed'],
    ['connectPortRefused', connectPortRefused(8443), 403, 'AccessDenied'],
    ['accessDenied', accessDenied('No.'), 403, 'AccessDenied'],
    ['unauthorized', unauthorized('No token.'), 401, 'Unauthorized'],
    ['noSuchRoute', noSuchRoute(), 404, 'NoSuchRoute'],
    ['noSuchKey', noSuchKey('Not here.'), 404, 'NoSuchKey'],
    ['invalidPath', invalidPath('Bad path.'), 400, 'InvalidURI'],
    ['methodNotAllowedOnRoute', methodNotAllowedOnRoute('PATCH'), 405, 'MethodNotAllowed'],
    ['missingContentLength', missingContentLength(), 411, 'MissingContentLength'],
    ['corsForbidden', corsForbidden(), 403, 'CORSForbidden'],
  ];
  for (const [name, spec, status, code] of cases) {
    it(`${name} → ${status} ${code}`, () => {
      assert.equal(spec.status, status);
      assert.equal(spec.code, code);
      assert.ok(spec.message.length > 0);
    });
  }

  it('keeps the given message and S3 wording', () => {
    assert.equal(badRequest('Bad thing.').message, 'Bad thing.');
    assert.equal(notImplemented('No.').message, 'No.');
    assert.equal(invalidUri().message, "Couldn't parse the specified URI.");
  });

  it('names the refused host and the detail', () => {
    assert.match(upstreamRefused('evil.example').message, /evil\.example.*not an allowed upstream/);
    assert.match(badGateway('ECONNREFUSED').message, /ECONNREFUSED/);
    assert.match(gatewayTimeout('after 30s').message, /after 30s/);
  });

  it('cuts hostile echoed values short and keeps control characters out of the XML', () => {
    const spec = invalidHost(`${'a'.repeat(10_000)}\r\n<x>`);
    assert.ok(spec.message.length < 400);
    const xml = renderS3Error({ ...spec, requestId: 'R' });
    assert.doesNotMatch(xml, /[\r<>]x/);
    const injected = upstreamRefused('h\r\nSet-Cookie: a=b');
    assert.doesNotMatch(renderS3Error({ ...injected, requestId: 'R' }), /\r|\n(?!<Error>)/);
  });
});
