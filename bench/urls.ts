// Presigned GET URLs, as a client with its own credentials makes them: signed for the host it talks to
// (the origin, Kura or nginx), which is the Host every hop passes on untouched.

import { presign, s3Path } from '../test/support/signing.js';
import { BUCKET } from './data.js';

/**
 * Request targets (path and query) for `keys`, signed for `base`, valid for two hours; for a gateway
 * listener (`gatewayPrefix`), the plain paths of its route.
 */
export function presignAll(base: string, keys: readonly string[], gatewayPrefix?: string): Promise<string[]> {
  if (gatewayPrefix !== undefined) return Promise.resolve(keys.map((key) => `${gatewayPrefix}${key}`));
  return Promise.all(
    keys.map((key) => presign(base, { method: 'GET', path: s3Path(BUCKET, key) }, { expiresIn: 7200 })),
  );
}

export async function presignUrls(
  base: string,
  keys: readonly string[],
  gatewayPrefix?: string,
): Promise<string[]> {
  return (await presignAll(base, keys, gatewayPrefix)).map((path) => base + path);
}
