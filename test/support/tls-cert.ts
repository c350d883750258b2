// Self-signed certificates for tests, made by the openssl command into a directory the test owns.

import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCert {
  certPath: string;
  keyPath: string;
  cert: Buffer;
  key: Buffer;
  /** SHA-256 fingerprint as node:crypto prints it (`AB:CD:…`). */
  fingerprint256: string;
}

/** A P-256 certificate for `names` (DNS names, or IP addresses as `IP:x`), valid for a day. */
export function makeTestCert(dir: string, label: string, names: string[]): TestCert {
  const keyPath = join(dir, `${label}-key.pem`);
  const certPath = join(dir, `${label}-cert.pem`);
  const san = names.map((n) => (n.startsWith('IP:') ? n : `DNS:${n}`)).join(',');
  const cn = (names[0] ?? 'kura.test').replace(/^IP:/, '');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      `subjectAltName=${san}`,
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ],
    { stdio: 'ignore' },
  );
  const cert = readFileSync(certPath);
  return {
    certPath,
    keyPath,
    cert,
    key: readFileSync(keyPath),
    fingerprint256: new X509Certificate(cert).fingerprint256,
  };
}
