// envbot's Helm chart (deploy/helm/envbot): `helm lint` passes, what `helm template` renders (alone,
// and split with Temporal mTLS) is accepted by the local kube-apiserver in a server-side dry run,
// bad values fail with a message that says what to set, the chart sets only settings envbot reads,
// and its ClusterRole grants what envbot does and nothing wider (checked by the API server's own
// RBAC authorizer through SubjectAccessReviews).
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AuthorizationV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureExampleLoadBalancer } from '../../scripts/services/lib/example-load-balancer.js';
import { createContext } from '../../scripts/services/lib/context.js';
import { helmPath } from '../../scripts/services/tools/helm.js';
import { kubeConfig } from '../../shared/clients/kubernetes.js';
import { SETTING_NAMES } from '../../shared/settings.js';
import { uniqueEnv } from '../support/deps.js';
import { leftovers } from '../support/inspect.js';
import { provisioningHarness } from '../support/provisioning.js';
import { repoRoot, testSettings } from '../support/settings.js';

const run = promisify(execFile);
const chart = join(repoRoot, 'deploy', 'helm', 'envbot');
const examples = join(chart, 'examples');
const catalogue = join(repoRoot, 'examples', 'envbot.yaml');
const helm = helmPath(createContext({ quiet: true }));
/** The local cluster's version: helm checks the chart's kubeVersion against it. */
const KUBE_VERSION = '1.34.4';

type Obj = KubernetesObject & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown };
interface Rule { apiGroups: string[]; resources: string[]; verbs: string[] }
interface Container { env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }[]; volumeMounts: { name: string; mountPath: string }[] }
interface PodSpec { serviceAccountName: string; containers: Container[]; volumes: { name: string; secret?: { secretName: string; items: { key: string; path: string }[] } }[] }
type Deployment = Obj & { spec: { replicas: number; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } };

