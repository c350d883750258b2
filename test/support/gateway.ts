// Helpers for gateway tests: Ed25519 and RSA key pairs as PEM, bearer digests, and plain HTTP requests
// to a gateway listener (no AWS credentials: that is the point of the gateway).

import { createHash, generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import { crc32, deflateSync } from 'node:zlib';

export interface PemPair {
  publicKey: string;
  privateKey: string;
}

export function keyPair(kind: 'ed25519' | 'rsa' | 'ec'): PemPair {
  const encoding = {
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  } as const;
  if (kind === 'rsa')
    return generateKeyPairSync('rsa', { modulusLength: 2048, ...encoding }) as unknown as PemPair;
  if (kind === 'ec')
    return generateKeyPairSync('ec', { namedCurve: 'P-256', ...encoding }) as unknown as PemPair;
  return generateKeyPairSync('ed25519', encoding) as unknown as PemPair;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface GatewayAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request to the gateway on 127.0.0.1:port, the path sent exactly as given. */
export function gatewayRequest(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer } = {},
): Promise<GatewayAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: opts.method ?? 'GET',
        headers: opts.headers ?? {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A valid PNG of one colour (RFC 2083): signature, IHDR, one IDAT of filtered rows, IEND. */
export function solidPng(width: number, height: number, rgb: [number, number, number]): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'ascii'), data])));
    return Buffer.concat([length, Buffer.from(type, 'ascii'), data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => rgb).flat())]);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
