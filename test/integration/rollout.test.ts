// Ready means reachable, on the local cluster that runs what it stores (kube-controller-manager,
// kube-scheduler and kwok's fake nodes): projb-qa is ready only once its Deployments have Ready Pods;
// a service whose image cannot be pulled fails the create with the Pods' reason and leaves nothing;
// a destroy leaves no namespace behind, not even a Terminating one.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { WorkflowHandle } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRolloutActivities, SETTLE_MS, type ServicesResult } from '../../activities/rollout.js';
import { ENV_LABEL, SERVICE_LABEL } from '../../activities/kubernetes.js';
import { loadCatalogue, type LoadedCatalogue } from '../../shared/catalogue/load.js';
import type { EnvRef, Progress, Requester } from '../../shared/model.js';
import { PROGRESS_QUERY } from '../../shared/resources.js';
import type { CreateEnvironmentResult } from '../../workflows/create-environment.js';
import { uniqueEnv } from '../support/deps.js';
import { recordHistory } from '../support/histories.js';
import { leftovers } from '../support/inspect.js';
import { provisioningHarness, type Harness } from '../support/provisioning.js';
import { repoRoot, testSettings } from '../support/settings.js';

const requester: Requester = { id: 'cli:test', platform: 'cli' };
/** A registry host that cannot exist (RFC 2606): kwok's stage fails such a Pod with ErrImagePull. */
const UNPULLABLE = 'registry.invalid/proja-api:main';

/** A service's template: one Deployment of its image, two replicas. */
const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{SERVICE}}
spec:
  replicas: 2
  selector:
    matchLabels: { app: {{SERVICE}} }
  template:
    metadata:
      labels: { app: {{SERVICE}} }
    spec:
      containers:
        - name: {{SERVICE}}
          image: {{IMAGE}}
          ports: [{ containerPort: {{PORT}} }]
