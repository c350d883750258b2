// Reading the Prometheus text format the way a scraper does, for tests that compare counters.

export type Samples = Map<string, number>;

/** `name{a="1",b="2"}` with labels sorted, so that a test can name a series in any order. */
export function seriesId(name: string, labels: Record<string, string> = {}): string {
  const parts = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

export function parsePrometheus(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([^ ]+)/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] as string] = l[2] as string;
    }
    out.set(seriesId(m[1] as string, labels), Number(m[3]));
  }
  return out;
}

/** The value of one series, 0 when it is absent (a counter nothing has added to yet). */
export function sample(s: Samples, name: string, labels: Record<string, string> = {}): number {
  return s.get(seriesId(name, labels)) ?? 0;
}

/** Scrapes `/metrics` once no request is in flight, so that every request sent so far is counted. */
export async function scrape(adminUrl: string): Promise<Samples> {
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${adminUrl}/metrics`);
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
    const samples = parsePrometheus(await res.text());
    if (sample(samples, 'kura_requests_active') === 0) return samples;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('requests stayed in flight');
}
