// sql: each environment's MySQL/MariaDB and PostgreSQL databases, its one user per engine, and
// their seeds (examples/README.md, "MySQL / MariaDB and PostgreSQL"). Admin work uses the
// catalogue's server URL; seeding runs as the environment's own user, so a seed can do only
// what the environment itself could. Passwords and URLs with passwords are never logged.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, readFile } from 'node:fs/promises';
import { basename, isAbsolute, join, relative } from 'node:path';
import { pipeline as pipeWithCallback, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Context } from '@temporalio/activity';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Location } from '../shared/catalogue/schema.js';
import { CatalogueError } from '../shared/errors.js';
import type { EnvRef, SqlEngine } from '../shared/model.js';
import { databasePassword, serverUrl } from './credentials.js';
import type { ActivityDeps } from './deps.js';
import { localPath, resolveEnv, type ResolvedEnv } from './environment.js';
import { keepAlive } from './heartbeat.js';
import { baseVars, render } from './render.js';

export interface SqlInput {
  ref: EnvRef;
  engine: SqlEngine;
}

export interface CreateSqlResult {
  engine: SqlEngine;
  /** The environment's user on every server of this engine (no password here). */
  user: string;
  /** Physical database names, in catalogue order. */
  databases: string[];
}

export interface SeedSqlResult {
  engine: SqlEngine;
  /** SQL and CSV files run. */
  files: number;
  /** Rows loaded by the `data/` files: INSERT affected rows, COPY and LOAD DATA rows. */
  rows: number;
}

export interface DeleteSqlResult {
  engine: SqlEngine;
  /** Databases and users dropped, or found already gone. */
  dropped: string[];
}

const KINDS = {
  mysql: { database: 'mysql-database', user: 'mysql-user' },
  postgres: { database: 'postgres-database', user: 'postgres-user' },
} as const;

/** Seed folders, in the order they run; each kind's `overrides/<stage>/` folder right after it. */
const SEED_KINDS = ['schema', 'data', 'custom', 'constraints'] as const;
type SeedKind = (typeof SEED_KINDS)[number];

/** Heartbeat every this many CSV lines (and, through keepAlive, every few seconds while one file runs). */
const HEARTBEAT_ROWS = 50_000;

interface Target {
  logical: string;
  physical: string;
  server: string;
  seed?: Location;
}

function targetsOf(r: ResolvedEnv, engine: SqlEngine): Target[] {
  return Object.entries(r.project.databases)
    .filter(([, db]) => db.engine === engine)
    .map(([logical, db]) => ({
      logical,
      physical: engine === 'mysql' ? r.names.mysqlDatabase(logical) : r.names.postgresDatabase(logical),
      server: db.server,
      ...(db.seed ? { seed: db.seed } : {}),
    }));
}

function userOf(r: ResolvedEnv, engine: SqlEngine): string {
  return engine === 'mysql' ? r.names.mysqlUser : r.names.postgresUser;
}

function locationOf(engine: SqlEngine, server: string): string {
  return `${engine}/${server}`;
}

function serverOfLocation(engine: SqlEngine, location: string): string | undefined {
  return location.startsWith(`${engine}/`) ? location.slice(engine.length + 1) : undefined;
}

function groupByServer<T extends { server: string }>(items: T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) out.set(item.server, [...(out.get(item.server) ?? []), item]);
  return out;
}

// --- errors ----------------------------------------------------------------------------------

interface DbError {
  message: string;
  code?: string;
  errno?: number;
  sqlState?: string;
  fatal?: boolean;
  severity?: string;
  position?: string;
  detail?: string;
  where?: string;
}

/** SQLSTATE classes that say "try again": connection, transaction rollback, resources, operator, system. */
const RETRYABLE_SQLSTATE_CLASSES = ['08', '40', '53', '57', '58'];
const RETRYABLE_SQLSTATES = ['55P03', '55006'];
/** MySQL/MariaDB errors with a permanent-looking SQLSTATE that still pass: lock waits, limits, kills, memory. */
const RETRYABLE_MYSQL_ERRNOS = [1037, 1038, 1040, 1041, 1053, 1203, 1205, 1213, 1226, 1317, 1927];

/**
 * Whether the error is the seed's fault (syntax, constraint, data, permission): retrying the
 * same file cannot help. Errors without a SQLSTATE (lost connections, timeouts) are retryable.
 */
