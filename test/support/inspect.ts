// Looks at the real systems for what an environment has: used to prove that a create built
// everything, and that a failed create or a destroy left nothing behind.
import { AppsV1Api, CoreV1Api, CustomObjectsApi, NetworkingV1Api } from '@kubernetes/client-node';
import { ListHostedZonesByNameCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { resolveEnv } from '../../activities/environment.js';
import type { EnvRef } from '../../shared/model.js';
import type { TestDeps } from './deps.js';
import { networkLeftovers } from './inspect-network.js';
import { storageLeftovers } from './inspect-storage.js';

function databasesOf(t: Pick<TestDeps, 'deps'>, ref: EnvRef) {
  const r = resolveEnv(t.deps.catalogue, ref);
  const dbs = Object.entries(r.project.databases);
  return {
    r,
    mongo: dbs.filter(([, d]) => d.engine === 'mongo').map(([n]) => r.names.mongoDatabase(n)),
    mysql: dbs.filter(([, d]) => d.engine === 'mysql').map(([n]) => r.names.mysqlDatabase(n)),
    postgres: dbs.filter(([, d]) => d.engine === 'postgres').map(([n]) => r.names.postgresDatabase(n)),
  };
}

/** Everything of `ref` that exists anywhere, as readable strings; [] means nothing is left. */
export async function leftovers(t: Pick<TestDeps, 'deps'>, ref: EnvRef): Promise<string[]> {
  const { r, mongo, mysql: my, postgres } = databasesOf(t, ref);
  const servers = r.catalogue.catalogue.servers;
  const found: string[] = [];

  const pgc = new pg.Client({ connectionString: servers.postgres.main!.url });
  await pgc.connect();
  try {
    const dbs = await pgc.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = ANY($1)', [postgres]);
    found.push(...dbs.rows.map((x) => `postgres database ${x.datname}`));
    const roles = await pgc.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = $1', [r.names.postgresUser]);
    found.push(...roles.rows.map((x) => `postgres role ${x.rolname}`));
  } finally {
    await pgc.end();
  }

  const myc = await mysql.createConnection({ uri: servers.mysql.main!.url });
  try {
    for (const db of my) {
      const [rows] = await myc.query('SHOW DATABASES LIKE ?', [db]);
      if ((rows as unknown[]).length) found.push(`mysql database ${db}`);
    }
    const [users] = await myc.query('SELECT user FROM mysql.user WHERE user = ?', [r.names.mysqlUser]);
    if ((users as unknown[]).length) found.push(`mysql user ${r.names.mysqlUser}`);
  } finally {
    await myc.end();
  }

  const mc = new MongoClient(servers.mongo.main!.url);
  try {
    const { databases } = await mc.db('admin').admin().listDatabases({ nameOnly: true });
    found.push(...databases.filter((d) => mongo.includes(d.name)).map((d) => `mongo database ${d.name}`));
    const users = (await mc.db('admin').command({ usersInfo: r.names.mongoUser })) as { users: unknown[] };
    if (users.users.length) found.push(`mongo user ${r.names.mongoUser}`);
  } finally {
    await mc.close();
  }

  const index = await t.deps.store.redisIndexOf('main', r.env.name);
  if (index !== undefined) found.push(`redis index ${index}`);
  const redis = new Redis(servers.redis.main!.url, { lazyConnect: true });
  try {
    if ((await redis.call('ACL', 'GETUSER', r.names.redisUser)) !== null) found.push(`redis user ${r.names.redisUser}`);
  } finally {
    redis.disconnect();
  }

  const r53 = new Route53Client(t.deps.aws);
  try {
    // Every private zone of that name: moto (like Route 53) may hold more than one.
    const zones = (await r53.send(new ListHostedZonesByNameCommand({ DNSName: r.catalogue.catalogue.dns.privateZone }))).HostedZones ?? [];
    for (const zone of zones.filter((z) => z.Name === `${r.catalogue.catalogue.dns.privateZone}.` && z.Config?.PrivateZone)) {
      const sets = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zone.Id! }));
      found.push(...(sets.ResourceRecordSets ?? []).filter((s) => s.Name?.endsWith(`.${r.names.domain}.`)).map((s) => `dns record ${s.Name}`));
    }
  } finally {
    r53.destroy();
  }

  const ns = r.names.namespace;
  const selector = `envbot.io/environment=${r.env.name}`;
  const core = t.deps.kube.makeApiClient(CoreV1Api);
  const apps = t.deps.kube.makeApiClient(AppsV1Api);
  const net = t.deps.kube.makeApiClient(NetworkingV1Api);
  const custom = t.deps.kube.makeApiClient(CustomObjectsApi);
  /** prometheus-operator's objects (scripts/services installs its CRDs into the local cluster). */
  const monitoring = (plural: string, kind: string) =>
    custom
      .listNamespacedCustomObject({ group: 'monitoring.coreos.com', version: 'v1', namespace: ns, plural, labelSelector: selector })
      .then((l: { items: { metadata?: { name?: string; deletionTimestamp?: Date } }[] }) => live(l.items).map((i) => `${kind}/${i.metadata?.name}`));
  // Objects marked for deletion but held by a finalizer no controller runs here (PVC protection) are gone for our purposes.
  const live = <T extends { metadata?: { name?: string; deletionTimestamp?: Date } }>(items: T[]) => items.filter((i) => !i.metadata?.deletionTimestamp);
  const lists = await Promise.all([
    core.listNamespacedConfigMap({ namespace: ns, labelSelector: selector }).then((l) => live(l.items).map((i) => `ConfigMap/${i.metadata?.name}`)),
    core.listNamespacedSecret({ namespace: ns }).then((l) => live(l.items).filter((i) => i.metadata?.name?.startsWith('envbot-')).map((i) => `Secret/${i.metadata?.name}`)),
    core.listNamespacedService({ namespace: ns, labelSelector: selector }).then((l) => live(l.items).map((i) => `Service/${i.metadata?.name}`)),
    core.listNamespacedPersistentVolumeClaim({ namespace: ns, labelSelector: selector }).then((l) => live(l.items).map((i) => `PersistentVolumeClaim/${i.metadata?.name}`)),
    apps.listNamespacedDeployment({ namespace: ns, labelSelector: selector }).then((l) => live(l.items).map((i) => `Deployment/${i.metadata?.name}`)),
    net.listNamespacedIngress({ namespace: ns, labelSelector: selector }).then((l) => live(l.items).map((i) => `Ingress/${i.metadata?.name}`)),
    monitoring('servicemonitors', 'ServiceMonitor'),
    monitoring('prometheusrules', 'PrometheusRule'),
  ]);
  found.push(...lists.flat().map((o) => `kubernetes ${o}`));
  const namespace = await core.readNamespace({ name: ns }).catch(() => undefined);
  // The controller manager removes a deleted namespace, and the delete waits for it: any left counts.
  if (namespace) found.push(`kubernetes namespace ${ns} (${namespace.status?.phase})`);

  found.push(...(await storageLeftovers(t, r)));
  found.push(...(await networkLeftovers(t, r)));

  const secrets = await t.deps.store.pool.query<{ name: string }>('SELECT name FROM secrets WHERE environment = $1', [r.env.name]);
  found.push(...secrets.rows.map((x) => `stored secret ${x.name}`));
  const ledger = await t.deps.store.liveResources(r.env.name);
  found.push(...ledger.map((e) => `ledger ${e.kind} ${e.name}`));
  return found;
}

