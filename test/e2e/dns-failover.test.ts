// The deployment docs/deployment.md describes, end to end: one S3 name with three A records, three Kura
// instances on one shared volume, and the AWS CLI v2's CRT transfer client (the AWS Common Runtime, which
// resolves every address and spreads its connections over them). One instance is killed with SIGKILL in
// the middle of a download; the download must still complete, byte-exact, from the other two.
//
// Everything runs inside a network namespace of its own, so that the name can resolve to Kura through the
// namespace's resolv.conf (dnsmasq) and Kura can own port 80 — the CRT client ignores the endpoint's port
// and always connects to :80 — without touching the machine's resolver or its listeners. The test needs
// root, `ip netns`, dnsmasq and /usr/bin/aws v2; `.ci/run` installs them, so a missing one is a failure
// with a message saying what is missing, never a skip.

import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { awsCliEnv } from '../support/aws-cli.js';
import { KURA_BIN, testWorkers } from '../support/kura.js';

const execFileP = promisify(execFile);

const MiB = 2 ** 20;
/** 128 MiB: sixteen 8 MiB ranged GETs from the CRT client, in flight together; 3–8 s cold here. */
const SIZE = 128 * MiB;
/** An S3-style name: s3rver, the origin behind Kura, reads any other Host as a CNAME-style bucket name. */
const NAME = 's3.us-east-1.amazonaws.com';
const INSTANCES = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
const DNS_ADDRESS = '127.0.0.53';
const ORIGIN_PORT = 9000;
const BUCKET = 'demo';
const AWS = '/usr/bin/aws';
const ORIGIN_SCRIPT = fileURLToPath(new URL('../../scripts/test-origin.js', import.meta.url));
const NS = `kura-dns-${process.pid}-${randomBytes(3).toString('hex')}`;
const NETNS_ETC = join('/etc/netns', NS);

let dir: string;
let nsCreated = false;
const children: ChildProcess[] = [];
const instances = new Map<string, { child: ChildProcess; accessLog: string }>();
let awsEnv: NodeJS.ProcessEnv;

/** Runs a command to completion (outside or inside the namespace), killed when it overruns `timeoutMs`. */
async function run(cmd: string, args: string[], timeoutMs: number, env?: NodeJS.ProcessEnv) {
  try {
    return await execFileP(cmd, args, {
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      env,
      maxBuffer: 16 * MiB,
    });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
  }
}

/** Starts `cmd` inside the namespace (`ip netns exec` execs it, so the child's pid is the command's own). */
function spawnInNs(cmd: string[], env: NodeJS.ProcessEnv, output: { out: string }): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', NS, ...cmd], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  const keep = (chunk: string) => {
    output.out = (output.out + chunk).slice(-64 * 1024);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return child;
}