export function isSeedError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as DbError;
  if (e instanceof pg.DatabaseError || (typeof e.severity === 'string' && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code))) {
    const code = e.code ?? '';
    return !RETRYABLE_SQLSTATE_CLASSES.includes(code.slice(0, 2)) && !RETRYABLE_SQLSTATES.includes(code);
  }
  if (typeof e.sqlState === 'string' && typeof e.errno === 'number') {
    if (e.fatal) return false;
    if (RETRYABLE_SQLSTATE_CLASSES.includes(e.sqlState.slice(0, 2))) return false;
    return !RETRYABLE_MYSQL_ERRNOS.includes(e.errno);
  }
  return false;
}

/** Turns a seed's own error into a CatalogueError naming the file (and line, when PostgreSQL says). */
function seedError(file: string, err: unknown, text?: string): unknown {
  if (!isSeedError(err)) return err;
  const e = err as DbError;
  const position = Number(e.position);
  const line = text !== undefined && position > 0 ? text.slice(0, position - 1).split('\n').length : undefined;
  const problem = [e.message, e.detail, e.where ? `(${e.where})` : undefined].filter(Boolean).join(' ');
  return new CatalogueError(file, [{ path: '', problem, ...(line ? { line } : {}) }]);
}

function hasCode(err: unknown, ...codes: (string | number)[]): boolean {
  const e = err as DbError | undefined;
  return codes.includes(e?.code ?? '') || codes.includes(e?.errno ?? -1);
}

// --- engines -----------------------------------------------------------------------------------

/** Administrative work on one server, over one connection. */
interface Admin {
  ensureUser(user: string, password: string): Promise<void>;
  ensureDatabase(db: string, user: string): Promise<void>;
  dropDatabase(db: string): Promise<void>;
  dropUser(user: string): Promise<void>;
  close(): Promise<void>;
}

/** One database, as the environment's user. */
interface Session {
  /** Empties the database, so a seed run again never duplicates rows. */
  reset(): Promise<void>;
  /** Runs a (multi-statement) SQL text; returns the rows it inserted. */
  run(text: string): Promise<number>;
  /** Bulk-loads a CSV file into `table`; returns the rows loaded. */
  load(file: string, table: string, header: CsvHeader, counter: Transform): Promise<{ rows: number; warnings: string[] }>;
  close(): Promise<void>;
}

interface CsvHeader {
  columns: string[];
  crlf: boolean;
}

function pgIdent(name: string): string {
  return pg.escapeIdentifier(name);
}

async function pgConnect(url: string, log: ActivityDeps['log']): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  // A server that drops an idle connection emits 'error'; queries in flight reject on their own.
  c.on('error', (err) => log.debug({ err: err.message }, 'postgres connection error'));
  await c.connect();
  return c;
}

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

async function postgresAdmin(url: string, log: ActivityDeps['log']): Promise<Admin> {
  const c = await pgConnect(url, log);
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
    close: () => c.end(),
  };
}

async function postgresSession(url: string, log: ActivityDeps['log']): Promise<Session> {
  const c = await pgConnect(url, log);
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
      return { rows: copy.rowCount, warnings: [] };
    },
    close: () => c.end(),
  };
}

async function mysqlConnect(options: mysql.ConnectionOptions, log: ActivityDeps['log']): Promise<mysql.Connection> {
  const c = await mysql.createConnection(options);
  // A fatal error with no query in flight is emitted; without a listener it would end the worker.
  c.on('error', (err: Error) => log.debug({ err: err.message }, 'mysql connection error'));
  return c;
}

/** A database name for GRANT, where `_` and `%` are wildcards: escaped, so the grant is exactly this database. */
function mysqlGrantDatabase(db: string): string {
  return mysql.escapeId(db.replace(/[\\_%]/g, '\\$&'));
}

