// The `kura` command. Exit codes scripts can rely on: 0 success, 1 runtime failure, 2 bad usage or config.

import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import { stringify } from 'yaml';
import { envSettings, loadConfig, type Setting, showConfig } from '../config/load.js';
import type { KuraConfig } from '../config/schema.js';
import { KURA_VERSION, startKura } from '../server/kura.js';
import { tuneV8 } from '../server/v8-tuning.js';
import { startWorkerGroup, workerCount } from '../server/worker-group.js';
import { ext4Journal } from '../store/local-fs.js';
import { createLogger, type Logger } from '../telemetry/log.js';
import { cachePurge, cacheStats, cacheVerify } from './cache-commands.js';
import { nodeVersionLine, supportedNodeRange } from './node-support.js';
import { signCommand } from './sign-command.js';
import { warmCommand } from './warm-command.js';

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

const VERSION = KURA_VERSION;

/** Flags for the settings operators change most; each maps to one config field. */
const FLAG_SETTINGS: { flag: string; path: string; help: string }[] = [
  { flag: '--http-host <addr>', path: 'server.http_host', help: 'address to listen on (server.http_host)' },
  { flag: '--http-port <port>', path: 'server.http_port', help: 'HTTP port (server.http_port, default 80)' },
  {
    flag: '--https-port <port>',
    path: 'server.https_port',
    help: 'TLS passthrough port, 0 off (server.https_port)',
  },
  { flag: '--admin-port <port>', path: 'admin.port', help: 'admin port, 0 off (admin.port)' },
  { flag: '--cache-dir <dir>', path: 'cache.dir', help: 'the shared volume (cache.dir)' },
  {
    flag: '--origin <url>',
    path: 'upstream.overrides.*',
    help: 'send every request to this origin (overrides "*")',
  },
  {
    flag: '--allow <patterns>',
    path: 'upstream.allow',
    help: 'comma-separated upstream host patterns (upstream.allow)',
  },
  { flag: '--log-level <level>', path: 'log.level', help: 'error, warn, info or debug (log.level)' },
  {
    flag: '--workers <n>',
    path: 'server.workers',
    help: 'processes serving the listeners, or auto: one per core (server.workers)',
  },
];

