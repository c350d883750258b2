// The TLS ClientHello as the :443 passthrough sees it: enough of the handshake to learn the server name
// (SNI, RFC 6066 §3) and nothing more. The passthrough calls this on every growing prefix of the stream
// until it stops asking for more, so every length is checked against its container before it is used: a
// truncated or lying hello is `need-more` or `malformed`, never an exception or an out-of-bounds read.

/** RFC 8446 §5.1: a plaintext record fragment is at most 2^14 bytes. */
const MAX_RECORD_LENGTH = 2 ** 14;
/**
 * Largest ClientHello body accepted. Ordinary hellos are 200-600 bytes, post-quantum key shares bring
 * them to ~1.8 KiB and hellos with many extensions (large PSK tickets, padding) to ~8 KiB.
 */
export const MAX_HELLO_LENGTH = 16 * 1024;
/**
 * Largest stream prefix read to find the hello: the hello, its 4-byte header, and the 5-byte headers of
 * up to 64 records it may be split into (a real client uses one or two).
 */
export const MAX_HELLO_PREFIX = MAX_HELLO_LENGTH + 4 + 64 * 5;

const CONTENT_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const NAME_TYPE_HOST = 0;

export type ClientHelloResult =
  | { kind: 'need-more' }
  /** `bytes`: the stream prefix up to the end of the record that completes the hello. */
  | { kind: 'hello'; sni: string | null; bytes: number }
  | { kind: 'not-tls' | 'malformed' | 'too-large'; reason: string };

type Failure = Extract<ClientHelloResult, { reason: string }>;

const fail = (kind: Failure['kind'], reason: string): Failure => ({ kind, reason });

/** Reads the ClientHello at the start of `data`, which may hold only part of it. */
export function parseClientHello(data: Uint8Array): ClientHelloResult {
  const joined = joinHandshakeRecords(data);
  if (joined.kind !== 'joined') return joined;
  const body = joined.handshake.subarray(4);
  const sni = serverNameOf(body);
  if (typeof sni !== 'string' && sni !== null) return sni;
  return { kind: 'hello', sni, bytes: joined.bytes };
}

type Joined = { kind: 'joined'; handshake: Uint8Array; bytes: number } | ClientHelloResult;

/**
 * RFC 8446 §5.1: handshake messages may be split across records (and records across TCP segments), so
 * the fragments are joined until the message length in the handshake header is reached.
 */
function joinHandshakeRecords(data: Uint8Array): Joined {
  if (data.length === 0) return { kind: 'need-more' };
  // SSLv2-style hellos (high bit set) and plain text (HTTP, SSH…) both fail here.
  if (data[0] !== CONTENT_HANDSHAKE) return fail('not-tls', 'the first byte is not a TLS handshake record');
  const fragments: Uint8Array[] = [];
  let have = 0;
  let want: number | null = null;
  let offset = 0;
  while (true) {
    if (offset + 5 > data.length) return needMoreWithin(data.length);
    const type = data[offset] as number;
    const major = data[offset + 1] as number;
    const length = u16(data, offset + 3);
    if (type !== CONTENT_HANDSHAKE) {
      return offset === 0
        ? fail('not-tls', 'the first byte is not a TLS handshake record')
        : fail('malformed', `a record of type ${type} interrupts the ClientHello`);
    }
    if (major !== 3) return fail('not-tls', `record version ${major}.x is not TLS`);
    if (length === 0) return fail('malformed', 'an empty handshake record');
    if (length > MAX_RECORD_LENGTH) return fail('malformed', `a record of ${length} bytes exceeds 2^14`);
    const end = offset + 5 + length;
    if (end > MAX_HELLO_PREFIX) return fail('too-large', `no ClientHello within ${MAX_HELLO_PREFIX} bytes`);
    const fragment = data.subarray(offset + 5, Math.min(end, data.length));
    fragments.push(fragment);
    have += fragment.length;
    if (want === null && have >= 4) {
      const head = concat(fragments, 4);
      if (head[0] !== HANDSHAKE_CLIENT_HELLO) {
        return fail('malformed', `handshake message ${head[0]} is not a ClientHello`);
      }
      want = 4 + (((head[1] as number) << 16) | ((head[2] as number) << 8) | (head[3] as number));
      if (want - 4 > MAX_HELLO_LENGTH) return fail('too-large', `a ClientHello of ${want - 4} bytes`);
    }
    if (end > data.length) return needMoreWithin(data.length);
    if (want !== null && have >= want) {
      // Bytes past the hello in its last record would be a second handshake message: not one a client sends
      // before the server answers, and not one this reader needs.
      return { kind: 'joined', handshake: concat(fragments, want), bytes: end };
    }
    offset = end;
  }
}

