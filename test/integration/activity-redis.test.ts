// Redis activities on the local Redis: each environment claims its own database index (lowest free,
// never 0) and gets its own ACL user, whose URL cannot run admin or dangerous commands nor reach another
// index; seeding writes redis.json's keys there (and nowhere else), delete removes the user, empties and
// frees the index, and a full server is refused with ResourceExhaustedError without leaking a claim.
//
// The Redis server is shared with other test files running at the same time, each with its own
// scratch store and so its own idea of which indexes are free: their claims can land on the same
// index as ours. To keep clear of them this file first fills the low indexes of its own store with
// placeholder claims (which never touch Redis), so its environments get the high ones, and it
// asserts on the keys it wrote rather than on whole databases. It never flushes an index it did
// not claim (seedRedis and deleteRedis flush only the environment's own).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityDeps } from '../../activities/deps.js';
import { environmentCredentials } from '../../activities/credentials.js';
import { resolveEnv } from '../../activities/environment.js';
import { createRedisActivities, databaseCount } from '../../activities/redis.js';
import { createSecretsActivities } from '../../activities/secrets.js';
import { CatalogueError, NotFoundError, ResourceExhaustedError } from '../../shared/errors.js';
import type { EnvRef } from '../../shared/model.js';
import { testDeps, uniqueEnv, type TestDeps } from '../support/deps.js';
import { ensureSharedSecrets } from '../support/shared-secrets.js';
import { required, testSettings } from '../support/settings.js';

const redisUrl = required(testSettings().servers.redis, 'REDIS_URL');
/** How many of the highest indexes this file's environments use; the rest hold placeholders. */
const OURS = 4;

function run<P, R>(fn: (input: P) => Promise<R>, input: P): Promise<R> {
  // Failures the tests expect would otherwise be logged as warnings by the SDK.
  return new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') }).run(fn, input);
}

/** A client on database `db`, for looking at what the activities wrote. */
function clientOn(db: number): Redis {
  return new Redis(redisUrl, { db, lazyConnect: true });
}

async function allocations(t: TestDeps): Promise<{ db_index: number; environment: string }[]> {
  const { rows } = await t.deps.store.pool.query<{ db_index: number; environment: string }>(
    "SELECT slot AS db_index, owner AS environment FROM allocations WHERE pool = 'redis/main' ORDER BY slot",
  );
  return rows;
}

