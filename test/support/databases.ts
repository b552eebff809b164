// A throw-away PostgreSQL database per test file, migrated like envbot's real store.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../shared/store/migrate.js';
import { required, testSettings } from './settings.js';

export interface ScratchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function scratchPostgres(prefix: string, opts: { migrate?: boolean } = {}): Promise<ScratchDatabase> {
  const admin = required(testSettings().servers.postgres, 'POSTGRES_URL');
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  if (opts.migrate) await migrate(url.toString());
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
