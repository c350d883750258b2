// ListObjectsV2, page by page, for `kura warm`: the keys under a prefix, signed by the sender given.

import { decodeXmlText } from '../s3/delete-objects.js';
import type { UpstreamSender } from '../upstream/client.js';
import type { Route } from '../upstream/route.js';

/** Keys per page S3 returns at most; asking for them all keeps the number of round trips low. */
const PAGE = 1000;
/** A bound on the walk, so that a listing that never ends (a broken store) cannot loop forever. */
const MAX_PAGES = 100_000;

export async function listKeys(
  lister: { sender: UpstreamSender; route: Route; host: string },
  bucketPath: string,
  prefix: string,
): Promise<string[]> {
  const keys: string[] = [];
  let token: string | null = null;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const query = new URLSearchParams({ 'list-type': '2', 'max-keys': String(PAGE), prefix });
    if (token !== null) query.set('continuation-token', token);
    // S3 signs the query in canonical (sorted, RFC 3986) form; URLSearchParams writes spaces as +.
    const qs = query.toString().replace(/\+/g, '%20');
    const res = await lister.sender.send(lister.route, {
      method: 'GET',
      path: `${bucketPath}?${qs}`,
      headers: ['host', lister.host],
      body: null,
      signal: new AbortController().signal,
    });
    let xml = '';
    for await (const chunk of res.body) xml += (chunk as Buffer).toString('utf8');
    if (res.status !== 200) {
      const code = /<Code>([^<]*)<\/Code>/.exec(xml)?.[1] ?? '';
      throw new Error(`ListObjectsV2 answered ${res.status} ${code}`.trim());
    }
    for (const m of xml.matchAll(/<Contents>[\s\S]*?<Key>([^<]*)<\/Key>[\s\S]*?<\/Contents>/g)) {
      const key = decodeXmlText(m[1] as string);
      if (!key.endsWith('/')) keys.push(key);
    }
    const truncated = /<IsTruncated>true<\/IsTruncated>/.test(xml);
    token = truncated
      ? decodeXmlText(/<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1] ?? '')
      : null;
    if (token === null || token === '') return keys;
  }
  return keys;
}
