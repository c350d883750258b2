// Starts the signature-verifying test origin (s3rver behind a SigV4-checking front) for manual runs and
// the README walk-through:
//   node --openssl-legacy-provider dist/scripts/test-origin.js [--port 9000] [--bucket NAME]... [--dir DIR]

import { parseArgs } from 'node:util';
import { startTestOrigin } from '../test/support/origin.js';

const usage =
  'usage: node --openssl-legacy-provider dist/scripts/test-origin.js [--port 9000] [--bucket NAME]... ' +
  '[--dir DIR] [--host 127.0.0.1] [--allow-anonymous]';

async function main(): Promise<void> {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse().values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(usage);
    return;
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port: not a port number: ${values.port}\n${usage}`);
    process.exit(2);
  }

  const origin = await startTestOrigin({
    port,
    host: values.host ?? '127.0.0.1',
    allowAnonymous: values['allow-anonymous'] === true,
    ...(values.bucket?.length ? { buckets: values.bucket } : {}),
    ...(values.dir === undefined ? {} : { dir: values.dir }),
  });
  const { accessKeyId, secretAccessKey } = origin.credentials;
  console.log(
    `test origin ${origin.url} buckets=${origin.buckets.join(',')} region=${origin.region} ` +
      `AWS_ACCESS_KEY_ID=${accessKeyId} AWS_SECRET_ACCESS_KEY=${secretAccessKey}`,
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    origin.close().then(
      () => process.exit(signal === 'SIGINT' ? 130 : 143),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function parse() {
  return parseArgs({
    options: {
      port: { type: 'string', short: 'p' },
      bucket: { type: 'string', short: 'b', multiple: true },
      dir: { type: 'string', short: 'd' },
      host: { type: 'string' },
      'allow-anonymous': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
