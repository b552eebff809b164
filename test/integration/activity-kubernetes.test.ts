// The kubernetes activities against the local kube-apiserver: namespace, credentials Secret and the
// objects rendered from projb's templates, read back through @kubernetes/client-node, then deleted.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AppsV1Api, CoreV1Api, NetworkingV1Api, PatchStrategy, setHeaderOptions, type V1ManagedFieldsEntry } from '@kubernetes/client-node';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubernetesActivities } from '../../activities/kubernetes.js';
import { createSecretsActivities } from '../../activities/secrets.js';
import type { LoadedCatalogue } from '../../shared/catalogue/load.js';
import { CatalogueError, ConflictError } from '../../shared/errors.js';
import type { EnvRef } from '../../shared/model.js';
import { namesFor, environmentName } from '../../shared/names.js';
import { testDeps, uniqueEnv, type TestDeps } from '../support/deps.js';

// Temporal's activity logger would print every expected failure; only errors are worth seeing.
const run = <A, R>(fn: (input: A) => Promise<R>, input: A): Promise<R> =>
  new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') }).run(fn, input);

const names = (ref: EnvRef) => namesFor(environmentName(ref.project, ref.stage, ref.suffix), 'example.com');
const decode = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64').toString('utf8');
const envbotApplied = (fields: V1ManagedFieldsEntry[] | undefined) => fields?.some((f) => f.manager === 'envbot' && f.operation === 'Apply') ?? false;

/** The shared SMTP secret of projb in moto; made with a canary value unless another test made it first. */
async function sharedSmtpPassword(sm: SecretsManagerClient): Promise<string> {
  const read = async () => (JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: 'envbot/shared/smtp' }))).SecretString ?? '{}') as { password: string }).password;
  try {
    return await read();
  } catch (err) {
    if ((err as { name?: string }).name !== 'ResourceNotFoundException') throw err;
  }
  const canary = `CANARY-smtp-${randomBytes(8).toString('hex')}`;
  try {
    await sm.send(new CreateSecretCommand({ Name: 'envbot/shared/smtp', SecretString: JSON.stringify({ password: canary }) }));
    return canary;
  } catch (err) {
    if ((err as { name?: string }).name !== 'ResourceExistsException') throw err;
    return read(); // made by a concurrent test a moment ago
  }
}

