// MySQL and MariaDB: users (given a password hash, never the password), databases granted to exactly
// one user, and a seeding session that empties the database and bulk-loads CSV with LOAD DATA LOCAL INFILE.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { pipeline as pipeWithCallback, type Readable } from 'node:stream';
import mysql from 'mysql2/promise';
import type { Admin, Log, Session } from './engine.js';
import { hasCode, RowsRejected } from './errors.js';
import { csvLineOfKey, csvLineOfRow, type CsvHeader } from './seed-files.js';

async function mysqlConnect(options: mysql.ConnectionOptions, log: Log): Promise<mysql.Connection> {
  const c = await mysql.createConnection(options);
  // A fatal error with no query in flight is emitted; without a listener it would end the worker.
  c.on('error', (err: Error) => log.debug({ err: err.message }, 'mysql connection error'));
  return c;
}

/** A database name for GRANT, where `_` and `%` are wildcards: escaped, so the grant is exactly this database. */
function mysqlGrantDatabase(db: string): string {
  return mysql.escapeId(db.replace(/[\\_%]/g, '\\$&'));
}

/**
 * The mysql_native_password hash of `password` (`*` and the upper-case hex of SHA1(SHA1(password))),
 * as the server itself stores it. MySQL 8 and MariaDB 10.11 both accept it in
 * `IDENTIFIED WITH mysql_native_password AS '<hash>'`.
 */
export function mysqlNativeHash(password: string): string {
  const once = createHash('sha1').update(password, 'utf8').digest();
  return `*${createHash('sha1').update(once).digest('hex').toUpperCase()}`;
}

/**
 * Admin work on the server behind `pool` (the worker's pool of its admin URL), over one of its
 * connections, given back by close(); a connection that failed fatally is destroyed instead.
 */
export async function mysqlAdmin(pool: mysql.Pool): Promise<Admin> {
  const conn = await pool.getConnection();
  let broken = false;
  const c = {
    async query(sql: string, values?: unknown[]): Promise<unknown> {
      try {
        return await conn.query(sql, values);
      } catch (err) {
        if ((err as { fatal?: boolean }).fatal) broken = true;
        throw err;
      }
    },
  };
  return {
    async ensureUser(user, password) {
      // The server gets the hash, never the password: statements can end up in its general or slow
      // log, in performance_schema and in replication, and the hash there gives no login.
      const hash = mysqlNativeHash(password);
      try {
        await c.query(`CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED WITH mysql_native_password AS ?`, [user, hash]);
        // Already there (a retry): the store's password wins.
        await c.query(`ALTER USER ?@'%' IDENTIFIED WITH mysql_native_password AS ?`, [user, hash]);
      } catch (err) {
        // mysql2 errors carry the statement with its values filled in (the hash): never rethrow that.
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
    close: async () => (broken ? conn.destroy() : conn.release()),
  };
}

function affectedRows(res: unknown): number {
  const one = (x: unknown): number =>
    typeof x === 'object' && x !== null && !Array.isArray(x) && typeof (x as mysql.ResultSetHeader).affectedRows === 'number' && 'insertId' in x
      ? (x as mysql.ResultSetHeader).affectedRows
      : 0;
  return Array.isArray(res) ? res.reduce((n: number, x) => n + one(x), 0) : one(res);
}

/**
 * The file's line of the first row a LOAD DATA LOCAL did not take as written, from the server's
 * first warning: "... at row 4" and "Row 4 was truncated" name the row; a duplicate key names the
 * values, which are looked up in the file.
 */
async function rejectedLine(c: mysql.Connection, file: string, table: string, header: CsvHeader, warning: string): Promise<number | undefined> {
  const row = /\bat row (\d+)|^Row (\d+)\b/.exec(warning);
  if (row) return csvLineOfRow(file, Number(row[1] ?? row[2]));
  const dup = /^Duplicate entry '(.*)' for key '(?:[^'.]*\.)?([^']+)'$/.exec(warning);
  if (!dup) return undefined;
  const [columns] = await c.query<mysql.RowDataPacket[]>(
    'SELECT column_name AS name FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ? ORDER BY seq_in_index',
    [table, dup[2]],
  );
  return csvLineOfKey(file, header.columns, columns.map((x) => String(x.name)), dup[1]!);
}

/** A session on `db` of the server at `url`, logged in as the environment's user. */
export async function mysqlSession(url: string, db: string, user: string, password: string, log: Log): Promise<Session> {
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
      // A LOCAL load turns a duplicate key (the row skipped), a bad or cut value and a missing or extra
      // field into a warning and goes on. PostgreSQL's COPY refuses such a file: so does envbot.
      const [, records, skipped] = /Records: (\d+)\s+Deleted: \d+\s+Skipped: (\d+)/.exec(res.info ?? '') ?? [];
      if (res.warningStatus > 0 || Number(skipped ?? 0) > 0) {
        const [warnings] = await c.query<mysql.RowDataPacket[]>('SHOW WARNINGS LIMIT 1');
        const first = warnings[0] ? String(warnings[0].Message) : 'rows were skipped';
        const line = await rejectedLine(c, file, table, header, first);
        throw new RowsRejected(
          `rows were not loaded as written: ${first} (the server skipped ${skipped ?? '?'} of ${records ?? '?'} rows and warned ${res.warningStatus} times); fix the file`,
          line,
        );
      }
      return res.affectedRows;
    },
    async abort() {
      // The session ends on the server (as the same user, allowed for its own sessions): the
      // statement in flight is rolled back. Then the socket goes.
      const killer = await mysqlConnect({ uri: url, user, password, connectTimeout: 5_000 }, log).catch(() => undefined);
      await killer?.query(`KILL ${Number(c.threadId)}`).catch(() => undefined);
      await killer?.end().catch(() => undefined);
      c.destroy();
    },
    close: () => c.end(),
  };
}
