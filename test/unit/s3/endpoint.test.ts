import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyEndpoint } from '../../../src/s3/endpoint.js';
import { parseHost } from '../../../src/s3/host.js';
import type { Endpoint, EndpointKind } from '../../../src/s3/types.js';

interface Case {
  host: string;
  kind: EndpointKind;
  bucket: string | null;
  style?: Endpoint['style'];
  region?: string | null;
  dualstack?: boolean;
  fips?: boolean;
  accelerate?: boolean;
}

const cases: Case[] = [
  // Legacy global endpoint.
  { host: 's3.amazonaws.com', kind: 'aws-s3', bucket: null, style: 'path', region: null },
  { host: 'bucket.s3.amazonaws.com', kind: 'aws-s3', bucket: 'bucket', style: 'virtual', region: null },
  { host: 'BUCKET.S3.AMAZONAWS.COM', kind: 'aws-s3', bucket: 'bucket', style: 'virtual' },
  { host: 'my.bucket.s3.amazonaws.com', kind: 'aws-s3', bucket: 'my.bucket', style: 'virtual' },
  { host: 's3.s3.amazonaws.com', kind: 'aws-s3', bucket: 's3', style: 'virtual' },
  { host: 'us-east-1.s3.amazonaws.com', kind: 'aws-s3', bucket: 'us-east-1', region: null },
  { host: 'bucket.s3.amazonaws.com.:443', kind: 'aws-s3', bucket: 'bucket' },
  // Regional.
  { host: 's3.us-east-1.amazonaws.com', kind: 'aws-s3', bucket: null, style: 'path', region: 'us-east-1' },
  {
    host: 'b.s3.eu-west-3.amazonaws.com',
    kind: 'aws-s3',
    bucket: 'b',
    style: 'virtual',
    region: 'eu-west-3',
  },
  { host: 'my.bucket.s3.us-east-1.amazonaws.com', kind: 'aws-s3', bucket: 'my.bucket', region: 'us-east-1' },
  { host: 'a.b.c.s3.ap-southeast-2.amazonaws.com', kind: 'aws-s3', bucket: 'a.b.c' },
  { host: 's3.us-gov-west-1.amazonaws.com', kind: 'aws-s3', bucket: null, region: 'us-gov-west-1' },
  { host: 's3.cn-north-1.amazonaws.com.cn', kind: 'aws-s3', bucket: null, region: 'cn-north-1' },
  { host: 'b.s3.cn-northwest-1.amazonaws.com.cn', kind: 'aws-s3', bucket: 'b', region: 'cn-northwest-1' },
  { host: 's3.eu-isoe-west-1.amazonaws.com', kind: 'aws-s3', bucket: null, region: 'eu-isoe-west-1' },
  { host: 's3.us-east-1.amazonaws.com:8443', kind: 'aws-s3', bucket: null, region: 'us-east-1' },
  // Legacy dash form.
  { host: 's3-us-west-2.amazonaws.com', kind: 'aws-s3', bucket: null, style: 'path', region: 'us-west-2' },
  {
    host: 'b.s3-us-west-2.amazonaws.com',
    kind: 'aws-s3',
    bucket: 'b',
    style: 'virtual',
    region: 'us-west-2',
  },
  { host: 's3-external-1.amazonaws.com', kind: 'aws-s3', bucket: null, region: 'us-east-1' },
  { host: 'b.s3-external-1.amazonaws.com', kind: 'aws-s3', bucket: 'b', region: 'us-east-1' },
  {
    host: 's3-fips-us-gov-west-1.amazonaws.com',
    kind: 'aws-s3',
    bucket: null,
    fips: true,
    region: 'us-gov-west-1',
  },
  // Dual-stack and FIPS.
  {
    host: 's3.dualstack.us-east-1.amazonaws.com',
    kind: 'aws-s3',
    bucket: null,
    dualstack: true,
    style: 'path',
  },
  {
    host: 'b.s3.dualstack.us-east-1.amazonaws.com',
    kind: 'aws-s3',
    bucket: 'b',
    dualstack: true,
    fips: false,
  },
  { host: 's3-fips.us-east-1.amazonaws.com', kind: 'aws-s3', bucket: null, fips: true, dualstack: false },
  { host: 'b.s3-fips.us-east-2.amazonaws.com', kind: 'aws-s3', bucket: 'b', fips: true, region: 'us-east-2' },
  {
    host: 'b.s3-fips.dualstack.us-west-2.amazonaws.com',
    kind: 'aws-s3',
    bucket: 'b',
    fips: true,
    dualstack: true,
  },
  // Transfer Acceleration.
  { host: 'b.s3-accelerate.amazonaws.com', kind: 'aws-s3', bucket: 'b', accelerate: true, region: null },
  {
    host: 'b.s3-accelerate.dualstack.amazonaws.com',
    kind: 'aws-s3',
    bucket: 'b',
    accelerate: true,
    dualstack: true,
  },
  {
    host: 'my.b.s3-accelerate.amazonaws.com',
    kind: 'aws-s3',
    bucket: 'my.b',
    style: 'virtual',
    accelerate: true,
  },
  { host: 's3-accelerate.amazonaws.com', kind: 'aws-s3', bucket: null, style: 'path', accelerate: true },
  // Access points.
  {
    host: 'ap-111122223333.s3-accesspoint.us-west-2.amazonaws.com',
    kind: 'aws-access-point',
    bucket: 'ap-111122223333',
    style: 'virtual',
    region: 'us-west-2',
  },
  {
    host: 'ap-111122223333.s3-accesspoint.dualstack.us-west-2.amazonaws.com',
    kind: 'aws-access-point',
    bucket: 'ap-111122223333',
    dualstack: true,
  },
  {
    host: 'ap-111122223333.s3-accesspoint-fips.us-east-1.amazonaws.com',
    kind: 'aws-access-point',
    bucket: 'ap-111122223333',
    fips: true,
  },
  {
    host: 'ap-111122223333.s3-accesspoint-fips.dualstack.us-east-1.amazonaws.com',
    kind: 'aws-access-point',
    bucket: 'ap-111122223333',
    fips: true,
    dualstack: true,
  },
  { host: 's3-accesspoint.us-west-2.amazonaws.com', kind: 'aws-other', bucket: null },
  { host: 'a.b-111122223333.s3-accesspoint.us-west-2.amazonaws.com', kind: 'aws-other', bucket: null },
  // Object Lambda.
  {
    host: 'olap-111122223333.s3-object-lambda.us-east-1.amazonaws.com',
    kind: 'aws-object-lambda',
    bucket: 'olap-111122223333',
    style: 'virtual',
    region: 'us-east-1',
  },
  {
    host: 'olap-111122223333.s3-object-lambda-fips.us-east-1.amazonaws.com',
    kind: 'aws-object-lambda',
    bucket: 'olap-111122223333',
    fips: true,
  },
  // Multi-Region Access Points.
  {
    host: 'mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com',
    kind: 'aws-mrap',
    bucket: 'mfzwi23gnjvgw.mrap',
    style: 'virtual',
    region: null,
  },
  { host: 'accesspoint.s3-global.amazonaws.com', kind: 'aws-other', bucket: null },
  { host: 'x.y.mrap.accesspoint.s3-global.amazonaws.com', kind: 'aws-other', bucket: null },
  // S3 Express One Zone.
  {
    host: 'bucket--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com',
    kind: 'aws-express',
    bucket: 'bucket--usw2-az1--x-s3',
    style: 'virtual',
    region: 'us-west-2',
  },
  {
    host: 'bucket--use1-az4--x-s3.s3express-use1-az4.dualstack.us-east-1.amazonaws.com',
    kind: 'aws-express',
    bucket: 'bucket--use1-az4--x-s3',
    dualstack: true,
  },
  {
    host: 's3express-usw2-az1.us-west-2.amazonaws.com',
    kind: 'aws-express',
    bucket: null,
    style: 'path',
    region: 'us-west-2',
  },
  { host: 's3express-control.us-west-2.amazonaws.com', kind: 'aws-express', bucket: null, style: 'path' },
  {
    host: 's3express-control-dualstack.us-east-1.amazonaws.com',
    kind: 'aws-express',
    bucket: null,
    dualstack: true,
  },
  { host: 'b.s3express-control.us-west-2.amazonaws.com', kind: 'aws-other', bucket: null },
  // Other AWS names.
  { host: 'sts.amazonaws.com', kind: 'aws-other', bucket: null, style: 'path' },
  { host: 'ec2.us-east-1.amazonaws.com', kind: 'aws-other', bucket: null },
  { host: 'amazonaws.com', kind: 'aws-other', bucket: null },
  { host: 'amazonaws.com.cn', kind: 'aws-other', bucket: null },
  { host: 's3-control.us-east-1.amazonaws.com', kind: 'aws-other', bucket: null },
  { host: '111122223333.s3-control.us-east-1.amazonaws.com', kind: 'aws-other', bucket: null },
  { host: 's3-control.dualstack.us-east-1.amazonaws.com', kind: 'aws-other', bucket: null },
  { host: 'b.s3-website-us-east-1.amazonaws.com', kind: 'aws-other', bucket: null },
  { host: 'b.s3-website.eu-west-3.amazonaws.com', kind: 'aws-other', bucket: null },
  { host: 'ap-1.op-01.s3-outposts.us-west-2.amazonaws.com', kind: 'aws-other', bucket: null },
  { host: 's3.dualstack.amazonaws.com', kind: 'aws-other', bucket: null },
  { host: 'b.s3.notaregion.amazonaws.com', kind: 'aws-other', bucket: null },
  { host: 'b.s3-accelerate.us-east-1.amazonaws.com', kind: 'aws-other', bucket: null },
  { host: 's3-foo.amazonaws.com', kind: 'aws-other', bucket: null },
  { host: 's3-us-east-1x.amazonaws.com', kind: 'aws-other', bucket: null },
  // Custom origins and addresses.
  { host: 'localhost:9000', kind: 'custom', bucket: null, style: 'path', region: null },
  { host: 'minio.internal', kind: 'custom', bucket: null },
  { host: 'bucket.minio.internal', kind: 'custom', bucket: null },
  { host: 's3.amazonaws.com.evil.example', kind: 'custom', bucket: null },
  { host: 'evilamazonaws.com', kind: 'custom', bucket: null },
  { host: 'bucket.s3.amazonaws.co', kind: 'custom', bucket: null },
  { host: '127.0.0.1:9000', kind: 'custom', bucket: null },
  { host: '52.216.1.1', kind: 'custom', bucket: null },
  { host: '[::1]:9000', kind: 'custom', bucket: null },
];

describe('classifyEndpoint', () => {
  for (const c of cases) {
    it(`${c.host} → ${c.kind} ${c.bucket ?? '(no bucket)'}`, () => {
      const host = parseHost(c.host);
      assert.ok(host, `parseHost(${c.host})`);
      const { endpoint, bucket } = classifyEndpoint(host);
      assert.equal(endpoint.kind, c.kind);
      assert.equal(bucket, c.bucket);
      assert.equal(endpoint.style, c.style ?? (c.bucket === null ? 'path' : 'virtual'));
      if (c.region !== undefined) assert.equal(endpoint.region, c.region);
      assert.equal(endpoint.dualstack, c.dualstack ?? false);
      assert.equal(endpoint.fips, c.fips ?? false);
      assert.equal(endpoint.accelerate, c.accelerate ?? false);
    });
  }

  it('names outside S3 carry no region, whatever labels they hold', () => {
    for (const name of ['sts.us-east-1.amazonaws.com', 'bucket.s3.us-east-1.example.com', '10.0.0.1']) {
      const host = parseHost(name);
      assert.ok(host);
      assert.equal(classifyEndpoint(host).endpoint.region, null);
    }
  });
});