`;

/**
 * The example catalogue plus `broken`: proja without data, two services of one Deployment each,
 * whose api image cannot be pulled, waited for 15 s.
 */
function catalogue(): LoadedCatalogue {
  const loaded = loadCatalogue(join(repoRoot, 'examples', 'envbot.yaml'), testSettings().env);
  const proja = loaded.catalogue.projects.proja!;
  const file = join(mkdtempSync(join(tmpdir(), 'envbot-rollout-')), 'deployment.yaml.hbs');
  writeFileSync(file, DEPLOYMENT);
  const template = { kind: 'disk' as const, path: file, raw: file };
  const broken = {
    ...proja,
    channels: { slack: [], teams: [] },
    databases: {},
    redis: undefined,
    secrets: { generated: {}, shared: {} },
    services: { web: { ...proja.services.web!, template }, api: { ...proja.services.api!, template, image: UNPULLABLE } },
    readyTimeout: '15s',
  };
  return { ...loaded, catalogue: { ...loaded.catalogue, projects: { ...loaded.catalogue.projects, broken } } };
}

describe('ready means reachable', () => {
  let h: Harness;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  const qa = uniqueEnv('projb', 'qa');

  const start = async (ref: EnvRef): Promise<WorkflowHandle> =>
    (await h.core.create({ project: ref.project, stage: ref.stage, suffix: ref.suffix!, requester, target: { platform: 'console', channel: 'C-rollout' } })).handle;
  const destroy = (ref: EnvRef) => h.core.destroy({ environment: ref.environment, requester }).then((s) => s.handle.result());

  beforeAll(async () => {
    h = await provisioningHarness('rollout', { catalogue: catalogue() });
    apps = h.deps.kube.makeApiClient(AppsV1Api);
    core = h.deps.kube.makeApiClient(CoreV1Api);
  }, 120_000);

  afterAll(async () => {
    await destroy(qa).catch(() => undefined);
    await h?.stop();
  }, 240_000);

  it("makes projb-qa ready only once its Deployments' Pods are Ready, and says so per service", async () => {
    const handle = await start(qa);
    const result = (await handle.result()) as CreateEnvironmentResult;
    expect(result.status).toBe('ready');
    await recordHistory(h.client, handle.workflowId, 'create-projb-qa-rollout');
    const progress = await handle.query<Progress>(PROGRESS_QUERY);
    const rollout = progress.steps.find((s) => s.id === 'rollout')!;
    const ready = progress.steps.find((s) => s.id === 'ready')!;
    expect(rollout).toMatchObject({ status: 'done', detail: 'service1 1/1 ready, service2 1/1 ready' });
    expect(result.services).toEqual([
      { service: 'service1', ready: 1, desired: 1, available: true, urls: [`https://service1.${qa.environment}.example.com`] },
      { service: 'service2', ready: 1, desired: 1, available: true, urls: [`https://service2.${qa.environment}.example.com`] },
    ]);

    const namespace = qa.environment;
    const deployments = (await apps.listNamespacedDeployment({ namespace })).items;
    expect(deployments.map((d) => d.metadata?.name).sort()).toEqual(['service1', 'service2']);
    for (const d of deployments) expect(d.status?.readyReplicas).toBe(d.spec?.replicas);
    const pods = (await core.listNamespacedPod({ namespace })).items;
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(pod.status?.phase).toBe('Running');
      expect(pod.spec?.nodeName).toMatch(/^kwok-node-/);
      const readyAt = pod.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True')?.lastTransitionTime;
      expect(readyAt, `Pod ${pod.metadata?.name} is Ready`).toBeDefined();
      // Ready before envbot called the environment ready (kwok stamps whole seconds).
      expect(new Date(readyAt!).getTime()).toBeLessThanOrEqual(Date.parse(ready.startedAt!) + 1000);
    }
    // projb's storage volume: its claim is bound to its PersistentVolume by the controller manager.
    const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace })).items;
    expect(claims.length).toBeGreaterThan(0);
    for (const c of claims) expect(c.status?.phase).toBe('Bound');
  }, 300_000);

  it('leaves no namespace after a destroy, not even a Terminating one', async () => {
    await destroy(qa);
    await expect(core.readNamespace({ name: qa.environment })).rejects.toMatchObject({ code: 404 });
    expect(await leftovers(h, qa)).toEqual([]);
  }, 300_000);

  it("fails a create whose service never becomes ready with the Pods' reason, and leaves nothing", async () => {
    const ref = uniqueEnv('broken', 'qa');
    const handle = await start(ref);
    const err = await handle.result().catch((e: unknown) => e);
    await recordHistory(h.client, handle.workflowId, 'create-failed-at-rollout');
    const result = (err as { cause?: { details?: CreateEnvironmentResult[] } }).cause?.details?.[0];
    expect(result?.status).toBe('failed');
    expect(result?.failedStep).toBe('rollout');
    expect(result?.error).toMatch(/not every service was ready within 15s \(api 0\/2 ready, web 2\/2 ready\)/);
    expect(result?.error).toContain('ErrImagePull');
    expect(result?.error).toContain(UNPULLABLE);
    expect(result?.rolledBack).toContain('manifests');
    const record = await h.deps.store.getEnvironment(ref.environment);
    expect(record?.state).toBe('failed');
    await expect(core.readNamespace({ name: ref.environment })).rejects.toMatchObject({ code: 404 });
    expect(await leftovers(h, ref)).toEqual([]);
  }, 300_000);

  it('answers a wait with a change only after settling, and reads what the Pods say only as the wait runs out', async () => {
    // The activity alone, on a namespace the test makes: api's image cannot be pulled, so it stays 0/2.
    const ref = uniqueEnv('broken', 'qa');
    const namespace = ref.environment;
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    try {
      const deployment = parseAllDocuments(DEPLOYMENT.replaceAll('{{SERVICE}}', 'api').replace('{{IMAGE}}', UNPULLABLE).replace('{{PORT}}', '8080'))[0]!.toJS();
      deployment.metadata.labels = { [ENV_LABEL]: ref.environment, [SERVICE_LABEL]: 'api' };
      await apps.createNamespacedDeployment({ namespace, body: deployment });
      const services = createRolloutActivities(h.deps).environmentServices;
      const ask = async (input: { previous?: string; waitSeconds: number }) => {
        const t0 = Date.now();
        const seen = (await new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') }).run(services, { ref, ...input })) as ServicesResult;
        return { seen, ms: Date.now() - t0 };
      };
      // Nothing seen yet: the first answer comes once settled, without the Pods' story (two more lists).
      const first = await ask({ waitSeconds: 10 });
      expect(first.seen).toMatchObject({ ready: false, summary: 'api 0/2 ready', problems: [] });
      expect(first.ms).toBeGreaterThanOrEqual(SETTLE_MS);
      expect(first.ms).toBeLessThan(9000); // well before its 10 s wait ran out
      // Once kwok has failed a Pod's pull (seen by the test's own client), a wait with no change runs
      // its whole length, and the answer then says why.
      for (let i = 0; ; i++) {
        const pods = (await core.listNamespacedPod({ namespace })).items;
        if (pods.some((p) => p.status?.containerStatuses?.some((c) => c.state?.waiting?.reason === 'ErrImagePull'))) break;
        if (i > 120) throw new Error('no Pod of api failed its pull within 60 s');
        await new Promise((r) => setTimeout(r, 500));
      }
      const last = await ask({ previous: first.seen.summary, waitSeconds: 5 });
      expect(last.ms).toBeGreaterThanOrEqual(5000);
      expect(last.seen.problems.join('\n')).toContain('ErrImagePull');
    } finally {
      await core.deleteNamespace({ name: namespace });
    }
  }, 60_000);
});
