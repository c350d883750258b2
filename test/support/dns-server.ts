// A real DNS server for tests: UDP on 127.0.0.1, answering A and AAAA queries from a table, with the wire
// format encoded by hand (RFC 1035 §4, RFC 3596). Names not in the table get NXDOMAIN; other query types
// for a known name get an empty NOERROR answer (NODATA). A name with a CNAME is answered the way a
// recursive server answers (S3 names are CNAMEs): the CNAME chain, then the final name's records. Every
// query is counted per name, so tests can tell whether a client asked the network or answered from its
// cache; queries of a type listed in `drop` are counted and never answered, as during an outage.
//
// Answers carry no SOA record, so resolvers have nothing to cache a negative answer by.

import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { isIPv4, isIPv6 } from 'node:net';

export interface DnsRecords {
  A?: string[];
  AAAA?: string[];
  /** Another name in the table whose records answer for this one. */
  CNAME?: string;
  /** Seconds; default 60. */
  ttl?: number;
  /** Query types to leave unanswered (the client times out). */
  drop?: ('A' | 'AAAA')[];
}

export interface DnsQuery {
  name: string;
  /** 'A', 'AAAA', or the numeric type of anything else. */
  type: string;
}

export interface TestDnsServer {
  /** `127.0.0.1:PORT`, as `dns.Resolver.setServers` takes it. */
  server: string;
  port: number;
  /** The answers, by lower-case name without the trailing dot; change it to change later answers. */
  records: Record<string, DnsRecords>;
  /** Every question received, in arrival order (names lower-cased). */
  queries: DnsQuery[];
  /** How many questions were received for `name`, optionally of one type only. */
  count(name: string, type?: 'A' | 'AAAA'): number;
  close(): Promise<void>;
}

const TYPE_A = 1;
const TYPE_CNAME = 5;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
const RCODE_FORMERR = 1;
const RCODE_NXDOMAIN = 3;
const RCODE_NOTIMP = 4;

interface Question {
  name: string;
  type: number;
  qclass: number;
  /** The question section exactly as received (echoed back in the answer). */
  raw: Buffer;
}

export async function startTestDnsServer(records: Record<string, DnsRecords> = {}): Promise<TestDnsServer> {
  const table: Record<string, DnsRecords> = {};
  for (const [name, r] of Object.entries(records)) table[normalise(name)] = r;
  const queries: DnsQuery[] = [];
  const socket = dgram.createSocket('udp4');

  socket.on('message', (msg, rinfo) => {
    const reply = answer(msg, table, queries);
    if (reply) socket.send(reply, rinfo.port, rinfo.address);
  });

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const { port } = socket.address() as AddressInfo;
  let closed = false;

  return {
    server: `127.0.0.1:${port}`,
    port,
    records: table,
    queries,
    count: (name, type) =>
      queries.filter((q) => q.name === normalise(name) && (type === undefined || q.type === type)).length,
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        socket.close(() => resolve());
      }),
  };
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** The reply to one datagram, or null for one too broken to answer (no complete header). */
function answer(msg: Buffer, table: Record<string, DnsRecords>, log: DnsQuery[]): Buffer | null {
  if (msg.length < 12) return null;
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000) return null; // a response, not a query
  const opcode = (flags >> 11) & 0xf;
  const q = parseQuestion(msg);
  if (!q) return header(id, flags, RCODE_FORMERR, 0, 0);
  if (opcode !== 0) return Buffer.concat([header(id, flags, RCODE_NOTIMP, 1, 0), q.raw]);

  const name = normalise(q.name);
  const type = q.type === TYPE_A ? 'A' : q.type === TYPE_AAAA ? 'AAAA' : String(q.type);
  log.push({ name, type });
  let entry = Object.hasOwn(table, name) ? table[name] : undefined;
  if (!entry) return Buffer.concat([header(id, flags, RCODE_NXDOMAIN, 1, 0), q.raw]);
  if ((type === 'A' || type === 'AAAA') && entry.drop?.includes(type)) return null;

  const answers: Buffer[] = [];
  // The first owner is the question's name, which starts at offset 12: a compression pointer to it.
  let owner: Buffer = Buffer.from([0xc0, 0x0c]);
  const seen = new Set([name]);
  while (entry?.CNAME !== undefined && q.type !== TYPE_CNAME) {
    const target = normalise(entry.CNAME);
    answers.push(record(owner, TYPE_CNAME, entry.ttl ?? 60, encodeName(target)));
    owner = encodeName(target);
    entry = seen.has(target) || !Object.hasOwn(table, target) ? undefined : table[target];
    seen.add(target);
  }
  if (entry && q.qclass === CLASS_IN) {
    const ttl = entry.ttl ?? 60;
    if (q.type === TYPE_A)
      for (const a of entry.A ?? []) answers.push(record(owner, q.type, ttl, ipv4Bytes(a)));
    if (q.type === TYPE_AAAA) {
      for (const a of entry.AAAA ?? []) answers.push(record(owner, q.type, ttl, ipv6Bytes(a)));
    }
    if (q.type === TYPE_CNAME && entry.CNAME !== undefined) {
      answers.push(record(owner, q.type, ttl, encodeName(normalise(entry.CNAME))));
    }
  }
  return Buffer.concat([header(id, flags, 0, 1, answers.length), q.raw, ...answers]);
}

