// MariaDB from Debian's packages (MySQL protocol), with LOAD DATA LOCAL INFILE enabled.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { aptInstall } from '../lib/install.js';
import { have, launch, PROBE_TIMEOUT_MS, run } from '../lib/proc.js';
import type { Context, Server } from '../lib/context.js';

const PORT = 3306;

async function canLogIn(ctx: Context): Promise<boolean> {
  const conn = await mysql.createConnection({
    host: '127.0.0.1', port: ctx.port(PORT), user: ctx.user, password: ctx.password, connectTimeout: PROBE_TIMEOUT_MS,
  });
  await conn.end();
  return true;
}

export const mariadb: Server = {
  name: 'mariadb',
  ports: [PORT],
  ready: (ctx) => canLogIn(ctx).catch(() => false),
  async install(ctx) {
    if (!(await have('mariadbd'))) await aptInstall(ctx, ['mariadb-server']);
  },
  async start(ctx) {
    const dir = ctx.dataDir('mariadb');
    const root = process.getuid?.() === 0 ? ['--user=root'] : [];
    const socket = join(dir, 'mysqld.sock');
    if (!existsSync(join(dir, 'mysql'))) {
      ctx.log(`initialising a MariaDB data directory in ${dir}`);
      await run('mariadb-install-db', [
        '--no-defaults', `--datadir=${dir}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...root,
      ]);
    }
    const sockReady = async (): Promise<boolean> => {
      const c = await mysql.createConnection({ socketPath: socket, user: 'root' });
      await c.end();
      return true;
    };
    await launch(ctx, 'mariadb', 'mariadbd', [
      '--no-defaults', `--datadir=${dir}`, `--socket=${socket}`, `--port=${ctx.port(PORT)}`, '--bind-address=127.0.0.1',
      `--pid-file=${join(dir, 'mariadbd.pid')}`, '--local-infile=1', '--skip-name-resolve',
      '--innodb-flush-log-at-trx-commit=0', '--max-connections=300', ...root,
    ], sockReady, { label: 'MariaDB' });
    // First start: the admin user envbot connects as over TCP.
    const c = await mysql.createConnection({ socketPath: socket, user: 'root' });
    try {
      await c.query(`CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?`, [ctx.user, ctx.password]);
      await c.query(`GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION`, [ctx.user]);
      await c.query('FLUSH PRIVILEGES');
    } finally {
      await c.end();
    }
  },
  env: (ctx) => ({ MYSQL_URL: `mysql://${ctx.user}:${ctx.password}@127.0.0.1:${ctx.port(PORT)}/` }),
};
