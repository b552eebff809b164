// envbot's store on real PostgreSQL: migrations, the ledger, Redis index allocation that cannot
// double-allocate, secrets encrypted at rest, the audit log.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResourceExhaustedError } from '../../shared/errors.js';
import { listMigrations, migrate } from '../../shared/store/migrate.js';
import { Store } from '../../shared/store/store.js';
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

  it('refuses two environments on one Redis index in the database itself', async () => {
    await store.pool.query("INSERT INTO redis_allocations (server, db_index, environment) VALUES ('main', 5, 'proja-dev')");
    await expect(
      store.pool.query("INSERT INTO redis_allocations (server, db_index, environment) VALUES ('main', 5, 'projb-qa')"),
    ).rejects.toThrow(/duplicate key value violates unique constraint "redis_allocations_pkey"/);
    await store.pool.query("DELETE FROM redis_allocations WHERE server = 'main'");
  });

  it('claims the lowest free index, never the same one twice under concurrency, and says when none is left', async () => {
    const envs = Array.from({ length: 6 }, (_, i) => `env-${i}`);
    const claimed = await Promise.all(envs.map((e) => store.claimRedisIndex('race', e, 6)));
    expect([...claimed].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await store.claimRedisIndex('race', 'env-3', 6)).toBe(claimed[3]);
    await expect(store.claimRedisIndex('race', 'one-too-many', 6)).rejects.toBeInstanceOf(ResourceExhaustedError);
    await store.releaseRedisIndex('race', 'env-2');
    expect(await store.claimRedisIndex('race', 'late', 6)).toBe(claimed[2]);
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

  it('appends to the audit log', async () => {
    await store.audit({ actor: 'slack:U123', platform: 'slack', channel: 'C1', action: 'create', environment: 'projb-qa' });
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query('SELECT actor, platform, action, outcome FROM audit_log');
    await client.end();
    expect(rows).toEqual([{ actor: 'slack:U123', platform: 'slack', action: 'create', outcome: 'requested' }]);
  });
});