async function mysqlAdmin(url: string, log: ActivityDeps['log']): Promise<Admin> {
  const c = await mysqlConnect({ uri: url }, log);
  return {
    async ensureUser(user, password) {
      try {
        await c.query(`CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?`, [user, password]);
        // Already there (a retry): the store's password wins.
        await c.query(`ALTER USER ?@'%' IDENTIFIED BY ?`, [user, password]);
      } catch (err) {
        // mysql2 errors carry the statement with its values filled in (the password): never rethrow that.
        const e = err as { message?: string; code?: string; errno?: number };
        throw Object.assign(new Error(`creating MySQL user ${user} failed: ${e.message ?? 'unknown error'}`), { code: e.code, errno: e.errno });
      }
    },
    async ensureDatabase(db, user) {
      await c.query(`CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(db)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      await c.query(`GRANT ALL PRIVILEGES ON ${mysqlGrantDatabase(db)}.* TO ?@'%'`, [user]);
    },
    async dropDatabase(db) {
      await c.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(db)}`);
    },
    async dropUser(user) {
      await c.query(`DROP USER IF EXISTS ?@'%'`, [user]);
    },
    close: () => c.end(),
  };
}

function affectedRows(res: unknown): number {
  const one = (x: unknown): number =>
    typeof x === 'object' && x !== null && !Array.isArray(x) && typeof (x as mysql.ResultSetHeader).affectedRows === 'number' && 'insertId' in x
      ? (x as mysql.ResultSetHeader).affectedRows
      : 0;
  return Array.isArray(res) ? res.reduce((n: number, x) => n + one(x), 0) : one(res);
}

async function mysqlSession(url: string, db: string, user: string, password: string, log: ActivityDeps['log']): Promise<Session> {
  const c = await mysqlConnect({ uri: url, user, password, database: db, multipleStatements: true, flags: ['+LOCAL_FILES'] }, log);
  return {
    async reset() {
      const [tables] = await c.query<mysql.RowDataPacket[]>(
        'SELECT table_name AS name, table_type AS type FROM information_schema.tables WHERE table_schema = DATABASE()',
      );
      const [routines] = await c.query<mysql.RowDataPacket[]>(
        'SELECT routine_name AS name, routine_type AS type FROM information_schema.routines WHERE routine_schema = DATABASE()',
      );
      const statements = ['SET FOREIGN_KEY_CHECKS = 0'];
      const named = (type: string) => tables.filter((t) => t.type === type).map((t) => mysql.escapeId(String(t.name)));
      const views = named('VIEW');
      const sequences = named('SEQUENCE');
      const rest = tables.filter((t) => t.type !== 'VIEW' && t.type !== 'SEQUENCE').map((t) => mysql.escapeId(String(t.name)));
      if (views.length) statements.push(`DROP VIEW IF EXISTS ${views.join(', ')}`);
      if (rest.length) statements.push(`DROP TABLE IF EXISTS ${rest.join(', ')}`);
      if (sequences.length) statements.push(`DROP SEQUENCE IF EXISTS ${sequences.join(', ')}`);
      for (const r of routines) statements.push(`DROP ${r.type === 'FUNCTION' ? 'FUNCTION' : 'PROCEDURE'} IF EXISTS ${mysql.escapeId(String(r.name))}`);
      // Foreign keys are checked again for the seed (constraints/ must hold for the data).
      statements.push('SET FOREIGN_KEY_CHECKS = 1');
      await c.query(statements.join(';\n'));
    },
    async run(text) {
      try {
        const [res] = await c.query(text);
        return affectedRows(res);
      } catch (err) {
        if (hasCode(err, 'ER_EMPTY_QUERY')) return 0; // a file of comments only
        throw err;
      }
    },
    async load(file, table, header, counter) {
      const columns = header.columns.map((col) => mysql.escapeId(col)).join(', ');
      const sql =
        `LOAD DATA LOCAL INFILE ${mysql.escape(basename(file))} INTO TABLE ${mysql.escapeId(table)} CHARACTER SET utf8mb4 ` +
        `FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' LINES TERMINATED BY ${header.crlf ? "'\\r\\n'" : "'\\n'"} ` +
        `IGNORE 1 LINES (${columns})`;
      const infileStreamFactory = (): Readable => pipeWithCallback(createReadStream(file), counter, () => undefined);
      const [res] = await c.query<mysql.ResultSetHeader>({ sql, infileStreamFactory });
      let warnings: string[] = [];
      if (res.warningStatus > 0) {
        // LOCAL loads turn bad values and duplicate keys into warnings: report them, naming the file.
        const [rows] = await c.query<mysql.RowDataPacket[]>('SHOW WARNINGS LIMIT 5');
        warnings = rows.map((w) => `${String(w.Level)} ${String(w.Code)}: ${String(w.Message)}`);
      }
      return { rows: res.affectedRows, warnings };
    },
    close: () => c.end(),
  };
}