/** commander's way of taking a repeatable option. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function attributeName(flag: string): string {
  return (flag.split(' ')[0] as string).slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function resolveConfig(
  file: string | undefined,
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  err: (s: string) => void,
): KuraConfig | null {
  const settings: Setting[] = [
    ...envSettings(env),
    ...FLAG_SETTINGS.filter((f) => flags[attributeName(f.flag)] !== undefined).map((f) => ({
      path: f.path,
      value: flags[attributeName(f.flag)],
      source: f.flag.split(' ')[0] as string,
    })),
  ];
  const result = loadConfig({ file: file ?? env.KURA_CONFIG ?? null, settings });
  if (result.ok) return result.config;
  err(
    `kura: invalid configuration (${result.problems.length} problem${result.problems.length > 1 ? 's' : ''}):\n`,
  );
  for (const p of result.problems) err(`  ${p.where ? `${p.where}: ` : ''}${p.path}: ${p.message}\n`);
  return null;
}

export interface MainIO {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

export async function main(argv: string[], io: MainIO = defaultIO()): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = new Command('kura')
    .description('A transparent, shared caching proxy for Amazon S3 and S3-compatible stores.')
    .version(`${VERSION}\n${nodeVersionLine()}`, '-V, --version')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  kura serve                                  run with defaults (:80, S3 endpoints)
  kura serve -c /etc/kura/kura.yaml
  kura serve --http-port 8000 --origin http://127.0.0.1:9000 --cache-dir ./cache
  kura config check -c /etc/kura/kura.yaml    print the effective config, or every error
  kura cache stats -c /etc/kura/kura.yaml     size, objects, instances, leader, last eviction
  kura cache verify --cache-dir /mnt/kura     checksums and accounting; exit 1 when unhealthy
  kura cache verify --repair                  the same, removing what is damaged
  kura cache purge my-bucket/logs/            remove cached objects under a prefix
  kura sign /media/cat.png --key link.pem --expires 1h --base-url https://media.example.com
  kura warm s3://my-bucket/tables/ --endpoint http://kura.internal --concurrency 16
  kura warm http://127.0.0.1:9080/media/2024/ -c /etc/kura/kura.yaml

Configuration: defaults < YAML file (-c or KURA_CONFIG) < KURA_* variables < flags.
Exit codes: 0 success, 1 runtime failure, 2 bad usage or invalid configuration.`,
    );

  const serve = program
    .command('serve')
    .description('run the proxy')
    .option('-c, --config <file>', 'YAML configuration file (or KURA_CONFIG)');
  for (const f of FLAG_SETTINGS) serve.addOption(new Option(f.flag, f.help));
  serve.action(async (flags: Record<string, unknown>) => {
    const config = resolveConfig(flags.config as string | undefined, flags, io.env, io.err);
    if (!config) {
      exitCode = EXIT.usage;
      return;
    }
    exitCode = await runServer(config, io);
  });

  const configCmd = program.command('config').description('inspect the configuration');
  const check = configCmd
    .command('check')
    .description('validate the configuration and print the effective values')
    .option('-c, --config <file>', 'YAML configuration file (or KURA_CONFIG)');
  for (const f of FLAG_SETTINGS) check.addOption(new Option(f.flag, f.help));
  check.action((flags: Record<string, unknown>) => {
    const config = resolveConfig(flags.config as string | undefined, flags, io.env, io.err);
    if (!config) {
      exitCode = EXIT.usage;
      return;
    }
    io.out(stringify(showConfig(config)));
  });

  const cacheCmd = program
    .command('cache')
    .description('inspect or change the shared volume (safe while instances run)');
  const volumeCommand = (name: string, description: string) => {
    const cmd = cacheCmd
      .command(name)
      .description(description)
      .option('-c, --config <file>', 'YAML configuration file (or KURA_CONFIG)')
      .addOption(new Option('--cache-dir <dir>', 'the shared volume (cache.dir)'));
    return cmd;
  };
  const withConfig =
    (run: (config: KuraConfig, flags: Record<string, unknown>, args: string[]) => Promise<number>) =>
    async (...params: unknown[]) => {
      const cmd = params[params.length - 1] as Command;
      const flags = cmd.opts() as Record<string, unknown>;
      const config = resolveConfig(flags.config as string | undefined, flags, io.env, io.err);
      if (!config) {
        exitCode = EXIT.usage;
        return;
      }
      exitCode = await run(config, flags, cmd.args);
    };
  volumeCommand('stats', 'size, objects, versions, instances seen, leader and last eviction')
    .option('--json', 'print JSON')
    .action(withConfig((config, flags) => cacheStats(config, flags.json === true, io)));
  volumeCommand('verify', 'check every chunk and record, and the size accounting; exit 1 when unhealthy')
    .option('--json', 'print JSON')
    .option('--repair', 'remove every damaged record, chunk and wrong-typed entry (the next read refills it)')
    .action(
      withConfig((config, flags) =>
        cacheVerify(config, { json: flags.json === true, repair: flags.repair === true }, io),
      ),
    );
  volumeCommand('purge', 'remove cached objects of a bucket, or of a key prefix in it')
    .argument('<bucket[/prefix]>', 'what to remove, e.g. my-bucket or my-bucket/logs/2024/')
    .action(withConfig((config, _flags, args) => cachePurge(config, args[0] as string, io)));

  program
    .command('sign')
    .description('make a signed link to a gateway route whose auth kind is link')
    .argument('<path>', 'route prefix and key, not percent-encoded, e.g. "/media/my cat.png"')
    .requiredOption('--key <file>', 'Ed25519 private key (PEM), e.g. from openssl genpkey -algorithm ed25519')
    .option('--method <method>', 'the method the link allows (GET also allows HEAD)', 'GET')
    .option('--expires <duration>', 'how long the link works, e.g. 15m, 1h, 7d', '1h')
    .option('--base-url <url>', 'the gateway listener, e.g. https://media.example.com (else the path only)')
    .action((path: string, flags: { key: string; method: string; expires: string; baseUrl?: string }) => {
      exitCode = signCommand(path, flags, io);
    });

  program
    .command('warm')
    .description('read every object under a prefix through Kura, so that later reads are hits')
    .argument(
      '<target>',
      's3://bucket/prefix (with --endpoint), or a gateway URL like http://gw:9080/media/photos/',
    )
    .option('-c, --config <file>', 'YAML configuration file with the gateway route (or KURA_CONFIG)')
    .option('--endpoint <url>', "Kura's transparent listener, for s3:// targets (your AWS credentials sign)")
    .option(
      '--region <region>',
      'region your credentials sign for, for s3:// targets',
      io.env.AWS_REGION ?? 'us-east-1',
    )
    .option('--concurrency <n>', 'objects read at once', '8')
    .option('--header <line>', 'a header for every gateway read, e.g. "Authorization: Bearer …"', collect, [])
    .action(
      async (
        target: string,
        flags: { config?: string; endpoint?: string; region: string; concurrency: string; header: string[] },
      ) => {
        let config: KuraConfig | null = null;
        if (!target.startsWith('s3://')) {
          config = resolveConfig(flags.config, {}, io.env, io.err);
          if (!config) {
            exitCode = EXIT.usage;
            return;
          }
        }
        const progress = process.stderr.isTTY ? (line: string) => process.stderr.write(line) : null;
        exitCode = await warmCommand(target, flags, config, { out: io.out, err: io.err, progress });
      },
    );

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // `kura` or `kura config` without a subcommand also shows the help, as an error (exitCode 1): bad usage.
      const asked = err.code === 'commander.help' && err.exitCode === 0;
      const benign = asked || ['commander.helpDisplayed', 'commander.version'].includes(err.code);
      return benign ? EXIT.ok : EXIT.usage;
    }
    io.err(`kura: ${(err as Error).message}\n`);
    return EXIT.failure;
  }
  return exitCode;
}

/** What `kura serve` runs: one process (src/server/kura.ts), or a worker group (worker-group.ts). */
interface Served {
  http: AddressInfo;
  https: AddressInfo | null;
  tls: AddressInfo | null;
  admin: AddressInfo | null;
  gateway: AddressInfo[];
  volume: { dir: string; chunkSize: number; instance: string };
  workers: number;
  reload(): Promise<void>;
  abandon(): Promise<void>;
  close(graceMs: number): Promise<void>;
}

