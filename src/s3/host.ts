// Host header / URL authority validation (RFC 9110 §7.2, RFC 3986 §3.2.2). Kura routes by this value and
// forwards it untouched, so anything that is not plainly a name, an address and a port is refused here.
import { isIPv6 } from 'node:net';
import { ParseMemo } from './parse-memo.js';
import type { HostPort } from './types.js';

/** RFC 1035 §2.3.4: a whole name is at most 253 characters without its trailing dot. */
const MAX_NAME_LENGTH = 253;

/**
 * A DNS label: letters, digits and `-` (not at either end, RFC 1123 §2.1), plus `_`, which S3 bucket
 * names cannot hold but some custom hosts do.
 */
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** RFC 3986 §3.2.2 dec-octet: no leading zeros, so `01` cannot be read as octal by a resolver. */
const DEC_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;

/** Numeric last labels that resolvers (inet_aton) or the WHATWG URL parser would read as an address. */
const NUMERIC_LABEL = /^(?:[0-9]+|0x[0-9a-f]*)$/;

/** Host headers repeat request after request: one parse each (parse-memo.ts), frozen since shared. */
const hosts = new ParseMemo((value) => {
  const host = readHost(value);
  return host === null ? null : Object.freeze(host);
});

export function parseHost(value: string): Readonly<HostPort> | null {
  return hosts.get(value);
}

function readHost(value: string): HostPort | null {
  if (value.length === 0 || value.length > MAX_NAME_LENGTH + 10) return null;
  if (value.startsWith('[')) return parseBracketed(value);
  const colon = value.indexOf(':');
  if (colon !== value.lastIndexOf(':')) return null; // an unbracketed IPv6 address is ambiguous
  const name = colon === -1 ? value : value.slice(0, colon);
  const port = colon === -1 ? null : parsePort(value.slice(colon + 1));
  if (port === undefined) return null;
  return parseName(name.toLowerCase(), port);
}

/** RFC 3986 §3.2.2 IP-literal; zone identifiers (`%25eth0`) are refused: they mean nothing upstream. */
function parseBracketed(value: string): HostPort | null {
  const close = value.indexOf(']');
  if (close === -1) return null;
  const address = value.slice(1, close).toLowerCase();
  if (address.includes('%') || !isIPv6(address)) return null;
  const rest = value.slice(close + 1);
  if (rest === '') return { hostname: address, port: null, kind: 'ipv6' };
  if (!rest.startsWith(':')) return null;
  const port = parsePort(rest.slice(1));
  return port === undefined ? null : { hostname: address, port, kind: 'ipv6' };
}

/** Port 1..65535 in plain digits; an empty port (`host:`) is refused rather than guessed. */
function parsePort(text: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

function parseName(lowered: string, port: number | null): HostPort | null {
  const name = lowered.endsWith('.') ? lowered.slice(0, -1) : lowered;
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) return null;
  const labels = name.split('.');
  if (isDottedQuad(labels)) return { hostname: name, port, kind: 'ipv4' };
  if (!labels.every((label) => LABEL.test(label))) return null;
  if (NUMERIC_LABEL.test(labels[labels.length - 1] ?? '')) return null;
  return { hostname: name, port, kind: 'dns' };
}

function isDottedQuad(labels: readonly string[]): boolean {
  return labels.length === 4 && labels.every((octet) => DEC_OCTET.test(octet) && Number(octet) <= 255);
}
