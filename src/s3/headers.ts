// Reading Node's raw header array (`[name, value, name, value, …]`) without losing case, order or
// duplicates, which Kura needs because it forwards the headers exactly as they came.

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1, plus the non-standard `keep-alive` and `proxy-connection` that
 * proxies conventionally drop, and `te`/`trailer`/`upgrade`/`transfer-encoding` which RFC 9112 binds to one
 * connection). Kura may drop these, and those that `Connection` lists, and nothing else.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Every value of a field, in order; field names are case-insensitive (RFC 9110 §5.1). */
export function headerValues(raw: readonly string[], name: string): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const fieldName = raw[i];
    const value = raw[i + 1];
    if (fieldName !== undefined && value !== undefined && sameName(fieldName, wanted)) values.push(value);
  }
  return values;
}

/**
 * Whether a received field name is `lower`, in any case. Most clients send names in lower case: those
 * compare as they are, and only a name of the same length is lower-cased (a request's headers are looked
 * through several times).
 */
function sameName(fieldName: string, lower: string): boolean {
  return fieldName.length === lower.length && (fieldName === lower || fieldName.toLowerCase() === lower);
}

/** The first value of a field, or `undefined` when it is absent. */
export function headerValue(raw: readonly string[], name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const fieldName = raw[i];
    if (fieldName !== undefined && sameName(fieldName, wanted)) return raw[i + 1];
  }
  return undefined;
}

/** Whether a field is present at all (even with an empty value). */
export function hasHeader(raw: readonly string[], name: string): boolean {
  return headerValue(raw, name) !== undefined;
}

/**
 * Field names listed in `Connection` (RFC 9110 §7.6.1): the sender marked them as meant for this hop
 * only, so a proxy removes them too. Lower-cased; empty list elements are skipped (§5.6.1).
 */
export function connectionListed(raw: readonly string[]): Set<string> {
  const listed = new Set<string>();
  for (const value of headerValues(raw, 'connection')) {
    for (const element of value.split(',')) {
      const name = element.trim().toLowerCase();
      if (name !== '') listed.add(name);
    }
  }
  return listed;
}
