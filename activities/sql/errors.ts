// Which database errors are the seed's fault (permanent: a CatalogueError naming the file) and
// which are the server's or the network's (retryable), for both engines.
import pg from 'pg';
import { CatalogueError } from '../../shared/errors.js';

/** What either driver's errors may carry. */
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

/** Rows a bulk load did not take as written (MySQL's LOAD DATA LOCAL only warns): the seed's fault. */
export class RowsRejected extends Error {
  constructor(
    message: string,
    /** The file's line of the first rejected row, when it could be found. */
    readonly line?: number,
  ) {
    super(message);
    this.name = 'RowsRejected';
  }
}

/** A batch of statements of a SQL file, as sent: its text, the line it starts on, and each statement's line. */
export interface SentBatch {
  text: string;
  line: number;
  statements: number[];
}

/**
 * Turns a seed's own error into a CatalogueError naming the file and, where it can be known, the line:
 * PostgreSQL's error position in the batch, COPY's line of a CSV, the row a load rejected, or the
 * statement when the batch held one. Other errors are rethrown as they are (retryable).
 */
export function seedError(file: string, err: unknown, batch?: SentBatch): unknown {
  if (err instanceof RowsRejected) return new CatalogueError(file, [{ path: '', problem: err.message, ...(err.line ? { line: err.line } : {}) }]);
  if (!isSeedError(err)) return err;
  const e = err as DbError;
  const position = Number(e.position);
  const copyLine = Number(/\bCOPY [^,]+, line (\d+)/.exec(e.where ?? '')?.[1]);
  let line: number | undefined;
  let where = '';
  if (batch && position > 0) line = batch.line + batch.text.slice(0, position - 1).split('\n').length - 1;
  else if (copyLine > 0) line = copyLine;
  else if (batch?.statements.length === 1) line = batch.statements[0];
  else if (batch?.statements.length) where = `(in the statements from line ${batch.statements[0]} to line ${batch.statements[batch.statements.length - 1]})`;
  const problem = [e.message, e.detail, e.where ? `(${e.where})` : undefined, where].filter(Boolean).join(' ');
  return new CatalogueError(file, [{ path: '', problem, ...(line ? { line } : {}) }]);
}

/** Whether the error carries one of `codes` (a driver's code or a MySQL errno). */
export function hasCode(err: unknown, ...codes: (string | number)[]): boolean {
  const e = err as DbError | undefined;
  return codes.includes(e?.code ?? '') || codes.includes(e?.errno ?? -1);
}