function needMoreWithin(read: number): ClientHelloResult {
  return read >= MAX_HELLO_PREFIX
    ? fail('too-large', `no complete ClientHello within ${MAX_HELLO_PREFIX} bytes`)
    : { kind: 'need-more' };
}

/** The first `n` bytes of the fragments joined (the caller has made sure there are that many). */
function concat(fragments: Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let at = 0;
  for (const f of fragments) {
    if (at >= n) break;
    const part = f.subarray(0, n - at);
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function u16(data: Uint8Array, at: number): number {
  return ((data[at] as number) << 8) | (data[at + 1] as number);
}

/** A bounds-checked reader over one container (the hello, an extension, a list inside it). */
class Reader {
  offset = 0;
  constructor(readonly data: Uint8Array) {}
  get left(): number {
    return this.data.length - this.offset;
  }
  skip(n: number): boolean {
    if (n > this.left) return false;
    this.offset += n;
    return true;
  }
  u8(): number | null {
    if (this.left < 1) return null;
    return this.data[this.offset++] as number;
  }
  u16(): number | null {
    if (this.left < 2) return null;
    const v = u16(this.data, this.offset);
    this.offset += 2;
    return v;
  }
  /** A vector with a 1- or 2-byte length prefix, as its own reader; null when it overruns this one. */
  vector(prefix: 1 | 2): Reader | null {
    const n = prefix === 1 ? this.u8() : this.u16();
    if (n === null || n > this.left) return null;
    const r = new Reader(this.data.subarray(this.offset, this.offset + n));
    this.offset += n;
    return r;
  }
}

/** RFC 8446 §4.1.2 ClientHello layout; returns the SNI host name, null when none is sent. */
function serverNameOf(body: Uint8Array): string | null | Failure {
  const r = new Reader(body);
  const major = r.u8();
  if (major !== 3 || !r.skip(1 + 32)) return fail('malformed', 'a ClientHello without version and random');
  const session = r.vector(1);
  if (session === null || session.left > 32) return fail('malformed', 'a bad legacy_session_id');
  const suites = r.vector(2);
  if (suites === null || suites.left === 0 || suites.left % 2 !== 0) {
    return fail('malformed', 'a bad cipher_suites list');
  }
  const compression = r.vector(1);
  if (compression === null || compression.left === 0) return fail('malformed', 'a bad compression list');
  // SSL 3.0-era hellos end here: no extensions, so no name.
  if (r.left === 0) return null;
  const extensions = r.vector(2);
  if (extensions === null || r.left !== 0) return fail('malformed', 'a bad extensions length');
  let name: string | null = null;
  let seen = false;
  while (extensions.left > 0) {
    const type = extensions.u16();
    const data = extensions.vector(2);
    if (type === null || data === null) return fail('malformed', 'an extension overruns the ClientHello');
    if (type !== EXT_SERVER_NAME) continue;
    // RFC 8446 §4.2: an extension type appears at most once.
    if (seen) return fail('malformed', 'two server_name extensions');
    seen = true;
    const found = hostNameOf(data);
    if (typeof found !== 'string' && found !== null) return found;
    name = found;
  }
  return name;
}

/** RFC 6066 §3: ServerNameList; the host_name entry (type 0), at most one. */
function hostNameOf(ext: Reader): string | null | Failure {
  // An empty extension is what a server sends back; from a client it names nothing.
  if (ext.left === 0) return null;
  const list = ext.vector(2);
  if (list === null || ext.left !== 0 || list.left === 0) return fail('malformed', 'a bad server_name list');
  let name: string | null = null;
  while (list.left > 0) {
    const type = list.u8();
    const value = list.vector(2);
    if (type === null || value === null) return fail('malformed', 'a server name overruns its list');
    if (type !== NAME_TYPE_HOST) continue;
    if (name !== null) return fail('malformed', 'two host_name entries');
    const host = validHostName(value.data);
    if (host === null) return fail('malformed', 'a server name that is not a DNS host name');
    name = host;
  }
  return name;
}

/** RFC 1123 §2.1 letters-digits-hyphen labels; RFC 6066 §3: no trailing dot, no IP literal. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function validHostName(bytes: Uint8Array): string | null {
  if (bytes.length === 0 || bytes.length > 253) return null;
  for (const b of bytes) if (b < 0x21 || b > 0x7e) return null;
  const name = new TextDecoder().decode(bytes).toLowerCase();
  const labels = name.split('.');
  if (!labels.every((l) => LABEL.test(l))) return null;
  // An all-numeric last label would be read as an IPv4 address by resolvers.
  if (/^[0-9]+$/.test(labels[labels.length - 1] as string)) return null;
  return name;
}