function record(owner: Buffer, type: number, ttl: number, rdata: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(CLASS_IN, 2);
  fixed.writeUInt32BE(ttl, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([owner, fixed, rdata]);
}

function encodeName(name: string): Buffer {
  const labels = name === '' ? [] : name.split('.');
  return Buffer.concat([
    ...labels.map((label) => {
      const bytes = Buffer.from(label, 'latin1');
      return Buffer.concat([Buffer.from([bytes.length]), bytes]);
    }),
    Buffer.from([0]),
  ]);
}

function header(id: number, queryFlags: number, rcode: number, qdcount: number, ancount: number): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  // QR=1, opcode and RD copied from the query, AA=1, RA=1.
  const flags = 0x8000 | (queryFlags & 0x7800) | 0x0400 | (queryFlags & 0x0100) | 0x0080 | rcode;
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(qdcount, 4);
  h.writeUInt16BE(ancount, 6);
  // NSCOUNT and ARCOUNT stay 0: no authority, and any EDNS OPT record in the query is not echoed.
  return h;
}

/** The first question of a query (uncompressed labels, as every stub resolver sends them). */
function parseQuestion(msg: Buffer): Question | null {
  if (msg.readUInt16BE(4) < 1) return null;
  const labels: string[] = [];
  let at = 12;
  for (;;) {
    if (at >= msg.length) return null;
    const len = msg[at] as number;
    at += 1;
    if (len === 0) break;
    if (len > 63 || at + len > msg.length) return null; // compression or an overrun
    labels.push(msg.toString('latin1', at, at + len));
    at += len;
  }
  if (at + 4 > msg.length) return null;
  return {
    name: labels.join('.'),
    type: msg.readUInt16BE(at),
    qclass: msg.readUInt16BE(at + 2),
    raw: msg.subarray(12, at + 4),
  };
}

function ipv4Bytes(address: string): Buffer {
  if (!isIPv4(address)) throw new Error(`not an IPv4 address: ${address}`);
  return Buffer.from(address.split('.').map(Number));
}

function ipv6Bytes(address: string): Buffer {
  if (!isIPv6(address)) throw new Error(`not an IPv6 address: ${address}`);
  let text = address;
  const tail: number[] = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1] && dotted[2]) {
    const v4 = ipv4Bytes(dotted[2]);
    tail.push(v4.readUInt16BE(0), v4.readUInt16BE(2));
    text = dotted[1].endsWith('::') ? dotted[1] : dotted[1].slice(0, -1);
  }
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const [head = '', rest] = text.split('::');
  const before = groups(head);
  const after = [...(rest === undefined ? [] : groups(rest)), ...tail];
  const zeros = new Array<number>(8 - before.length - after.length).fill(0);
  const out = Buffer.alloc(16);
  for (const [i, g] of [...before, ...zeros, ...after].entries()) out.writeUInt16BE(g, i * 2);
  return out;
}