// --- seed files ----------------------------------------------------------------------------------

/** Parses one CSV line (quotes with `"`, a doubled `""` inside quotes). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
  }
  out.push(field);
  return out.map((f) => f.trim());
}

async function csvHeader(file: string, shown: string): Promise<CsvHeader> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const text = buf.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '');
    const nl = text.indexOf('\n');
    let line = nl < 0 ? text : text.slice(0, nl);
    const crlf = line.endsWith('\r');
    if (crlf) line = line.slice(0, -1);
    const columns = csvFields(line);
    if ((nl < 0 && bytesRead === buf.length) || !line.trim() || columns.some((c) => !c)) {
      throw new CatalogueError(shown, [{ path: '', line: 1, problem: 'the first line must be the header: the column names, comma-separated' }]);
    }
    return { columns, crlf };
  } finally {
    await fh.close();
  }
}

interface SeedFile {
  path: string;
  kind: SeedKind;
  csv: boolean;
}

async function filesIn(dir: string, kind: SeedKind): Promise<SeedFile[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries
    .filter((e) => e.isFile() && (e.name.endsWith('.sql') || (kind === 'data' && e.name.endsWith('.csv'))))
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => ({ path: join(dir, name), kind, csv: name.endsWith('.csv') }));
}

/** The seed's files in the order they run (examples/README.md). */
export async function seedFiles(folder: string, stage: string): Promise<SeedFile[]> {
  const out: SeedFile[] = [];
  for (const kind of SEED_KINDS) {
    out.push(...(await filesIn(join(folder, kind), kind)));
    out.push(...(await filesIn(join(folder, 'overrides', stage, kind), kind)));
  }
  return out;
}

/** Counts lines going by and heartbeats every HEARTBEAT_ROWS of them; passes Buffers through. */
function lineCounter(onRows: (lines: number) => void): Transform {
  let lines = 0;
  let next = HEARTBEAT_ROWS;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
      if (lines >= next) {
        next = lines + HEARTBEAT_ROWS;
        onRows(lines);
      }
      cb(null, chunk);
    },
  });
}

// --- activities ----------------------------------------------------------------------------------

