// The `kura` command as scripts use it: output, exit codes (0 ok, 1 failure, 2 usage or config),
// clear start-up failures, and a clean stop on SIGTERM.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { primaryNodeLine, supportedNodeRange } from '../../src/cli/node-support.js';
import { ext4Journal } from '../../src/store/local-fs.js';
import { freePort, KURA_BIN, spawnKura } from '../support/kura.js';

const EXAMPLE = new URL('../../../config/kura.example.yaml', import.meta.url).pathname;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kura-cli-'));
});
after(() => rm(dir, { recursive: true, force: true }));

function kura(args: string[], opts: { env?: NodeJS.ProcessEnv; withoutBindCapability?: boolean } = {}) {
  const argv = [KURA_BIN, ...args];
  // Root may bind any port; to see a permission error, run without the capability that allows it
  // (root keeps reading the files, which an unprivileged user might not).
  const [cmd, cmdArgs] =
    opts.withoutBindCapability && process.getuid?.() === 0
      ? [
          'setpriv',
          [
            '--bounding-set',
            '-net_bind_service',
            '--inh-caps',
            '-net_bind_service',
            process.execPath,
            ...argv,
          ],
        ]
      : [process.execPath, argv];
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      cmd as string,
      cmdArgs as string[],
      { env: { PATH: process.env.PATH, ...opts.env }, timeout: 20_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('--version prints the package version, then the Node.js in use and the supported range', async () => {
  const r = await kura(['--version']);
  assert.equal(r.code, 0);
  const range = supportedNodeRange();
  assert.equal(r.stdout.split('\n')[1], `Node.js ${process.version} (supported: ${range})`);
  assert.match(r.stdout, /^\d+\.\d+\.\d+\nNode\.js v\d+\.\d+\.\d+ \(supported: [^\n]+\)\n$/);
});

test('on a Node.js outside the supported range it refuses to start, naming the range and how to get one', async () => {
  // The Node.js the command sees is 20.20.2 (set before bin/kura.js loads); everything else is real.
  const old = 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.20.2"})';
  const port = await freePort();
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', old, KURA_BIN, 'serve', '--http-host', '127.0.0.1', '--http-port', String(port)],
      { env: { PATH: process.env.PATH }, timeout: 20_000 },
      (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.ok(r.stderr.startsWith('kura: Node.js v20.20.2 is not supported; '), r.stderr);
  assert.ok(r.stderr.includes(`Kura runs on Node.js ${supportedNodeRange()}.`), r.stderr);
  assert.ok(r.stderr.includes(`npx node@${primaryNodeLine()} bin/kura.js`), r.stderr);
  // Nothing was started: the port it was given is still free.
  const probe = createServer();
  probe.listen(port, '127.0.0.1');
  await once(probe, 'listening');
  probe.close();
});

test('--help lists the commands and shows examples', async () => {
  const r = await kura(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /serve/);
  assert.match(r.stdout, /config/);
  assert.match(r.stdout, /Examples:/);
  const serve = await kura(['serve', '--help']);
  assert.match(serve.stdout, /--origin <url>/);
});

test('unknown commands and options exit 2', async () => {
  assert.equal((await kura(['frobnicate'])).code, 2);
  assert.equal((await kura(['serve', '--no-such-flag'])).code, 2);
});

test('a missing subcommand shows the help and exits 2; help asked for exits 0', async () => {
  for (const args of [[], ['config'], ['cache']]) {
    const r = await kura(args);
    assert.equal(r.code, 2, `kura ${args.join(' ')}`);
    assert.match(r.stderr, /Usage: kura/);
  }
  for (const args of [['help'], ['help', 'config'], ['config', '--help']]) {
    assert.equal((await kura(args)).code, 0, `kura ${args.join(' ')}`);
  }
});

test('config check prints the effective config of the example file', async () => {
  const r = await kura(['config', 'check', '-c', EXAMPLE]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /http_port: 80\n/);
  assert.match(r.stdout, /max_size: 100GiB\n/);
  assert.match(r.stdout, /get_ttl: 1d\n/);
});

test('config check applies KURA_* variables and flags, flags last', async () => {
  const r = await kura(['config', 'check', '--http-port', '9090', '--origin', 'http://127.0.0.1:9000'], {
    env: { KURA_HTTP_PORT: '8080', KURA_LOG_LEVEL: 'debug' },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /http_port: 9090\n/);
  assert.match(r.stdout, /level: debug\n/);
  assert.match(r.stdout, /"\*": http:\/\/127\.0\.0\.1:9000\n/);
});

test('config check lists every problem and exits 2', async () => {
  const file = join(dir, 'bad.yaml');
  await writeFile(file, 'server:\n  http_port: abc\n  htp_port: 1\ncache:\n  max_size: lots\n');
  const r = await kura(['config', 'check', '-c', file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /invalid configuration \(3 problems\)/);
  // Each with the line of the file to change.
  assert.match(r.stderr, /bad\.yaml:2: server\.http_port: "abc" is not a port/);
  assert.match(r.stderr, /bad\.yaml:3: server\.htp_port: unknown field \(did you mean server\.http_port\?\)/);
  assert.match(r.stderr, /bad\.yaml:5: cache\.max_size: "lots" is not a size/);
});

test('a value from a variable is blamed on the variable, not on a line of the file', async () => {
  const file = join(dir, 'port.yaml');
  await writeFile(file, 'server:\n  http_port: 8000\n');
  const r = await kura(['config', 'check', '-c', file], { env: { KURA_HTTP_PORT: 'eighty' } });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^ {2}server\.http_port: \(from KURA_HTTP_PORT\) "eighty" is not a port/m);
});

test('a YAML syntax error names the line at fault', async () => {
  const cases: [string, number][] = [
    // A key indented deeper than its siblings: the parser reports the line before it.
    ['server:\n  http_port: 8000\n   admin: 1\ncache:\n  dir: /x\n', 3],
    ['server:\n\thttp_port: 8000\n', 2],
    ['cache:\n  dir: /x\n  dir: /y\n', 3],
  ];
  for (const [text, line] of cases) {
    const file = join(dir, 'syntax.yaml');
    await writeFile(file, text);
    const r = await kura(['config', 'check', '-c', file]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      new RegExp(`syntax\\.yaml:${line}: not valid YAML`),
      `${JSON.stringify(text)}\n${r.stderr}`,
    );
  }
});

test('a missing or unparsable file is a config error', async () => {
  const missing = await kura(['config', 'check', '-c', join(dir, 'nope.yaml')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read/);
  const file = join(dir, 'broken.yaml');
  await writeFile(file, 'server: [unclosed\n');
  const broken = await kura(['config', 'check', '-c', file]);
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /broken\.yaml:\d+: not valid YAML/);
});

test('serve with an invalid config exits 2 before listening', async () => {
  const r = await kura(['serve'], { env: { KURA_HTTP_PORT: 'eighty' } });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /server\.http_port: \(from KURA_HTTP_PORT\) "eighty" is not a port/);
});

test('a port in use is a runtime failure, exit 1, saying so', async () => {
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const port = (busy.address() as { port: number }).port;
  try {
    const r = await kura([
      'serve',
      '--http-host',
      '127.0.0.1',
      '--http-port',
      String(port),
      '--admin-port',
      '0',
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /already in use/);
  } finally {
    busy.close();
  }
});

test('a port it may not bind says how to grant the capability or pick another port', async () => {
  const r = await kura(
    ['serve', '--http-host', '127.0.0.1', '--http-port', '80', '--https-port', '0', '--admin-port', '0'],
    {
      withoutBindCapability: true,
    },
  );
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /permission denied/);
  assert.match(r.stderr, /cap_net_bind_service/);
  assert.match(r.stderr, /--http-port 8000 \/ KURA_HTTP_PORT=8000/);
});

test('serve logs one line per listener and one for the volume, and stops cleanly on SIGTERM', async () => {
  const adminPort = await freePort();
  const k = await spawnKura(['--origin', 'http://127.0.0.1:9', '--admin-port', String(adminPort)]);
  let code: number | null = null;
  let journal: ReturnType<typeof ext4Journal> = null;
  try {
    for (let i = 0; i < 100 && !k.stderr().includes('"msg":"volume '); i++) await sleep(20);
    const lines = k
      .stderr()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string });
    // The command runs on the Node.js that runs this test (process.execPath), and says which.
    const first = new RegExp(
      `^kura \\d+\\.\\d+\\.\\d+ on Node\\.js ${process.version.replaceAll('.', '\\.')}: HTTP listener on http://127\\.0\\.0\\.1:\\d+$`,
    );
    assert.match(lines[0]?.msg ?? '', first);
    assert.equal(
      lines[1]?.msg,
      `admin listener on http://127.0.0.1:${adminPort} (/health/live, /health/ready, /metrics, /dashboard)`,
    );
    assert.match(lines[2]?.msg ?? '', /^volume \/\S+ \(chunk size 1048576 bytes, instance \S+\)$/);
    journal = ext4Journal((lines[2] as { volume?: string }).volume as string);
  } finally {
    code = await k.stop();
  }
  assert.equal(code, 0);
  assert.match(k.stderr(), /"msg":"stopped"/);
  // A volume on ext4 without a journal is warned about, once, after the volume's line: on such a machine.
  const all = k
    .stderr()
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { level: string; msg: string });
  const warned = all.filter((l) => l.level === 'warn' && l.msg.includes('ext4 without a journal'));
  assert.equal(warned.length, journal === 'none' ? 1 : 0, k.stderr());
  if (warned.length === 1) assert.equal(all[3], warned[0], 'right after the volume line');
});

test('SIGTERM lets a request in flight finish, then exits 0', async () => {
  const slow = createHttpServer((_req, res) => {
    res.writeHead(200, { 'content-length': 6 });
    res.write('slow');
    setTimeout(() => res.end('ok'), 700);
  });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  const k = await spawnKura(['--origin', `http://127.0.0.1:${(slow.address() as { port: number }).port}`]);
  try {
    const body = new Promise<string>((resolve, reject) => {
      get(`${k.url}/b/k`, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
          if (text === 'slow') k.child.kill('SIGTERM');
        });
        res.on('end', () => resolve(text));
        res.on('error', reject);
      }).on('error', reject);
    });
    assert.equal(await body, 'slowok', 'the response in flight completed');
    const code = k.child.exitCode ?? ((await once(k.child, 'exit')) as [number | null])[0];
    assert.equal(code, 0);
  } finally {
    await k.stop();
    slow.closeAllConnections();
    slow.close();
  }
});
