// The provisioning engine end to end on the real local servers: create, isolation, reset, the
// canary secret, concurrent creates and destroy, through the core and the createEnvironment,
// resetDatabases and destroyEnvironment workflows with the real activities.
import { randomBytes } from 'node:crypto';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CoreV1Api, NetworkingV1Api, AppsV1Api } from '@kubernetes/client-node';
import { DescribeLoadBalancersCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetHostedZoneCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveEnv } from '../../activities/environment.js';
import { EXAMPLE_LOAD_BALANCER } from '../../scripts/services/lib/example-load-balancer.js';
import { parseDuration } from '../../shared/duration.js';
import { ConflictError } from '../../shared/errors.js';
import type { EnvRef, Requester } from '../../shared/model.js';
import { workflowId } from '../../shared/names.js';
import { uniqueEnv } from '../support/deps.js';
import { recordHistory } from '../support/histories.js';
import { leftovers } from '../support/inspect.js';
import { provisioningHarness, type Harness } from '../support/provisioning.js';

const requester: Requester = { id: 'cli:test', platform: 'cli' };
const CANARY = `canary-${randomBytes(12).toString('hex')}`;

async function sqlAs(engine: 'mysql' | 'postgres', admin: string, user: string, password: string, database: string, query: string): Promise<unknown[]> {
  const url = new URL(admin);
  if (engine === 'postgres') {
    const c = new pg.Client({ host: url.hostname, port: Number(url.port), user, password, database });
    await c.connect();
    try {
      return (await c.query(query)).rows;
    } finally {
      await c.end();
    }
  }
  const c = await mysql.createConnection({ host: url.hostname, port: Number(url.port), user, password, database });
  try {
    return (await c.query(query))[0] as unknown[];
  } finally {
    await c.end();
  }
}