describe('Redis activities', () => {
  let t: TestDeps;
  let redis: ReturnType<typeof createRedisActivities>;
  let databases: number;
  let first: number;
  const a = uniqueEnv('projb', 'qa');
  const b = uniqueEnv('projb', 'dev');
  const c = uniqueEnv('projb', 'uat');
  const d = uniqueEnv('projb', 'qa');
  const empty = uniqueEnv('projc', 'dev');
  const envs = [a, b, c, d, empty];
  const indexes = new Map<string, number>();
  let tmp: string | undefined;

  beforeAll(async () => {
    t = await testDeps('redis');
    redis = createRedisActivities(t.deps);
    const probe = clientOn(0);
    await probe.connect();
    databases = Number(((await probe.config('GET', 'databases')) as string[])[1]);
    probe.disconnect();
    expect(databases).toBeGreaterThan(OURS);
    first = databases - OURS;
    // Placeholders in this file's own store only: they keep our environments off the low indexes (0 is never handed out).
    for (let i = 1; i < first; i++) await t.deps.store.claimRedisIndex('main', `placeholder-${i}`, databases);
    const secrets = createSecretsActivities(t.deps);
    for (const ref of envs) await run(secrets.createSecrets, { ref });
    await ensureSharedSecrets(t.deps); // the Secret's other keys, read by environmentCredentials
  });

  afterAll(async () => {
    for (const ref of envs) await run(redis.deleteRedis, { ref }).catch(() => undefined);
    if (tmp) await rm(tmp, { recursive: true, force: true });
    await t?.close(); // drops the scratch store, placeholders and fillers included
  });

  const liveResourcesOf = (ref: EnvRef) => t.deps.store.liveResources(ref.environment);
  const liveRedis = async (ref: EnvRef) => (await t.deps.store.liveResources(ref.environment)).filter((e) => e.kind === 'redis-database');
  /** The `redis-url` the environment's Kubernetes Secret carries. */
  const envUrl = async (ref: EnvRef) => (await environmentCredentials(t.deps, resolveEnv(t.deps.catalogue, ref))).get('redis-url')!;
  /** A client on the environment's own URL (its user, its index), as the environment's services connect. */
  const envClient = async (ref: EnvRef, url?: string) => {
    const c = new Redis(url ?? (await envUrl(ref)), { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableReadyCheck: false });
    c.on('error', () => undefined);
    return c;
  };
  const aclUser = async (user: string): Promise<unknown> => {
    const admin = clientOn(0);
    try {
      return await admin.call('ACL', 'GETUSER', user);
    } finally {
      admin.disconnect();
    }
  };

  it('reads the real database count, also where CONFIG is disabled (by probing SELECT)', async () => {
    const probe = clientOn(0);
    try {
      await probe.connect();
      expect(await databaseCount(probe)).toBe(databases);
      probe.config = (() => Promise.reject(new Error("ERR unknown command 'CONFIG'"))) as never;
      expect(await databaseCount(probe)).toBe(databases);
    } finally {
      probe.disconnect();
    }
  });

  it('gives two environments different indexes, the lowest free first, and records them', async () => {
    const ra = await run(redis.createRedis, { ref: a });
    const rb = await run(redis.createRedis, { ref: b });
    expect(ra).toEqual({ server: 'main', index: first });
    expect(rb).toEqual({ server: 'main', index: first + 1 });
    indexes.set(a.environment, ra.index!);
    indexes.set(b.environment, rb.index!);
    expect((await liveRedis(a)).map((e) => [e.name, e.location])).toEqual([[String(first), 'redis/main']]);
    // Idempotent: the same index again, no second claim or ledger entry.
    expect(await run(redis.createRedis, { ref: a })).toEqual({ server: 'main', index: first });
    expect(await liveRedis(a)).toHaveLength(1);
    expect((await allocations(t)).filter((r) => r.environment === a.environment)).toEqual([{ db_index: first, environment: a.environment }]);
  });

  it('seeds the keys of redis.json, rendered, with their types, into the environment\'s index only', async () => {
    expect(await run(redis.seedRedis, { ref: a })).toEqual({ keys: 6 });
    expect(await run(redis.seedRedis, { ref: b })).toEqual({ keys: 6 });
    const banner = (ref: EnvRef) => `You are on ${ref.environment}: test data only, emails are not delivered.`;

    const ca = clientOn(indexes.get(a.environment)!);
    const cb = clientOn(indexes.get(b.environment)!);
    const c0 = clientOn(0);
    try {
      expect(await ca.type('feature-flags')).toBe('hash');
      expect(await ca.hgetall('feature-flags')).toEqual({ newCheckout: 'true', recommendations: 'false', maintenanceBanner: 'false' });
      expect(await ca.type('site:banner')).toBe('string');
      expect(await ca.get('site:banner')).toBe(banner(a));
      const ttl = await ca.ttl('site:banner');
      expect(ttl).toBeGreaterThan(604_700);
      expect(ttl).toBeLessThanOrEqual(604_800);
      expect(await ca.ttl('feature-flags')).toBe(-1);
      expect(await ca.get('site:base-url')).toBe(`https://service1.${a.environment}.example.com`);
      expect(await ca.type('queue:emails')).toBe('list');
      expect(await ca.lrange('queue:emails', 0, -1)).toEqual([`{"to":"customer1@${a.environment}.invalid","template":"welcome"}`]);
      expect(await ca.type('blocked-skus')).toBe('set');
      expect((await ca.smembers('blocked-skus')).sort()).toEqual(['GIFT-WRAP', 'POT-200']);
      expect(await ca.type('leaderboard:bestsellers')).toBe('zset');
      expect(await ca.zrevrange('leaderboard:bestsellers', 0, -1, 'WITHSCORES')).toEqual(['MUG-001', '140', 'BOARD-30', '52', 'PEN-010', '35']);

      // Each environment's values are in its own index, and not in index 0 (whatever else is there).
      expect(await cb.get('site:banner')).toBe(banner(b));
      expect(await c0.get('site:banner')).not.toBe(banner(a));
      expect(await c0.get('site:base-url')).not.toBe(`https://service1.${a.environment}.example.com`);
    } finally {
      ca.disconnect();
      cb.disconnect();
      c0.disconnect();
    }
  });

  it('seeds again to the same keys: nothing duplicated, anything else in the index gone', async () => {
    const ca = clientOn(indexes.get(a.environment)!);
    try {
      await ca.set('stray:written-by-the-app', 'x');
      await ca.rpush('queue:emails', 'extra');
      expect(await run(redis.seedRedis, { ref: a })).toEqual({ keys: 6 });
      expect(await ca.exists('stray:written-by-the-app')).toBe(0);
      expect(await ca.llen('queue:emails')).toBe(1);
      expect(await ca.scard('blocked-skus')).toBe(2);
      expect(await ca.zcard('leaderboard:bestsellers')).toBe(3);
      expect(await ca.hlen('feature-flags')).toBe(3);
    } finally {
      ca.disconnect();
    }
  });

  it("gives each environment its own user: its URL reaches its own index and nothing else, never the server's admin", async () => {
    const ia = indexes.get(a.environment)!;
    const ib = indexes.get(b.environment)!;
    expect(ia).not.toBe(0);
    expect(ib).not.toBe(0);
    const url = new URL(await envUrl(b));
    expect(decodeURIComponent(url.username)).toBe(resolveEnv(t.deps.catalogue, b).names.redisUser);
    expect(decodeURIComponent(url.password)).toBe(await t.deps.store.getSecret(b.environment, 'redis-password'));
    expect(url.pathname).toBe(`/${ib}`);
    expect((await liveResourcesOf(b)).map((e) => [e.kind, e.name])).toEqual(
      expect.arrayContaining([['redis-user', resolveEnv(t.deps.catalogue, b).names.redisUser], ['redis-database', String(ib)]]),
    );

    const cb = await envClient(b);
    try {
      await cb.connect(); // AUTH as b's user, then SELECT of b's index
      expect(await cb.call('ACL', 'WHOAMI')).toBe(resolveEnv(t.deps.catalogue, b).names.redisUser);
      expect(await cb.get('site:banner')).toContain(b.environment);
      await cb.set('own:key', 'written by b');
      expect(await cb.get('own:key')).toBe('written by b');
    } finally {
      cb.disconnect();
    }
  });

  // Every command b's user must not run: checked with ACL DRYRUN first (so a regression fails here
  // instead of flushing the shared server), then sent on b's own connection.
  it.each([
    ['FLUSHALL'],
    ['FLUSHDB'],
    ['CONFIG', 'GET', 'databases'],
    ['CONFIG', 'SET', 'maxmemory', '1'],
    ['ACL', 'SETUSER', 'someone-else', 'on', '+@all'],
    ['ACL', 'LIST'],
    ['SWAPDB', 'B', 'A'],
    ['MOVE', 'own:key', 'A'],
    ['COPY', 'own:key', 'copied', 'DB', 'A'],
    ['SELECT', 'A'],
    ['SELECT', '0'],
    ['KEYS', '*'],
    ['INFO', 'keyspace'],
    ['CLIENT', 'LIST'],
    ['FUNCTION', 'FLUSH'],
    ['SCRIPT', 'FLUSH'],
  ])("b's user may not run %s", async (...template: string[]) => {
    const ia = String(indexes.get(a.environment)!);
    const ib = String(indexes.get(b.environment)!);
    const command = template.map((x) => (x === 'A' ? ia : x === 'B' ? ib : x));
    const user = resolveEnv(t.deps.catalogue, b).names.redisUser;
    const admin = clientOn(0);
    const cb = await envClient(b);
    try {
      expect(String(await admin.call('ACL', 'DRYRUN', user, ...command))).toMatch(/no permissions/);
      await cb.connect();
      await expect(cb.call(...(command as [string, ...string[]]))).rejects.toThrow(/NOPERM/);
      // Nothing moved: a's keys are where they were, b's own key too.
      const ca = clientOn(Number(ia));
      try {
        expect(await ca.get('site:banner')).toContain(a.environment);
      } finally {
        ca.disconnect();
      }
    } finally {
      cb.disconnect();
      admin.disconnect();
    }
  });

  it("b's user cannot reach a's index from a script either, and what index 0 cannot isolate is as the README says", async () => {
    const ia = indexes.get(a.environment)!;
    const cb = await envClient(b);
    try {
      await cb.connect();
      await expect(cb.call('EVAL', "redis.call('SELECT', ARGV[1]); return redis.call('GET', 'site:banner')", '0', String(ia))).rejects.toThrow(
        /can't run this command|no permissions/,
      );
      // Nothing of a's is readable from b's connection.
      expect(await cb.get('site:banner')).not.toContain(a.environment);
    } finally {
      cb.disconnect();
    }
    // ACLs cannot tie a user to a database: a connection starts in index 0, where b's user may read
    // and write. That is why no environment gets index 0 (README, "Redis").
    const url = new URL(await envUrl(b));
    url.pathname = '';
    const in0 = await envClient(b, url.toString());
    const key = `envbot-test:index0:${b.environment}`;
    const c0 = clientOn(0);
    try {
      await in0.connect();
      await in0.set(key, 'written from index 0', 'EX', 60);
      expect(await c0.get(key)).toBe('written from index 0');
    } finally {
      await c0.del(key);
      in0.disconnect();
      c0.disconnect();
    }
  });

  it('gives a project without a seed an empty key space: the claim empties the index, and so does its seed (run by a reset)', async () => {
    // Keys someone left in the index while it was free (a create has no seed step for a seedless project).
    const ce = clientOn(first + 2);
    try {
      await ce.set('left:over', 'x');
      const created = await run(redis.createRedis, { ref: empty });
      expect(created).toEqual({ server: 'main', index: first + 2 });
      indexes.set(empty.environment, created.index!);
      expect(await ce.exists('left:over')).toBe(0);
      await ce.set('left:over', 'x');
      expect(await run(redis.seedRedis, { ref: empty })).toEqual({ keys: 0 });
      expect(await ce.exists('left:over')).toBe(0);
    } finally {
      ce.disconnect();
    }
  });

  it("deletes: the user is gone (its open connection closed), the keys are gone, the index is free for the next environment, and deleting again is fine", async () => {
    const index = indexes.get(a.environment)!;
    const user = resolveEnv(t.deps.catalogue, a).names.redisUser;
    const url = await envUrl(a);
    const open = await envClient(a, url);
    await open.connect();
    expect(await aclUser(user)).not.toBeNull();
    expect(await run(redis.deleteRedis, { ref: a })).toEqual({ index });
    expect(await aclUser(user)).toBeNull();
    await expect(open.get('site:banner')).rejects.toThrow();
    open.disconnect();
    const again = clientOn(0);
    try {
      const u = new URL(url);
      await expect(again.call('AUTH', decodeURIComponent(u.username), decodeURIComponent(u.password))).rejects.toThrow(/WRONGPASS/);
    } finally {
      again.disconnect();
    }
    expect((await t.deps.store.liveResources(a.environment)).filter((e) => e.kind === 'redis-user')).toEqual([]);
    const ca = clientOn(index);
    try {
      expect(await ca.exists('site:banner', 'feature-flags', 'queue:emails', 'blocked-skus', 'leaderboard:bestsellers', 'site:base-url')).toBe(0);
    } finally {
      ca.disconnect();
    }
    expect(await liveRedis(a)).toEqual([]);
    expect((await allocations(t)).some((r) => r.environment === a.environment)).toBe(false);
    // b keeps its data.
    const cb = clientOn(indexes.get(b.environment)!);
    try {
      expect(await cb.get('site:banner')).toContain(b.environment);
    } finally {
      cb.disconnect();
    }

    expect(await run(redis.deleteRedis, { ref: a })).toEqual({ index: undefined });
    await expect(run(redis.seedRedis, { ref: a })).rejects.toBeInstanceOf(NotFoundError);

    // The freed index is the lowest free one again.
    expect(await run(redis.createRedis, { ref: c })).toEqual({ server: 'main', index });
    indexes.set(c.environment, index);
  });

  it('refuses an environment when every database is taken, saying what to do, and claims nothing', async () => {
    const taken = new Set((await allocations(t)).map((r) => r.db_index));
    let fillers = 0;
    for (let i = 1; i < databases; i++) {
      if (taken.has(i)) continue;
      // Fake environments in this file's store only: they never touch Redis.
      await t.deps.store.claimRedisIndex('main', `filler-${i}`, databases);
      fillers++;
    }
    expect(fillers).toBeGreaterThan(0);
    const before = await allocations(t);
    // Every index but 0 is taken: 0 is free, and still not handed out.
    expect(before.map((r) => r.db_index)).toEqual(Array.from({ length: databases - 1 }, (_, i) => i + 1));

    const err = await run(redis.createRedis, { ref: d }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect((err as Error).message).toContain(`all ${databases - 1} Redis databases on main that envbot hands out (1 to ${databases - 1}; 0 is kept for clients that select none) are taken; destroy an environment you no longer need`);
    expect(await allocations(t)).toEqual(before);
    expect(await liveRedis(d)).toEqual([]);

    for (let i = 1; i < databases; i++) if (!taken.has(i)) await t.deps.store.releaseRedisIndex('main', `filler-${i}`);
  });

  it('skips a project without Redis, and refuses a bad redis.json with a CatalogueError naming the file', async () => {
    const cat = t.deps.catalogue;
    const projb = cat.catalogue.projects.projb!;
    const withProjb = (p: typeof projb): ActivityDeps => ({
      ...t.deps,
      catalogue: { ...cat, catalogue: { ...cat.catalogue, projects: { ...cat.catalogue.projects, projb: p } } },
    });
    const { redis: _omit, ...noRedis } = projb;
    const none = createRedisActivities(withProjb(noRedis));
    expect(await run(none.createRedis, { ref: d })).toEqual({ index: undefined });
    expect(await run(none.seedRedis, { ref: d })).toEqual({ keys: 0 });
    expect(await run(none.deleteRedis, { ref: d })).toEqual({ index: undefined });
    expect((await allocations(t)).some((r) => r.environment === d.environment)).toBe(false);

    tmp = await mkdtemp(join(tmpdir(), 'envbot-redis-seed-'));
    const file = join(tmp, 'redis.json');
    await writeFile(file, '[{"key": "k", "type": "stream", "value": "x"}]');
    const bad = createRedisActivities(withProjb({ ...projb, redis: { server: 'main', seed: { kind: 'disk', path: file, raw: file } } }));
    const created = await run(bad.createRedis, { ref: d });
    indexes.set(d.environment, created.index!);
    const err = await run(bad.seedRedis, { ref: d }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CatalogueError);
    expect((err as Error).message).toBe(`${file}:1: [0].type: use "string", "hash", "list", "set" or "zset"`);
    await writeFile(file, '[{"key": "k", "type": "string", "value": "{{NOPE}}"}]');
    const unknown = await run(bad.seedRedis, { ref: d }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(CatalogueError);
    expect((unknown as Error).message).toContain(`${file}:1: cannot render`);
    expect(await run(bad.deleteRedis, { ref: d })).toEqual({ index: created.index });
  });

  it('streams a large redis.json: keys go in pipelines with a heartbeat after each, and a bad entry far in is named by its line', async () => {
    const cat = t.deps.catalogue;
    const projb = cat.catalogue.projects.projb!;
    const file = join(tmp!, 'large.json');
    const big = createRedisActivities({
      ...t.deps,
      catalogue: { ...cat, catalogue: { ...cat.catalogue, projects: { ...cat.catalogue.projects, projb: { ...projb, redis: { server: 'main', seed: { kind: 'disk', path: file, raw: file } } } } } },
    });
    const entries = Array.from({ length: 3500 }, (_, i) => JSON.stringify({ key: `k:${i}`, type: 'string', value: `{{ENV_NAME}}-${i}` }));
    await writeFile(file, `[\n${entries.join(',\n')}\n]\n`);
    const beats: unknown[] = [];
    const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
    env.on('heartbeat', (b: unknown) => beats.push(b));
    expect(await env.run(big.seedRedis, { ref: c })).toEqual({ keys: 3500 });
    expect(beats).toEqual([1000, 2000, 3000, 3500].map((keys) => ({ index: indexes.get(c.environment), keys })));
    const cc = clientOn(indexes.get(c.environment)!);
    try {
      expect(await cc.dbsize()).toBe(3500);
      expect(await cc.get('k:3499')).toBe(`${c.environment}-3499`);
      entries[2600] = '{"key": "k:2600", "type": "string", "value": 7}';
      await writeFile(file, `[\n${entries.join(',\n')}\n]\n`);
      const err = await run(big.seedRedis, { ref: c }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CatalogueError);
      expect((err as CatalogueError).problems[0]).toMatchObject({ path: '[2600].value', line: 2602 });
    } finally {
      cc.disconnect();
    }
  });
});
