// envbot's /metrics after real operations: a worker with the registry injected (as main.ts does)
// creates projb-qa, fails a create at its DNS step (an injected fault: no server can be asked to
// fail there) and destroys the first; /metrics, served by createHttpApp over HTTP, is scraped and
// parsed, and the operation counts, the compensation, the step durations and the environments by
// project and state carry the right labels and values.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp, listen } from '../../bot/http.js';
import { Metrics } from '../../shared/metrics.js';
import type { Requester } from '../../shared/model.js';
import { ensureExampleLoadBalancer } from '../../scripts/services/lib/example-load-balancer.js';
import { uniqueEnv } from '../support/deps.js';
import { provisioningHarness, type Harness } from '../support/provisioning.js';

const requester: Requester = { id: 'cli:test', platform: 'cli' };

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus' text exposition format, the sample lines (comments and HELP/TYPE skipped). */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([^ ]+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

describe('/metrics after operations', () => {
  let h: Harness;
  let server: Server;
  let url: string;
  const metrics = new Metrics({ defaultMetrics: false });

  beforeAll(async () => {
    h = await provisioningHarness('metrics', { metrics });
    // The environments gauge reads this harness's own store.
    metrics.countEnvironmentsFrom(h.deps.store.environments);
    await ensureExampleLoadBalancer(h.deps.aws.endpoint!);
    server = await listen(createHttpApp({ checks: {}, registry: metrics.registry }), 0);
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await h?.stop();
  });

  it('counts a create, a failed and rolled-back create and a destroy, with step durations by activity and result', async () => {
    const ok = uniqueEnv('projb', 'qa');
    const bad = uniqueEnv('projb', 'qa');
    h.faults.clear();
    const created = await h.core.create({ project: 'projb', stage: 'qa', suffix: ok.suffix!, requester });
    expect(await created.handle.result()).toMatchObject({ status: 'ready' });
    h.faults.failAt('createDnsRecords', { times: 1 });
    const failed = await h.core.create({ project: 'projb', stage: 'qa', suffix: bad.suffix!, requester });
    await expect(failed.handle.result()).rejects.toThrow();
    h.faults.clear();
    const destroyed = await h.core.destroy({ environment: ok.environment, requester });
    expect(await destroyed.handle.result()).toMatchObject({ status: 'destroyed' });

    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    const samples = parse(await res.text());
    const value = (name: string, labels: Record<string, string>) =>
      samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);

    expect(value('envbot_operations_started_total', { kind: 'create' })).toBe(2);
    expect(value('envbot_operations_started_total', { kind: 'destroy' })).toBe(1);
    expect(value('envbot_operations_succeeded_total', { kind: 'create' })).toBe(1);
    expect(value('envbot_operations_succeeded_total', { kind: 'destroy' })).toBe(1);
    expect(value('envbot_operations_failed_total', { kind: 'create' })).toBe(1);
    expect(value('envbot_operations_failed_total', { kind: 'destroy' })).toBe(0);
    expect(value('envbot_operations_compensated_total', { kind: 'create' })).toBe(1);

    // One attempt of each: the fault is not retried; the good create's DNS step and services once each.
    expect(value('envbot_step_duration_seconds_count', { activity: 'createDnsRecords', result: 'failed' })).toBe(1);
    expect(value('envbot_step_duration_seconds_count', { activity: 'createDnsRecords', result: 'completed' })).toBe(1);
    expect(value('envbot_step_duration_seconds_count', { activity: 'applyManifests', result: 'completed' })).toBe(1);
    expect(value('envbot_step_duration_seconds_count', { activity: 'createMonitoring', result: 'completed' })).toBe(1);
    // Its undo in the failed create, and the destroy.
    expect(value('envbot_step_duration_seconds_count', { activity: 'deleteDnsRecords', result: 'completed' })).toBe(2);
    const manifests = samples.find((s) => s.name === 'envbot_step_duration_seconds_sum' && s.labels.activity === 'applyManifests')!;
    expect(manifests.value).toBeGreaterThan(0);
    expect(samples.filter((s) => s.name === 'envbot_step_duration_seconds_bucket' && s.labels.activity === 'applyManifests' && s.labels.le === '+Inf')[0]?.value).toBe(1);

    // By project and state, from this harness's store: one destroyed, one failed.
    expect(value('envbot_environments', { project: 'projb', state: 'destroyed' })).toBe(1);
    expect(value('envbot_environments', { project: 'projb', state: 'failed' })).toBe(1);
    expect(value('envbot_environments', { project: 'projb', state: 'ready' })).toBe(0);
  });
});
