// The clients the workloads drive, each a C program in its own process so that the load generator costs
// the targets as little CPU as possible: wrk (small objects, a Lua script cycling presigned URLs, without
// a response() hook, which would copy bodies into Lua) and curl (whole large objects, timed transfers).

import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface WrkResult {
  requests: number;
  seconds: number;
  bytes: number;
  rps: number;
  /** Latency quantiles, ms. */
  p50: number;
  p99: number;
}

/** Runs a command to its end; its stdout, or an error naming the command and its stderr. */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')}… exited with ${code}: ${err || out}`));
    });
  });
}

const LUA = `
local paths = {}
for line in io.lines(os.getenv("BENCH_URLS")) do paths[#paths + 1] = line end
local n = 0
function request()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end
`;

/** As LUA, each request for a range of BENCH_RANGE_BYTES at a random offset of BENCH_RANGE_WITHIN bytes. */
const LUA_RANGES = `
local paths = {}
for line in io.lines(os.getenv("BENCH_URLS")) do paths[#paths + 1] = line end
local len = tonumber(os.getenv("BENCH_RANGE_BYTES"))
local within = tonumber(os.getenv("BENCH_RANGE_WITHIN"))
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end
function init(args)
  math.randomseed(seed * 7919)
end
local n = 0
function request()
  n = n + 1
  local start = math.random(0, within - len)
  local range = string.format("bytes=%d-%d", start, start + len - 1)
  return wrk.format("GET", paths[(n % #paths) + 1], { Range = range })
end
`;

/** Random ranges instead of whole objects: `bytes` each, anywhere in objects of `within` bytes. */
export interface WrkRanges {
  bytes: number;
  within: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };
const UNIT_BYTES: Record<string, number> = { B: 1, KB: 1024, MB: 2 ** 20, GB: 2 ** 30, TB: 2 ** 40 };

/** wrk over `paths` (request targets of `base`), `connections` at once, for `seconds`. */
export async function wrk(
  base: string,
  paths: readonly string[],
  connections: number,
  seconds: number,
  workDir: string,
  ranges?: WrkRanges,
): Promise<WrkResult> {
  const script = join(workDir, ranges ? 'ranges.lua' : 'cycle.lua');
  const list = join(workDir, `urls-${Math.random().toString(36).slice(2)}.txt`);
  await writeFile(script, ranges ? LUA_RANGES : LUA);
  await writeFile(list, `${paths.join('\n')}\n`);
  const threads = Math.min(2, connections);
  const out = await run(
    'wrk',
    [
      '-t',
      String(threads),
      '-c',
      String(connections),
      '-d',
      `${seconds}s`,
      '--latency',
      '--timeout',
      '10s',
      '-s',
      script,
      base,
    ],
    {
      ...process.env,
      BENCH_URLS: list,
      ...(ranges
        ? { BENCH_RANGE_BYTES: String(ranges.bytes), BENCH_RANGE_WITHIN: String(ranges.within) }
        : {}),
    },
  );
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (bad) throw new Error(`wrk ${base}: ${bad[1]} answers were not 2xx:\n${out}`);
  const errors = /Socket errors: (.*)/.exec(out);
  if (errors && /(read|write|timeout) [1-9]/.test(errors[1] ?? ''))
    throw new Error(`wrk ${base}: ${errors[0]}`);
  const total = /(\d+) requests in ([\d.]+)(\w+), ([\d.]+)(\w+) read/.exec(out);
  if (!total) throw new Error(`wrk ${base}: no summary in\n${out}`);
  const quantile = (q: number) => {
    const m = new RegExp(`^\\s+${q}%\\s+([\\d.]+)(\\w+)`, 'm').exec(out);
    return m ? Number(m[1]) * (UNIT_MS[m[2] as string] ?? Number.NaN) : Number.NaN;
  };
  const requests = Number(total[1]);
  const secondsRun = (Number(total[2]) * (UNIT_MS[total[3] as string] ?? Number.NaN)) / 1000;
  const bytes = Number(total[4]) * (UNIT_BYTES[total[5] as string] ?? Number.NaN);
  return {
    requests,
    seconds: secondsRun,
    bytes,
    rps: requests / secondsRun,
    p50: quantile(50),
    p99: quantile(99),
  };
}

export interface Transfer {
  status: number;
  bytes: number;
  /** Seconds from the start of the transfer to the last byte. */
  seconds: number;
  /** Seconds from the start of the transfer to the first byte (curl's time_starttransfer). */
  firstByte: number;
}

/** One curl process fetching `urls` one after another on one connection, bodies thrown away. */
export async function curl(urls: readonly string[]): Promise<Transfer[]> {
  const args = ['-s', '--max-time', '600'];
  for (const url of urls)
    args.push(
      '-o',
      '/dev/null',
      '-w',
      '%{http_code} %{size_download} %{time_total} %{time_starttransfer}\\n',
      url,
    );
  const out = await run('curl', args);
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const [status, bytes, seconds, firstByte] = line.split(' ').map(Number) as number[];
      return { status, bytes, seconds, firstByte } as Transfer;
    });
}

/**
 * `clients` curl processes at once, each fetching its own list; wall-clock seconds until the last byte,
 * and every transfer (checked: all 200 and of the expected size).
 */
export async function curlClients(
  lists: readonly (readonly string[])[],
  size: number,
): Promise<{ seconds: number; transfers: Transfer[] }> {
  const started = performance.now();
  const results = await Promise.all(lists.map((urls) => curl(urls)));
  const seconds = (performance.now() - started) / 1000;
  const transfers = results.flat();
  const wrong = transfers.find((t) => t.status !== 200 || t.bytes !== size);
  if (wrong)
    throw new Error(`curl: a transfer answered ${wrong.status} with ${wrong.bytes} bytes (expected ${size})`);
  return { seconds, transfers };
}
