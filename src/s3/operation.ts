// Which S3 operation a request is, by allowlist. Kura acts on a few object operations; anything it does
// not recognise exactly (an unknown sub-resource, a duplicated parameter, a malformed part number) is
// `Other` and passes through, so S3 alone decides what it means.
import { hasHeader } from './headers.js';
import type { Operation, OperationName, QueryParam } from './types.js';

export interface OperationInput {
  method: string;
  bucket: string | null;
  key: string | null;
  query: readonly QueryParam[];
  /** Raw `[name, value, …]` header array. */
  headers: readonly string[];
}

interface OperationRule {
  name: Exclude<OperationName, 'Other'>;
  /** Methods are case-sensitive (RFC 9110 §9.1): `get` is not GET. */
  method: string;
  /** `object` needs a bucket and a key; `bucket` needs a bucket and no key. */
  target: 'object' | 'bucket';
  /** Query names that must be present (sub-resources such as `uploads`, `uploadId`). */
  required: readonly string[];
  /** Further query names that may be present, besides presigned-URL parameters. */
  optional: readonly string[];
  /** Whether `x-amz-copy-source` must be present (true) or absent (false). */
  copySource?: boolean;
  /** Values required parameters must have. */
  values?: Readonly<Record<string, string>>;
}

/** GetObject/HeadObject parameters that select or decorate the object and are not sub-resources. */
const READ_PARAMS = [
  'partNumber',
  'versionId',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
  'x-id',
] as const;

/** ListObjects (version 1) parameters; ListObjectsV2 has its own paging ones. */
const LIST_PARAMS = ['delimiter', 'encoding-type', 'max-keys', 'prefix', 'x-id'] as const;

const RULES: readonly OperationRule[] = [
  { name: 'GetObject', method: 'GET', target: 'object', required: [], optional: READ_PARAMS },
  { name: 'HeadObject', method: 'HEAD', target: 'object', required: [], optional: READ_PARAMS },
  { name: 'PutObject', method: 'PUT', target: 'object', required: [], optional: ['x-id'], copySource: false },
  { name: 'CopyObject', method: 'PUT', target: 'object', required: [], optional: ['x-id'], copySource: true },
  {
    name: 'UploadPart',
    method: 'PUT',
    target: 'object',
    required: ['partNumber', 'uploadId'],
    optional: ['x-id'],
    copySource: false,
  },
  {
    name: 'UploadPartCopy',
    method: 'PUT',
    target: 'object',
    required: ['partNumber', 'uploadId'],
    optional: ['x-id'],
    copySource: true,
  },
  {
    name: 'CreateMultipartUpload',
    method: 'POST',
    target: 'object',
    required: ['uploads'],
    optional: ['x-id'],
  },
  {
    name: 'CompleteMultipartUpload',
    method: 'POST',
    target: 'object',
    required: ['uploadId'],
    optional: ['x-id'],
  },
  {
    name: 'AbortMultipartUpload',
    method: 'DELETE',
    target: 'object',
    required: ['uploadId'],
    optional: ['x-id'],
  },
  { name: 'DeleteObject', method: 'DELETE', target: 'object', required: [], optional: ['versionId', 'x-id'] },
  { name: 'DeleteObjects', method: 'POST', target: 'bucket', required: ['delete'], optional: ['x-id'] },
  // Permission changes: cached answers of the object or bucket may now be ones S3 would refuse.
  {
    name: 'PutObjectAcl',
    method: 'PUT',
    target: 'object',
    required: ['acl'],
    optional: ['versionId', 'x-id'],
    copySource: false,
  },
  { name: 'PutBucketAcl', method: 'PUT', target: 'bucket', required: ['acl'], optional: ['x-id'] },
  { name: 'PutBucketPolicy', method: 'PUT', target: 'bucket', required: ['policy'], optional: ['x-id'] },
  {
    name: 'DeleteBucketPolicy',
    method: 'DELETE',
    target: 'bucket',
    required: ['policy'],
    optional: ['x-id'],
  },
  {
    name: 'PutPublicAccessBlock',
    method: 'PUT',
    target: 'bucket',
    required: ['publicAccessBlock'],
    optional: ['x-id'],
  },
  {
    name: 'DeletePublicAccessBlock',
    method: 'DELETE',
    target: 'bucket',
    required: ['publicAccessBlock'],
    optional: ['x-id'],
  },
  // Listings, which the cache keeps only where a rule's list_ttl says so (src/cache/list/).
  {
    name: 'ListObjectsV2',
    method: 'GET',
    target: 'bucket',
    required: ['list-type'],
    values: { 'list-type': '2' },
    optional: [...LIST_PARAMS, 'continuation-token', 'fetch-owner', 'start-after'],
  },
  {
    name: 'ListObjects',
    method: 'GET',
    target: 'bucket',
    required: [],
    optional: [...LIST_PARAMS, 'marker'],
  },
];

