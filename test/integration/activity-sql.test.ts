// sql activities against the real MariaDB and PostgreSQL servers: two environments of projb
// (qa and dev) get their databases and users, are seeded from examples/seeds/projb, are kept
// apart, re-seed without duplicates, and are dropped again, ledger included; destroy works from
// the ledger even once the project and its server are gone from the catalogue.
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityDeps } from '../../activities/deps.js';
import { resolveEnv } from '../../activities/environment.js';
import { createSecretsActivities } from '../../activities/secrets.js';
import { createSqlActivities, isSeedError, type SqlInput } from '../../activities/sql/index.js';
import { CatalogueError, GoneError, NON_RETRYABLE_ERRORS } from '../../shared/errors.js';
import { DATABASE_PASSWORDS, type EnvRef, type SqlEngine } from '../../shared/model.js';
import { testDeps, uniqueEnv, type TestDeps } from '../support/deps.js';
import { bytesSent } from '../support/wire.js';
import { repoRoot, required, testSettings } from '../support/settings.js';

type Row = Record<string, unknown>;

const ENGINES = ['mysql', 'postgres'] as const;
const LOGICAL = { mysql: 'shop', postgres: 'orders' } as const;
const SEEDS = join(repoRoot, 'examples', 'seeds', 'projb');
/** Rows the example's data/*.sql files insert: stores 3 + settings 5; orders 6 + webhooks 4. */
const SQL_ROWS = { mysql: 8, postgres: 10 } as const;
const CSV = { mysql: join(SEEDS, 'mysql', 'shop', 'data', 'customers.csv'), postgres: join(SEEDS, 'postgres', 'orders', 'data', 'order_lines.csv') };

let td: TestDeps;
let deps: ActivityDeps;
const qa = uniqueEnv('projb', 'qa');
const dev = uniqueEnv('projb', 'dev');
/** Destroyed after its project and server left the catalogue (the server's URL remembered, or not). */
const removed = uniqueEnv('projb', 'qa');
const forgotten = uniqueEnv('projb', 'dev');
const tempDirs: string[] = [];

const settings = testSettings();
const adminUrl = { mysql: required(settings.servers.mysql, 'MYSQL_URL'), postgres: required(settings.servers.postgres, 'POSTGRES_URL') };

function run<I, O>(fn: (input: I) => Promise<O>, input: I, heartbeats?: unknown[]): Promise<O> {
  // ERROR: the failures the tests provoke on purpose are not logged as warnings.
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  if (heartbeats) env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  return env.run(fn, input);
}

function sql(d: ActivityDeps = deps) {
  return createSqlActivities(d);
}

function dbName(ref: EnvRef, engine: SqlEngine): string {
  const r = resolveEnv(deps.catalogue, ref);
  return engine === 'mysql' ? r.names.mysqlDatabase(LOGICAL.mysql) : r.names.postgresDatabase(LOGICAL.postgres);
}

function userName(ref: EnvRef, engine: SqlEngine): string {
  const r = resolveEnv(deps.catalogue, ref);
  return engine === 'mysql' ? r.names.mysqlUser : r.names.postgresUser;
}

async function password(ref: EnvRef, engine: SqlEngine): Promise<string> {
  const p = await deps.store.getSecret(ref.environment, DATABASE_PASSWORDS[engine]);
  if (!p) throw new Error(`no ${engine} password for ${ref.environment}`);
  return p;
}

/** Runs `text` as `who`'s user, connected to `where`'s database. */
async function asUser(engine: SqlEngine, who: EnvRef, where: EnvRef, text: string): Promise<Row[]> {
  const user = userName(who, engine);
  const pw = await password(who, engine);
  const db = dbName(where, engine);
  if (engine === 'mysql') {
    const c = await mysql.createConnection({ uri: adminUrl.mysql, user, password: pw, database: db });
    try {
      const [rows] = await c.query(text);
      return rows as Row[];
    } finally {
      await c.end();
    }
  }
  const url = new URL(adminUrl.postgres);
  url.username = user;
  url.password = pw;
  url.pathname = `/${db}`;
  const c = new pg.Client({ connectionString: url.toString() });
  await c.connect();
  try {
    return (await c.query(text)).rows as Row[];
  } finally {
    await c.end();
  }
}

