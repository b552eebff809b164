// PostgreSQL from Debian's packages: envbot's own store and the server environments get databases on.
import { chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { aptInstall } from '../lib/install.js';
import { launch, PROBE_TIMEOUT_MS, run } from '../lib/proc.js';
import type { Context, Server } from '../lib/context.js';

const PORT = 5432;

function url(ctx: Context, db: string): string {
  return `postgres://${ctx.user}:${ctx.password}@127.0.0.1:${ctx.port(PORT)}/${db}`;
}

async function canLogIn(ctx: Context): Promise<boolean> {
  const client = new pg.Client({ connectionString: url(ctx, 'postgres'), connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'postgres')));
  versions.sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

/** Postgres refuses to run as root: as root, the cluster lives outside the checkout, owned by `postgres`. */
function clusterDir(ctx: Context): string {
  if (process.getuid?.() !== 0) return join(ctx.dataDir('postgres'), 'cluster');
  const key = createHash('sha256').update(ctx.stateDir).digest('hex').slice(0, 12);
  return `/var/lib/envbot/${key}/postgres`;
}

function asServerUser(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

export const postgres: Server = {
  name: 'postgres',
  ports: [PORT],
  ready: (ctx) => canLogIn(ctx).catch(() => false),
  async install(ctx) {
    if (binDir()) return;
    await aptInstall(ctx, ['postgresql']);
    if (!binDir()) throw new Error('postgresql was installed but no /usr/lib/postgresql/<version>/bin/postgres was found');
  },
  async start(ctx) {
    const bin = binDir();
    if (!bin) throw new Error('no /usr/lib/postgresql/<version>/bin/postgres: scripts/services up installs it first');
    const dir = clusterDir(ctx);
    if (!existsSync(join(dir, 'PG_VERSION'))) {
      ctx.log(`initialising a PostgreSQL cluster in ${dir}`);
      mkdirSync(join(dir, '..'), { recursive: true, mode: 0o755 });
      mkdirSync(dir, { mode: 0o700 });
      const pwfile = join(dir, '..', 'pwfile');
      writeFileSync(pwfile, `${ctx.password}\n`, { mode: 0o600 });
      if (process.getuid?.() === 0) {
        const { stdout } = await run('id', ['-u', 'postgres']);
        const uid = Number(stdout.trim());
        const { stdout: g } = await run('id', ['-g', 'postgres']);
        chownSync(dir, uid, Number(g.trim()));
        chownSync(pwfile, uid, Number(g.trim()));
      }
      const [cmd, args] = asServerUser(join(bin, 'initdb'), [
        '-D', dir, '-U', ctx.user, '--auth=scram-sha-256', `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C.UTF-8',
      ]);
      await run(cmd, args);
    }
    const [cmd, args] = asServerUser(join(bin, 'postgres'), [
      '-D', dir, '-c', 'listen_addresses=127.0.0.1', '-c', `port=${ctx.port(PORT)}`, '-c', `unix_socket_directories=${dir}`,
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300',
    ]);
    await launch(ctx, 'postgres', cmd, args, () => canLogIn(ctx), { label: 'PostgreSQL' });
  },
  async setup(ctx) {
    const client = new pg.Client({ connectionString: url(ctx, 'postgres') });
    await client.connect();
    try {
      const { rowCount } = await client.query('select 1 from pg_database where datname = $1', ['envbot']);
      if (!rowCount) await client.query('create database envbot');
    } finally {
      await client.end();
    }
  },
  env: (ctx) => ({ DATABASE_URL: url(ctx, 'envbot'), POSTGRES_URL: url(ctx, 'postgres') }),
};