const OTHER: Operation = { name: 'Other', partNumber: null, uploadId: null, versionId: null };

/** S3's part numbers run from 1 to 10000 (UploadPart API reference). */
const MAX_PART_NUMBER = 10_000;

/** Signature V2 presigned-URL parameters; S3 reads query names case-sensitively. */
const PRESIGN_V2_PARAMS: ReadonlySet<string> = new Set(['AWSAccessKeyId', 'Expires', 'Signature']);

export function classifyOperation(input: OperationInput): Operation {
  if (hasDuplicateNames(input.query)) return OTHER; // S3 may read either value; Kura must not pick one
  const names = input.query.map((param) => param.name);
  const rule = RULES.find((candidate) => ruleMatches(candidate, input, names));
  if (rule === undefined) return OTHER;
  const partNumberText = paramValue(input.query, 'partNumber');
  const partNumber = partNumberText === undefined ? null : parsePartNumber(partNumberText);
  if (partNumber === undefined) return OTHER;
  return {
    name: rule.name,
    partNumber,
    uploadId: paramValue(input.query, 'uploadId') ?? null,
    versionId: paramValue(input.query, 'versionId') ?? null,
  };
}

/**
 * Parameters a presigned URL carries (SigV4 `X-Amz-*`, compared case-insensitively so that no casing of
 * them is mistaken for a sub-resource, and SigV2's three): they authorize, they do not select.
 */
export function isPresignParam(name: string): boolean {
  // SDKs write `X-Amz-`: that casing is found without lower-casing the name.
  return name.startsWith('X-Amz-') || name.toLowerCase().startsWith('x-amz-') || PRESIGN_V2_PARAMS.has(name);
}

/** `names`: the query's parameter names, each once (duplicates were refused before). */
function ruleMatches(rule: OperationRule, input: OperationInput, names: readonly string[]): boolean {
  if (input.method !== rule.method || !targetMatches(rule.target, input)) return false;
  if (rule.copySource !== undefined && hasHeader(input.headers, 'x-amz-copy-source') !== rule.copySource) {
    return false;
  }
  if (!rule.required.every((name) => names.includes(name))) return false;
  if (rule.values !== undefined) {
    for (const [name, value] of Object.entries(rule.values)) {
      if (paramValue(input.query, name) !== value) return false;
    }
  }
  // The presign test first: it reads a name's first characters, where the lists compare it with each entry.
  return names.every(
    (name) => isPresignParam(name) || rule.required.includes(name) || rule.optional.includes(name),
  );
}

function targetMatches(target: OperationRule['target'], input: OperationInput): boolean {
  if (input.bucket === null) return false;
  return target === 'object' ? input.key !== null : input.key === null;
}

function hasDuplicateNames(query: readonly QueryParam[]): boolean {
  // A presigned URL has about eight parameters: pairs compared cost less than building a Set per request.
  for (let i = 1; i < query.length; i++) {
    const name = (query[i] as QueryParam).name;
    for (let j = 0; j < i; j++) if ((query[j] as QueryParam).name === name) return true;
  }
  return false;
}

/** The value of query parameter `name` (the first, where a name repeats). */
export function paramValue(query: readonly QueryParam[], name: string): string | undefined {
  return query.find((param) => param.name === name)?.value;
}

/** 1..10000 in plain digits without a leading zero; anything else is S3's to reject. */
function parsePartNumber(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,4}$/.test(text)) return undefined;
  const value = Number(text);
  return value <= MAX_PART_NUMBER ? value : undefined;
}
