// The requests parseS3Request accepts, as a table (request.test.ts runs it): where each goes and what it does.
import type { EndpointKind, OperationName } from '../../../src/s3/types.js';

export interface OkCase {
  name: string;
  method?: string;
  target: string;
  host: string;
  headers?: string[];
  expect: {
    kind: EndpointKind;
    bucket: string | null;
    key: string | null;
    operation: OperationName;
    rawPath?: string;
    rawQuery?: string | null;
    absoluteForm?: boolean;
  };
}

export const SIG = 'ab'.repeat(32);

/** Requests parseS3Request accepts, and what it must read from each. */
export const ACCEPTED: OkCase[] = [
  {
    name: 'path style GetObject',
    target: '/bucket/dir/key.txt',
    host: 's3.us-east-1.amazonaws.com',
    expect: { kind: 'aws-s3', bucket: 'bucket', key: 'dir/key.txt', operation: 'GetObject' },
  },
  {
    name: 'virtual style GetObject',
    target: '/dir/key.txt',
    host: 'bucket.s3.us-east-1.amazonaws.com',
    expect: { kind: 'aws-s3', bucket: 'bucket', key: 'dir/key.txt', operation: 'GetObject' },
  },
  {
    name: 'upper-case Host',
    target: '/Key',
    host: 'My.Bucket.S3.AMAZONAWS.com',
    expect: { kind: 'aws-s3', bucket: 'my.bucket', key: 'Key', operation: 'GetObject' },
  },
  {
    name: 'dotted bucket, virtual',
    target: '/k',
    host: 'my.bucket.s3.us-east-1.amazonaws.com',
    expect: { kind: 'aws-s3', bucket: 'my.bucket', key: 'k', operation: 'GetObject' },
  },
  {
    name: 'percent-decoded key, raw path kept',
    target: '/b/a%20b%2Bc+d%2Fe',
    host: 'localhost:9000',
    expect: {
      kind: 'custom',
      bucket: 'b',
      key: 'a b+c+d/e',
      operation: 'GetObject',
      rawPath: '/b/a%20b%2Bc+d%2Fe',
    },
  },
  {
    name: 'unicode key',
    target: '/b/%E6%97%A5%E6%9C%AC.txt',
    host: 'localhost',
    expect: { kind: 'custom', bucket: 'b', key: '日本.txt', operation: 'GetObject' },
  },
  {
    name: 'dot segments are part of the key',
    target: '/b/../../etc/passwd',
    host: 'localhost',
    expect: { kind: 'custom', bucket: 'b', key: '../../etc/passwd', operation: 'GetObject' },
  },
  {
    name: 'encoded dot segments are part of the key',
    target: '/b/%2e%2e/%2E%2E/x',
    host: 'localhost',
    expect: { kind: 'custom', bucket: 'b', key: '../../x', operation: 'GetObject' },
  },
  {
    name: 'double slash in key (path style)',
    target: '/b//k',
    host: 'localhost',
    expect: { kind: 'custom', bucket: 'b', key: '/k', operation: 'GetObject' },
  },
  {
    name: 'double slash in key (virtual style)',
    target: '//k',
    host: 'b.s3.amazonaws.com',
    expect: { kind: 'aws-s3', bucket: 'b', key: '/k', operation: 'GetObject' },
  },
  {
    name: 'trailing slash key',
    target: '/b/dir/',
    host: 'localhost',
    expect: { kind: 'custom', bucket: 'b', key: 'dir/', operation: 'GetObject' },
  },
  {
    name: 'bucket only with trailing slash',
    target: '/b/',
    host: 'localhost',
    expect: { kind: 'custom', bucket: 'b', key: null, operation: 'ListObjects' },
  },
  {
    name: 'bucket listing',
    target: '/b?list-type=2&prefix=a%2F',
    host: 'localhost',
    expect: {
      kind: 'custom',
      bucket: 'b',
      key: null,
      operation: 'ListObjectsV2',
      rawQuery: 'list-type=2&prefix=a%2F',
    },
  },
  {
    name: 'service root',
    target: '/',
    host: 's3.amazonaws.com',
    expect: { kind: 'aws-s3', bucket: null, key: null, operation: 'Other' },
  },
  {
    name: 'virtual bucket root',
    target: '/?list-type=2',
    host: 'b.s3.amazonaws.com',
    expect: { kind: 'aws-s3', bucket: 'b', key: null, operation: 'ListObjectsV2' },
  },
  {
    name: 'empty first segment is no bucket',
    target: '//k',
    host: 'localhost',
    expect: { kind: 'custom', bucket: null, key: null, operation: 'Other' },
  },
  {
    name: 'encoded slash in bucket is not a bucket Kura acts on',
    target: '/a%2Fb/k',
    host: 'localhost',
    expect: { kind: 'custom', bucket: 'a/b', key: 'k', operation: 'Other' },
  },
  {
    name: 'dot-dot bucket is not a bucket Kura acts on',
    target: '/%2e%2e/k',
    host: 'localhost',
    expect: { kind: 'custom', bucket: '..', key: 'k', operation: 'Other' },
  },
  {
    name: 'legacy bucket with upper case and underscore',
    target: '/My_Bucket/k',
    host: 's3.amazonaws.com',
    expect: { kind: 'aws-s3', bucket: 'My_Bucket', key: 'k', operation: 'GetObject' },
  },
  {
    name: 'access point',
    method: 'HEAD',
    target: '/k',
    host: 'ap-111122223333.s3-accesspoint.us-west-2.amazonaws.com',
    expect: { kind: 'aws-access-point', bucket: 'ap-111122223333', key: 'k', operation: 'HeadObject' },
  },
  {
    name: 'MRAP',
    target: '/k',
    host: 'mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com',
    expect: { kind: 'aws-mrap', bucket: 'mfzwi23gnjvgw.mrap', key: 'k', operation: 'GetObject' },
  },
  {
    name: 'Express zonal',
    method: 'PUT',
    target: '/k',
    host: 'b--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com',
    expect: { kind: 'aws-express', bucket: 'b--usw2-az1--x-s3', key: 'k', operation: 'PutObject' },
  },
  {
    name: 'Express regional, path style',
    method: 'PUT',
    target: '/b--usw2-az1--x-s3',
    host: 's3express-control.us-west-2.amazonaws.com',
    expect: { kind: 'aws-express', bucket: 'b--usw2-az1--x-s3', key: null, operation: 'Other' },
  },
  {
    name: 'aws-other never names a bucket',
    target: '/v20180820/jobs',
    host: '111122223333.s3-control.us-east-1.amazonaws.com',
    expect: { kind: 'aws-other', bucket: null, key: null, operation: 'Other' },
  },
  {
    name: 'IPv6 custom origin',
    method: 'DELETE',
    target: '/b/k?versionId=v',
    host: '[::1]:9000',
    expect: { kind: 'custom', bucket: 'b', key: 'k', operation: 'DeleteObject' },
  },
  {
    name: 'absolute-form (HTTP_PROXY)',
    target: 'http://b.s3.amazonaws.com/k?partNumber=2',
    host: 'b.s3.amazonaws.com',
    expect: {
      kind: 'aws-s3',
      bucket: 'b',
      key: 'k',
      operation: 'GetObject',
      rawPath: '/k',
      rawQuery: 'partNumber=2',
      absoluteForm: true,
    },
  },
  {
    name: 'absolute-form, authority differs only in case',
    target: 'HTTP://B.S3.AMAZONAWS.COM/k',
    host: 'b.s3.amazonaws.com',
    expect: { kind: 'aws-s3', bucket: 'b', key: 'k', operation: 'GetObject', absoluteForm: true },
  },
  {
    name: "absolute-form with the scheme's default port, Host without it",
    target: 'http://localhost:80/b/k',
    host: 'localhost',
    expect: { kind: 'custom', bucket: 'b', key: 'k', operation: 'GetObject', absoluteForm: true },
  },
  {
    name: "absolute-form without a port, Host with the scheme's default",
    target: 'http://b.s3.amazonaws.com/k',
    host: 'B.S3.amazonaws.com:80',
    expect: { kind: 'aws-s3', bucket: 'b', key: 'k', operation: 'GetObject', absoluteForm: true },
  },
  {
    // The AWS CRT's HTTP client through HTTP_PROXY: the target's port is always the scheme's default.
    name: "absolute-form with the scheme's default port written out, Host with the endpoint's port",
    target: 'http://localhost:80/b/k',
    host: 'localhost:9000',
    expect: { kind: 'custom', bucket: 'b', key: 'k', operation: 'GetObject', absoluteForm: true },
  },
  {
    name: 'absolute-form https with :443, Host without it',
    target: 'https://b.s3.amazonaws.com:443/k',
    host: 'b.s3.amazonaws.com',
    expect: { kind: 'aws-s3', bucket: 'b', key: 'k', operation: 'GetObject', absoluteForm: true },
  },
  {
    name: 'absolute-form IPv6 with the default port',
    target: 'http://[::1]:80/b/k',
    host: '[::1]',
    expect: { kind: 'custom', bucket: 'b', key: 'k', operation: 'GetObject', absoluteForm: true },
  },
  {
    name: 'absolute-form without path',
    target: 'http://localhost:9000',
    host: 'localhost:9000',
    expect: { kind: 'custom', bucket: null, key: null, operation: 'Other', rawPath: '/', absoluteForm: true },
  },
  {
    name: 'copy',
    method: 'PUT',
    target: '/b/k',
    host: 'localhost',
    headers: ['x-amz-copy-source', 'src/k'],
    expect: { kind: 'custom', bucket: 'b', key: 'k', operation: 'CopyObject' },
  },
  {
    name: 'DeleteObjects',
    method: 'POST',
    target: '/b?delete',
    host: 'localhost',
    expect: { kind: 'custom', bucket: 'b', key: null, operation: 'DeleteObjects', rawQuery: 'delete' },
  },
  {
    name: 'empty query',
    target: '/b/k?',
    host: 'localhost',
    expect: { kind: 'custom', bucket: 'b', key: 'k', operation: 'GetObject', rawQuery: '' },
  },
];
