// Running one seed file on a session as the environment's user: SQL a batch of statements at a
// time, each rendered on its own (a file is never held whole), CSV streamed into the server's bulk
// load; heartbeats all along, and a stop as soon as the activity is cancelled (the server ends the
// session, so nothing more is written).
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import type { SqlEngine } from '../../shared/model.js';
import type { Pulse } from '../heartbeat.js';
import type { Session } from './engine.js';
import { seedError } from './errors.js';
import { csvHeader, lineCounter, type SeedFile } from './seed-files.js';
import { sqlStatements, type Statement } from './statements.js';

/** A batch is sent once it holds this many characters or statements: large enough to be fast, small enough to stop soon. */
const BATCH_CHARS = 1024 * 1024;
const BATCH_STATEMENTS = 500;

export interface SeedSession {
  session: Session;
  engine: SqlEngine;
  pulse: Pulse;
  /** Renders one statement's text (errors name the file and line). */
  render: (text: string, line?: number) => string;
}

/**
 * Runs `f` (shown as `file` in errors and heartbeats); returns the rows it loaded: a CSV's rows, or
 * for a SQL file of `data/` the rows its INSERTs added (0 for other kinds). `progress` gets the
 * file's rows so far.
 */
export async function runSeedFile(s: SeedSession, f: SeedFile, file: string, progress: (rows: number) => void): Promise<number> {
  const { session, pulse } = s;
  const abort = () => session.abort();
  if (f.csv) {
    const header = await csvHeader(f.path, file);
    const counter = lineCounter((lines) => progress(lines));
    pulse.check();
    return pulse.during(() => ({ file }), () => session.load(f.path, basename(f.path, '.csv'), header, counter), abort).catch((err: unknown) => {
      throw seedError(file, err);
    });
  }
  let rows = 0;
  let batch: Statement[] = [];
  let chars = 0;
  const send = async () => {
    if (!batch.length) return;
    const text = batch.map((st) => s.render(st.text, st.line)).join('');
    const sent = { text, line: batch[0]!.startLine, statements: batch.map((st) => st.line) };
    batch = [];
    chars = 0;
    pulse.check();
    const added = await pulse.during(() => ({ file, rows }), () => session.run(text), abort).catch((err: unknown) => {
      throw seedError(file, err, sent);
    });
    if (f.kind === 'data') rows += added;
    progress(rows);
  };
  for await (const st of sqlStatements(createReadStream(f.path, { encoding: 'utf8' }), s.engine, file)) {
    batch.push(st);
    chars += st.text.length;
    if (chars >= BATCH_CHARS || batch.length >= BATCH_STATEMENTS) await send();
  }
  await send();
  return rows;
}
