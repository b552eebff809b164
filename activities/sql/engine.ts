// What each SQL engine (mysql.ts, postgres.ts) provides: admin work on a server, and a seeding
// session on one database as the environment's own user.
import type { Transform } from 'node:stream';
import type { ActivityDeps } from '../deps.js';
import type { CsvHeader } from './seed-files.js';

export type Log = ActivityDeps['log'];

/** Administrative work on one server, over one connection. */
export interface Admin {
  ensureUser(user: string, password: string): Promise<void>;
  ensureDatabase(db: string, user: string): Promise<void>;
  dropDatabase(db: string): Promise<void>;
  dropUser(user: string): Promise<void>;
  close(): Promise<void>;
}

/** One database, as the environment's user. */
export interface Session {
  /** Empties the database, so a seed run again never duplicates rows. */
  reset(): Promise<void>;
  /** Runs a (multi-statement) SQL text; returns the rows it inserted. */
  run(text: string): Promise<number>;
  /** Bulk-loads a CSV file into `table`; returns the rows loaded. A row not loaded as written fails it (RowsRejected). */
  load(file: string, table: string, header: CsvHeader, counter: Transform): Promise<number>;
  /**
   * Stops at once (the activity was cancelled): the server ends the session, so the statement in
   * flight is rolled back and nothing more is written; then the connection is dropped.
   */
  abort(): Promise<void>;
  close(): Promise<void>;
}
