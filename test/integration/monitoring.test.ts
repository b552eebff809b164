// Monitoring objects on the local cluster, where scripts/services installed prometheus-operator's
// CRDs (v0.93.0, scripts/services/crds), so the API server validates them as a cluster with the
// operator would: creating projb-qa makes its ServiceMonitor, PrometheusRule and dashboard
// ConfigMap; a destroy, and a failure injected half-way through the monitoring step (the fault is
// injected: no server can be asked to fail there), leave none.
import { CoreV1Api, CustomObjectsApi, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Requester } from '../../shared/model.js';
import type { CreateEnvironmentResult } from '../../workflows/create-environment.js';
import { ensureExampleLoadBalancer } from '../../scripts/services/lib/example-load-balancer.js';
import { uniqueEnv } from '../support/deps.js';
import { leftovers } from '../support/inspect.js';
import { provisioningHarness, type Harness } from '../support/provisioning.js';

const requester: Requester = { id: 'cli:test', platform: 'cli' };
const group = 'monitoring.coreos.com';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

describe('monitoring objects', () => {
  let h: Harness;
  let custom: CustomObjectsApi;

  beforeAll(async () => {
    h = await provisioningHarness('monitoring');
    await ensureExampleLoadBalancer(h.deps.aws.endpoint!);
    custom = h.deps.kube.makeApiClient(CustomObjectsApi);
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('creating projb-qa makes a ServiceMonitor, a PrometheusRule and a dashboard ConfigMap; destroying it leaves none', async () => {
    const ref = uniqueEnv('projb', 'qa');
    const env = ref.environment;
    h.faults.clear();
    const started = await h.core.create({ project: 'projb', stage: 'qa', suffix: ref.suffix!, requester });
    expect(await started.handle.result()).toMatchObject({ status: 'ready' });
    try {
      const monitors = (await custom.listNamespacedCustomObject({ group, version: 'v1', namespace: env, plural: 'servicemonitors' })) as { items: { metadata: { name: string; labels: Record<string, string> }; spec: Record<string, unknown> }[] };
      // Only service1 exposes metrics in the example catalogue.
      expect(monitors.items.map((m) => m.metadata.name)).toEqual(['envbot-service1']);
      expect(monitors.items[0]!.metadata.labels).toMatchObject({ 'envbot.io/environment': env, 'envbot.io/service': 'service1' });
      expect(monitors.items[0]!.spec).toMatchObject({
        selector: { matchLabels: { 'envbot.io/environment': env, 'envbot.io/service': 'service1' } },
        endpoints: [{ port: 'http', path: '/metrics', interval: '30s' }],
      });

      const rule = (await custom.getNamespacedCustomObject({ group, version: 'v1', namespace: env, plural: 'prometheusrules', name: 'envbot-alerts' })) as { spec: { groups: { name: string; rules: Rule[] }[] } };
      const rules = rule.spec.groups[0]!.rules;
      const dashboard = `https://grafana.example.com/d/envbot-${env}`;
      expect(rules.filter((r) => r.alert === 'ServiceUnavailable').map((r) => [r.labels.service, r.expr, r.for])).toEqual([
        ['service1', `kube_deployment_status_replicas_available{namespace="${env}",deployment="service1"} < 1`, '10m'],
        ['service2', `kube_deployment_status_replicas_available{namespace="${env}",deployment="service2"} < 1`, '10m'],
      ]);
      const own = rules.find((r) => r.alert === 'HighErrorRate')!;
      expect(own.expr).toBe(`sum(rate(http_server_requests_seconds_count{namespace="${env}",status=~"5.."}[5m])) > 1`);
      expect(own.annotations).toEqual({ summary: `More than one 5xx answer a second in ${env}`, dashboard });
      for (const r of rules) expect(r.labels).toMatchObject({ environment: env, project: 'projb', stage: 'qa' });

      const cm = await h.deps.kube.makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'envbot-dashboard', namespace: env });
      expect(cm.metadata?.labels).toMatchObject({ grafana_dashboard: '1', 'envbot.io/environment': env });
      expect(cm.metadata?.annotations).toMatchObject({ grafana_folder: 'Lower environments' });
      const json = JSON.parse(cm.data![`envbot-${env}.json`]!) as { uid: string; title: string; links: { title: string; url: string }[]; panels: { type: string; options?: { content?: string } }[] };
      expect(json.uid).toBe(`envbot-${env}`);
      expect(json.title).toBe(`envbot ${env}`);
      expect(json.links.map((l) => [l.title, l.url])).toEqual([
        ['service1', `https://service1.${env}.example.com`],
        ['service2', `https://service2.${env}.example.com`],
      ]);
      expect(json.panels[0]!.options!.content).toContain(`https://service2.${env}.example.com`);
      expect((await h.deps.store.liveResources(env)).filter((e) => e.kind === 'k8s-monitoring').map((e) => e.name)).toEqual([
        'monitoring.coreos.com/v1|ServiceMonitor|envbot-service1',
        'monitoring.coreos.com/v1|PrometheusRule|envbot-alerts',
        'v1|ConfigMap|envbot-dashboard',
      ]);
      // The leftovers check sees them (so its [] after the destroy means something).
      expect(await leftovers(h, ref)).toEqual(expect.arrayContaining(['kubernetes ServiceMonitor/envbot-service1', 'kubernetes PrometheusRule/envbot-alerts', 'kubernetes ConfigMap/envbot-dashboard']));
    } finally {
      const destroyed = await h.core.destroy({ environment: env, requester });
      expect(await destroyed.handle.result()).toMatchObject({ status: 'destroyed' });
    }
    expect(await leftovers(h, ref)).toEqual([]);
  });

  it('a failure half-way through the monitoring step rolls everything back, the ServiceMonitor already applied included', async () => {
    const ref = uniqueEnv('projb', 'qa');
    h.faults.clear();
    h.faults.failAt('createMonitoring:rule', { times: 1 });
    const started = await h.core.create({ project: 'projb', stage: 'qa', suffix: ref.suffix!, requester });
    const err = await started.handle.result().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const result = ((err as WorkflowFailedError).cause as { details?: CreateEnvironmentResult[] }).details?.[0];
    expect(result).toMatchObject({ status: 'failed', failedStep: 'monitoring', undoFailed: [] });
    expect(result!.rolledBack).toContain('monitoring');
    expect(await leftovers(h, ref)).toEqual([]);
  });

  it('the API server validates monitoring objects against the CRDs (a ServiceMonitor with an unknown scheme is refused)', async () => {
    const objects = h.deps.kube.makeApiClient(KubernetesObjectApi);
    const bad = {
      apiVersion: `${group}/v1`, kind: 'ServiceMonitor', metadata: { name: 'envbot-invalid', namespace: 'default' },
      spec: { selector: { matchLabels: { a: 'b' } }, endpoints: [{ port: 'http', scheme: 'ftp' }] },
    };
    const err = await objects.patch(bad, undefined, 'All', 'envbot-test', true, PatchStrategy.ServerSideApply).catch((e: unknown) => e);
    expect((err as { code?: number }).code).toBe(422);
    expect(String((err as { body?: unknown }).body)).toMatch(/scheme/);
  });
});
