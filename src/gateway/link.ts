// Kura-signed links: an Ed25519 signature over the method, the decoded path and the expiry time, carried
// in the query. The path is signed decoded, so that any of its equivalent percent-encodings (a browser
// leaves `(` as it is, `kura sign` writes `%28`) verifies. `kura sign` makes them with the private key; a route with `auth.kind: link` checks them
// with the public keys it lists. Nothing else of the request is bound, so a link works from any client.

import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';

export const LINK_EXPIRES = 'kura-expires';
export const LINK_SIGNATURE = 'kura-signature';

/** What is signed: a version line first, so a signature of another format can never be replayed here. */
function message(method: string, path: string, expiresAt: number): Buffer {
  return Buffer.from(`KURA-LINK-1\n${method.toUpperCase()}\n${path}\n${expiresAt}`, 'utf8');
}

/**
 * S3's key encoding (RFC 3986 unreserved characters and `/` stay, everything else is %XX of its UTF-8
 * bytes): the same key always gives the same path, so a link signed for it matches what a client sends.
 */
export function encodeKeyPath(key: string): string {
  return encodeURIComponent(key)
    .replace(/%2F/g, '/')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The query to append to `path`, given decoded (`/media/my cat.png`). */
export function signLink(privateKeyPem: string, method: string, path: string, expiresAt: number): string {
  const key = createPrivateKey(privateKeyPem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the signing key is not an Ed25519 private key');
  const signature = sign(null, message(method, path, expiresAt), key).toString('base64url');
  return `${LINK_EXPIRES}=${expiresAt}&${LINK_SIGNATURE}=${signature}`;
}

export type LinkVerdict =
  | { ok: true }
  | { ok: false; reason: 'missing' | 'malformed' | 'expired' | 'bad-signature' };

export function publicKeysOf(pems: readonly string[]): KeyObject[] {
  return pems.map((pem) => createPublicKey(pem));
}

/**
 * A GET link also admits HEAD, which asks for the same answer without its body. `path` is decoded: it
 * must be the one signed, character for character.
 */
export function verifyLink(
  keys: readonly KeyObject[],
  method: string,
  path: string,
  query: URLSearchParams,
  nowSeconds: number,
): LinkVerdict {
  const expires = query.get(LINK_EXPIRES);
  const signature = query.get(LINK_SIGNATURE);
  if (expires === null || signature === null) return { ok: false, reason: 'missing' };
  if (!/^\d{1,12}$/.test(expires) || !/^[A-Za-z0-9_-]{86}$/.test(signature)) {
    return { ok: false, reason: 'malformed' };
  }
  const sig = Buffer.from(signature, 'base64url');
  const methods = method === 'HEAD' ? ['HEAD', 'GET'] : [method];
  const valid = methods.some((m) =>
    keys.some((k) => verify(null, message(m, path, Number(expires)), k, sig)),
  );
  if (!valid) return { ok: false, reason: 'bad-signature' };
  // Checked after the signature, so that a forged expiry is reported as the forgery it is.
  if (Number(expires) <= nowSeconds) return { ok: false, reason: 'expired' };
  return { ok: true };
}
