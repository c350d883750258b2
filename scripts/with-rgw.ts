// Runs a command (the test run) with one Ceph RGW for all of it (test/support/rgw.ts):
//   node dist/scripts/with-rgw.js COMMAND [ARGS...]
// RGW starts first and its directory goes to the command in KURA_RGW_DIR; it is stopped when the command
// ends, whatever its exit. When RGW cannot start, the command still runs, with the reason in
// KURA_RGW_ERROR, so that the tests that need RGW fail with it and the others run.

import { spawn } from 'node:child_process';
import { startRgw } from '../test/support/rgw.js';

async function main(): Promise<number> {
  const [command, ...args] = process.argv.slice(2);
  if (command === undefined) {
    console.error('usage: node dist/scripts/with-rgw.js COMMAND [ARGS...]');
    return 2;
  }
  const env = { ...process.env };
  const rgw = await startRgw(`/tmp/kura-rgw-run-${process.pid}`).catch((err: Error) => {
    env.KURA_RGW_ERROR = err.message;
    console.error(`with-rgw: ${err.message}`);
    return null;
  });
  if (rgw !== null) env.KURA_RGW_DIR = rgw.dir;
  const child = spawn(command, args, { env, stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve) => {
    child.on('error', (err) => {
      console.error(`with-rgw: ${err.message}`);
      resolve(127);
    });
    child.on('exit', (status, signal) => resolve(status ?? (signal === null ? 1 : 128)));
  });
  await rgw?.release();
  return code;
}

process.exitCode = await main();
