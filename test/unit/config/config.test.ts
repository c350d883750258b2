import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { buildConfig, ENV_SETTINGS, envSettings, showConfig } from '../../../src/config/load.js';
import { isField, type KuraConfig, schema } from '../../../src/config/schema.js';
import { describeDuration, describeSize, parseDuration, parseSize } from '../../../src/config/units.js';

const EXAMPLE = new URL('../../../../config/kura.example.yaml', import.meta.url);

function problems(
  file: unknown,
  settings: { path: string; value: unknown; source?: string }[] = [],
): string[] {
  const r = buildConfig(
    file,
    settings.map((s) => ({ source: 'test', ...s })),
  );
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
}

describe('units', () => {
  const described: [number, string, string][] = [
    [0, '0B', '0ms'],
    [512, '512B', '512ms'],
    [1536, '1.5KiB', '1.5s'],
    [800_000, '781KiB', '13.3m'],
    [100 * 2 ** 30, '100GiB', '1243d'],
    [123_456_789, '118MiB', '1.4d'],
    [59_999, '58.6KiB', '60s'],
  ];
  for (const [n, size, duration] of described) {
    test(`${n} described as ${size} and ${duration}`, () => {
      assert.equal(describeSize(n), size);
      assert.equal(describeDuration(n), duration);
    });
  }
  const durations: [unknown, number | null][] = [
    ['30s', 30_000],
    ['500ms', 500],
    ['1d', 86_400_000],
    ['1.5h', 5_400_000],
    [' 2m ', 120_000],
    [10, 10_000],
    [0, 0],
    ['0', 0],
    ['-1s', null],
    ['1y', null],
    ['abc', null],
    [true, null],
    [null, null],
  ];
  for (const [input, expected] of durations) {
    test(`duration ${JSON.stringify(input)}`, () => assert.equal(parseDuration(input), expected));
  }
  const sizes: [unknown, number | null][] = [
    ['512MiB', 512 * 2 ** 20],
    ['100GiB', 100 * 2 ** 30],
    ['1TB', 1e12],
    ['64kib', 65_536],
    ['10', 10],
    [4096, 4096],
    ['1.5KiB', 1536],
    ['1 PiB', null],
    [-1, null],
    ['x', null],
  ];
  for (const [input, expected] of sizes) {
    test(`size ${JSON.stringify(input)}`, () => assert.equal(parseSize(input), expected));
  }
});