async function asAdmin(engine: SqlEngine, text: string, params: unknown[] = []): Promise<Row[]> {
  if (engine === 'mysql') {
    const c = await mysql.createConnection({ uri: adminUrl.mysql });
    try {
      const [rows] = await c.query(text, params);
      return rows as Row[];
    } finally {
      await c.end();
    }
  }
  const c = new pg.Client({ connectionString: adminUrl.postgres });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as Row[];
  } finally {
    await c.end();
  }
}

async function databaseExists(engine: SqlEngine, db: string): Promise<boolean> {
  const rows =
    engine === 'mysql'
      ? await asAdmin(engine, 'SELECT schema_name FROM information_schema.schemata WHERE schema_name = ?', [db])
      : await asAdmin(engine, 'SELECT datname FROM pg_database WHERE datname = $1', [db]);
  return rows.length > 0;
}

async function userExists(engine: SqlEngine, user: string): Promise<boolean> {
  const rows =
    engine === 'mysql'
      ? await asAdmin(engine, "SELECT user FROM mysql.user WHERE user = ? AND host = '%'", [user])
      : await asAdmin(engine, 'SELECT rolname FROM pg_roles WHERE rolname = $1', [user]);
  return rows.length > 0;
}

async function csvRows(engine: SqlEngine): Promise<number> {
  return (await readFile(CSV[engine], 'utf8')).split('\n').filter((l) => l.trim()).length - 1;
}

/** What a test reads back from one seeded environment. */
async function snapshot(engine: SqlEngine, ref: EnvRef) {
  if (engine === 'mysql') {
    const [customers] = await asUser(engine, ref, ref, 'SELECT count(*) AS n FROM customers');
    const stores = await asUser(engine, ref, ref, 'SELECT code, url FROM stores ORDER BY id');
    const settingsRows = await asUser(engine, ref, ref, 'SELECT name, value FROM settings ORDER BY name');
    const [jane] = await asUser(engine, ref, ref, 'SELECT full_name, email FROM customers WHERE id = 1');
    const [qaTester] = await asUser(engine, ref, ref, "SELECT count(*) AS n FROM customers WHERE full_name = 'QA Tester'");
    return { count: Number(customers!.n), stores, settings: Object.fromEntries(settingsRows.map((s) => [s.name, s.value])), jane, qaTesters: Number(qaTester!.n) };
  }
  const [lines] = await asUser(engine, ref, ref, 'SELECT count(*)::int AS n FROM order_lines');
  const hooks = await asUser(engine, ref, ref, 'SELECT event, url, active FROM webhooks ORDER BY id');
  const [order] = await asUser(engine, ref, ref, "SELECT status, customer_email FROM orders WHERE order_number = 'B-2024-0003'");
  const [mug] = await asUser(engine, ref, ref, 'SELECT description FROM order_lines WHERE id = 1');
  return { count: Number(lines!.n), hooks, order, mug };
}

/** The deps with projb's `engine` database seeded from `path` instead of examples/seeds (the catalogue object only). */
function seedAt(engine: SqlEngine, path: string): ActivityDeps {
  const project = deps.catalogue.catalogue.projects.projb!;
  const db = LOGICAL[engine];
  return {
    ...deps,
    catalogue: {
      ...deps.catalogue,
      catalogue: {
        ...deps.catalogue.catalogue,
        projects: {
          ...deps.catalogue.catalogue.projects,
          projb: { ...project, databases: { ...project.databases, [db]: { ...project.databases[db]!, seed: { kind: 'disk', path, raw: path } } } },
        },
      },
    },
  };
}

/** The deps with projb, and the `main` server of both engines, gone from the catalogue (the catalogue object only). */
function projectAndServersRemoved(): ActivityDeps {
  const c = deps.catalogue.catalogue;
  const { projb: _projb, ...projects } = c.projects;
  const { main: _mysql, ...mysqlServers } = c.servers.mysql;
  const { main: _postgres, ...postgresServers } = c.servers.postgres;
  return {
    ...deps,
    catalogue: { ...deps.catalogue, catalogue: { ...c, projects, servers: { ...c.servers, mysql: mysqlServers, postgres: postgresServers } } },
  };
}

async function liveSql(ref: EnvRef, engine: SqlEngine) {
  return (await deps.store.liveResources(ref.environment)).filter((e) => e.kind.startsWith(`${engine}-`));
}

/** A scratch seed folder, removed in afterAll; returns a writer of files in it. */
async function scratchSeed(engine: SqlEngine) {
  const dir = await mkdtemp(join(tmpdir(), `envbot-sql-seed-${engine}-`));
  tempDirs.push(dir);
  const write = async (rel: string, text: string) => {
    await mkdir(join(dir, rel, '..'), { recursive: true });
    await writeFile(join(dir, rel), text);
  };
  return { dir, write };
}

