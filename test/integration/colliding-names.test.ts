// Two environments whose database names collide: project shop with database accounts-eu and project
// eu-shop with database accounts both make accounts_eu_shop_qa (shared/names.ts). The loader refuses
// such a catalogue; with that check bypassed, the ledger still stops the second create before it
// touches the first environment's databases, and the second's rollback and destroy leave them as
// they were (rows, documents, keys and who owns them), read back from the real servers.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { resolveEnv } from '../../activities/environment.js';
import { loadCatalogue, type LoadedCatalogue } from '../../shared/catalogue/load.js';
import { catalogueSchema } from '../../shared/catalogue/schema.js';
import { CatalogueError } from '../../shared/errors.js';
import type { EnvRef, Requester } from '../../shared/model.js';
import type { CreateEnvironmentResult } from '../../workflows/create-environment.js';
import { leftovers } from '../support/inspect.js';
import { provisioningHarness, type Harness } from '../support/provisioning.js';
import { repoRoot, testSettings } from '../support/settings.js';

const requester: Requester = { id: 'cli:test', platform: 'cli' };
const SEEDS = join(repoRoot, 'examples', 'seeds', 'proja');

/** A project with the three engines and Redis, seeded from proja's seeds; `tail` ends each database's name. */
const project = (tail: string) => `
    stages: [qa]
    services:
      web: { template: cm.yaml.hbs, image: nginx, port: 8080, hosts: [web] }
      api: { template: cm.yaml.hbs, image: nginx, port: 3000, hosts: [api] }
    databases:
      content${tail}: { engine: mongo, seed: ${SEEDS}/mongo/content }
      accounts${tail}: { engine: postgres, seed: ${SEEDS}/postgres/accounts }
      newsletter${tail}: { engine: mysql, seed: ${SEEDS}/mysql/newsletter }
    redis: { seed: ${SEEDS}/redis.json }
`;

const CATALOGUE = `version: 1
baseDomain: example.com
stages: [qa]
servers:
  mongo: { main: { url: "\${MONGO_URL}" } }
  mysql: { main: { url: "\${MYSQL_URL}" } }
  postgres: { main: { url: "\${POSTGRES_URL}" } }
  redis: { main: { url: "\${REDIS_URL}" } }
dns: { privateZone: example.com, vpcId: vpc-0envbot0local0, vpcRegion: us-east-1, target: internal-envbot-lb.us-east-1.elb.amazonaws.com }
projects:
  shop:${project('-eu')}
  eu-shop:${project('')}`;

const TEMPLATE = `apiVersion: v1
kind: ConfigMap
metadata:
  name: "{{SERVICE}}-config"
data:
  ENVIRONMENT: "{{ENV_NAME}}"
`;

/** What the loader would have made, without its cross-checks: the schema alone, ${VAR}s filled in. */
function bypassingTheLoader(file: string, env: Record<string, string | undefined>): LoadedCatalogue {
  const json = JSON.stringify(parse(CATALOGUE)).replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => JSON.stringify(env[name] ?? '').slice(1, -1));
  return { file, root: dirname(file), catalogue: catalogueSchema.parse(JSON.parse(json)) };
}

