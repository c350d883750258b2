// What logs may keep of a request target. A presigned URL's signature and session token grant access
// on their own until the URL expires: whoever reads a log that holds them could replay the request.

const SECRET_PARAMS = new Set(['x-amz-signature', 'x-amz-security-token', 'signature']);

/** The target with the values of secret query parameters replaced; everything else as received. */
export function redactTarget(target: string): string {
  const q = target.indexOf('?');
  if (q === -1) return target;
  const params = target
    .slice(q + 1)
    .split('&')
    .map((piece) => {
      const eq = piece.indexOf('=');
      const name = eq === -1 ? piece : piece.slice(0, eq);
      const plain = name.includes('%') ? safeDecode(name) : name;
      return SECRET_PARAMS.has(plain.toLowerCase()) ? `${name}=REDACTED` : piece;
    });
  return `${target.slice(0, q)}?${params.join('&')}`;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
