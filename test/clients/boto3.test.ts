// boto3 (Debian's python3-boto3, 1.26) through Kura and direct against RGW: upload_file and
// download_file with 5 MiB parts, a ranged get_object, the managed copy (UploadPartCopy), delete and
// generate_presigned_url (SigV2 query parameters, botocore's default for presigned S3 URLs here).
// boto3 has no sync. Requests go to one Python process (test/clients/boto3_ops.py).

import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ClientMatrix, Outcome, Side } from '../support/client-matrix.js';
import { clientMatrixTests, type Listing } from '../support/client-suite.js';

const SCRIPT = fileURLToPath(new URL('../../../test/clients/boto3_ops.py', import.meta.url));
/** Debian's Python, which has python3-boto3 (a python3 earlier on PATH may be another one). */
const PYTHON = '/usr/bin/python3';

let worker: ChildProcessWithoutNullStreams | undefined;
interface Answer extends Outcome {
  id?: number;
  url?: string;
  entries?: Listing['entries'];
}

const waiting = new Map<number, (answer: Answer) => void>();
let nextId = 0;

function call(m: ClientMatrix, side: Side, op: string, args: Record<string, unknown>) {
  const id = nextId++;
  return new Promise<Answer>((resolve, reject) => {
    if (!worker?.stdin.writable) return reject(new Error('the boto3 process is not running'));
    waiting.set(id, resolve);
    worker.stdin.write(`${JSON.stringify({ id, endpoint: side.endpoint, bucket: m.bucket, op, args })}\n`);
  });
}

clientMatrixTests({
  name: 'boto3',
  async setup() {
    const child = spawn(PYTHON, [SCRIPT], { env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    worker = child;
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('exit', () => {
      for (const resolve of waiting.values()) resolve({ code: 'worker exited', detail: stderr });
      waiting.clear();
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const answer = JSON.parse(line) as Answer & { id: number };
      waiting.get(answer.id)?.(answer);
      waiting.delete(answer.id);
    });
    const probe = await call(
      { bucket: 'none' } as ClientMatrix,
      { name: 'direct', endpoint: 'http://127.0.0.1:1', prefix: '' },
      'none',
      {},
    );
    assert.equal(
      probe.code,
      'ValueError',
      `boto3 (${PYTHON} with python3-boto3) does not run: ${probe.detail}`,
    );
  },
  async teardown() {
    if (!worker) return;
    const exited = new Promise((r) => worker?.once('exit', r));
    worker.stdin.end();
    const timer = setTimeout(() => worker?.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  },
  upload: (m, side, file, key) => call(m, side, 'upload', { file, key }),
  list: async (m, side, prefix) => {
    const r = await call(m, side, 'list', { prefix });
    return { ...r, entries: r.entries ?? [] };
  },
  download: (m, side, key, file) => call(m, side, 'download', { key, file }),
  downloadRange: (m, side, key, first, last, file) =>
    call(m, side, 'range', { key, file, range: `bytes=${first}-${last}` }),
  copy: (m, side, from, to) => call(m, side, 'copy', { from, to }),
  remove: (m, side, key) => call(m, side, 'remove', { key }),
  presign: (m, side, key) => call(m, side, 'presign', { key }),
});
