// Store overheads, measured in one run against the local PostgreSQL:
//  - claiming a Redis index (lowest free, race-safe) vs inserting a known index;
//  - storing an encrypted secret vs storing the same bytes in plain text.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../shared/store/migrate.js';
import { Store } from '../shared/store/store.js';
import type { Settings } from '../shared/settings.js';

async function time(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export async function storeBench(settings: Settings, print: (line: string) => void): Promise<void> {
  const admin = settings.servers.postgres;
  if (!admin) throw new Error('POSTGRES_URL is not set: run scripts/services/services up');
  const name = `bench_store_${randomBytes(3).toString('hex')}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  await migrate(url.toString());
  const store = new Store(url.toString(), [{ id: 'bench', key: randomBytes(32) }]);
  const n = 500;
  try {
    const raw = await time(async () => {
      for (let i = 0; i < n; i++) {
        await store.pool.query('INSERT INTO allocations (pool, slot, owner) VALUES ($1, $2, $3)', ['raw', i, `env-${i}`]);
      }
    });
    const claim = await time(async () => {
      // A server with n + 1 databases: envbot hands out 1 to n (0 is kept for clients that select none).
      for (let i = 0; i < n; i++) await store.claimRedisIndex('claim', `env-${i}`, n + 1);
    });
    print(`redis index: ${n} claims ${claim.toFixed(0)} ms vs ${n} raw inserts ${raw.toFixed(0)} ms; ratio claim/raw = ${(claim / raw).toFixed(2)}`);

    const value = randomBytes(24).toString('base64');
    await store.pool.query('CREATE TABLE plain_secrets (environment text, name text, value text, PRIMARY KEY (environment, name))');
    const plain = await time(async () => {
      for (let i = 0; i < n; i++) await store.pool.query('INSERT INTO plain_secrets VALUES ($1, $2, $3)', [`env-${i}`, 'api-token', value]);
    });
    const sealed = await time(async () => {
      for (let i = 0; i < n; i++) await store.putSecret(`env-${i}`, 'api-token', value);
    });
    print(`secrets: ${n} encrypted puts ${sealed.toFixed(0)} ms vs ${n} plain inserts ${plain.toFixed(0)} ms; ratio encrypted/plain = ${(sealed / plain).toFixed(2)}`);
  } finally {
    await store.close();
    await c.query(`DROP DATABASE ${name} WITH (FORCE)`);
    await c.end();
  }
}
