// envbot's store on real PostgreSQL: migrations, the ledger, slot allocation (Redis indexes and any
// other pool) that cannot double-allocate, secrets and server connections encrypted at rest, the audit log.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, ResourceExhaustedError } from '../../shared/errors.js';
import { listMigrations, migrate } from '../../shared/store/migrate.js';
import { Store, type LedgerEntry } from '../../shared/store/store.js';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';

describe('store', () => {
  let db: ScratchDatabase;
  let store: Store;
  const keys = [{ id: 'test-1', key: randomBytes(32) }];

  beforeAll(async () => {
    db = await scratchPostgres('store_test');
    expect(await migrate(db.url)).toEqual(listMigrations().map((m) => m.name));
    store = new Store(db.url, keys);
  });

  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('applies each migration once (a second run applies nothing, also when run concurrently)', async () => {
    expect(await Promise.all([migrate(db.url), migrate(db.url)])).toEqual([[], []]);
  });

  /** Runs `fn` on a scratch store migrated up to, not including, migration `version`; then drops it. */
  async function storeBefore(version: number, name: string, fn: (c: pg.Client, url: string) => Promise<void>): Promise<void> {
    const old = await scratchPostgres(name);
    const dir = await mkdtemp(join(tmpdir(), 'envbot-migrations-'));
    const c = new pg.Client({ connectionString: old.url });
    try {
      const before = listMigrations().filter((m) => m.version < version);
      for (const m of before) await writeFile(join(dir, m.name), m.sql);
      expect(await migrate(old.url, dir)).toEqual(before.map((m) => m.name));
      await c.connect();
      await fn(c, old.url);
    } finally {
      await c.end().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      await old.drop();
    }
  }

  it('moves the Redis allocations of a store made before 003 into the allocations table', async () => {
    await storeBefore(3, 'store_migrate', async (c, url) => {
      await c.query(
        `INSERT INTO redis_allocations (server, db_index, environment, allocated_at)
         VALUES ('main', 0, 'proja-dev', '2024-01-02T03:04:05Z'), ('main', 3, 'projb-qa', now()), ('cache', 0, 'proja-dev', now())`,
      );
      expect(await migrate(url)).toEqual(listMigrations().filter((m) => m.version >= 3).map((m) => m.name));
      const { rows } = await c.query('SELECT pool, slot, owner FROM allocations ORDER BY pool, slot');
      expect(rows).toEqual([
        { pool: 'redis/cache', slot: 0, owner: 'proja-dev' },
        { pool: 'redis/main', slot: 0, owner: 'proja-dev' },
        { pool: 'redis/main', slot: 3, owner: 'projb-qa' },
      ]);
      const kept = await c.query<{ at: Date }>("SELECT allocated_at AS at FROM allocations WHERE pool = 'redis/main' AND slot = 0");
      expect(kept.rows[0]?.at.toISOString()).toBe('2024-01-02T03:04:05.000Z');
      expect((await c.query("SELECT to_regclass('redis_allocations') AS t")).rows[0].t).toBeNull();
      const migrated = new Store(url, keys);
      try {
        expect(await migrated.redisIndexOf('main', 'projb-qa')).toBe(3);
        expect(await migrated.claimRedisIndex('main', 'projc-dev', 16)).toBe(1);
      } finally {
        await migrated.close();
      }
    });
  });

  it('refuses two owners of one slot in the database itself', async () => {
    await store.pool.query("INSERT INTO allocations (pool, slot, owner) VALUES ('redis/main', 5, 'proja-dev')");
    await expect(
      store.pool.query("INSERT INTO allocations (pool, slot, owner) VALUES ('redis/main', 5, 'projb-qa')"),
    ).rejects.toThrow(/duplicate key value violates unique constraint "allocations_pkey"/);
    await store.releaseRedisIndex('main', 'proja-dev');
    expect(await store.redisIndexOf('main', 'proja-dev')).toBeUndefined();
  });

  it('claims the lowest free index, never the same one twice under concurrency, never 0, and says when none is left', async () => {
    // 6 databases: 0 is kept for clients that select none, so 5 environments fit.
    const envs = Array.from({ length: 5 }, (_, i) => `env-${i}`);
    const claimed = await Promise.all(envs.map((e) => store.claimRedisIndex('race', e, 6)));
    expect([...claimed].sort()).toEqual([1, 2, 3, 4, 5]);
    expect(await store.claimRedisIndex('race', 'env-3', 6)).toBe(claimed[3]);
    // Index 0 is free, and still not handed out.
    const full = await store.claimRedisIndex('race', 'one-too-many', 6).catch((e: unknown) => e);
    expect(full).toBeInstanceOf(ResourceExhaustedError);
    expect((full as Error).message).toMatch(/all 5 Redis databases on race that envbot hands out \(1 to 5; 0 is kept for clients that select none\) are taken/);
    expect(await store.allocations.slotOf('redis/race', 'one-too-many')).toBeUndefined();
    await store.releaseRedisIndex('race', 'env-2');
    expect(await store.claimRedisIndex('race', 'late', 6)).toBe(claimed[2]);
  });

  describe('allocations', () => {
    const range = { from: 100, count: 20 };

    it('hands out the lowest free slot of the range, and the same one again to its owner', async () => {
      const a = store.allocations;
      expect(await a.claim('lb/low', 'env-a', range)).toBe(100);
      expect(await a.claim('lb/low', 'env-b', range)).toBe(101);
      expect(await a.claim('lb/low', 'env-a', range)).toBe(100);
      expect(await a.slotOf('lb/low', 'env-b')).toBe(101);
      expect(await a.slotOf('lb/low', 'nobody')).toBeUndefined();
    });

    it('gives 20 owners claiming at once 20 distinct slots, then says the pool is exhausted', async () => {
      const owners = Array.from({ length: 20 }, (_, i) => `owner-${i}`);
      const slots = await Promise.all(owners.map((o) => store.allocations.claim('lb/race', o, range)));
      expect([...slots].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));
      // Each owner's slot is the one recorded for it.
      for (const [i, o] of owners.entries()) expect(await store.allocations.slotOf('lb/race', o)).toBe(slots[i]);

      const err = await store.allocations.claim('lb/race', 'one-too-many', range).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ResourceExhaustedError);
      expect((err as Error).message).toBe('all 20 slots of lb/race (100 to 119) are taken; release one first.');
      await expect(store.allocations.claim('lb/race', 'one-too-many', { ...range, exhausted: 'no rule priority left' })).rejects.toThrow(
        /^no rule priority left$/,
      );
      expect(await store.allocations.slotOf('lb/race', 'one-too-many')).toBeUndefined();
      // The owner of a slot still gets it back from a full pool.
      expect(await store.allocations.claim('lb/race', 'owner-7', range)).toBe(slots[7]);
    });

    it('frees a released slot for the next claim', async () => {
      const a = store.allocations;
      for (const o of ['r-0', 'r-1', 'r-2']) await a.claim('lb/release', o, range);
      expect(await a.release('lb/release', 'r-1')).toBe(101);
      expect(await a.release('lb/release', 'r-1')).toBeUndefined();
      expect(await a.slotOf('lb/release', 'r-1')).toBeUndefined();
      expect(await a.claim('lb/release', 'r-3', range)).toBe(101);
    });

    it('releases every slot an owner holds in the pools with a prefix, and nothing else', async () => {
      const a = store.allocations;
      await a.claim('lb/arn:one', 'held', range);
      await a.claim('lb/arn:two', 'other', range);
      await a.claim('lb/arn:two', 'held', range);
      await a.claim('redis/prefix', 'held', { count: 16 });
      expect(await a.releaseAll('held', 'l%')).toEqual([]); // a prefix, not a pattern
      expect(await a.releaseAll('held', 'lb/')).toEqual([
        { pool: 'lb/arn:one', slot: 100 },
        { pool: 'lb/arn:two', slot: 101 },
      ]);
      expect(await a.slotOf('lb/arn:two', 'other')).toBe(100);
      expect(await a.slotOf('redis/prefix', 'held')).toBe(0);
      expect(await a.releaseAll('held', 'lb/')).toEqual([]);
    });

    it('keeps pools independent: the same slot in two pools, one owner in both', async () => {
      const a = store.allocations;
      expect(await a.claim('lb/one', 'both', range)).toBe(100);
      expect(await a.claim('lb/two', 'both', range)).toBe(100);
      expect(await a.claim('lb/two', 'second', range)).toBe(101);
      expect(await a.claim('lb/one', 'second', range)).toBe(101);
      expect(await a.release('lb/one', 'both')).toBe(100);
      expect(await a.slotOf('lb/two', 'both')).toBe(100);
    });

    it('stores Redis indexes as slots of the pool redis/<server>', async () => {
      const index = await store.claimRedisIndex('pooled', 'projb-qa', 4);
      expect(await store.allocations.slotOf('redis/pooled', 'projb-qa')).toBe(index);
      await store.releaseRedisIndex('pooled', 'projb-qa');
      expect(await store.allocations.slotOf('redis/pooled', 'projb-qa')).toBeUndefined();
    });
  });

  it('stores secrets encrypted: the row holds no plaintext, and reading gives the value back', async () => {
    const canary = `canary-${randomBytes(8).toString('hex')}`;
    await store.putSecret('projb-qa', 'api-token', canary);
    await store.putSecret('projb-qa', 'api-token', 'a second put keeps the first value');
    expect(await store.getSecret('projb-qa', 'api-token')).toBe(canary);
    const { rows } = await store.pool.query("SELECT * FROM secrets WHERE environment = 'projb-qa'");
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(canary);
    expect(Buffer.concat([rows[0].ciphertext, rows[0].iv]).toString('latin1')).not.toContain(canary);
    expect(rows[0].key_id).toBe('test-1');
  });

  it('stores and reads several secrets in one statement each, each bound to its own name and environment', async () => {
    const env = 'projc-qa';
    const [a, b] = [`a-${randomBytes(8).toString('hex')}`, `b-${randomBytes(8).toString('hex')}`];
    await store.putSecrets(env, [['mysql-password', a], ['redis-password', b]]);
    // Stored values are kept: a retry's new values change nothing, a new name is added.
    await store.putSecrets(env, [['mysql-password', 'retry'], ['redis-password', 'retry'], ['api-token', 'c']]);
    expect(await store.getSecrets(env, ['mysql-password', 'redis-password', 'api-token', 'missing'])).toEqual(new Map([['mysql-password', a], ['redis-password', b], ['api-token', 'c']]));
    expect(await store.getSecret(env, 'redis-password')).toBe(b);
    const { rows } = await store.pool.query('SELECT * FROM secrets WHERE environment = $1', [env]);
    expect(JSON.stringify(rows)).not.toContain(a);
    // A value moved under another name does not open as that name.
    await store.pool.query("UPDATE secrets SET name = 'other' WHERE environment = $1 AND name = 'mysql-password'", [env]);
    await expect(store.getSecrets(env, ['other'])).rejects.toThrow();
  });

  describe('server connections', () => {
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const url = `postgres://admin:${password}@db.internal:5432/postgres`;

    it('remembers an admin URL encrypted and gives it back; a second remember replaces it', async () => {
      expect(await store.rememberedServer('postgres', 'main')).toBeUndefined();
      await store.rememberServer('postgres', 'main', 'postgres://admin:old@db.internal:5432/postgres');
      await store.rememberServer('postgres', 'main', url);
      expect(await store.rememberedServer('postgres', 'main')).toBe(url);
      expect(await store.secrets.rememberedServer('mysql', 'main')).toBeUndefined();
      const { rows } = await store.pool.query("SELECT * FROM server_connections WHERE engine = 'postgres'");
      expect(rows).toHaveLength(1);
      expect(rows[0].key_id).toBe('test-1');
      for (const plain of [url, password, 'db.internal']) {
        expect(JSON.stringify(rows)).not.toContain(plain);
        expect(Buffer.concat([rows[0].ciphertext, rows[0].iv, rows[0].auth_tag]).toString('latin1')).not.toContain(plain);
      }
    });

    it('is never an environment secret: not listed, and a row copied between the tables fails to open', async () => {
      await store.putSecret('server', 'api-token', 'a secret of an environment named "server"');
      expect(await store.secretNames('server')).toEqual(['api-token']);
      // A server row as the secret `postgres:main` of environment `server`, whose text would read alike.
      await store.pool.query(
        `INSERT INTO secrets (environment, name, key_id, iv, ciphertext, auth_tag)
         SELECT 'server', engine || ':' || server, key_id, iv, ciphertext, auth_tag FROM server_connections WHERE engine = 'postgres'`,
      );
      await expect(store.getSecret('server', 'postgres:main')).rejects.toThrow(/unable to authenticate/);
      // And a secret row as a server's connection.
      await store.pool.query(
        `INSERT INTO server_connections (engine, server, key_id, iv, ciphertext, auth_tag)
         SELECT 'mysql', 'api-token', key_id, iv, ciphertext, auth_tag FROM secrets WHERE environment = 'server' AND name = 'api-token'`,
      );
      await expect(store.rememberedServer('mysql', 'api-token')).rejects.toThrow(/unable to authenticate/);
      await store.deleteSecrets('server');
      expect(await store.rememberedServer('postgres', 'main')).toBe(url);
    });
  });

  it('keeps one live ledger row per resource and remembers deleted ones', async () => {
    const r = { environment: 'projb-qa', kind: 'namespace', name: 'projb-qa', location: 'local' };
    await store.recordResource(r);
    await store.recordResource(r);
    expect(await store.liveResources('projb-qa')).toHaveLength(1);
    await store.markResourceDeleted(r);
    expect(await store.liveResources('projb-qa')).toHaveLength(0);
    await store.recordResource(r);
    const { rows } = await store.pool.query("SELECT count(*)::int AS n FROM resources WHERE name = 'projb-qa'");
    expect(rows[0].n).toBe(2);
  });

  describe('one owner per physical resource', () => {
    const db = (environment: string) => ({ environment, kind: 'postgres-database', name: 'orders_eu_shop_qa', location: 'postgres/main' });

    it('refuses to record a resource another environment holds, naming the holder, and keeps the holder\'s entry', async () => {
      await store.recordResource(db('shop-qa'));
      await expect(store.recordResource(db('eu-shop-qa'))).rejects.toThrow(ConflictError);
      await expect(store.recordResource(db('eu-shop-qa'))).rejects.toThrow(/orders_eu_shop_qa \(postgres-database on postgres\/main\) belongs to environment shop-qa, so eu-shop-qa cannot use it/);
      expect(await store.liveResources('eu-shop-qa')).toEqual([]);
      expect(await store.liveResources('shop-qa')).toEqual([expect.objectContaining(db('shop-qa'))]);
      expect(await store.ledger.holder(db('any'))).toBe('shop-qa');
      // The holder recording it again is still a no-op; the same name elsewhere (another server, another kind) is another resource.
      await store.recordResource(db('shop-qa'));
      await store.recordResource({ ...db('eu-shop-qa'), location: 'postgres/other' });
      await store.recordResource({ ...db('eu-shop-qa'), kind: 'mongo-database', location: 'mongo/main' });
      expect(await store.liveResources('shop-qa')).toHaveLength(1);
      expect(await store.liveResources('eu-shop-qa')).toHaveLength(2);
      // Once the holder's entry is closed, another environment may record it.
      await store.markResourceDeleted(db('eu-shop-qa'));
      expect(await store.ledger.holder(db('any'))).toBe('shop-qa');
      await store.markResourceDeleted(db('shop-qa'));
      expect(await store.ledger.holder(db('any'))).toBeUndefined();
      await store.recordResource(db('eu-shop-qa'));
      expect(await store.ledger.holder(db('any'))).toBe('eu-shop-qa');
    });

    it('gives one of many environments recording the same resource at once the resource, and the others a conflict', async () => {
      const key = { kind: 'mysql-database', name: 'raced_qa', location: 'mysql/main' };
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.recordResource({ ...key, environment: `env-${i}` })));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      expect(outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof ConflictError)).toHaveLength(9);
      const { rows } = await store.pool.query('SELECT environment FROM resources WHERE kind = $1 AND name = $2 AND deleted_at IS NULL', [key.kind, key.name]);
      expect(rows).toHaveLength(1);
    });

    it('records several resources in one call: in order, with their details, again as a no-op, and stops at one another environment holds', async () => {
      const entry = (environment: string, name: string) => ({ environment, kind: 'mongo-database', name, location: 'mongo/batch', details: { database: name } });
      const batch: LedgerEntry[] = [entry('batch-qa', 'catalog_batch_qa'), entry('batch-qa', 'carts_batch_qa'), { environment: 'batch-qa', kind: 'mongo-user', name: 'batch_qa', location: 'mongo/batch' }];
      await store.recordResources(batch);
      await store.recordResources([...batch, batch[0]!]);
      expect(await store.liveResources('batch-qa')).toEqual(batch.map((e) => expect.objectContaining({ ...e, details: e.details ?? {} })));
      // One held by another environment: a ConflictError naming it; that environment's row stays as it was.
      await store.recordResource(entry('other-qa', 'taken_batch_qa'));
      const attempt = store.recordResources([entry('batch-qa', 'free_batch_qa'), entry('batch-qa', 'taken_batch_qa')]);
      await expect(attempt).rejects.toThrow(ConflictError);
      await expect(store.recordResources([entry('batch-qa', 'taken_batch_qa')])).rejects.toThrow(/taken_batch_qa \(mongo-database on mongo\/batch\) belongs to environment other-qa, so batch-qa cannot use it/);
      expect(await store.ledger.holder(entry('any', 'taken_batch_qa'))).toBe('other-qa');
      expect((await store.liveResources('batch-qa')).map((e) => e.name)).not.toContain('taken_batch_qa');
      await store.recordResources([]);
    });

    it('gives one of many environments recording the same resources at once in batches all of them, and the others a conflict', async () => {
      const keys = ['a', 'b', 'c'].map((n) => ({ kind: 'mysql-database', name: `raced_batch_${n}`, location: 'mysql/main' }));
      const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.recordResources(keys.map((k) => ({ ...k, environment: `benv-${i}` })))));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      expect(outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof ConflictError)).toHaveLength(7);
      const { rows } = await store.pool.query<{ environment: string }>('SELECT DISTINCT environment FROM resources WHERE name LIKE $1 AND deleted_at IS NULL', ['raced_batch_%']);
      expect(rows).toHaveLength(1);
    });

    it('holds in the database itself: a second live row for the resource is refused whoever inserts it', async () => {
      await expect(
        store.pool.query("INSERT INTO resources (environment, kind, name, location) VALUES ('eu-shop-qa', 'postgres-database', 'orders_eu_shop_qa', 'postgres/main')"),
      ).rejects.toThrow(/duplicate key value violates unique constraint "resources_live_key"/);
    });

    it('migrates a store where two environments share a resource: the first holder keeps it, stored secrets become per environment', async () => {
      await storeBefore(5, 'store_migrate_005', async (c, url) => {
        await c.query(`INSERT INTO resources (environment, kind, name, location) VALUES
          ('shop-qa', 'postgres-database', 'orders_eu_shop_qa', 'postgres/main'),
          ('eu-shop-qa', 'postgres-database', 'orders_eu_shop_qa', 'postgres/main'),
          ('shop-qa', 'secret', 'postgres-password', 'envbot-store'),
          ('eu-shop-qa', 'secret', 'postgres-password', 'envbot-store')`);
        await migrate(url);
        const { rows } = await c.query(
          "SELECT environment, kind, location, deleted_at IS NOT NULL AS closed, details->>'releasedTo' AS released FROM resources ORDER BY id",
        );
        expect(rows).toEqual([
          { environment: 'shop-qa', kind: 'postgres-database', location: 'postgres/main', closed: false, released: null },
          { environment: 'eu-shop-qa', kind: 'postgres-database', location: 'postgres/main', closed: true, released: 'shop-qa' },
          { environment: 'shop-qa', kind: 'secret', location: 'envbot-store/shop-qa', closed: false, released: null },
          { environment: 'eu-shop-qa', kind: 'secret', location: 'envbot-store/eu-shop-qa', closed: false, released: null },
        ]);
      });
    });
  });

  it('appends to the audit log', async () => {
    await store.audit({ actor: 'slack:U123', platform: 'slack', channel: 'C1', action: 'create', environment: 'projb-qa' });
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query('SELECT actor, platform, action, outcome FROM audit_log');
    await client.end();
    expect(rows).toEqual([{ actor: 'slack:U123', platform: 'slack', action: 'create', outcome: 'requested' }]);
  });

  it("writes an operation's entry once per run: a step run again adds nothing, other runs and entries without a run do", async () => {
    const entry = { actor: 'slack:U1', platform: 'slack', action: 'destroy', environment: 'projb-audit', outcome: 'started' } as const;
    expect(await store.audit({ ...entry, runId: 'destroy-projb-audit/run-1' })).toBe(true);
    expect(await store.audit({ ...entry, runId: 'destroy-projb-audit/run-1' })).toBe(false);
    expect(await store.audit({ ...entry, outcome: 'succeeded', runId: 'destroy-projb-audit/run-1' })).toBe(true);
    expect(await store.audit({ ...entry, runId: 'destroy-projb-audit/run-2' })).toBe(true);
    expect(await store.audit(entry)).toBe(true);
    expect(await store.audit(entry)).toBe(true);
    const { rows } = await store.pool.query("SELECT outcome, run_id FROM audit_log WHERE environment = 'projb-audit' ORDER BY id");
    expect(rows).toEqual([
      { outcome: 'started', run_id: 'destroy-projb-audit/run-1' },
      { outcome: 'succeeded', run_id: 'destroy-projb-audit/run-1' },
      { outcome: 'started', run_id: 'destroy-projb-audit/run-2' },
      { outcome: 'started', run_id: null },
      { outcome: 'started', run_id: null },
    ]);
  });
});