describe('config', () => {
  test('an empty file is a valid config with the documented defaults', () => {
    const r = buildConfig(null, []);
    assert.ok(r.ok);
    assert.equal(r.config.server.http_port, 80);
    assert.equal(r.config.server.https_port, 443);
    assert.equal(r.config.cache.chunk_size, 2 ** 20);
    assert.equal(r.config.cache.get_ttl, 86_400_000);
    assert.deepEqual(r.config.upstream.allow, ['*.amazonaws.com']);
    assert.deepEqual(r.config.upstream.overrides, {});
    assert.equal(r.config.log.level, 'info');
  });

  test('the example file documents every field and parses to the defaults', () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    const parsed = buildConfig(parse(text), []);
    assert.ok(parsed.ok, JSON.stringify(parsed));
    assert.deepEqual(parsed.config, (buildConfig({}, []) as { config: unknown }).config);
    const missing: string[] = [];
    const walk = (node: object, raw: Record<string, unknown>, prefix: string) => {
      for (const [key, child] of Object.entries(node)) {
        if (!(key in raw)) missing.push(`${prefix}${key}`);
        else if (!isField(child)) walk(child, raw[key] as Record<string, unknown>, `${prefix}${key}.`);
      }
    };
    walk(schema, parse(text), '');
    assert.deepEqual(missing, []);
  });

  test('server.workers: auto by default, an integer 1-1024, from KURA_WORKERS or --workers', () => {
    assert.equal((buildConfig({}, []) as { config: KuraConfig }).config.server.workers, 'auto');
    const fromEnv = buildConfig({}, envSettings({ KURA_WORKERS: '4' }));
    assert.ok(fromEnv.ok);
    assert.equal(fromEnv.config.server.workers, 4);
    assert.deepEqual(problems({ server: { workers: 0 } }), [
      'server.workers: 0 is not auto or an integer 1-1024',
    ]);
    assert.deepEqual(problems({ server: { workers: 'many' } }), [
      'server.workers: "many" is not auto or an integer 1-1024',
    ]);
  });

  test('errors name the field, the value and what is allowed', () => {
    assert.deepEqual(problems({ server: { http_port: 'abc' } }), [
      'server.http_port: "abc" is not a port (an integer 1-65535, or 0 for any free port)',
    ]);
    assert.deepEqual(problems({ cache: { get_ttl: 'soon' } }), [
      'cache.get_ttl: "soon" is not a duration (a number of seconds, or like 500ms, 30s, 5m, 1h, 1d)',
    ]);
  });

  test('capacity percentages: 90 or "90%", and the target below the trigger', () => {
    const r = buildConfig({ cache: { eviction_trigger: '95%', eviction_target: 60, write_share: '0%' } }, []);
    assert.ok(r.ok);
    assert.equal(r.config.cache.eviction_trigger, 95);
    assert.equal(r.config.cache.eviction_target, 60);
    assert.equal(r.config.cache.write_share, 0);
    assert.deepEqual(problems({ cache: { eviction_trigger: 101 } }), [
      'cache.eviction_trigger: 101 is not a percentage (an integer 1-100)',
    ]);
    assert.deepEqual(problems({ cache: { eviction_trigger: '70%', eviction_target: '80%' } }), [
      'cache.eviction_target: 80% is not below cache.eviction_trigger (70%)',
    ]);
    assert.deepEqual(problems({ cache: { expiration: 'eager' } }), [
      'cache.expiration: "eager" is not one of lazy, active',
    ]);
  });

  test('every problem is reported, not just the first', () => {
    const found = problems({
      server: { http_port: 70000, https_port: -1 },
      cache: { max_size: 'lots' },
      log: { level: 'loud' },
    });
    assert.equal(found.length, 4, found.join('\n'));
    assert.ok(found.some((p) => p.startsWith('log.level: "loud" is not one of error, warn, info, debug')));
  });

  test('unknown fields are errors, with a suggestion for typos', () => {
    assert.deepEqual(problems({ server: { htp_port: 8080 } }), [
      'server.htp_port: unknown field (did you mean server.http_port?); allowed: http_host, http_port, https_port, tls_port, tls, max_header_size, header_timeout, keep_alive_timeout, shutdown_grace, allow_clients, workers',
    ]);
    assert.match(problems({ nope: {} })[0] ?? '', /^nope: unknown field/);
    assert.match(problems({ server: 'x' })[0] ?? '', /^server: "x" is not a mapping/);
  });

  test('0 turns off the optional listeners, and picks a free port for the HTTP one', () => {
    assert.deepEqual(
      problems({ server: { http_port: 0, https_port: 0, tls_port: 0 }, admin: { port: 0 } }),
      [],
    );
    assert.deepEqual(problems({ server: { https_port: 65536 } }), [
      'server.https_port: 65536 is not a port (an integer 1-65535, or 0 for off)',
    ]);
  });

  test('overrides: URL or {url, tls_verify}, no path, keys are hosts', () => {
    const r = buildConfig(
      {
        upstream: {
          overrides: {
            's3.us-east-1.amazonaws.com': 'http://127.0.0.1:9000',
            '*.minio.internal': { url: 'https://10.0.0.5:9000/', tls_verify: false },
            '127.0.0.1:8080': 'http://[::1]:9000',
          },
        },
      },
      [],
    );
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.config.upstream.overrides, {
      's3.us-east-1.amazonaws.com': { url: 'http://127.0.0.1:9000', tls_verify: true },
      '*.minio.internal': { url: 'https://10.0.0.5:9000', tls_verify: false },
      '127.0.0.1:8080': { url: 'http://[::1]:9000', tls_verify: true },
    });
    const cases: [unknown, RegExp][] = [
      [{ h: 'http://x/prefix' }, /without path/],
      [{ h: 'ftp://x' }, /not an http:\/\/ or https:\/\/ URL/],
      [{ h: 'not a url' }, /is not a URL/],
      [{ h: { url: 'http://x', tls_verify: 'no' } }, /tls_verify/],
      [{ h: { url: 'http://x', extra: 1 } }, /unknown field extra/],
      [{ 'bad host/': 'http://x' }, /is not keyed by a host/],
    ];
    for (const [overrides, expected] of cases) {
      const found = problems({ upstream: { overrides } });
      assert.equal(found.length, 1, JSON.stringify(overrides));
      assert.match(found[0] as string, expected);
    }
  });

  test('identify is a header line and never one Kura must not add', () => {
    const r = buildConfig({ upstream: { identify: 'Referer: kura-cache' } }, []);
    assert.ok(r.ok);
    assert.deepEqual(r.config.upstream.identify, { name: 'referer', value: 'kura-cache' });
    assert.match(problems({ upstream: { identify: 'Authorization: x' } })[0] ?? '', /never add/);
    assert.match(problems({ upstream: { identify: 'no colon' } })[0] ?? '', /not a header line/);
  });

  test('telemetry, access log format and shutdown grace are checked and name the field', () => {
    const r = buildConfig(
      {
        server: { shutdown_grace: '45s' },
        telemetry: {
          otlp: { endpoint: 'http://collector:4318', timeout: '5s', headers: { authorization: 'Bearer x' } },
        },
        log: { access_format: 's3' },
      },
      [],
    );
    assert.ok(r.ok);
    assert.equal(r.config.server.shutdown_grace, 45_000);
    assert.deepEqual(r.config.telemetry.otlp.headers, { authorization: 'Bearer x' });
    assert.equal(r.config.telemetry.otlp.timeout, 5_000);
    assert.equal(r.config.log.access_format, 's3');
    assert.match(problems({ log: { access_format: 'apache' } })[0] ?? '', /^log\.access_format: /);
    assert.match(
      problems({ telemetry: { otlp: { headers: { 'bad name': 'x' } } } })[0] ?? '',
      /^telemetry\.otlp\.headers: .*not a header name/,
    );
    assert.match(problems({ telemetry: { otlp: { headers: { token: 5 } } } })[0] ?? '', /not a header value/);
    assert.match(problems({ server: { shutdown_grace: 'soon' } })[0] ?? '', /^server\.shutdown_grace: /);
  });

  test('KURA_* variables override the file, and errors say where a value came from', () => {
    const settings = envSettings({
      KURA_HTTP_PORT: '8080',
      KURA_ORIGIN: 'http://127.0.0.1:9000',
      KURA_ALLOW: 'a.com, *.b.com',
    });
    const r = buildConfig({ server: { http_port: 81 } }, settings);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.config.server.http_port, 8080);
    assert.deepEqual(r.config.upstream.overrides, {
      '*': { url: 'http://127.0.0.1:9000', tls_verify: true },
    });
    assert.deepEqual(r.config.upstream.allow, ['a.com', '*.b.com']);
    const bad = buildConfig({}, envSettings({ KURA_HTTP_PORT: 'eighty' }));
    assert.ok(!bad.ok);
    assert.equal(
      bad.problems[0]?.message,
      '(from KURA_HTTP_PORT) "eighty" is not a port (an integer 1-65535, or 0 for any free port)',
    );
  });

  test('KURA_TLS_CERT and KURA_TLS_KEY set the TLS listener files', () => {
    const r = buildConfig(
      {},
      envSettings({ KURA_TLS_CERT: '/etc/kura/cert.pem', KURA_TLS_KEY: '/etc/kura/key.pem' }),
    );
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.config.server.tls, { cert: '/etc/kura/cert.pem', key: '/etc/kura/key.pem' });
  });

  test('docs/configuration.md lists exactly the KURA_* variables Kura reads, with their fields', () => {
    const doc = readFileSync(new URL('../../../../docs/configuration.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\s*\| `(KURA_[A-Z_]+)`\s*\| `([^`]+)`/gm)].map((m) => [m[1], m[2]]);
    const documented = Object.fromEntries(rows.map(([name, field]) => [name, field?.replace('."*"', '.*')]));
    assert.deepEqual(documented, ENV_SETTINGS);
  });

  test('the effective config shows sizes and durations as an operator writes them', () => {
    const r = buildConfig({ cache: { max_size: '2GiB', head_ttl: 90 } }, []);
    assert.ok(r.ok);
    const shown = showConfig(r.config) as { cache: Record<string, unknown> };
    assert.equal(shown.cache.max_size, '2GiB');
    assert.equal(shown.cache.head_ttl, '90s');
    assert.ok(buildConfig(shown, []).ok, 'what config check prints is itself a valid config');
  });
});
