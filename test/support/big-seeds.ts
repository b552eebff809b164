// Large seed files for tests of long seeds and of envbot's memory, written streamed (the test
// never holds a file either).
import { createWriteStream, readFileSync } from 'node:fs';
import { once } from 'node:events';

/** Writes `count` pieces of text made by `piece(i)` to `file`, streamed. */
export async function writeLarge(file: string, count: number, piece: (i: number) => string, head = '', tail = ''): Promise<void> {
  const out = createWriteStream(file);
  out.write(head);
  for (let i = 0; i < count; i++) {
    if (!out.write(piece(i))) await once(out, 'drain');
  }
  out.end(tail);
  await once(out, 'finish');
}

const FILLER = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. '.repeat(6);
/** One MongoDB seed document of about 1 KB: Extended JSON, nesting, and every 1000th a template. */
export const bigDocument = (i: number): string =>
  `${i ? ',\n' : ''}  {"_id": ${i}, "sku": "SKU-${String(i).padStart(8, '0')}", "title": "Item ${i}", "tags": ["bulk", "t${i % 7}"], ` +
  `"createdAt": {"$date": "2024-03-01T09:00:00Z"}, "stock": {"qty": ${i % 100}, "where": "shelf ${i % 13}"}, ` +
  `${i % 1000 === 0 ? '"env": "{{ENV_NAME}}", ' : ''}"description": "${FILLER}"}`;

/** Writes a MongoDB JSON seed (one array) of about `mb` megabytes; returns how many documents it holds. */
export async function writeBigMongoSeed(file: string, mb: number): Promise<number> {
  const count = Math.ceil((mb * 1024 * 1024) / bigDocument(1).length);
  await writeLarge(file, count, bigDocument, '[\n', '\n]\n');
  return count;
}

/** /proc/<pid>/status memory fields of a process, in MB: resident now, and its peak (VmHWM). */
export function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}
