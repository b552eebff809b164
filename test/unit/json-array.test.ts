// The streaming reader of top-level JSON arrays (seeds of any size): the same elements as JSON.parse
// however the bytes are cut into chunks (inside strings, escapes and multi-byte characters too),
// the line each element starts on, and a CatalogueError with file and line for anything else.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonArrayElements, type JsonElement } from '../../activities/json-array.js';
import { CatalogueError } from '../../shared/errors.js';
import { chunked } from '../support/chunks.js';

async function read(text: string | Buffer, cuts: number[] = [], max?: number): Promise<JsonElement[]> {
  const out: JsonElement[] = [];
  for await (const e of jsonArrayElements(chunked(Buffer.from(text), cuts), 'seed.json', max)) out.push(e);
  return out;
}

async function failure(text: string): Promise<CatalogueError> {
  const err = await read(text).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(CatalogueError);
  return err as CatalogueError;
}

describe('jsonArrayElements', () => {
  it('gives the elements JSON.parse gives, however the file is cut into chunks', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue({ maxDepth: 4 }), { maxLength: 12 }), fc.integer({ min: 0, max: 4 }), fc.array(fc.nat(), { maxLength: 40 }), async (values, indent, cuts) => {
        const text = JSON.stringify(values, null, indent);
        const elements = await read(text, cuts);
        expect(elements.map((e) => JSON.parse(e.text) as unknown)).toEqual(JSON.parse(text));
        expect(elements.map((e) => e.index)).toEqual(values.map((_, i) => i));
        // Each element's first line is on the line the reader says.
        const lines = text.split('\n');
        for (const e of elements) expect(lines[e.line - 1]).toContain(e.text.split('\n')[0]);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps strings whole: quotes, escapes, brackets and commas inside them, multi-byte characters cut between chunks', async () => {
    const values = [{ a: 'x"],[{' }, 'tail\\', '{"not": "an object"}', { emoji: '😀 ünïcødé' }, [1, [2, [3]]], 42, -1.5e3, true, null];
    const bytes = Buffer.from(JSON.stringify(values));
    for (let cut = 0; cut <= bytes.length; cut++) {
      const elements = await read(bytes, [cut]);
      expect(elements.map((e) => JSON.parse(e.text) as unknown)).toEqual(values);
    }
  });

  it('reads an empty array, a byte order mark, and Extended JSON text untouched', async () => {
    expect(await read('  [ ]\n')).toEqual([]);
    expect(await read('\uFEFF[1]')).toEqual([{ text: '1', index: 0, line: 1 }]);
    expect(await read('[\n  {"_id": {"$oid": "65f000000000000000000001"}},\n  {"at": {"$date": "2024-03-01T09:00:00Z"}}\n]')).toEqual([
      { text: '{"_id": {"$oid": "65f000000000000000000001"}}', index: 0, line: 2 },
      { text: '{"at": {"$date": "2024-03-01T09:00:00Z"}}', index: 1, line: 3 },
    ]);
  });

  it.each([
    ['{"a": 1}', 1, 'write a JSON array: [ ... ]'],
    ['', 1, 'the file is empty'],
    ['[1,\n2\n3]', 3, 'expected "," or "]" after element [1]'],
    ['[1,\n]', 2, 'expected an element after ","'],
    ['[,1]', 1, 'expected an element after "["'],
    ['[1]\n\n{}', 3, 'text after the array\'s closing "]"'],
    ['[\n{"a": "b"},\n{"a": "unterminated', 3, 'the file ends before the array is closed'],
  ])('refuses %j, naming line %i', async (text, line, problem) => {
    const err = await failure(text);
    expect(err.file).toBe('seed.json');
    expect(err.problems[0]!.line).toBe(line);
    expect(err.problems[0]!.problem).toContain(problem);
  });

  it('refuses an element over the size limit before holding more of it', async () => {
    const big = JSON.stringify([{ a: 'x'.repeat(100) }, { b: 'y'.repeat(5000) }]);
    const err = await read(big, [10, 50, 200, 1000, 3000], 1000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CatalogueError);
    expect((err as CatalogueError).problems[0]).toMatchObject({ path: '[1]', problem: 'the element is over 1000 bytes' });
  });
});
