// deploy/kubernetes/ checked offline: each object against the Kubernetes API's schemas (the validators of
// the kubernetes-models packages, generated from the API's OpenAPI documents; prometheus-operator's CRD
// for the ServiceMonitor), and against each other and Kura: the names that tie them together, the probes,
// and the configuration `kura config check` reads with the image's and the Deployment's variables.
// No cluster is reached, so admission (quotas, the storage class, policies) is not checked; nor are
// unknown field names, which the API's schemas allow.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, PersistentVolumeClaim, Service } from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';
import { parseDuration, parseSize } from '../../src/config/units.js';
import { KURA_BIN } from '../support/kura.js';

const DIR = new URL('../../../deploy/kubernetes/', import.meta.url);
const DOCKERFILE = new URL('../../../Dockerfile', import.meta.url);

type Manifest = Record<string, unknown> & { kind: string; metadata: { name: string } };

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  ConfigMap,
  Deployment,
  PersistentVolumeClaim,
  Service,
  ServiceMonitor,
};

function load(): Map<string, Manifest> {
  const out = new Map<string, Manifest>();
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')) {
    for (const doc of parseAllDocuments(readFileSync(new URL(file, DIR), 'utf8'))) {
      assert.deepEqual(doc.errors, [], file);
      const m = doc.toJS() as Manifest;
      assert.ok(!out.has(m.kind), `one ${m.kind}`);
      out.set(m.kind, m);
    }
  }
  return out;
}

const manifests = load();
// biome-ignore lint/suspicious/noExplicitAny: manifests are YAML data, read field by field below.
const get = (kind: string): any => {
  const m = manifests.get(kind);
  assert.ok(m, `deploy/kubernetes/ has a ${kind}`);
  return m;
};

test('every manifest validates against its Kubernetes schema', () => {
  assert.deepEqual([...manifests.keys()].sort(), Object.keys(MODELS).sort());
  for (const [kind, m] of manifests) {
    const Model = MODELS[kind] as (typeof MODELS)[string];
    assert.doesNotThrow(() => new Model(m as never).validate(), kind);
  }
  // The check can fail: a wrong type is refused.
  const broken = structuredClone(get('Deployment'));
  broken.spec.replicas = 'three';
  assert.throws(() => new Deployment(broken).validate(), /replicas must be integer/);
});

test('kustomization.yaml lists every manifest', () => {
  const k = parse(readFileSync(new URL('kustomization.yaml', DIR), 'utf8')) as { resources: string[] };
  const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  assert.deepEqual([...k.resources].sort(), files.sort());
});

test('the objects refer to each other by the names they have', () => {
  const deployment = get('Deployment');
  const service = get('Service');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const ports = new Map<string, number>(
    container.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]),
  );
  const labels = deployment.spec.template.metadata.labels;
  for (const [k, v] of Object.entries(deployment.spec.selector.matchLabels)) assert.equal(labels[k], v);
  for (const [k, v] of Object.entries(service.spec.selector))
    assert.equal(labels[k], v, 'Service selects the pods');
  assert.equal(service.spec.clusterIP, 'None', 'headless: one DNS answer with every ready pod');
  for (const p of service.spec.ports) assert.ok(ports.has(p.targetPort), `Service port ${p.name}`);
  assert.equal(ports.get('http'), 80, 'the CRT client connects to :80');

  const monitor = get('ServiceMonitor');
  for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels))
    assert.equal(service.metadata.labels[k], v, 'ServiceMonitor selects the Service');
  assert.deepEqual(
    monitor.spec.endpoints.map((e: { port: string; path: string }) => [e.port, e.path]),
    [['admin', '/metrics']],
  );
  assert.ok(service.spec.ports.some((p: { name: string }) => p.name === 'admin'));
  // The alert rules and the dashboard select job="kura": the operator's job label is the Service's name.
  assert.equal(service.metadata.name, 'kura');

  for (const [probe, path] of [
    ['livenessProbe', '/health/live'],
    ['startupProbe', '/health/live'],
    ['readinessProbe', '/health/ready'],
  ]) {
    assert.deepEqual(container[probe as string].httpGet, { path, port: 'admin' }, probe);
  }

  const volumes = new Map(pod.volumes.map((v: { name: string }) => [v.name, v]));
  const pvc = get('PersistentVolumeClaim');
  assert.deepEqual(pvc.spec.accessModes, ['ReadWriteMany']);
  assert.equal(
    (volumes.get('cache') as { persistentVolumeClaim: { claimName: string } }).persistentVolumeClaim
      .claimName,
    pvc.metadata.name,
  );
  assert.equal(
    (volumes.get('config') as { configMap: { name: string } }).configMap.name,
    get('ConfigMap').metadata.name,
  );
  for (const m of container.volumeMounts) assert.ok(volumes.has(m.name), `volume ${m.name}`);
});

/** The image's KURA_* variables, as the Dockerfile's last `ENV` sets them. */
function imageEnv(): Record<string, string> {
  const text = readFileSync(DOCKERFILE, 'utf8').replace(/\\\n/g, ' ');
  const lines = text.split('\n').filter((l) => l.startsWith('ENV '));
  const last = lines.at(-1) ?? '';
  return Object.fromEntries([...last.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1] as string, m[2] as string]));
}

test('kura config check accepts the ConfigMap with the image and Deployment variables, and they agree', async () => {
  const deployment = get('Deployment');
  const container = deployment.spec.template.spec.containers[0];
  const dir = mkdtempSync(join(tmpdir(), 'kura-manifests-'));
  try {
    const file = join(dir, 'kura.yaml');
    writeFileSync(file, get('ConfigMap').data['kura.yaml']);
    const env: Record<string, string> = { ...imageEnv() };
    for (const e of container.env as { name: string; value: string }[]) env[e.name] = e.value;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [KURA_BIN, 'config', 'check', '-c', file],
      {
        env: { PATH: process.env.PATH ?? '', ...env },
      },
    );
    // biome-ignore lint/suspicious/noExplicitAny: the effective configuration as printed.
    const config = parse(stdout) as any;
    const port = (name: string) =>
      container.ports.find((p: { name: string }) => p.name === name)?.containerPort as number;
    assert.equal(config.server.http_port, port('http'));
    assert.equal(config.admin.port, port('admin'));
    assert.equal(config.admin.host, '0.0.0.0', 'the probes and Prometheus reach the admin port');
    const mount = container.volumeMounts.find((m: { name: string }) => m.name === 'cache');
    assert.equal(config.cache.dir, mount.mountPath);
    assert.deepEqual(container.args, [
      'serve',
      '-c',
      `${container.volumeMounts.find((m: { name: string }) => m.name === 'config').mountPath}/kura.yaml`,
    ]);
    assert.equal(
      String(config.server.workers),
      String(container.resources.limits.cpu),
      'workers = CPU limit',
    );
    // The memory limit holds the RAM tier and the ~430 MiB measured over it (deployment.yaml).
    const ram = parseSize(String(config.cache.ram_size)) ?? Number.NaN;
    const limit = parseSize(String(container.resources.limits.memory).replace(/i$/, 'iB')) ?? Number.NaN;
    assert.ok(limit >= ram + 430 * 2 ** 20, `limit ${limit} for ram_size ${ram}`);
    // The pod outlives Kura's grace period.
    const graceS = (parseDuration(String(config.server.shutdown_grace)) ?? Number.NaN) / 1000;
    assert.ok(deployment.spec.template.spec.terminationGracePeriodSeconds > graceS + 5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
