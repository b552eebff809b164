// The worker's admin clients of the database servers (shared/clients/databases.ts), on the real
// servers: activities for several environments reuse one PostgreSQL pool and one Redis connection
// per server instead of a connection per call, and a connection the server ends (as a restart
// would) is replaced, so the next create still works.
import { randomBytes } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveEnv } from '../../activities/environment.js';
import { createRedisActivities } from '../../activities/redis.js';
import { createSecretsActivities } from '../../activities/secrets.js';
import { createSqlActivities } from '../../activities/sql/index.js';
import { DatabaseClients } from '../../shared/clients/databases.js';
import type { EnvRef } from '../../shared/model.js';
import { testDeps, uniqueEnv, type TestDeps } from '../support/deps.js';
import { required, testSettings } from '../support/settings.js';

const settings = testSettings();
const postgresUrl = required(settings.servers.postgres, 'POSTGRES_URL');
const redisUrl = required(settings.servers.redis, 'REDIS_URL');
// Unique, so the test counts and ends only its own connections on the shared servers.
const NAME = `envbot-test-${randomBytes(4).toString('hex')}`;

function run<I, O>(fn: (input: I) => Promise<O>, input: I): Promise<O> {
  return new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') }).run(fn, input);
}

async function asAdmin<R extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: postgresUrl });
  await c.connect();
  try {
    return (await c.query<R>(text, params)).rows;
  } finally {
    await c.end();
  }
}

/** The backends of our pool on the PostgreSQL server. */
const ourBackends = () => asAdmin<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid', [NAME]);

describe('database server clients, one per server per worker', () => {
  let td: TestDeps;
  const envs: EnvRef[] = [uniqueEnv('projb', 'qa'), uniqueEnv('projb', 'dev'), uniqueEnv('projb', 'qa')];

  beforeAll(async () => {
    td = await testDeps('database_clients');
    td.deps.databases = new DatabaseClients(td.deps.log, NAME);
    for (const ref of envs) await run(createSecretsActivities(td.deps).createSecrets, { ref });
  });

  afterAll(async () => {
    const sql = createSqlActivities(td.deps);
    const redis = createRedisActivities(td.deps);
    for (const ref of envs) {
      await run(sql.deleteSql, { ref, engine: 'postgres' }).catch(() => undefined);
      await run(redis.deleteRedis, { ref }).catch(() => undefined);
    }
    await td?.close();
  }, 60_000);

  it('makes the PostgreSQL databases of two environments over the same pooled connection, and replaces one the server ended', async () => {
    const sql = createSqlActivities(td.deps);
    expect(await ourBackends()).toEqual([]);
    await run(sql.createSql, { ref: envs[0]!, engine: 'postgres' });
    const first = await ourBackends();
    // One admin connection, kept open after the activity (it used to be closed at the end of each call).
    expect(first).toHaveLength(1);
    await run(sql.createSql, { ref: envs[1]!, engine: 'postgres' });
    expect(await ourBackends()).toEqual(first);
    // The server ends it (as a restart or an idle timeout would): the next create gets a new one and works.
    await asAdmin('SELECT pg_terminate_backend($1)', [first[0]!.pid]);
    await run(sql.createSql, { ref: envs[2]!, engine: 'postgres' });
    const after = await ourBackends();
    expect(after).toHaveLength(1);
    expect(after[0]!.pid).not.toBe(first[0]!.pid);
    const made = await asAdmin<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = ANY($1)', [
      envs.map((ref) => resolveEnv(td.deps.catalogue, ref).names.postgresDatabase('orders')),
    ]);
    expect(made).toHaveLength(3);
  });

  it('claims Redis databases for two environments over one admin connection, and reconnects after the server kills it', async () => {
    const redis = createRedisActivities(td.deps);
    const watcher = new Redis(redisUrl);
    const ours = async () => ((await watcher.client('LIST')) as string).split('\n').filter((l) => l.includes(` name=${NAME} `)).map((l) => /\bid=(\d+)/.exec(l)![1]!);
    try {
      await run(redis.createRedis, { ref: envs[0]! });
      const first = await ours();
      expect(first).toHaveLength(1);
      await run(redis.createRedis, { ref: envs[1]! });
      expect(await ours()).toEqual(first);
      await watcher.client('KILL', 'ID', first[0]!);
      // ioredis reconnects on its own; the command may fail once while it does (Temporal retries the activity).
      await run(redis.createRedis, { ref: envs[2]! }).catch(() => run(redis.createRedis, { ref: envs[2]! }));
      const after = await ours();
      expect(after).toHaveLength(1);
      expect(after[0]).not.toBe(first[0]);
      const users = (await watcher.call('ACL', 'USERS')) as string[];
      for (const ref of envs) expect(users).toContain(resolveEnv(td.deps.catalogue, ref).names.redisUser);
    } finally {
      watcher.disconnect();
    }
  });

  it('refuses to hand out clients once closed (worker shutdown)', async () => {
    const clients = new DatabaseClients(td.deps.log, `${NAME}-closed`);
    clients.postgres(postgresUrl);
    await clients.close();
    expect(() => clients.postgres(postgresUrl)).toThrow(/shutting down/);
  });
});
