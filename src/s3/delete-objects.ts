// The keys a DeleteObjects request names (`<Delete><Object><Key>…</Key></Object>…</Delete>`), so each
// can be dropped from the cache once S3 has deleted them.

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML 1.0 §4.6 predefined entities and character references; anything else is left as it is. */
export function decodeXmlText(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return safeCodePoint(Number.parseInt(ref.slice(2), 16)) ?? whole;
    if (ref.startsWith('#')) return safeCodePoint(Number.parseInt(ref.slice(1), 10)) ?? whole;
    return XML_ENTITIES[ref] ?? whole;
  });
}

function safeCodePoint(n: number): string | null {
  return Number.isInteger(n) && n >= 0 && n <= 0x10ffff ? String.fromCodePoint(n) : null;
}

/** Every `<Key>` of the body, decoded. Over-reading is harmless: an extra key is only dropped from cache. */
export function deleteObjectsKeys(xml: string): string[] {
  const keys: string[] = [];
  for (const m of xml.matchAll(/<Key>([\s\S]*?)<\/Key>/g)) keys.push(decodeXmlText(m[1] as string));
  return keys;
}