async function serve(config: KuraConfig, log: Logger): Promise<Served> {
  tuneV8();
  const workers = workerCount(config, availableParallelism());
  // One worker is the single process, with no primary in front of it.
  if (workers === 1) {
    const kura = await startKura(config, { log });
    const v = kura.cache.volume;
    return {
      ...kura,
      volume: { dir: v.dir, chunkSize: v.chunkSize, instance: v.instanceId },
      workers,
      abandon: async () => kura.abandon(),
      close: (graceMs) => kura.close(graceMs),
    };
  }
  const group = await startWorkerGroup(config, workers, { log });
  return {
    ...group,
    volume: { ...group.volume, instance: group.volume.instances.join(', ') },
    workers,
    reload: async () => group.reload(),
  };
}

async function runServer(config: KuraConfig, io: MainIO): Promise<number> {
  const log = createLogger(config.log.level);
  let kura: Served;
  try {
    kura = await serve(config, log);
  } catch (err) {
    io.err(`kura: ${(err as Error).message}\n`);
    return EXIT.failure;
  }
  // Signal handlers go in before the start-up lines: whoever waits for them may signal at once.
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      const grace = config.server.shutdown_grace;
      log.info('stopping: no new connections; requests in flight may finish', {
        signal,
        graceSeconds: grace / 1000,
      });
      // A second signal is the operator saying "now".
      const now = (again: NodeJS.Signals) => {
        log.warn('stopping at once', { signal: again });
        kura.abandon().finally(() => process.exit(EXIT.failure));
      };
      process.once('SIGINT', now);
      process.once('SIGTERM', now);
      kura.close(grace).then(resolve, resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  const reload = () => {
    log.info('SIGHUP: reopening the access log and reading the cache rules file');
    kura.reload().catch((err: Error) => log.error('reload failed', { error: err.message }));
  };
  process.on('SIGHUP', reload);
  for (const line of startupLines(config, kura)) log.info(line.msg, line.fields);
  if (ext4Journal(kura.volume.dir) === 'none') {
    log.warn(
      `the volume is on ext4 without a journal, whose files cost more to make while others are removed: cold reads take about 2.5 times the CPU; keep ext4's journal (docs/volume.md, "A local disk's file system")`,
      { volume: kura.volume.dir },
    );
  }
  await stopped;
  process.off('SIGHUP', reload);
  log.info('stopped');
  return EXIT.ok;
}

/** One line per listener and one for the volume, so that an operator sees at a glance what is open. */
function startupLines(config: KuraConfig, kura: Served): { msg: string; fields: Record<string, unknown> }[] {
  const at = (scheme: string, a: AddressInfo) =>
    `${scheme}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  const overrides = Object.entries(config.upstream.overrides).map(([k, o]) => `${k} -> ${o.url}`);
  const lines: { msg: string; fields: Record<string, unknown> }[] = [
    {
      msg: `kura ${KURA_VERSION} on Node.js ${process.version}: HTTP listener on ${at('http', kura.http)}`,
      fields: {
        listener: 'http',
        node: process.version,
        nodeSupported: supportedNodeRange(),
        http: at('http', kura.http),
        upstream: overrides.length > 0 ? overrides : config.upstream.allow,
      },
    },
  ];
  if (kura.https) {
    lines.push({
      msg: `HTTPS passthrough (raw TCP by SNI) on ${at('tcp', kura.https)}`,
      fields: { listener: 'https', https: at('tcp', kura.https) },
    });
  }
  if (kura.tls) {
    lines.push({
      msg: `TLS listener on ${at('https', kura.tls)}`,
      fields: { listener: 'tls', tls: at('https', kura.tls) },
    });
  }
  if (kura.admin) {
    const url = at('http', kura.admin);
    lines.push({
      msg: `admin listener on ${url} (/health/live, /health/ready, /metrics, /dashboard)`,
      fields: { listener: 'admin', admin: url },
    });
  }
  for (const [i, g] of kura.gateway.entries()) {
    const url = at('http', g);
    const routes = config.gateway.routes.map((r) => `${r.name} -> ${r.bucket}`);
    lines.push({
      msg: `gateway listener on ${url} (${routes.length} route${routes.length === 1 ? '' : 's'})`,
      fields: { listener: `gateway-${i}`, gateway: url, routes },
    });
  }
  const v = kura.volume;
  lines.push({
    msg: `volume ${v.dir} (chunk size ${v.chunkSize} bytes, instance ${v.instance})`,
    fields: { volume: v.dir, chunkSize: v.chunkSize, instance: v.instance },
  });
  if (kura.workers > 1) {
    lines.push({
      msg: `${kura.workers} worker processes share the listeners (server.workers)`,
      fields: { workers: kura.workers },
    });
  }
  return lines;
}

function defaultIO(): MainIO {
  return { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), env: process.env };
}