describe('two environments whose database names collide', () => {
  const env = testSettings().env;
  const dir = mkdtempSync(join(tmpdir(), 'envbot-colliding-'));
  const file = join(dir, 'envbot.yaml');
  const suffix = randomBytes(3).toString('hex');
  const first: EnvRef = { environment: `shop-qa-${suffix}`, project: 'shop', stage: 'qa', suffix };
  const second: EnvRef = { environment: `eu-shop-qa-${suffix}`, project: 'eu-shop', stage: 'qa', suffix };
  let h: Harness;

  /** The first environment's data and who holds it, read as the servers' admin. */
  async function contents(): Promise<Record<string, unknown>> {
    const r = resolveEnv(h.deps.catalogue, first);
    const servers = h.deps.catalogue.catalogue.servers;
    const out: Record<string, unknown> = {};

    const pgDb = r.names.postgresDatabase('accounts-eu');
    const url = new URL(servers.postgres.main!.url);
    url.pathname = `/${pgDb}`;
    const pgc = new pg.Client({ connectionString: url.toString() });
    await pgc.connect();
    try {
      out.postgresRows = (await pgc.query('SELECT id, email, display_name FROM accounts ORDER BY id')).rows;
      out.postgresOwners = (
        await pgc.query(
          `SELECT (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()) AS database,
                  (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public') AS schema`,
        )
      ).rows[0];
    } finally {
      await pgc.end();
    }

    const myDb = r.names.mysqlDatabase('newsletter-eu');
    const myc = await mysql.createConnection({ uri: servers.mysql.main!.url });
    try {
      out.mysqlRows = (await myc.query(`SELECT * FROM ${mysql.escapeId(myDb)}.subscribers ORDER BY id`))[0];
      // GRANT stores the database name with '_' escaped.
      out.mysqlGrantees = (await myc.query("SELECT User FROM mysql.db WHERE REPLACE(Db, '\\\\', '') = ? ORDER BY User", [myDb]))[0];
    } finally {
      await myc.end();
    }

    const mc = new MongoClient(servers.mongo.main!.url);
    try {
      const db = mc.db(r.names.mongoDatabase('content-eu'));
      out.mongoArticles = await db.collection('articles').find({}, { sort: { _id: 1 } }).toArray();
      out.mongoAuthors = await db.collection('authors').find({}, { sort: { _id: 1 } }).toArray();
      out.mongoMarker = await db.collection<{ _id: string }>('_envbot').findOne({ _id: 'envbot' });
    } finally {
      await mc.close();
    }

    const index = await h.deps.store.redisIndexOf('main', first.environment);
    const redis = new Redis(servers.redis.main!.url, { db: index });
    try {
      const keys = (await redis.keys('*')).sort();
      out.redis = { index, keys, motd: await redis.get('cache:motd'), editors: (await redis.smembers('editors')).sort() };
    } finally {
      redis.disconnect();
    }

    out.ledger = await h.deps.store.liveResources(first.environment);
    return out;
  }

  beforeAll(async () => {
    writeFileSync(file, CATALOGUE);
    writeFileSync(join(dir, 'cm.yaml.hbs'), TEMPLATE);
    h = await provisioningHarness('colliding_names', { catalogue: bypassingTheLoader(file, env) });
  });

  afterAll(async () => {
    await h?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the loader refuses the catalogue, naming the line, both databases and what to rename', () => {
    let err: unknown;
    try {
      loadCatalogue(file, env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CatalogueError);
    const problems = (err as CatalogueError).problems;
    expect(problems.map((p) => p.path).sort()).toEqual(['content', 'accounts', 'newsletter'].map((db) => `projects.eu-shop.databases.${db}`).sort());
    for (const p of problems) expect(p.line).toBeGreaterThan(0);
    expect((err as CatalogueError).message).toContain(
      `${file}:${problems.find((p) => p.path === 'projects.eu-shop.databases.accounts')!.line}: projects.eu-shop.databases.accounts: ` +
        'database "accounts" of project "eu-shop" (in eu-shop-qa) and database "accounts-eu" of project "shop" (in shop-qa) would both be the PostgreSQL database "accounts_eu_shop_qa"',
    );
    expect((err as CatalogueError).message).toMatch(/rename one of these two databases/);
  });

  it('with the check bypassed, the second create stops at a conflict, and its create, rollback and destroy leave the first environment as it was', async () => {
    const a = resolveEnv(h.deps.catalogue, first).names;
    const b = resolveEnv(h.deps.catalogue, second).names;
    const shared = [
      `mongo database ${a.mongoDatabase('content-eu')}`,
      `mysql database ${a.mysqlDatabase('newsletter-eu')}`,
      `postgres database ${a.postgresDatabase('accounts-eu')}`,
    ];
    expect([b.mongoDatabase('content'), b.mysqlDatabase('newsletter'), b.postgresDatabase('accounts')]).toEqual(shared.map((s) => s.split(' ').pop()));

    expect(await (await h.core.create({ project: 'shop', stage: 'qa', suffix, requester })).handle.result()).toMatchObject({ status: 'ready' });
    const before = await contents();
    expect(before.postgresRows).toHaveLength(3);
    expect((before.mongoArticles as unknown[]).length).toBeGreaterThan(0);
    expect((before.redis as { keys: string[] }).keys.length).toBeGreaterThan(0);
    expect(before.mongoMarker).toMatchObject({ environment: first.environment });

    const started = await h.core.create({ project: 'eu-shop', stage: 'qa', suffix, requester });
    const err = await started.handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const result = ((err as WorkflowFailedError).cause as { details?: CreateEnvironmentResult[] }).details?.[0];
    expect(result).toMatchObject({ status: 'failed', failedStep: expect.stringMatching(/^(mongo|mysql|postgres)$/), undoFailed: [] });
    expect(result!.error).toContain(`belongs to environment ${first.environment}`);
    expect(await contents()).toEqual(before);
    // Nothing of the second environment is left; what is found under its names is the first's.
    expect((await leftovers(h, second)).sort()).toEqual(shared);

    await (await h.core.destroy({ environment: second.environment, requester })).handle.result();
    expect(await contents()).toEqual(before);
    expect((await leftovers(h, second)).sort()).toEqual(shared);

    await (await h.core.destroy({ environment: first.environment, requester })).handle.result();
    expect(await leftovers(h, first)).toEqual([]);
  }, 240_000);
});
