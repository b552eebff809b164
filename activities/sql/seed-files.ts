// A seed folder on disk: which files run in which order (examples/README.md), the header of a
// CSV file, a line counter that heartbeats while a large CSV streams to the server, and the line of
// a CSV row the server refused.
import { createReadStream } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Transform } from 'node:stream';
import { CatalogueError } from '../../shared/errors.js';

/** Seed folders, in the order they run; each kind's `overrides/<stage>/` folder right after it. */
const SEED_KINDS = ['schema', 'data', 'custom', 'constraints'] as const;
type SeedKind = (typeof SEED_KINDS)[number];

/** Heartbeat every this many CSV lines (and, through the pulse, every few seconds while one file runs). */
const HEARTBEAT_ROWS = 50_000;

export interface CsvHeader {
  columns: string[];
  crlf: boolean;
}

export interface SeedFile {
  path: string;
  kind: SeedKind;
  csv: boolean;
}

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

/** The column names on a CSV file's first line (`shown`: the file as errors name it). */
export async function csvHeader(file: string, shown: string): Promise<CsvHeader> {
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
export function lineCounter(onRows: (lines: number) => void): Transform {
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

/** The rows of a CSV file after its header, from 1, with the line each starts on (a quoted field may hold line breaks). */
async function* csvRows(file: string): AsyncGenerator<{ row: number; line: number; fields: string[] }> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  let row = -1; // the header is row 0
  let text: string | undefined;
  let start = 0;
  try {
    for await (const l of lines) {
      line++;
      if (text === undefined) {
        text = line === 1 ? l.replace(/^\uFEFF/, '') : l;
        start = line;
      } else text += `\n${l}`;
      // An odd number of quotes so far: a quoted field goes on on the next line.
      if ((text.match(/"/g)?.length ?? 0) % 2 === 1) continue;
      row++;
      if (row > 0) yield { row, line: start, fields: csvFields(text) };
      text = undefined;
    }
  } finally {
    lines.close();
  }
}

/** The line row `row` (from 1, after the header) starts on. */
export async function csvLineOfRow(file: string, row: number): Promise<number | undefined> {
  for await (const r of csvRows(file)) if (r.row === row) return r.line;
  return undefined;
}

/**
 * The line of a row whose `columns` hold `key` (their values joined by "-", as MySQL and MariaDB show
 * a duplicate entry): the second such row when the file has two (that one is the duplicate), else
 * the only one (it duplicates a row already in the table).
 */
export async function csvLineOfKey(file: string, header: string[], columns: string[], key: string): Promise<number | undefined> {
  const at = columns.map((c) => header.indexOf(c));
  if (at.some((i) => i < 0)) return undefined;
  let first: number | undefined;
  for await (const r of csvRows(file)) {
    if (at.map((i) => r.fields[i]).join('-') !== key) continue;
    if (first !== undefined) return r.line;
    first = r.line;
  }
  return first;
}
