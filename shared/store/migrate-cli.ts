// npm run migrate: applies envbot's migrations to DATABASE_URL (or the local stack's, from .envbot/services.env).
import { servicesEnvFile } from '../paths.js';
import { readSettings } from '../settings.js';
import { migrate } from './migrate.js';

const settings = readSettings(process.env, [servicesEnvFile]);
migrate(settings.databaseUrl).then(
  (applied) => {
    process.stdout.write(applied.length ? `applied ${applied.join(', ')}\n` : 'the store is up to date\n');
  },
  (err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  },
);