/**
 * What `ref` is made of, comparable between two environments of one project: leftovers() plus the
 * rows of every SQL table, the documents and indexes of every collection, every Redis key with its
 * type and size, the Kubernetes Secret's keys and each Deployment's Pod template, with the
 * environment's own values (its name, its Redis index, DataSync ARNs) replaced by placeholders.
 */
export async function inventory(t: Pick<TestDeps, 'deps'>, ref: EnvRef): Promise<string[]> {
  const r = resolveEnv(t.deps.catalogue, ref);
  const servers = t.deps.catalogue.catalogue.servers;
  const found = await leftovers(t, ref);
  for (const [logical, db] of Object.entries(r.project.databases)) {
    if (db.engine === 'postgres') {
      const url = new URL(servers.postgres[db.server]!.url);
      url.pathname = `/${r.names.postgresDatabase(logical)}`;
      const c = new pg.Client({ connectionString: url.toString() });
      await c.connect();
      try {
        const tables = await c.query<{ t: string }>(
          `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS t FROM information_schema.tables
           WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
        );
        for (const { t: table } of tables.rows) found.push(`postgres rows ${table} ${(await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n}`);
      } finally {
        await c.end();
      }
    } else if (db.engine === 'mysql') {
      const name = r.names.mysqlDatabase(logical);
      const c = await mysql.createConnection({ uri: servers.mysql[db.server]!.url });
      try {
        const [tables] = await c.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ? ORDER BY 1', [name]);
        for (const { t: table } of tables as { t: string }[]) {
          const [count] = await c.query(`SELECT COUNT(*) AS n FROM \`${name}\`.\`${table}\``);
          found.push(`mysql rows ${table} ${(count as { n: number }[])[0]!.n}`);
        }
      } finally {
        await c.end();
      }
    } else {
      const c = new MongoClient(servers.mongo[db.server]!.url);
      try {
        const mdb = c.db(r.names.mongoDatabase(logical));
        for (const { name: coll } of await mdb.listCollections({}, { nameOnly: true }).toArray()) {
          const indexes = (await mdb.collection(coll).listIndexes().toArray()).map((i) => String(i.name)).sort();
          found.push(`mongo documents ${coll} ${await mdb.collection(coll).countDocuments()} indexes ${indexes.join(',')}`);
        }
      } finally {
        await c.close();
      }
    }
  }
  if (r.project.redis) {
    const index = await t.deps.store.redisIndexOf(r.project.redis.server, r.env.name);
    if (index !== undefined) {
      const redis = new Redis(servers.redis[r.project.redis.server]!.url, { db: index });
      try {
        for (const key of await redis.keys('*')) {
          const type = await redis.type(key);
          const size = { string: () => redis.strlen(key), list: () => redis.llen(key), set: () => redis.scard(key), zset: () => redis.zcard(key), hash: () => redis.hlen(key) }[type];
          found.push(`redis key ${key} ${type} ${size ? await size() : '?'}`);
        }
      } finally {
        redis.disconnect();
      }
    }
  }
  const core = t.deps.kube.makeApiClient(CoreV1Api);
  const secret = await core.readNamespacedSecret({ name: r.names.kubernetesSecret, namespace: r.names.namespace }).catch(() => undefined);
  if (secret) found.push(`kubernetes Secret keys ${Object.keys(secret.data ?? {}).sort().join(',')}`);
  const deployments = await t.deps.kube.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace: r.names.namespace, labelSelector: `envbot.io/environment=${r.env.name}` });
  for (const d of deployments.items) found.push(`kubernetes Deployment ${d.metadata?.name} ${JSON.stringify(d.spec?.template)}`);
  return found.map((line) => normalised(r.env.name, line)).sort();
}

/** A line of an inventory with the environment's own values replaced: its name, its Redis index, rule priorities, the ARNs AWS made. */
export function normalised(environment: string, line: string): string {
  return line
    .replaceAll(environment, '<env>')
    .replaceAll(environment.replaceAll('-', '_'), '<env_>')
    .replace(/^(redis index|ledger redis-database|ledger closed redis-database) \d+$/, '$1 <index>')
    .replace(/^(listener rule|rule priority) \d+/, '$1 <priority>')
    .replace(/arn:aws:elasticloadbalancing:[^ "]+/g, '<elb arn>')
    // Target group names end with a hash of the environment and service (shared/names.ts).
    .replace(/^(target group|ledger elb-target-group|ledger closed elb-target-group) (\S+)-[0-9a-f]{8}$/, '$1 $2-<hash>')
    .replace(/arn:aws:datasync:[^ "]+\/(loc|task)-[0-9a-z]+/g, '<datasync $1 arn>');
}