export function createSqlActivities(deps: ActivityDeps) {
  const log = deps.log;

  function admin(r: ResolvedEnv, engine: SqlEngine, server: string): Promise<Admin> {
    const url = serverUrl(r, engine, server);
    return engine === 'mysql' ? mysqlAdmin(url, log) : postgresAdmin(url, log);
  }

  /** A path as the catalogue's author knows it: relative to envbot.yaml's folder when inside it. */
  function shown(file: string): string {
    const rel = relative(deps.catalogue.root, file);
    return rel.startsWith('..') || isAbsolute(rel) ? file : rel;
  }

  return {
    /** Creates the environment's databases and user of `engine`; existing ones are kept (idempotent). */
    async createSql({ ref, engine }: SqlInput): Promise<CreateSqlResult> {
      deps.faults?.check('createSql');
      const r = resolveEnv(deps.catalogue, ref);
      const user = userOf(r, engine);
      const targets = targetsOf(r, engine);
      if (!targets.length) return { engine, user, databases: [] };
      const password = await databasePassword(deps, r, engine);
      for (const [server, dbs] of groupByServer(targets)) {
        const location = locationOf(engine, server);
        const a = await admin(r, engine, server);
        try {
          await deps.store.recordResource({ environment: r.env.name, kind: KINDS[engine].user, name: user, location });
          await a.ensureUser(user, password);
          for (const db of dbs) {
            await deps.store.recordResource({
              environment: r.env.name,
              kind: KINDS[engine].database,
              name: db.physical,
              location,
              details: { logical: db.logical },
            });
            await a.ensureDatabase(db.physical, user);
          }
        } finally {
          await a.close();
        }
        log.info({ environment: r.env.name, engine, server, user, databases: dbs.map((d) => d.physical) }, 'sql databases created');
      }
      return { engine, user, databases: targets.map((t) => t.physical) };
    },

    /** Empties each seeded database and loads its seed again, as the environment's user. */
    async seedSql({ ref, engine }: SqlInput): Promise<SeedSqlResult> {
      deps.faults?.check('seedSql');
      const r = resolveEnv(deps.catalogue, ref);
      const user = userOf(r, engine);
      const seeded = targetsOf(r, engine).filter((t) => t.seed);
      if (!seeded.length) return { engine, files: 0, rows: 0 };
      const password = await databasePassword(deps, r, engine);
      const vars = baseVars(r);
      // The activity's context, held here: stream and timer callbacks heartbeat through it.
      const ctx = Context.current();
      const beat = (details: unknown) => ctx.heartbeat(details);
      let files = 0;
      let rows = 0;
      for (const db of seeded) {
        const folder = localPath(deps.catalogue, db.seed!, `projects.${r.env.project}.databases.${db.logical}.seed`);
        const plan = await seedFiles(folder, r.env.stage);
        const url = serverUrl(r, engine, db.server);
        const session =
          engine === 'mysql'
            ? await mysqlSession(url, db.physical, user, password, log)
            : await postgresSession(withDatabase(url, db.physical, { name: user, password }), log);
        let dbRows = 0;
        try {
          await session.reset();
          for (const f of plan) {
            const file = shown(f.path);
            const details = { file, rows };
            let added: number;
            if (f.csv) {
              const header = await csvHeader(f.path, file);
              const counter = lineCounter((lines) => beat({ file, rows: rows + lines }));
              const loaded = await keepAlive(() => details, () => session.load(f.path, basename(f.path, '.csv'), header, counter), beat).catch(
                (err: unknown) => {
                  throw seedError(file, err);
                },
              );
              if (loaded.warnings.length) {
                log.warn({ environment: r.env.name, engine, database: db.physical, file, warnings: loaded.warnings }, 'csv loaded with warnings');
              }
              added = loaded.rows;
            } else {
              const text = render(r, await readFile(f.path, 'utf8'), vars, file);
              const inserted = await keepAlive(() => details, () => session.run(text), beat).catch((err: unknown) => {
                throw seedError(file, err, text);
              });
              added = f.kind === 'data' ? inserted : 0;
            }
            rows += added;
            dbRows += added;
            files += 1;
            log.debug({ environment: r.env.name, engine, database: db.physical, file, rows: added }, 'seed file run');
            beat({ file, rows });
          }
        } finally {
          await session.close();
        }
        log.info({ environment: r.env.name, engine, server: db.server, database: db.physical, files: plan.length, rows: dbRows }, 'sql database seeded');
      }
      return { engine, files, rows };
    },

    /** Drops the environment's databases and user of `engine`; ones already gone count as dropped. */
    async deleteSql({ ref, engine }: SqlInput): Promise<DeleteSqlResult> {
      const r = resolveEnv(deps.catalogue, ref);
      const user = userOf(r, engine);
      // What the catalogue says now, and what the ledger says was made (the catalogue may have changed since).
      const wanted = new Map<string, { databases: Set<string>; users: Set<string> }>();
      const want = (server: string) => {
        let w = wanted.get(server);
        if (!w) wanted.set(server, (w = { databases: new Set(), users: new Set() }));
        return w;
      };
      for (const t of targetsOf(r, engine)) {
        want(t.server).databases.add(t.physical);
        want(t.server).users.add(user);
      }
      for (const e of await deps.store.liveResources(r.env.name)) {
        const server = serverOfLocation(engine, e.location);
        if (server === undefined) continue;
        if (e.kind === KINDS[engine].database) want(server).databases.add(e.name);
        if (e.kind === KINDS[engine].user) want(server).users.add(e.name);
      }
      const dropped: string[] = [];
      for (const [server, w] of wanted) {
        const location = locationOf(engine, server);
        const a = await admin(r, engine, server);
        try {
          for (const db of w.databases) {
            await a.dropDatabase(db);
            await deps.store.markResourceDeleted({ environment: r.env.name, kind: KINDS[engine].database, name: db, location });
            dropped.push(db);
          }
          for (const u of w.users) {
            await a.dropUser(u);
            await deps.store.markResourceDeleted({ environment: r.env.name, kind: KINDS[engine].user, name: u, location });
            dropped.push(u);
          }
        } finally {
          await a.close();
        }
        log.info({ environment: r.env.name, engine, server, dropped: [...w.databases, ...w.users] }, 'sql databases deleted');
      }
      return { engine, dropped: [...new Set(dropped)] };
    },
  };
}
