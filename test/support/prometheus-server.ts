// A real Prometheus server for tests (Debian's `prometheus` package, which .ci/run installs): it scrapes
// the given targets and evaluates rule files, on loopback, with its storage in a temporary directory.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { freePort } from './kura.js';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';
export const PROMTOOL_BIN = '/usr/bin/promtool';

/** One series of an instant query's answer: its labels and its value (NaN and ±Inf as Prometheus says). */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export interface PromAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

export interface TestPrometheus {
  url: string;
  /** An instant query now; throws with Prometheus's message when the expression is refused. */
  query(expr: string): Promise<PromSample[]>;
  /** Values of a label over the series that match `match`. */
  labelValues(label: string, match: string): Promise<string[]>;
  /** Alerts pending or firing now. */
  alerts(): Promise<PromAlert[]>;
  /** The log Prometheus wrote so far (stderr). */
  log(): string;
  /** SIGTERM, then removes the storage directory. */
  close(): Promise<void>;
}

export interface PrometheusOptions {
  /** Scrape targets (host:port) of the job `kura`, read on /metrics. */
  targets: string[];
  ruleFiles: string[];
  /** Scrape and rule evaluation interval. */
  intervalSeconds: number;
}

export async function runPromtool(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(PROMTOOL_BIN, args, { timeout: 30_000 });
}

export async function startPrometheus(opts: PrometheusOptions): Promise<TestPrometheus> {
  for (const bin of [PROMETHEUS_BIN, PROMTOOL_BIN]) {
    if (!existsSync(bin))
      throw new Error(`${bin} is missing: install Debian's prometheus package (.ci/run does)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'kura-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    stringify({
      global: {
        scrape_interval: `${opts.intervalSeconds}s`,
        scrape_timeout: `${opts.intervalSeconds}s`,
        evaluation_interval: `${opts.intervalSeconds}s`,
      },
      rule_files: opts.ruleFiles,
      scrape_configs: [{ job_name: 'kura', static_configs: [{ targets: opts.targets }] }],
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    log += s;
  });
  const exited = once(child, 'exit');
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error}`);
    return body.data;
  };
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${log}`);
      const ok = await fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`prometheus did not become ready:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await close();
    throw err;
  }
  return {
    url,
    async query(expr) {
      const data = await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
        `/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    labelValues: (label, match) =>
      api<string[]>(`/api/v1/label/${label}/values?match[]=${encodeURIComponent(match)}`),
    async alerts() {
      return (await api<{ alerts: PromAlert[] }>('/api/v1/alerts')).alerts;
    },
    log: () => log,
    close,
  };
}