async function helmRun(args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout, stderr } = await run(helm, args, { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 });
    return { ok: true, out: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

async function render(namespace: string, ...args: string[]): Promise<Obj[]> {
  const r = await helmRun(['template', 'envbot', chart, '--namespace', namespace, '--kube-version', KUBE_VERSION, '--set-file', `catalogue=${catalogue}`, ...args]);
  if (!r.ok) throw new Error(`helm template failed:\n${r.out}`);
  return parseAllDocuments(r.out).map((d) => d.toJS() as Obj | null).filter((o): o is Obj => o !== null);
}

const ofKind = <T extends Obj = Obj>(objs: Obj[], kind: string): T[] => objs.filter((o) => o.kind === kind) as T[];
const envOf = (d: Deployment) => d.spec.template.spec.containers[0]!.env;

describe('Helm chart deploy/helm/envbot', () => {
  const settings = testSettings();
  const kc = kubeConfig(settings);
  const objects = kc.makeApiClient(KubernetesObjectApi);
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = `helm-test-${randomUUID().slice(0, 8)}`;
  const made: Obj[] = [];

  beforeAll(async () => {
    if (!existsSync(helm)) throw new Error(`${helm} is missing: "scripts/services/services up" builds helm (once, from the Go module proxy)`);
    // The release's namespace must exist for a dry run of the namespaced objects in it.
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  });

  afterAll(async () => {
    for (const o of made.reverse()) await objects.delete(o).catch(() => undefined);
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  /** Server-side apply with dryRun=All: the API server validates and admits each object, storing none. */
  async function dryRun(objs: Obj[]): Promise<string[]> {
    const accepted: string[] = [];
    for (const o of objs) {
      try {
        await objects.patch(o, undefined, 'All', 'envbot-helm-test', true, PatchStrategy.ServerSideApply);
        accepted.push(`${o.kind}/${o.metadata.name}`);
      } catch (err) {
        throw new Error(`the API server refused ${o.kind} ${o.metadata.name}: ${(err as Error).message}`, { cause: err });
      }
    }
    return accepted;
  }

  it('passes helm lint with its defaults (the required values only noted)', async () => {
    const r = await helmRun(['lint', chart, '--kube-version', KUBE_VERSION]);
    expect(r.out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(r.ok).toBe(true);
  });

  it('passes helm lint (with the example values, --strict)', async () => {
    const r = await helmRun(['lint', chart, '--strict', '--kube-version', KUBE_VERSION, '-f', join(examples, 'values.yaml'), '--set-file', `catalogue=${catalogue}`]);
    expect(r.out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(r.ok).toBe(true);
  });

  it('renders one Deployment with the example values, and the API server accepts every object (dry run)', async () => {
    const objs = await render(namespace, '-f', join(examples, 'values.yaml'), '--set', 'serviceMonitor.enabled=true', '--set', 'grafanaDashboard.enabled=true');
    expect(objs.map((o) => o.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'ConfigMap', 'Deployment', 'Service', 'ServiceAccount', 'ServiceMonitor']);
    // Every namespaced object names the release's namespace (so `helm template | kubectl apply` lands there too).
    for (const o of objs.filter((x) => !x.kind.startsWith('Cluster'))) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(namespace);
    const accepted = await dryRun(objs);
    expect(accepted).toHaveLength(objs.length);
    // Nothing was stored: a dry run only.
    await expect(objects.read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'envbot', namespace } })).rejects.toMatchObject({ code: 404 });

    const [deployment] = ofKind<Deployment>(objs, 'Deployment');
    const env = envOf(deployment!);
    expect(env.find((e) => e.name === 'ENVBOT_ROLE')).toBeUndefined();
    expect(env.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({ name: 'envbot-database', key: 'DATABASE_URL' });
    expect(env.find((e) => e.name === 'SLACK_BOT_TOKEN')?.valueFrom?.secretKeyRef).toEqual({ name: 'envbot-slack', key: 'SLACK_BOT_TOKEN' });
    // No secret value in the rendered chart: every secret setting is a reference.
    for (const name of ['DATABASE_URL', 'ENVBOT_SECRET_KEYS', 'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'POSTGRES_URL']) {
      expect(env.find((e) => e.name === name)?.value, name).toBeUndefined();
    }
    const [catalogueMap] = ofKind(objs, 'ConfigMap').filter((c) => c.metadata.name === 'envbot-catalogue') as (Obj & { data: Record<string, string> })[];
    expect(catalogueMap!.data['envbot.yaml']).toContain('projects:');
    const [service] = ofKind(objs, 'Service') as (Obj & { spec: { selector: Record<string, string> } })[];
    expect(service!.spec.selector['app.kubernetes.io/component']).toBe('all');
    expect(deployment!.spec.template.metadata.labels['app.kubernetes.io/component']).toBe('all');
  });

  it('sets only settings envbot reads', async () => {
    const objs = [
      ...(await render(namespace, '-f', join(examples, 'values.yaml'), '--set', 'secrets.teams=t,secrets.webhooks=w,secrets.aws=a,secrets.kubeconfig=k,teams.appType=SingleTenant,teams.tenantId=x')),
      ...(await render(namespace, '-f', join(examples, 'values.yaml'), '-f', join(examples, 'temporal-cloud-split.yaml'), '--set', 'temporal.tls.caKey=ca.crt,temporal.tls.serverName=t')),
    ];
    const names = new Set(ofKind<Deployment>(objs, 'Deployment').flatMap((d) => envOf(d).map((e) => e.name)));
    expect(names.size).toBeGreaterThan(25);
    expect([...names].filter((n) => !SETTING_NAMES.includes(n))).toEqual([]);
    // A name envbot does not read is refused, with the list of the ones it may be.
    const bad = await helmRun(['template', 'envbot', chart, '--kube-version', KUBE_VERSION, '-f', join(examples, 'values.yaml'), '--set-file', `catalogue=${catalogue}`, '--set', 'settings.SLACK_TOKEN=x']);
    expect(bad.ok).toBe(false);
    expect(bad.out).toMatch(/settings\.SLACK_TOKEN: envbot does not read it from here; the settings this map may hold are AWS_REGION, /);
  });

  it('splits into a bot and a worker Deployment and connects to Temporal over mTLS; the API server accepts it (dry run)', async () => {
    const objs = await render(namespace, '-f', join(examples, 'values.yaml'), '-f', join(examples, 'temporal-cloud-split.yaml'), '--set', 'temporal.tls.caKey=ca.crt');
    const deployments = ofKind<Deployment>(objs, 'Deployment');
    expect(deployments.map((d) => d.metadata.name)).toEqual(['envbot-bot', 'envbot-worker']);
    expect(deployments.map((d) => envOf(d).find((e) => e.name === 'ENVBOT_ROLE')?.value)).toEqual(['bot', 'worker']);
    expect(deployments.map((d) => d.spec.replicas)).toEqual([2, 2]);
    const [service] = ofKind(objs, 'Service') as (Obj & { spec: { selector: Record<string, string> } })[];
    expect(service!.spec.selector['app.kubernetes.io/component']).toBe('bot');
    for (const d of deployments) {
      const env = Object.fromEntries(envOf(d).map((e) => [e.name, e.value]));
      expect(env).toMatchObject({
        TEMPORAL_ADDRESS: 'envbot.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'envbot.a1b2c',
        TEMPORAL_TLS_CERT: '/etc/envbot/temporal-tls/tls.crt', TEMPORAL_TLS_KEY: '/etc/envbot/temporal-tls/tls.key', TEMPORAL_TLS_CA: '/etc/envbot/temporal-tls/ca.crt',
      });
      const volume = d.spec.template.spec.volumes.find((v) => v.name === 'temporal-tls');
      expect(volume?.secret).toEqual({ secretName: 'envbot-temporal-client', items: [{ key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }, { key: 'ca.crt', path: 'ca.crt' }] });
      expect(d.spec.template.spec.containers[0]!.volumeMounts).toContainEqual({ name: 'temporal-tls', mountPath: '/etc/envbot/temporal-tls', readOnly: true });
    }
    expect(await dryRun(objs)).toHaveLength(objs.length);
  });

  it.each([
    ['no secrets.database', ['--set', 'secrets.database='], /secrets\.database: name the Secret whose key DATABASE_URL/],
    ['no secrets.encryptionKeys', ['--set', 'secrets.encryptionKeys='], /secrets\.encryptionKeys: name the Secret whose key ENVBOT_SECRET_KEYS/],
    ['no temporal.address', ['--set', 'temporal.address='], /temporal\.address: the Temporal frontend, host:port/],
    ['no image.repository', ['--set', 'image.repository='], /image\.repository: the registry path of the image/],
    ['mTLS without temporal.tls.secretName', ['--set', 'temporal.tls.enabled=true'], /temporal\.tls\.secretName: name the Secret with the client certificate and key/],
    ['a wildcard template resource', ['--set', 'rbac.templateResources[0].apiGroups[0]=apps,rbac.templateResources[0].resources[0]=*'], /rbac\.templateResources: "\*" is not allowed/],
    ['a wildcard template API group', ['--set', 'rbac.templateResources[0].apiGroups[0]=*,rbac.templateResources[0].resources[0]=deployments'], /apiGroups "\*" is not allowed/],
  ])('refuses values with %s, saying what to set', async (_what, args, message) => {
    const r = await helmRun(['template', 'envbot', chart, '--kube-version', KUBE_VERSION, '-f', join(examples, 'values.yaml'), '--set-file', `catalogue=${catalogue}`, ...args]);
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(message);
  });

  it('refuses to render without a catalogue', async () => {
    const r = await helmRun(['template', 'envbot', chart, '--kube-version', KUBE_VERSION, '-f', join(examples, 'values.yaml')]);
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(/catalogue: pass envbot's catalogue, e\.g\. --set-file catalogue=envbot\.yaml/);
  });

  describe('the ClusterRole', () => {
    let rules: Rule[];
    const sa = `helm-rbac-${randomUUID().slice(0, 8)}`;

    beforeAll(async () => {
      // Rendered with a release name of its own, so the cluster-wide objects do not meet another run's.
      const objs = await render(namespace, '-f', join(examples, 'values.yaml'), '--set', `serviceAccount.name=${sa}`, '--set', `fullnameOverride=${sa}`);
      const role = ofKind(objs, 'ClusterRole')[0] as Obj & { rules: Rule[] };
      rules = role.rules;
      // Really made (then removed in afterAll), so the API server's authorizer can be asked what it allows.
      for (const o of [...ofKind(objs, 'ServiceAccount'), role, ...ofKind(objs, 'ClusterRoleBinding')]) {
        expect(o.metadata.name).toBe(sa);
        await objects.patch(o, undefined, undefined, 'envbot-helm-test', true, PatchStrategy.ServerSideApply);
        made.push(o);
      }
    });

    it('has no wildcard and no power over RBAC, tokens or other users', () => {
      for (const r of rules) {
        for (const v of [...r.apiGroups, ...r.resources, ...r.verbs]) expect(v).not.toContain('*');
        expect(r.apiGroups).not.toContain('rbac.authorization.k8s.io');
        for (const v of ['escalate', 'bind', 'impersonate', 'watch', 'deletecollection', 'update']) expect(r.verbs).not.toContain(v);
        for (const res of r.resources) expect(res).not.toContain('/');
      }
      // Secrets are read by name only: no list of every Secret in the cluster.
      const secretVerbs = rules.filter((r) => r.apiGroups.includes('') && r.resources.includes('secrets')).flatMap((r) => r.verbs);
      expect(secretVerbs).not.toContain('list');
    });

    async function can(verb: string, group: string, resource: string, ns?: string): Promise<boolean> {
      const authz = kc.makeApiClient(AuthorizationV1Api);
      const review = await authz.createSubjectAccessReview({
        body: { spec: { user: `system:serviceaccount:${namespace}:${sa}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'], resourceAttributes: { verb, group, resource, ...(ns ? { namespace: ns } : {}) } } },
      });
      return review.status?.allowed === true;
    }

    it.each([
      // activities/kubernetes.ts: the namespace, the generated Secret, the templates' objects (server-side apply)
      ['create', '', 'namespaces'], ['get', '', 'namespaces'], ['delete', '', 'namespaces'],
      ['patch', '', 'secrets'], ['create', '', 'secrets'], ['get', '', 'secrets'], ['delete', '', 'secrets'],
      ['patch', 'apps', 'deployments'], ['create', 'apps', 'deployments'], ['delete', 'apps', 'deployments'],
      ['patch', '', 'services'], ['create', '', 'services'], ['patch', '', 'configmaps'], ['create', 'networking.k8s.io', 'ingresses'],
      // activities/storage.ts
      ['create', '', 'persistentvolumes'], ['delete', '', 'persistentvolumes'], ['create', '', 'persistentvolumeclaims'], ['patch', '', 'persistentvolumeclaims'], ['create', 'batch', 'jobs'], ['get', 'batch', 'jobs'],
      // activities/rollout.ts and monitoring.ts
      ['list', 'apps', 'deployments'], ['list', 'apps', 'statefulsets'], ['list', '', 'pods'], ['list', '', 'events'],
      ['patch', 'monitoring.coreos.com', 'servicemonitors'], ['create', 'monitoring.coreos.com', 'prometheusrules'], ['delete', 'monitoring.coreos.com', 'prometheusrules'],
    ])('lets envbot %s %s/%s', async (verb, group, resource) => {
      expect(await can(verb, group, resource, 'projb-qa')).toBe(true);
    });

    it.each([
      ['list', '', 'secrets'], ['watch', '', 'secrets'], ['create', 'rbac.authorization.k8s.io', 'clusterroles'], ['create', 'rbac.authorization.k8s.io', 'rolebindings'],
      ['impersonate', '', 'users'], ['create', '', 'serviceaccounts/token'], ['create', '', 'pods/exec'], ['delete', '', 'nodes'], ['create', 'admissionregistration.k8s.io', 'validatingwebhookconfigurations'],
      ['create', 'apiextensions.k8s.io', 'customresourcedefinitions'], ['list', '', 'namespaces'],
      ['patch', '', 'persistentvolumes'], ['list', '', 'persistentvolumeclaims'],
    ])('does not let envbot %s %s/%s', async (verb, group, resource) => {
      expect(await can(verb, group, resource, resource === 'nodes' || resource.startsWith('cluster') || resource === 'namespaces' ? undefined : 'projb-qa')).toBe(false);
    });

    it('is enough for envbot to create projb-qa and destroy it, acting as the ServiceAccount, leaving nothing', async () => {
      // A token of the chart's ServiceAccount (TokenRequest), and a kubeconfig with it instead of the admin's.
      const { status } = await core.createNamespacedServiceAccountToken({ name: sa, namespace, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
      const cluster = kc.getCurrentCluster()!;
      const asEnvbot = new KubeConfig();
      asEnvbot.loadFromOptions({ clusters: [cluster], users: [{ name: sa, token: status!.token }], contexts: [{ name: sa, cluster: cluster.name, user: sa }], currentContext: sa });
      // The token really is the ServiceAccount's: it may not list Secrets cluster-wide.
      await expect(asEnvbot.makeApiClient(CoreV1Api).listSecretForAllNamespaces()).rejects.toMatchObject({ code: 403 });

      const h = await provisioningHarness('helm_rbac', { kube: asEnvbot });
      const admin = { deps: { ...h.deps, kube: kc } };
      try {
        await ensureExampleLoadBalancer(h.deps.aws.endpoint!);
        const ref = uniqueEnv('projb', 'qa');
        const requester = { id: 'cli:test', platform: 'cli' as const };
        const created = await h.core.create({ project: 'projb', stage: 'qa', suffix: ref.suffix!, requester });
        expect(await created.handle.result()).toMatchObject({ status: 'ready' });
        // What it made in the cluster is there (read with the admin's credentials).
        const made = await leftovers(admin, ref);
        const env = ref.environment;
        expect(made).toEqual(expect.arrayContaining([
          `kubernetes namespace ${env} (Active)`, `kubernetes Secret/envbot-${env}-credentials`, 'kubernetes Deployment/service1', 'kubernetes Ingress/service1',
          `kubernetes PersistentVolume/vol-media-${env}`, `kubernetes PersistentVolumeClaim/vol-media-${env}`,
          'kubernetes ServiceMonitor/envbot-service1', 'kubernetes PrometheusRule/envbot-alerts', 'kubernetes ConfigMap/envbot-dashboard',
        ]));
        const destroyed = await h.core.destroy({ environment: ref.environment, requester });
        expect(await destroyed.handle.result()).toMatchObject({ status: 'destroyed' });
        expect(await leftovers(admin, ref)).toEqual([]);
      } finally {
        await h.stop();
      }
    }, 240_000);
  });
});