/** Resolves once `pattern` shows in the child's output; fails if it exits first or after 15 s. */
async function waitFor(what: string, child: ChildProcess, output: { out: string }, pattern: RegExp) {
  const deadline = Date.now() + 15_000;
  while (!pattern.test(output.out)) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${what} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output.out}`,
      );
    }
    if (Date.now() > deadline) throw new Error(`${what} not ready after 15 s:\n${output.out}`);
    await sleep(25);
  }
}

function findDnsmasq(): string {
  for (const d of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin']) {
    if (d && existsSync(join(d, 'dnsmasq'))) return join(d, 'dnsmasq');
  }
  throw new Error('dnsmasq is not installed: apt-get install dnsmasq-base (.ci/run does it)');
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

interface Access {
  time: string;
  operation: string;
  status: number;
  bytesOut: number;
}

async function accessRecords(address: string): Promise<Access[]> {
  const file = instances.get(address)?.accessLog;
  const text = file && existsSync(file) ? await readFile(file, 'utf8') : '';
  // A SIGKILLed instance may leave a half-written last line; only whole lines count.
  return text
    .split('\n')
    .filter((line) => line.endsWith('}'))
    .map((line) => JSON.parse(line) as Access);
}

const isGet = (r: Access) => r.operation === 'GetObject' && (r.status === 200 || r.status === 206);

interface Connections {
  open: number;
  /** Connections with unacknowledged bytes or a send in the last 250 ms: a response in flight. */
  sending: number;
  /** Bytes sent to the client on those connections (this download's: the upload's connections are closed). */
  bytes: number;
}

/** Server-side TCP connections on :80 in the namespace, by the instance address they reached. */
async function connectionsByInstance(): Promise<Map<string, Connections>> {
  const { stdout } = await run('ip', ['netns', 'exec', NS, 'ss', '-Htni', 'state', 'established'], 5_000);
  const counts = new Map<string, Connections>();
  // `ss -i` prints each socket on one line ("Recv-Q Send-Q Local Peer") and its TCP info on the next.
  const lines = stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*\d+\s+(\d+)\s+(127\.0\.0\.[234]):80\s/.exec(lines[i] ?? '');
    if (!m?.[2]) continue;
    const info = lines[i + 1]?.startsWith('\t') ? (lines[i + 1] ?? '') : '';
    const lastSend = Number(/lastsnd:(\d+)/.exec(info)?.[1] ?? Number.POSITIVE_INFINITY);
    const c = counts.get(m[2]) ?? { open: 0, sending: 0, bytes: 0 };
    c.open += 1;
    c.bytes += Number(/bytes_sent:(\d+)/.exec(info)?.[1] ?? 0);
    if (Number(m[1]) > 0 || lastSend <= 250) c.sending += 1;
    counts.set(m[2], c);
  }
  return counts;
}

before(async () => {
  // Preconditions, each a clear failure: this test is part of `npm test` and CI installs what it needs.
  const { stdout: version } = await run(AWS, ['--version'], 30_000).catch((err: Error) => {
    throw new Error(`${AWS} (AWS CLI v2, Debian's awscli) is needed: ${err.message}`);
  });
  assert.match(version, /^aws-cli\/2\./, `${AWS} must be AWS CLI v2 (for its CRT transfer client)`);
  const dnsmasq = findDnsmasq();
  await run('ip', ['netns', 'add', NS], 10_000).catch((err: Error) => {
    throw new Error(`cannot create a network namespace (needs root and iproute2): ${err.message}`);
  });
  nsCreated = true;
  await run('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up'], 10_000);

  dir = await mkdtemp(join(tmpdir(), 'kura-dns-'));
  await mkdir(NETNS_ETC, { recursive: true });
  // `ip netns exec` bind-mounts these over /etc/resolv.conf and /etc/hosts for everything it starts.
  await writeFile(
    join(NETNS_ETC, 'resolv.conf'),
    `nameserver ${DNS_ADDRESS}\noptions timeout:1 attempts:2\n`,
  );
  await writeFile(join(NETNS_ETC, 'hosts'), '127.0.0.1 localhost\n');

  const base = { PATH: process.env.PATH };
  const dnsOut = { out: '' };
  const dns = spawnInNs(
    [
      dnsmasq,
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--bind-interfaces',
      `--listen-address=${DNS_ADDRESS}`,
      '--port=53',
      '--pid-file=',
      '--user=root',
      '--log-facility=-',
      ...INSTANCES.map((ip) => `--host-record=${NAME},${ip}`),
    ],
    base,
    dnsOut,
  );
  await waitFor('dnsmasq', dns, dnsOut, /started, version/);
  // The system resolver inside the namespace (what the CRT client uses) sees all three addresses.
  const { stdout: hosts } = await run('ip', ['netns', 'exec', NS, 'getent', 'hosts', NAME], 10_000);
  assert.deepEqual(
    [...hosts.matchAll(/^(\S+)\s/gm)].map((m) => m[1]).sort(),
    INSTANCES,
    `dnsmasq answers ${NAME} with every instance:\n${hosts}`,
  );

  const originOut = { out: '' };
  const origin = spawnInNs(
    [
      process.execPath,
      '--openssl-legacy-provider',
      ORIGIN_SCRIPT,
      '--port',
      String(ORIGIN_PORT),
      '--bucket',
      BUCKET,
      '--dir',
      join(dir, 'origin'),
    ],
    base,
    originOut,
  );
  await waitFor('the test origin', origin, originOut, /test origin http:\/\//);

  // Three instances, one volume. They start together, so the volume is created by whichever comes first.
  const volume = join(dir, 'volume');
  await Promise.all(
    INSTANCES.map(async (address) => {
      const accessLog = join(dir, `access-${address}.log`);
      const out = { out: '' };
      const child = spawnInNs(
        [
          process.execPath,
          KURA_BIN,
          'serve',
          '--http-host',
          address,
          '--http-port',
          '80',
          '--https-port',
          '0',
          '--admin-port',
          '0',
          '--cache-dir',
          volume,
          '--origin',
          `http://127.0.0.1:${ORIGIN_PORT}`,
          '--workers',
          String(testWorkers()),
        ],
        { ...base, KURA_LOG_ACCESS: accessLog },
        out,
      );
      instances.set(address, { child, accessLog });
      await waitFor(`kura on ${address}`, child, out, /HTTP listener on/);
    }),
  );

  // Retries stay on: retrying a failed part on another address is exactly the behaviour under test.
  awsEnv = awsCliEnv(dir, { s3Config: ['preferred_transfer_client = crt'], singleAttempt: false });
});