describe('kubernetes activities (kube-apiserver)', () => {
  let t: TestDeps;
  let k8s: ReturnType<typeof createKubernetesActivities>;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let net: NetworkingV1Api;
  let sm: SecretsManagerClient;
  let smtpPassword: string;
  const ref = uniqueEnv('projb', 'qa');
  const n = names(ref);
  const ns = n.namespace;
  const foreign = uniqueEnv('projb', 'qa');
  const scratch = mkdtempSync(join(tmpdir(), 'envbot-k8s-'));

  beforeAll(async () => {
    t = await testDeps('act_kubernetes');
    k8s = createKubernetesActivities(t.deps);
    core = t.deps.kube.makeApiClient(CoreV1Api);
    apps = t.deps.kube.makeApiClient(AppsV1Api);
    net = t.deps.kube.makeApiClient(NetworkingV1Api);
    sm = new SecretsManagerClient(t.deps.aws);
    smtpPassword = await sharedSmtpPassword(sm);
  });

  afterAll(async () => {
    for (const name of [ns, names(foreign).namespace]) await core?.deleteNamespace({ name }).catch(() => undefined);
    sm?.destroy();
    rmSync(scratch, { recursive: true, force: true });
    await t?.close();
  });

  it('creates the namespace with envbot labels, and again without complaint', async () => {
    expect(await run(k8s.createNamespace, { ref })).toEqual({ namespace: ns });
    const got = await core.readNamespace({ name: ns });
    expect(got.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'envbot',
      'envbot.io/environment': ref.environment,
      'envbot.io/project': 'projb',
      'envbot.io/stage': 'qa',
    });
    expect(await run(k8s.createNamespace, { ref })).toEqual({ namespace: ns });
    const ledger = (await t.deps.store.liveResources(ref.environment)).filter((e) => e.kind === 'k8s-namespace');
    expect(ledger).toEqual([expect.objectContaining({ name: ns, location: 'kubernetes' })]);
  });

  it('refuses a namespace of the same name that envbot does not manage, and never deletes it', async () => {
    const name = names(foreign).namespace;
    await core.createNamespace({ body: { metadata: { name, labels: { team: 'someone-else' } } } });
    const err = await run(k8s.createNamespace, { ref: foreign }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toMatch(/exists and is not managed by envbot/);
    // Its undo leaves it alone: no live ledger entry, the namespace still Active.
    expect((await t.deps.store.liveResources(foreign.environment)).filter((e) => e.kind === 'k8s-namespace')).toEqual([]);
    expect(await run(k8s.deleteNamespace, { ref: foreign })).toEqual({ namespace: name, phase: 'not-managed' });
    expect((await core.readNamespace({ name })).status?.phase).toBe('Active');
  });

  it('applies the credentials Secret: key names only in the result, values only in the Secret', async () => {
    await run(createSecretsActivities(t.deps).createSecrets, { ref });

    // No Redis index claimed yet: no redis-url key rather than a guessed one.
    const first = await run(k8s.applyCredentials, { ref });
    expect(first.keys).not.toContain('redis-url');

    const index = await t.deps.store.claimRedisIndex('main', ref.environment, 16);
    const result = await run(k8s.applyCredentials, { ref });
    expect(result.secret).toBe(n.kubernetesSecret);
    expect(result.keys).toEqual(
      ['api-token', 'mongo-catalog-url', 'mongo-password', 'mysql-password', 'mysql-shop-url', 'postgres-orders-url', 'postgres-password', 'redis-password', 'redis-url', 'smtp-password'].sort(),
    );

    const secret = await core.readNamespacedSecret({ name: n.kubernetesSecret, namespace: ns });
    const data = secret.data ?? {};
    expect(Object.keys(data).sort()).toEqual(result.keys);
    expect(secret.metadata?.labels).toMatchObject(n.labels);
    expect(envbotApplied(secret.metadata?.managedFields)).toBe(true);

    const stored = async (name: string) => (await t.deps.store.getSecret(ref.environment, name))!;
    expect(decode(data['api-token'])).toBe(await stored('api-token'));
    expect(decode(data['smtp-password'])).toBe(smtpPassword);

    const mysql = new URL(decode(data['mysql-shop-url']));
    expect(mysql.protocol).toBe('mysql:');
    expect(decodeURIComponent(mysql.username)).toBe(n.mysqlUser);
    expect(decodeURIComponent(mysql.password)).toBe(await stored('mysql-password'));
    // The server envbot's catalogue names (the local stack's MariaDB, on whatever port it runs).
    expect(mysql.host).toBe(new URL(t.deps.catalogue.catalogue.servers.mysql.main!.url).host);
    expect(mysql.pathname).toBe(`/${n.mysqlDatabase('shop')}`);

    const pg = new URL(decode(data['postgres-orders-url']));
    expect(decodeURIComponent(pg.username)).toBe(n.postgresUser);
    expect(decodeURIComponent(pg.password)).toBe(await stored('postgres-password'));
    expect(pg.pathname).toBe(`/${n.postgresDatabase('orders')}`);

    const mongo = new URL(decode(data['mongo-catalog-url']));
    expect(decodeURIComponent(mongo.username)).toBe(n.mongoUser);
    expect(decodeURIComponent(mongo.password)).toBe(await stored('mongo-password'));
    expect(mongo.pathname).toBe(`/${n.mongoDatabase('catalog')}`);
    expect(mongo.searchParams.get('authSource')).toBe('admin');

    // The environment's own Redis user, never the server's admin credentials.
    const redis = new URL(decode(data['redis-url']));
    expect(decodeURIComponent(redis.username)).toBe(n.redisUser);
    expect(decodeURIComponent(redis.password)).toBe(await stored('redis-password'));
    expect(redis.host).toBe(new URL(t.deps.catalogue.catalogue.servers.redis.main!.url).host);
    expect(redis.pathname).toBe(`/${index}`);

    // No value in the result or in any log line, in plain text or base64.
    const values = [smtpPassword, await stored('api-token'), await stored('mysql-password'), await stored('postgres-password'), await stored('mongo-password'), await stored('redis-password')];
    const text = JSON.stringify([first, result]);
    const logs = t.logs.join('\n');
    for (const v of values) {
      for (const form of [v, Buffer.from(v).toString('base64')]) {
        expect(text).not.toContain(form);
        expect(logs).not.toContain(form);
      }
    }
    expect(logs).toContain('credentials secret applied');
  });

  it('refuses to apply over an object of another environment: nothing applied, nothing recorded, the object as it was', async () => {
    const labels = { 'app.kubernetes.io/managed-by': 'envbot', 'envbot.io/environment': 'someone-else-qa' };
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'service2-config', labels }, data: { owner: 'someone-else' } } });
    try {
      const err = await run(k8s.applyManifests, { ref }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect((err as Error).message).toMatch(new RegExp(`ConfigMap/service2-config in namespace ${ns} belongs to environment someone-else-qa`));
      const cm = await core.readNamespacedConfigMap({ name: 'service2-config', namespace: ns });
      expect(cm.data).toEqual({ owner: 'someone-else' });
      expect(cm.metadata?.labels).toEqual(labels);
      expect(envbotApplied(cm.metadata?.managedFields)).toBe(false);
      await expect(core.readNamespacedConfigMap({ name: 'service1-config', namespace: ns })).rejects.toMatchObject({ code: 404 });
      expect((await t.deps.store.liveResources(ref.environment)).filter((e) => e.kind === 'k8s-object')).toEqual([]);
    } finally {
      await core.deleteNamespacedConfigMap({ name: 'service2-config', namespace: ns });
    }
  });

  it('renders and server-side applies projb\'s templates into the namespace, idempotently', async () => {
    const first = await run(k8s.applyManifests, { ref });
    const { objects } = first;
    // What each service runs, for the card: disk templates follow no branch.
    expect(first.runs).toEqual([
      { service: 'service1', branch: null, commit: null, image: 'ghcr.io/example/projb-service1:main' },
      { service: 'service2', branch: null, commit: null, image: 'ghcr.io/example/projb-service2:main' },
    ]);
    // service1 mounts the claim vol-media-<env>, which the storage step makes: the template does not declare it.
    expect(objects).toEqual(expect.arrayContaining([
      'ConfigMap/service1-config', 'Deployment/service1', 'Service/service1', 'Ingress/service1',
      'ConfigMap/service2-config', 'Deployment/service2', 'Service/service2', 'Ingress/service2',
    ]));
    expect(objects).toHaveLength(8);

    const cm = await core.readNamespacedConfigMap({ name: 'service1-config', namespace: ns });
    expect(cm.data).toMatchObject({
      ENVIRONMENT: ref.environment,
      SERVER_PORT: '8080',
      PUBLIC_URL: `https://service1.${ref.environment}.example.com`,
      CHECKOUT_URL: `https://service2.${ref.environment}.example.com`,
      MONGO_DATABASE: n.mongoDatabase('catalog'),
    });
    const dep = await apps.readNamespacedDeployment({ name: 'service1', namespace: ns });
    expect(dep.spec?.template.spec?.containers[0]?.image).toBe('ghcr.io/example/projb-service1:main');
    expect(dep.metadata?.labels).toMatchObject({ ...n.labels, 'app.kubernetes.io/name': 'service1', 'app.kubernetes.io/part-of': 'projb' });
    expect(dep.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === 'MYSQL_URL')?.valueFrom?.secretKeyRef).toEqual({ name: n.kubernetesSecret, key: 'mysql-shop-url' });
    expect(envbotApplied(dep.metadata?.managedFields)).toBe(true);
    const dep2 = await apps.readNamespacedDeployment({ name: 'service2', namespace: ns });
    expect(dep2.spec?.template.spec?.containers[0]?.image).toBe('ghcr.io/example/projb-service2:main');

    const ing = await net.readNamespacedIngress({ name: 'service1', namespace: ns });
    expect(ing.spec?.rules?.[0]?.host).toBe(`service1.${ref.environment}.example.com`);
    expect(ing.spec?.ingressClassName).toBe('nginx-internal');
    expect(ing.metadata?.labels).toMatchObject(n.labels);

    expect(dep.spec?.template.spec?.volumes?.find((v) => v.name === 'media')?.persistentVolumeClaim?.claimName).toBe(n.volume('media'));
    const svc = await core.readNamespacedService({ name: 'service2', namespace: ns });
    expect(svc.spec?.ports?.[0]?.port).toBe(8080);
    expect(envbotApplied(svc.metadata?.managedFields)).toBe(true);

    const ledger = (await t.deps.store.liveResources(ref.environment)).filter((e) => e.kind === 'k8s-object');
    expect(ledger).toHaveLength(8);
    expect(ledger.every((e) => e.location === `kubernetes/${ns}`)).toBe(true);
    expect(ledger.map((e) => e.name)).toContain('apps/v1|Deployment|service1');

    // Applying the same objects again changes nothing.
    const before = [dep.metadata?.resourceVersion, cm.metadata?.resourceVersion, ing.metadata?.resourceVersion, svc.metadata?.resourceVersion];
    expect(await run(k8s.applyManifests, { ref })).toEqual(first);
    const after = [
      (await apps.readNamespacedDeployment({ name: 'service1', namespace: ns })).metadata?.resourceVersion,
      (await core.readNamespacedConfigMap({ name: 'service1-config', namespace: ns })).metadata?.resourceVersion,
      (await net.readNamespacedIngress({ name: 'service1', namespace: ns })).metadata?.resourceVersion,
      (await core.readNamespacedService({ name: 'service2', namespace: ns })).metadata?.resourceVersion,
    ];
    expect(after).toEqual(before);
    expect((await t.deps.store.liveResources(ref.environment)).filter((e) => e.kind === 'k8s-object')).toHaveLength(8);
  });

  describe('a broken template is a CatalogueError naming the file', () => {
    /** The catalogue with projb's only service rendered from `text`. */
    function withTemplate(text: string): ReturnType<typeof createKubernetesActivities> {
      const file = join(scratch, `${randomBytes(3).toString('hex')}.yaml.hbs`);
      writeFileSync(file, text);
      const loaded = t.deps.catalogue;
      const projb = loaded.catalogue.projects.projb!;
      const catalogue: LoadedCatalogue = {
        ...loaded,
        catalogue: {
          ...loaded.catalogue,
          projects: { ...loaded.catalogue.projects, projb: { ...projb, services: { service1: { ...projb.services.service1!, template: { kind: 'disk', path: file, raw: file } } } } },
        },
      };
      return createKubernetesActivities({ ...t.deps, catalogue });
    }

    it('YAML that does not parse once rendered', async () => {
      const err = await run(withTemplate('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [oops\n').applyManifests, { ref }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CatalogueError);
      expect((err as Error).message).toMatch(/\.yaml\.hbs/);
    });

    it('an object the API server rejects (422), named with its template', async () => {
      const text = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: broken-{{SERVICE}}\nspec:\n  ports:\n    - port: 99999999\n';
      const err = await run(withTemplate(text).applyManifests, { ref }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CatalogueError);
      expect((err as Error).message).toMatch(/\.yaml\.hbs.*Service\/broken-service1.*HTTP 422/s);
      // Recorded before the apply; the undo below deletes it (already absent: fine).
      expect((await t.deps.store.liveResources(ref.environment)).map((e) => e.name)).toContain('v1|Service|broken-service1');
    });

    it('a cluster-scoped object', async () => {
      const err = await run(withTemplate('apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: pv-{{ENV_NAME}}\n').applyManifests, { ref }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CatalogueError);
      expect((err as Error).message).toMatch(/cluster-scoped/);
    });
  });

  it('deletes everything envbot applied, then the namespace until it is gone, twice without complaint; the name can be made again', async () => {
    const first = await run(k8s.deleteNamespace, { ref });
    expect(first.namespace).toBe(ns);
    // The controller manager empties and removes it; the activity waits for that.
    expect(first.phase).toBe('gone');
    await expect(core.readNamespace({ name: ns })).rejects.toMatchObject({ code: 404 });

    const selector = `envbot.io/environment=${ref.environment}`;
    const list = { namespace: ns, labelSelector: selector };
    expect((await core.listNamespacedConfigMap(list)).items).toEqual([]);
    expect((await core.listNamespacedSecret(list)).items).toEqual([]);
    expect((await core.listNamespacedService(list)).items).toEqual([]);
    expect((await apps.listNamespacedDeployment(list)).items).toEqual([]);
    expect((await net.listNamespacedIngress(list)).items).toEqual([]);
    // A PVC keeps its kubernetes.io/pvc-protection finalizer until a controller removes it: deleted
    // (deletionTimestamp set), it may still be listed here, but never as a live object.
    const claims = (await core.listNamespacedPersistentVolumeClaim(list)).items;
    expect(claims.filter((c) => !c.metadata?.deletionTimestamp)).toEqual([]);

    const ledger = (await t.deps.store.liveResources(ref.environment)).filter((e) => e.kind.startsWith('k8s-'));
    expect(ledger).toEqual([]);

    const second = await run(k8s.deleteNamespace, { ref });
    expect(second.phase).toBe('gone');
    expect(await run(k8s.deleteManifests, { ref })).toEqual({ deleted: [] });
    expect(await run(k8s.deleteCredentials, { ref })).toEqual({ secrets: [] });

    // Gone for real, so the environment's name can be made again at once.
    expect(await run(k8s.createNamespace, { ref })).toEqual({ namespace: ns });
    expect((await run(k8s.deleteNamespace, { ref })).phase).toBe('gone');
  }, 300_000);

  it('refuses to make a namespace that is still being deleted', async () => {
    // A namespace held Terminating by a finalizer no controller removes (as another operator's would).
    const other = uniqueEnv('projb', 'qa');
    const name = names(other).namespace;
    await core.createNamespace({ body: { metadata: { name, labels: { 'envbot.io/environment': other.environment } } } });
    await core.createNamespacedConfigMap({ namespace: name, body: { metadata: { name: 'held', finalizers: ['example.com/held'] } } });
    await core.deleteNamespace({ name });
    try {
      const err = await run(k8s.createNamespace, { ref: other }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect((err as Error).message).toMatch(/still being deleted/);
    } finally {
      await core.patchNamespacedConfigMap({ namespace: name, name: 'held', body: [{ op: 'remove', path: '/metadata/finalizers' }] }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
    }
  }, 120_000);
});