beforeAll(async () => {
  td = await testDeps('sql');
  deps = td.deps;
  const secrets = createSecretsActivities(deps);
  await secrets.createSecrets({ ref: qa });
  await secrets.createSecrets({ ref: dev });
  await secrets.createSecrets({ ref: removed });
  await secrets.createSecrets({ ref: forgotten });
});

afterAll(async () => {
  if (deps) {
    for (const engine of ENGINES) {
      for (const ref of [qa, dev, removed, forgotten]) await run(sql().deleteSql, { ref, engine }).catch(() => undefined);
    }
  }
  for (const d of tempDirs) await rm(d, { recursive: true, force: true });
  await td?.close();
});

describe.each(ENGINES)('%s', (engine) => {
  it('createSql makes one database and one user per environment, records them first, and is idempotent', async () => {
    for (const ref of [qa, dev]) {
      const first = await run(sql().createSql, { ref, engine });
      expect(first).toEqual({ engine, user: userName(ref, engine), databases: [dbName(ref, engine)] });
      // Again: a no-op success.
      expect(await run(sql().createSql, { ref, engine })).toEqual(first);
      expect(await databaseExists(engine, dbName(ref, engine))).toBe(true);
      expect(await userExists(engine, userName(ref, engine))).toBe(true);
      const live = await liveSql(ref, engine);
      expect(live.map((e) => [e.kind, e.name, e.location]).sort()).toEqual(
        [
          [`${engine}-database`, dbName(ref, engine), `${engine}/main`],
          [`${engine}-user`, userName(ref, engine), `${engine}/main`],
        ].sort(),
      );
    }
    // The new user logs in with the stored password; the database is empty until seeded.
    const tables =
      engine === 'mysql'
        ? await asUser(engine, qa, qa, 'SHOW TABLES')
        : await asUser(engine, qa, qa, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
    expect(tables).toEqual([]);
    // Nothing in the logs gives a password away.
    for (const ref of [qa, dev]) expect(td.logs.join('')).not.toContain(await password(ref, engine));
  });

  it('createSql sends the server a hash of the password, never the password, and the user logs in with it', async () => {
    const fresh = uniqueEnv('projb', 'uat');
    await createSecretsActivities(deps).createSecrets({ ref: fresh });
    const pw = await password(fresh, engine);
    const port = Number(new URL(adminUrl[engine]).port);
    try {
      const { sent } = await bytesSent(() => run(sql().createSql, { ref: fresh, engine }));
      // The password itself went nowhere, in any form a log could show.
      for (const form of [pw, Buffer.from(pw).toString('hex'), Buffer.from(pw).toString('base64')]) expect(sent.all.toString('latin1')).not.toContain(form);
      // The statements did go to the server, with the hash the server stores.
      const wire = sent.to(port).toString('latin1');
      expect(wire).toContain(userName(fresh, engine));
      if (engine === 'mysql') expect(wire).toMatch(/CREATE USER IF NOT EXISTS '[^']+'@'%' IDENTIFIED WITH mysql_native_password AS '\*[0-9A-F]{40}'/);
      else expect(wire).toMatch(/CREATE ROLE "[^"]+" LOGIN PASSWORD 'SCRAM-SHA-256\$4096:/);
      expect(await asUser(engine, fresh, fresh, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await run(sql().deleteSql, { ref: fresh, engine });
    }
  });

  it('seedSql loads schema, data (SQL and CSV), rendered custom files, the qa override and constraints', async () => {
    const csv = await csvRows(engine);
    for (const ref of [qa, dev]) {
      const beats: unknown[] = [];
      const result = await run(sql().seedSql, { ref, engine }, beats);
      // schema, 2 data SQL, 1 CSV, custom, constraints; qa also its custom override.
      expect(result).toEqual({ engine, files: ref === qa ? 7 : 6, rows: SQL_ROWS[engine] + csv });
      expect(beats.length).toBeGreaterThanOrEqual(result.files);
      expect(beats).toContainEqual(expect.objectContaining({ file: expect.stringMatching(/constraints\/040-constraints\.sql$/) }));
    }

    if (engine === 'mysql') {
      const q = await snapshot(engine, qa);
      const d = await snapshot(engine, dev);
      // CSV bulk-loaded (quoted commas intact), plus the qa tester in qa only.
      expect(q.count).toBe(csv + 1);
      expect(d.count).toBe(csv);
      expect(q.qaTesters).toBe(1);
      expect(d.qaTesters).toBe(0);
      expect(q.jane).toEqual({ full_name: 'Doe, Jane', email: `customer1@${qa.environment}.invalid` });
      // Rendered custom values.
      expect(q.stores).toContainEqual({ code: 'outlet', url: `https://service1.${qa.environment}.example.com/outlet` });
      expect(d.stores).toContainEqual({ code: 'main', url: `https://service1.${dev.environment}.example.com` });
      expect(q.settings).toMatchObject({ environment: qa.environment, 'checkout.url': `https://service2.${qa.environment}.example.com/checkout`, 'payments.sandbox': 'true' });
      // The qa override ran after the common custom file, for qa only.
      expect(q.settings['mail.bcc']).toBe('qa-bcc@example.com');
      expect(d.settings['mail.bcc']).toBe(`orders+${dev.environment}@example.com`);
      // Constraints exist and hold.
      const fks = await asUser(engine, qa, qa,
        "SELECT constraint_name AS name FROM information_schema.table_constraints WHERE table_schema = DATABASE() AND constraint_type IN ('FOREIGN KEY', 'UNIQUE') ORDER BY 1");
      expect(fks.map((r) => r.name)).toEqual(['fk_customers_store', 'uq_customers_email', 'uq_stores_code']);
      await expect(asUser(engine, qa, qa, "INSERT INTO customers (store_id, email, full_name, city, signed_up) VALUES (99, 'x@y.invalid', 'X', 'Y', '2024-01-01')"))
        .rejects.toThrow(/foreign key constraint fails/i);
    } else {
      const q = await snapshot(engine, qa);
      const d = await snapshot(engine, dev);
      expect(q.count).toBe(csv);
      expect(d.count).toBe(csv);
      expect(q.mug).toEqual({ description: 'Enamel mug, blue' });
      expect(q.hooks).toContainEqual({ event: 'order.paid', url: `https://service2.${qa.environment}.example.com/hooks/paid`, active: true });
      expect(d.hooks).toContainEqual({ event: 'stock.changed', url: `https://service1.${dev.environment}.example.com/hooks/stock`, active: true });
      expect(q.order).toEqual({ status: 'new', customer_email: `customer1003@${qa.environment}.invalid` });
      // The qa override: refunds off and one order back to "new"; dev keeps the copied values.
      expect(q.hooks).toContainEqual(expect.objectContaining({ event: 'order.refunded', active: false }));
      expect(d.hooks).toContainEqual(expect.objectContaining({ event: 'order.refunded', active: true }));
      expect(d.order).toMatchObject({ status: 'paid' });
      const constraints = await asUser(engine, qa, qa,
        "SELECT conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND contype IN ('f', 'u', 'c') ORDER BY 1");
      expect(constraints.map((r) => r.conname)).toEqual([
        'ck_order_lines_quantity', 'ck_orders_status', 'fk_order_lines_order', 'uq_orders_number', 'uq_webhooks_event',
      ]);
      await expect(asUser(engine, qa, qa, "INSERT INTO order_lines (order_id, sku, description, quantity, unit_price) VALUES (9999, 'X', 'x', 1, 1)"))
        .rejects.toThrow(/violates foreign key constraint "fk_order_lines_order"/);
      // The custom file moved the identity sequence on: a new row gets the next id.
      const [next] = await asUser(engine, qa, qa, "INSERT INTO orders (order_number, customer_email, total) VALUES ('T-1', 't@x.invalid', 1) RETURNING id");
      expect(Number(next!.id)).toBe(1007);
    }
  });

  it("an environment's user cannot reach another environment's database", async () => {
    if (engine === 'mysql') {
      await expect(asUser(engine, qa, dev, 'SELECT 1')).rejects.toThrow(/Access denied/);
      await expect(asUser(engine, qa, qa, `SELECT count(*) FROM \`${dbName(dev, engine)}\`.customers`)).rejects.toThrow(/denied/);
      // The grant is for exactly this database: '_' is not a wildcard that would match look-alikes.
      const lookalike = dbName(qa, engine).replace(/_/g, 'x');
      await expect(asUser(engine, qa, qa, `CREATE DATABASE \`${lookalike}\``)).rejects.toThrow(/Access denied/);
    } else {
      await expect(asUser(engine, qa, dev, 'SELECT 1')).rejects.toThrow(/permission denied for database/);
      await expect(asUser(engine, dev, qa, 'SELECT 1')).rejects.toThrow(/permission denied for database/);
    }
    // Each still reaches its own.
    expect(await asUser(engine, dev, dev, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('seedSql again empties the database first: same rows, no duplicates', async () => {
    const before = await snapshot(engine, qa);
    const again = await run(sql().seedSql, { ref: qa, engine });
    expect(again.rows).toBe(SQL_ROWS[engine] + (await csvRows(engine)));
    expect(await snapshot(engine, qa)).toEqual(before);
  });

  it('a broken seed file is a permanent CatalogueError naming the file', async () => {
    const { dir, write } = await scratchSeed(engine);
    await write('schema/010-tables.sql', 'CREATE TABLE t (id INT PRIMARY KEY, code VARCHAR(10) NOT NULL);\n');
    await write('data/020-rows.sql', "INSERT INTO t (id, code) VALUES (1, 'a'), (2, 'a');\n");
    await write('data/030-broken.sql', "-- a typo on line 2\nINSERT INTO t (id, code) VALUS (3, 'b');\n");
    const input: SqlInput = { ref: qa, engine };

    const syntax = await run(sql(seedAt(engine, dir)).seedSql, input).catch((e: unknown) => e);
    expect(syntax).toBeInstanceOf(CatalogueError);
    expect((syntax as CatalogueError).file).toBe(join(dir, 'data', '030-broken.sql'));
    expect((syntax as CatalogueError).retryable).toBe(false);
    expect((syntax as Error).message).toMatch(/030-broken\.sql/);
    // The statement's line: PostgreSQL says where in the batch, and this batch holds one statement.
    expect((syntax as CatalogueError).problems[0]!.line).toBe(2);

    // A constraint the data does not satisfy is the seed's fault too.
    await rm(join(dir, 'data', '030-broken.sql'));
    await write('constraints/040-unique.sql', 'ALTER TABLE t ADD CONSTRAINT uq_t_code UNIQUE (code);\n');
    const constraint = await run(sql(seedAt(engine, dir)).seedSql, input).catch((e: unknown) => e);
    expect(constraint).toBeInstanceOf(CatalogueError);
    expect((constraint as Error).message).toMatch(/constraints\/040-unique\.sql:1: .*duplicate/i);

    // Lost connections are not the seed's fault: they stay retryable.
    expect(isSeedError(Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' }))).toBe(false);
    expect(isSeedError(Object.assign(new Error('Connection lost'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }))).toBe(false);

    // The example seed loads again over the broken leftovers.
    const again = await run(sql().seedSql, input);
    expect(again.rows).toBe(SQL_ROWS[engine] + (await csvRows(engine)));
  });

  // PostgreSQL's COPY refuses such a row; MariaDB's LOAD DATA LOCAL skips it or changes it and only
  // warns, so envbot checks the warnings and fails the same way.
  it.each([
    ['a value of the wrong type', 'id,code\n10,x\neleven,y\n', 3, /integer/i],
    ['a key twice in the file', 'id,code\n10,x\n11,y\n10,z\n', 4, /duplicate/i],
    ['a key an earlier file inserted', 'id,code\n12,x\n1,y\n', 3, /duplicate/i],
    ['a missing field', 'id,code\n10,x\n11\n', 3, /missing data|doesn't contain data/i],
    ['a value too long for its column', 'id,code\n10,x\n11,much-too-long\n', 3, /too long|truncated/i],
    ['a bad row after a quoted field across two lines', 'id,code\n10,"a\nb"\neleven,y\n', 4, /integer/i],
  ])('a CSV with %s fails the seed, naming the file and line', async (_what, csv, line, problem) => {
    const { dir, write } = await scratchSeed(engine);
    await write('schema/010-tables.sql', 'CREATE TABLE t (id INT PRIMARY KEY, code VARCHAR(10) NOT NULL);\n');
    await write('data/020-rows.sql', "INSERT INTO t (id, code) VALUES (1, 'a');\n");
    await write('data/t.csv', csv);
    const err = await run(sql(seedAt(engine, dir)).seedSql, { ref: qa, engine }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CatalogueError);
    expect((err as CatalogueError).file).toBe(join(dir, 'data', 't.csv'));
    expect((err as CatalogueError).problems[0]!.line).toBe(line);
    expect((err as Error).message).toMatch(problem);
  });

  it('a large CSV is streamed and heartbeats every 50k rows while it loads', async () => {
    const { dir, write } = await scratchSeed(engine);
    const n = 120_000;
    await write('schema/010-big.sql', 'CREATE TABLE big (id INT PRIMARY KEY, name VARCHAR(30) NOT NULL);\n');
    const lines = ['id,name'];
    for (let i = 1; i <= n; i++) lines.push(`${i},"row, ${i}"`);
    await write('data/big.csv', lines.join('\n') + '\n');
    const beats: { file?: string; rows?: number }[] = [];
    const result = await run(sql(seedAt(engine, dir)).seedSql, { ref: qa, engine }, beats);
    expect(result).toEqual({ engine, files: 2, rows: n });
    const during = beats.filter((b) => b.file?.endsWith('big.csv') && (b.rows ?? 0) > 0 && (b.rows ?? 0) < n);
    expect(during.length).toBeGreaterThanOrEqual(2);
    const [count] = await asUser(engine, qa, qa, 'SELECT count(*) AS n FROM big');
    expect(Number(count!.n)).toBe(n);
    const [last] = await asUser(engine, qa, qa, `SELECT name FROM big WHERE id = ${n}`);
    expect(last).toEqual({ name: `row, ${n}` });
  });

  it('deleteSql drops databases and user, is idempotent, and leaves no live ledger entries', async () => {
    for (const ref of [qa, dev]) {
      const dropped = await run(sql().deleteSql, { ref, engine });
      expect(dropped.dropped.sort()).toEqual([dbName(ref, engine), userName(ref, engine)].sort());
      expect(await databaseExists(engine, dbName(ref, engine))).toBe(false);
      expect(await userExists(engine, userName(ref, engine))).toBe(false);
      await expect(asUser(engine, ref, ref, 'SELECT 1')).rejects.toThrow(engine === 'mysql' ? /Access denied/ : /password authentication failed|does not exist/);
      // Again: nothing left to drop, still a success.
      await expect(run(sql().deleteSql, { ref, engine })).resolves.toMatchObject({ engine });
      expect(await liveSql(ref, engine)).toEqual([]);
    }
  });
});

describe('destroy after the catalogue changed', () => {
  it('deleteSql drops what the ledger holds when the project and its server are gone from the catalogue', async () => {
    for (const engine of ENGINES) await run(sql().createSql, { ref: removed, engine });
    const gone = projectAndServersRemoved();
    expect(() => resolveEnv(gone.catalogue, removed)).toThrow(/not in the catalogue/);
    for (const engine of ENGINES) {
      const result = await run(sql(gone).deleteSql, { ref: removed, engine });
      expect(result.dropped.sort()).toEqual([dbName(removed, engine), userName(removed, engine)].sort());
      expect(await databaseExists(engine, dbName(removed, engine))).toBe(false);
      expect(await userExists(engine, userName(removed, engine))).toBe(false);
      expect(await liveSql(removed, engine)).toEqual([]);
    }
  });

  it('deleteSql fails for good, naming the server, when the server is gone and envbot kept no connection to it', async () => {
    for (const engine of ENGINES) await run(sql().createSql, { ref: forgotten, engine });
    await deps.store.pool.query("DELETE FROM server_connections WHERE engine IN ('mysql', 'postgres') AND server = 'main'");
    const gone = projectAndServersRemoved();
    for (const engine of ENGINES) {
      const err = await run(sql(gone).deleteSql, { ref: forgotten, engine }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GoneError);
      expect((err as GoneError).message).toMatch(new RegExp(`${engine} server "main".*add servers\\.${engine}\\.main back to envbot\\.yaml`));
      // Temporal retries nothing whose type is listed, and GoneError is.
      expect((err as GoneError).retryable).toBe(false);
      expect(NON_RETRYABLE_ERRORS).toContain((err as GoneError).name);
      // Nothing was dropped, and the ledger still says what is there.
      expect(await databaseExists(engine, dbName(forgotten, engine))).toBe(true);
      expect((await liveSql(forgotten, engine)).map((e) => e.kind).sort()).toEqual([`${engine}-database`, `${engine}-user`]);
    }
    // Once the server is back in the catalogue, destroy goes through.
    for (const engine of ENGINES) {
      await run(sql().deleteSql, { ref: forgotten, engine });
      expect(await databaseExists(engine, dbName(forgotten, engine))).toBe(false);
      expect(await liveSql(forgotten, engine)).toEqual([]);
    }
  });
});