after(async () => {
  // Everything the test started lives in the namespace: kill what is left (by pid), then remove it.
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  if (nsCreated) {
    const { stdout } = await run('ip', ['netns', 'pids', NS], 5_000).catch(() => ({ stdout: '' }));
    for (const pid of stdout.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    const exits = children.map((c) =>
      c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null,
    );
    await Promise.race([Promise.all(exits), sleep(5_000)]);
    await run('ip', ['netns', 'delete', NS], 10_000).catch(() => undefined);
  }
  await rm(NETNS_ETC, { recursive: true, force: true });
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the CRT client downloads through three instances behind one name while one is SIGKILLed', {
  timeout: 100_000,
}, async (t) => {
  const endpoint = ['--endpoint-url', `http://${NAME}`];
  const up = join(dir, 'up.bin');
  const down = join(dir, 'down.bin');
  await writeFile(up, randomBytes(SIZE));
  const expected = await sha256(up);
  const key = `s3://${BUCKET}/failover/big.bin`;

  // Upload through the name too (multipart, spread over the instances): writes pass through Kura.
  await run(
    'ip',
    ['netns', 'exec', NS, AWS, ...endpoint, 's3', 'cp', '--only-show-errors', up, key],
    60_000,
    awsEnv,
  );
  // Access logs are flushed within a second of each line (src/telemetry/access-log.ts): look until every
  // instance that served a part has written it, or the flush time has long passed.
  const uploadedVia = new Set<string>();
  for (let waited = 0; waited <= 3_000 && uploadedVia.size < INSTANCES.length; waited += 250) {
    for (const address of INSTANCES) {
      if ((await accessRecords(address)).some((r) => r.operation === 'UploadPart')) uploadedVia.add(address);
    }
    if (uploadedVia.size < INSTANCES.length) await new Promise((r) => setTimeout(r, 250));
  }

  const started = Date.now();
  const cpOut = { out: '' };
  const cp = spawnInNs([AWS, ...endpoint, 's3', 'cp', '--only-show-errors', key, down], awsEnv, cpOut);
  const exited = new Promise<number | null>((resolve) => cp.once('exit', (code) => resolve(code)));
  const deadline = setTimeout(() => cp.kill('SIGKILL'), 60_000);

  // Kill mid-run. The CRT client asks for all its 8 MiB parts at once, so they all end at about the same
  // time and completed GETs say little; the bytes on the sockets do. Once a fifth of the object is sent,
  // kill the instance with the most responses in flight: those parts must be fetched again elsewhere.
  let victim: string | undefined;
  let killedAt = 0;
  let sentBeforeKill = 0;
  let connectionsAtKill = new Map<string, Connections>();
  while (victim === undefined && cp.exitCode === null && cp.signalCode === null) {
    await sleep(50);
    connectionsAtKill = await connectionsByInstance();
    sentBeforeKill = [...connectionsAtKill.values()].reduce((n, c) => n + c.bytes, 0);
    if (sentBeforeKill < SIZE / 5) continue;
    const busiest = [...connectionsAtKill].sort((a, b) => b[1].sending - a[1].sending)[0];
    victim = busiest && busiest[1].sending > 0 ? busiest[0] : undefined;
    if (victim) {
      instances.get(victim)?.child.kill('SIGKILL');
      killedAt = Date.now();
    }
  }
  const code = await exited;
  clearTimeout(deadline);
  const seconds = (Date.now() - started) / 1000;

  assert.ok(victim, `the download ended before an instance could be killed mid-run:\n${cpOut.out}`);
  assert.equal(code, 0, `aws s3 cp (CRT) completed after ${victim} was killed:\n${cpOut.out}`);
  assert.equal((await stat(down)).size, SIZE);
  assert.equal(await sha256(down), expected, 'the downloaded bytes equal the uploaded ones');

  const survivors = INSTANCES.filter((a) => a !== victim);
  const gets = new Map<string, Access[]>();
  for (const address of INSTANCES) gets.set(address, (await accessRecords(address)).filter(isGet));
  const servedBy = INSTANCES.filter((a) => (gets.get(a)?.length ?? 0) > 0);
  const afterKill = survivors.flatMap((a) => gets.get(a) ?? []).filter((r) => Date.parse(r.time) > killedAt);
  const summary =
    `${SIZE / MiB} MiB in ${seconds.toFixed(1)} s; upload via ${[...uploadedVia].join(', ')}; ` +
    `killed ${victim} after ${(sentBeforeKill / MiB).toFixed(0)} MiB sent, ${((killedAt - started) / 1000).toFixed(1)} s in, ` +
    `connections then ${JSON.stringify(Object.fromEntries(connectionsAtKill))}; GETs served: ` +
    INSTANCES.map((a) => `${a}=${gets.get(a)?.length ?? 0}`).join(' ') +
    `; after the kill by survivors: ${afterKill.length}`;
  t.diagnostic(summary);
  assert.ok(
    (connectionsAtKill.get(victim)?.sending ?? 0) > 0,
    `${victim} was sending when killed: ${summary}`,
  );
  assert.ok(servedBy.length > 1, `requests reached more than one instance: ${summary}`);
  assert.ok(afterKill.length > 0, `the survivors served the rest of the download: ${summary}`);
  assert.ok(uploadedVia.size > 1, `the CRT upload spread over the instances too: ${summary}`);
});