describe('provisioning engine', () => {
  let h: Harness;
  const qa = uniqueEnv('projb', 'qa');
  const dev = uniqueEnv('proja', 'dev');

  const create = async (ref: EnvRef) => {
    const s = await h.core.create({ project: ref.project, stage: ref.stage, suffix: ref.suffix!, requester, target: { platform: 'console', channel: 'C-test' } });
    return s.handle.result();
  };

  beforeAll(async () => {
    h = await provisioningHarness('provisioning');
    const sm = new SecretsManagerClient(h.deps.aws);
    const secret = JSON.stringify({ password: CANARY });
    await sm.send(new CreateSecretCommand({ Name: 'envbot/shared/smtp', SecretString: secret })).catch(async () => {
      await sm.send(new PutSecretValueCommand({ SecretId: 'envbot/shared/smtp', SecretString: secret }));
    });
    sm.destroy();
    await Promise.all([create(qa), create(dev)]);
    await recordHistory(h.client, workflowId('create', qa.environment), 'create-projb-qa');
  }, 240_000);

  afterAll(async () => {
    for (const ref of [qa, dev]) {
      await h.core.destroy({ environment: ref.environment, requester }).then((s) => s.handle.result()).catch(() => undefined);
    }
    await h?.stop();
  }, 240_000);

  it('records the environment as ready, with an expiry from the catalogue', async () => {
    const record = await h.deps.store.getEnvironment(qa.environment);
    expect(record).toMatchObject({ state: 'ready', project: 'projb', stage: 'qa', createdBy: 'cli:test' });
    const c = h.deps.catalogue.catalogue;
    const ttl = parseDuration(c.projects.projb!.ttl ?? c.defaults.ttl!);
    expect(record!.expiresAt!.getTime()).toBeGreaterThan(Date.now() + ttl - 600_000);
    expect(record!.expiresAt!.getTime()).toBeLessThanOrEqual(Date.now() + ttl);
  });

  it('leaves the namespace holding the rendered objects', async () => {
    const ns = qa.environment;
    const core = h.deps.kube.makeApiClient(CoreV1Api);
    const net = h.deps.kube.makeApiClient(NetworkingV1Api);
    const apps = h.deps.kube.makeApiClient(AppsV1Api);
    const namespace = await core.readNamespace({ name: ns });
    expect(namespace.metadata?.labels?.['envbot.io/environment']).toBe(ns);
    const ingress = await net.readNamespacedIngress({ namespace: ns, name: 'service1' });
    expect(ingress.spec?.rules?.[0]?.host).toBe(`service1.${ns}.example.com`);
    const deployment = await apps.readNamespacedDeployment({ namespace: ns, name: 'service1' });
    expect(deployment.spec?.template.spec?.containers[0]?.image).toBe(h.deps.catalogue.catalogue.projects.projb!.services.service1!.image);
    const pvc = await core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: `vol-media-${ns}` });
    expect(pvc.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('envbot');
  });

  it('gives the Mongo user a login that reads the seeded documents, with the indexes', async () => {
    const r = resolveEnv(h.deps.catalogue, qa);
    const password = (await h.deps.store.getSecret(qa.environment, 'mongo-password'))!;
    const url = new URL(h.deps.catalogue.catalogue.servers.mongo.main!.url);
    url.username = r.names.mongoUser;
    url.password = password;
    const client = new MongoClient(url.toString());
    try {
      const db = client.db(r.names.mongoDatabase('catalog'));
      const product = await db.collection('products').findOne({ sku: 'MUG-001' });
      expect(product?.url).toBe(`https://service1.${qa.environment}.example.com/products/1`);
      const indexes = (await db.collection('products').listIndexes().toArray()).map((i) => i.name);
      expect(indexes).toEqual(expect.arrayContaining(['sku_unique', 'category_price']));
    } finally {
      await client.close();
    }
  });

  it.each(['mysql', 'postgres'] as const)('gives the %s user seeded rows, bulk-loaded CSV rows and constraints', async (engine) => {
    const r = resolveEnv(h.deps.catalogue, qa);
    const admin = h.deps.catalogue.catalogue.servers[engine].main!.url;
    const password = (await h.deps.store.getSecret(qa.environment, `${engine}-password`))!;
    const user = engine === 'mysql' ? r.names.mysqlUser : r.names.postgresUser;
    const db = engine === 'mysql' ? r.names.mysqlDatabase('shop') : r.names.postgresDatabase('orders');
    const csvTable = engine === 'mysql' ? 'customers' : 'order_lines';
    const [count] = (await sqlAs(engine, admin, user, password, db, `SELECT count(*) AS n FROM ${csvTable}`)) as { n: number | string }[];
    expect(Number(count!.n)).toBeGreaterThanOrEqual(10);
    const constraints = (await sqlAs(
      engine, admin, user, password, db,
      engine === 'mysql'
        ? `SELECT constraint_name AS name FROM information_schema.table_constraints WHERE table_schema = '${db}' AND constraint_type = 'FOREIGN KEY'`
        : `SELECT conname AS name FROM pg_constraint WHERE contype = 'f'`,
    )) as { name: string }[];
    expect(constraints.length).toBeGreaterThan(0);
  });

  it.each(['mysql', 'postgres'] as const)("keeps projb-qa's %s user out of proja-dev's database", async (engine) => {
    const qaNames = resolveEnv(h.deps.catalogue, qa).names;
    const devNames = resolveEnv(h.deps.catalogue, dev).names;
    const admin = h.deps.catalogue.catalogue.servers[engine].main!.url;
    const password = (await h.deps.store.getSecret(qa.environment, `${engine}-password`))!;
    const user = engine === 'mysql' ? qaNames.mysqlUser : qaNames.postgresUser;
    const other = engine === 'mysql' ? devNames.mysqlDatabase('newsletter') : devNames.postgresDatabase('accounts');
    const table = engine === 'mysql' ? 'subscribers' : 'accounts';
    await expect(sqlAs(engine, admin, user, password, other, `SELECT * FROM ${table}`)).rejects.toThrow(/denied|permission/i);
  });

  it('claims a Redis index holding the seeded keys', async () => {
    const index = await h.deps.store.redisIndexOf('main', qa.environment);
    expect(index).toBeDefined();
    const redis = new Redis(h.deps.catalogue.catalogue.servers.redis.main!.url, { db: index! });
    try {
      expect(await redis.get('site:base-url')).toBe(`https://service1.${qa.environment}.example.com`);
      expect(await redis.type('feature-flags')).toBe('hash');
    } finally {
      redis.disconnect();
    }
    expect(await h.deps.store.redisIndexOf('main', dev.environment)).not.toBe(index);
  });

  it('writes private Route 53 records for every service host: aliases to the internal load balancer', async () => {
    const r53 = new Route53Client(h.deps.aws);
    // The zone the records went to is in the ledger (moto may hold other zones of the same name).
    const zones = new Set((await h.deps.store.liveResources(qa.environment)).filter((e) => e.kind === 'dns-record').map((e) => e.location));
    expect(zones.size).toBe(1);
    const zoneId = [...zones][0]!;
    const zone = await r53.send(new GetHostedZoneCommand({ Id: zoneId }));
    expect(zone.HostedZone).toMatchObject({ Name: 'example.com.', Config: { PrivateZone: true } });
    const sets = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
    r53.destroy();
    const records = sets.ResourceRecordSets!.filter((s) => s.Name?.endsWith(`.${qa.environment}.example.com.`));
    expect(records.map((s) => s.Name).sort()).toEqual([`service1.${qa.environment}.example.com.`, `service2.${qa.environment}.example.com.`]);
    // The example catalogue has a load balancer: the records are aliases to it (without one, CNAMEs to dns.target).
    const elb = new ElasticLoadBalancingV2Client(h.deps.aws);
    const lbDns = (await elb.send(new DescribeLoadBalancersCommand({ Names: [EXAMPLE_LOAD_BALANCER.name] }))).LoadBalancers![0]!.DNSName!;
    elb.destroy();
    expect(records.map((s) => [s.Type, s.AliasTarget?.DNSName?.replace(/\.$/, '')])).toEqual([['A', lbDns], ['A', lbDns]]);
  });

  it('keeps secrets encrypted in the store and as a Kubernetes Secret', async () => {
    const { rows } = await h.deps.store.pool.query('SELECT name, ciphertext FROM secrets WHERE environment = $1', [qa.environment]);
    expect(rows.map((x) => x.name)).toEqual(expect.arrayContaining(['mongo-password', 'mysql-password', 'postgres-password', 'api-token']));
    const apiToken = (await h.deps.store.getSecret(qa.environment, 'api-token'))!;
    expect(JSON.stringify(rows)).not.toContain(apiToken);
    const secret = await h.deps.kube.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: qa.environment, name: resolveEnv(h.deps.catalogue, qa).names.kubernetesSecret });
    expect(Buffer.from(secret.data!['api-token']!, 'base64').toString()).toBe(apiToken);
    expect(Buffer.from(secret.data!['smtp-password']!, 'base64').toString()).toBe(CANARY);
  });

  it('never lets the canary secret into a workflow history, a log line or a chat message', async () => {
    const apiToken = (await h.deps.store.getSecret(qa.environment, 'api-token'))!;
    const history = JSON.stringify(await h.client.workflow.getHandle(workflowId('create', qa.environment)).fetchHistory());
    const chat = JSON.stringify(h.chat.sent);
    const logs = h.logs.join('\n');
    for (const value of [CANARY, apiToken]) {
      for (const [where, text] of [['history', history], ['chat', chat], ['logs', logs]] as const) {
        expect(text.includes(value), `${where} contains a secret value`).toBe(false);
        expect(text.includes(Buffer.from(value).toString('base64')), `${where} contains a secret value (base64)`).toBe(false);
      }
    }
  });

  it('sends progress to chat, editing one message, and ends with the card', async () => {
    const mine = h.chat.sent.filter((m) => JSON.stringify(m.message).includes(qa.environment));
    // The outbox drops progress states superseded before their turn, so on a busy machine the
    // message may go straight from its first progress to the card: two sends, both on one message.
    expect(mine.length).toBeGreaterThanOrEqual(2);
    expect(mine[0]!.message.kind).toBe('progress');
    expect(mine.slice(0, -1).every((m) => m.message.kind === 'progress')).toBe(true);
    expect(new Set(mine.map((m) => m.ref)).size).toBe(1);
    expect(mine.at(-1)!.message).toMatchObject({ kind: 'card', card: { status: 'ready', urls: expect.arrayContaining([`https://service1.${qa.environment}.example.com`]) } });
  });

  it('refuses a second create of an environment that exists', async () => {
    await expect(h.core.create({ project: 'projb', stage: 'qa', suffix: qa.suffix!, requester })).rejects.toThrow(ConflictError);
    await expect(h.core.create({ project: 'projb', stage: 'qa', suffix: qa.suffix!, requester })).rejects.toThrow(/already exists \(ready\)/);
  });

  it('reset restores the seed after the data changed, and leaves the other environment alone', async () => {
    const qaNames = resolveEnv(h.deps.catalogue, qa).names;
    const devNames = resolveEnv(h.deps.catalogue, dev).names;
    const pgAdmin = h.deps.catalogue.catalogue.servers.postgres.main!.url;
    const qaPass = (await h.deps.store.getSecret(qa.environment, 'postgres-password'))!;
    const devPass = (await h.deps.store.getSecret(dev.environment, 'postgres-password'))!;
    const before = (await sqlAs('postgres', pgAdmin, qaNames.postgresUser, qaPass, qaNames.postgresDatabase('orders'), 'SELECT count(*)::int AS n FROM order_lines')) as { n: number }[];
    await sqlAs('postgres', pgAdmin, qaNames.postgresUser, qaPass, qaNames.postgresDatabase('orders'), 'DELETE FROM order_lines');
    await sqlAs('postgres', pgAdmin, devNames.postgresUser, devPass, devNames.postgresDatabase('accounts'), "UPDATE accounts SET display_name = 'changed in dev'");
    const mongoUrl = h.deps.catalogue.catalogue.servers.mongo.main!.url;
    const mc = new MongoClient(mongoUrl);
    await mc.db(qaNames.mongoDatabase('catalog')).collection('products').deleteMany({});
    const redisIndex = (await h.deps.store.redisIndexOf('main', qa.environment))!;
    const redis = new Redis(h.deps.catalogue.catalogue.servers.redis.main!.url, { db: redisIndex });
    await redis.del('feature-flags');

    const started = await h.core.resetDatabases({ environment: qa.environment, which: 'all', requester });
    expect(await started.handle.result()).toMatchObject({ reset: ['mongo', 'mysql', 'postgres', 'redis'] });
    await recordHistory(h.client, started.workflowId, 'reset-projb-qa');

    const after = (await sqlAs('postgres', pgAdmin, qaNames.postgresUser, qaPass, qaNames.postgresDatabase('orders'), 'SELECT count(*)::int AS n FROM order_lines')) as { n: number }[];
    expect(after[0]!.n).toBe(before[0]!.n);
    expect(await mc.db(qaNames.mongoDatabase('catalog')).collection('products').countDocuments()).toBeGreaterThan(0);
    expect(await redis.exists('feature-flags')).toBe(1);
    const untouched = (await sqlAs('postgres', pgAdmin, devNames.postgresUser, devPass, devNames.postgresDatabase('accounts'), 'SELECT DISTINCT display_name FROM accounts')) as { display_name: string }[];
    expect(untouched).toEqual([{ display_name: 'changed in dev' }]);
    expect((await h.deps.store.getEnvironment(qa.environment))?.state).toBe('ready');
    await mc.close();
    redis.disconnect();
  });

  it('gives one environment for ten concurrent creates, started eagerly on the worker beside the client', async () => {
    const ref = uniqueEnv('projc', 'dev');
    const attempts = await Promise.allSettled(
      Array.from({ length: 10 }, () => h.eagerCore.create({ project: ref.project, stage: ref.stage, suffix: ref.suffix!, requester })),
    );
    const started = attempts.filter((a) => a.status === 'fulfilled');
    const refused = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
    expect(started).toHaveLength(1);
    expect(refused.map((a) => a.reason)).toEqual(Array.from({ length: 9 }, () => expect.any(ConflictError)));
    const { handle, eager } = (started[0] as PromiseFulfilledResult<Awaited<ReturnType<Harness['core']['create']>>>).value;
    // The server handed the first workflow task to this process's worker in its answer to the start.
    expect(eager).toBe(true);
    expect(await handle.result()).toMatchObject({ status: 'ready' });
    const runs = [];
    for await (const w of h.client.workflow.list({ query: `WorkflowId = '${workflowId('create', ref.environment)}'` })) runs.push(w);
    expect(runs).toHaveLength(1);
    const destroyed = await h.core.destroy({ environment: ref.environment, requester });
    await destroyed.handle.result();
    expect(await leftovers(h, ref)).toEqual([]);
  });

  it('destroy removes everything, and the ledger agrees', async () => {
    const ref = uniqueEnv('projb', 'uat');
    await create(ref);
    expect((await leftovers(h, ref)).length).toBeGreaterThan(10);
    const s = await h.core.destroy({ environment: ref.environment, requester });
    expect(await s.handle.result()).toMatchObject({ status: 'destroyed' });
    await recordHistory(h.client, s.workflowId, 'destroy-projb-uat');
    expect(await leftovers(h, ref)).toEqual([]);
    expect((await h.deps.store.getEnvironment(ref.environment))?.state).toBe('destroyed');
  }, 180_000); // a create and a destroy of projb: 30 s here when the machine is busy, 60 s was too tight
});
