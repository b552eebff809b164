// PostgreSQL: roles (given a SCRAM verifier, never the password), databases only their owner may
// reach, and a seeding session that empties the owner's schemas and bulk-loads CSV with COPY.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Admin, Log, Session } from './engine.js';
import { hasCode } from './errors.js';

function pgIdent(name: string): string {
  return pg.escapeIdentifier(name);
}

async function pgConnect(url: string, log: Log): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  // A server that drops an idle connection emits 'error'; queries in flight reject on their own.
  c.on('error', (err) => log.debug({ err: err.message }, 'postgres connection error'));
  await c.connect();
  return c;
}

/** `url` pointed at database `db`, and logging in as `user` when given. */
function withDatabase(url: string, db: string, user?: { name: string; password: string }): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(db)}`;
  if (user) {
    u.username = encodeURIComponent(user.name);
    u.password = encodeURIComponent(user.password);
  }
  return u.toString();
}

/** A PostgreSQL SCRAM-SHA-256 password verifier (RFC 5802/7677), as the server itself stores it. */
export function scramVerifier(password: string, iterations = 4096): string {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * Admin work on the server behind `pool` (the worker's pool of the admin URL `url`), over one of its
 * connections, given back by close(); a connection that failed (not a statement the server refused)
 * is discarded instead.
 */
export async function postgresAdmin(pool: pg.Pool, url: string, log: Log): Promise<Admin> {
  const conn = await pool.connect();
  let broken: unknown;
  const c = {
    async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
      try {
        return await conn.query<R>(text, values);
      } catch (err) {
        if (!(err instanceof pg.DatabaseError)) broken = err;
        throw err;
      }
    },
  };
  // PostgreSQL 15 and newer give schema public to pg_database_owner: no connection to the new database is needed.
  let ownsPublic: boolean | undefined;
  return {
    async ensureUser(user, password) {
      const role = pgIdent(user);
      // The server gets a SCRAM verifier, never the password: statements can end up in its log
      // (log_statement=ddl, or any failed statement), and a verifier there gives no login.
      const verifier = pg.escapeLiteral(scramVerifier(password));
      const { rowCount } = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [user]);
      try {
        if (!rowCount) await c.query(`CREATE ROLE ${role} LOGIN PASSWORD ${verifier}`);
      } catch (err) {
        // unique_violation or duplicate_object when two calls race: fall through to ALTER.
        if (!hasCode(err, '42710', '23505')) throw err;
      }
      // Already there (a retry): the store's password wins.
      await c.query(`ALTER ROLE ${role} WITH LOGIN PASSWORD ${verifier}`);
      // A non-superuser admin (RDS, CREATEROLE) must be a member of a role to make it a database owner.
      const { rows } = await c.query<{ rolsuper: boolean }>('SELECT rolsuper FROM pg_roles WHERE rolname = current_user');
      if (!rows[0]?.rolsuper) await c.query(`GRANT ${role} TO CURRENT_USER`);
    },
    async ensureDatabase(db, user) {
      const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
      if (!rowCount) {
        try {
          await c.query(`CREATE DATABASE ${pgIdent(db)} OWNER ${pgIdent(user)}`);
        } catch (err) {
          if (!hasCode(err, '42P04', '23505')) throw err;
        }
      }
      // Other environments' users (and anyone else) may not even connect.
      await c.query(`REVOKE ALL ON DATABASE ${pgIdent(db)} FROM PUBLIC`);
      // PostgreSQL 14 and older: schema public belongs to the bootstrap superuser; the owner must
      // own it to empty it before seeding (15+: pg_database_owner, so this changes nothing).
      ownsPublic ??= Number((await c.query<{ v: string }>('SELECT current_setting($1) AS v', ['server_version_num'])).rows[0]?.v) >= 150000;
      if (ownsPublic) return;
      const inDb = await pgConnect(withDatabase(url, db), log);
      try {
        await inDb.query(`ALTER SCHEMA public OWNER TO ${pgIdent(user)}`).catch((err: unknown) => {
          if (!hasCode(err, '3F000')) throw err;
        });
      } finally {
        await inDb.end();
      }
    },
    async dropDatabase(db) {
      await c.query(`DROP DATABASE IF EXISTS ${pgIdent(db)} WITH (FORCE)`);
    },
    async dropUser(user) {
      await c.query(`DROP ROLE IF EXISTS ${pgIdent(user)}`);
    },
    close: async () => conn.release(broken instanceof Error ? broken : broken !== undefined),
  };
}

/** A session on `db` of the server at `url`, logged in as the environment's user. */
export async function postgresSession(url: string, db: string, user: string, password: string, log: Log): Promise<Session> {
  const c = await pgConnect(withDatabase(url, db, { name: user, password }), log);
  return {
    async reset() {
      // Every schema the owner may drop (public included), then an empty public, in one transaction.
      const { rows } = await c.query<{ nspname: string }>(
        `SELECT nspname FROM pg_namespace
          WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' AND nspname <> 'public'
            AND pg_has_role(current_user, nspowner, 'USAGE')`,
      );
      const schemas = ['public', ...rows.map((r) => r.nspname)].map(pgIdent).join(', ');
      await c.query(`DROP SCHEMA IF EXISTS ${schemas} CASCADE; CREATE SCHEMA public;`);
    },
    async run(text) {
      const res = (await c.query(text)) as pg.QueryResult | pg.QueryResult[];
      return (Array.isArray(res) ? res : [res]).reduce((n, r) => n + (r.command === 'INSERT' ? (r.rowCount ?? 0) : 0), 0);
    },
    async load(file, table, header, counter) {
      const columns = header.columns.map(pgIdent).join(', ');
      const copy = c.query(copyFrom(`COPY ${pgIdent(table)} (${columns}) FROM STDIN WITH (FORMAT csv, HEADER true)`));
      await pipeline(createReadStream(file), counter, copy);
      return copy.rowCount;
    },
    async abort() {
      // The backend ends (a role may end its own): the statement in flight is rolled back. Then the socket goes.
      const pid = (c as unknown as { processID: number }).processID;
      const killer = new pg.Client({ connectionString: withDatabase(url, db, { name: user, password }), connectionTimeoutMillis: 5_000 });
      killer.on('error', () => undefined);
      await killer
        .connect()
        .then(() => killer.query('SELECT pg_terminate_backend($1)', [pid]))
        .catch(() => undefined);
      await killer.end().catch(() => undefined);
      (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    },
    close: () => c.end(),
  };
}
