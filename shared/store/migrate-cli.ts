// npm run migrate: applies envbot's migrations to DATABASE_URL (or the local stack's, from .envbot/services.env).
import { join } from 'node:path';
import { readSettings } from '../settings.js';
import { migrate, MIGRATIONS_DIR } from './migrate.js';

const settings = readSettings(process.env, [join(MIGRATIONS_DIR, '..', '.envbot', 'services.env')]);
migrate(settings.databaseUrl).then(
  (applied) => {
    process.stdout.write(applied.length ? `applied ${applied.join(', ')}\n` : 'the store is up to date\n');
  },
  (err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  },
);
