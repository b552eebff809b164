// Reads a JSON file whose top level is an array one element at a time, never holding the file: seeds
// of any size (MongoDB collections and scripts, redis.json). Each element comes as its raw text, so a
// template inside it is rendered before it is parsed, with the line it starts on, for errors.
// Only the array's own syntax is checked here (brackets, commas, strings); each element's JSON is
// checked by whoever parses it.
import { CatalogueError } from '../shared/errors.js';

export interface JsonElement {
  /** The element's text, exactly as in the file. */
  text: string;
  /** Its position in the array, from 0. */
  index: number;
  /** The line it starts on, from 1. */
  line: number;
}

/** Larger than MongoDB's largest document (16 MB): an element this big is a mistake, not data. */
export const MAX_ELEMENT_BYTES = 32 * 1024 * 1024;

/** Where the reader is: before the "[", before the first element, after a ",", in an element, after one, after the "]". */
const State = { Before: 0, First: 1, Next: 2, Value: 3, After: 4, Done: 5 } as const;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_SQUARE = 0x5b;
const CLOSE_SQUARE = 0x5d;
const OPEN_CURLY = 0x7b;
const CLOSE_CURLY = 0x7d;
const NEWLINE = 0x0a;

const isSpace = (b: number) => b === 0x20 || b === NEWLINE || b === 0x0d || b === 0x09;

/**
 * The elements of the array in `chunks` (the bytes of `file`, in order). A file that is not one
 * array is a CatalogueError naming the file and line.
 */
export async function* jsonArrayElements(chunks: AsyncIterable<Buffer | string>, file: string, maxElementBytes = MAX_ELEMENT_BYTES): AsyncGenerator<JsonElement> {
  let state: number = State.Before;
  let line = 1;
  let index = 0;
  // The element being read: where it started, its nesting, and its bytes from earlier chunks.
  let startLine = 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let scalar = false;
  let parts: Buffer[] = [];
  let partBytes = 0;
  let first = true;
  const fail = (problem: string, path = '') => new CatalogueError(file, [{ path, line, problem }]);

  for await (const raw of chunks) {
    let chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    if (first) {
      first = false;
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3); // a UTF-8 byte order mark
    }
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (state === State.Value) {
        // The hot path: inside an element, only strings and brackets matter.
        let end = -1;
        if (inString) {
          if (escaped) escaped = false;
          else if (b === BACKSLASH) escaped = true;
          else if (b === QUOTE) {
            inString = false;
            if (depth === 0) end = i + 1;
          }
        } else if (b === QUOTE) inString = true;
        else if (b === OPEN_CURLY || b === OPEN_SQUARE) depth++;
        else if ((b === CLOSE_CURLY || b === CLOSE_SQUARE) && depth > 0) {
          depth--;
          if (depth === 0 && !scalar) end = i + 1;
        } else if (scalar && depth === 0 && (isSpace(b) || b === COMMA || b === CLOSE_SQUARE)) end = i;
        if (b === NEWLINE) line++;
        if (end < 0) continue;
        const piece = chunk.subarray(start, end);
        if (partBytes + piece.length > maxElementBytes) throw fail(`the element is over ${maxElementBytes} bytes`, `[${index}]`);
        const text = (parts.length ? Buffer.concat([...parts, piece]) : piece).toString('utf8');
        parts = [];
        partBytes = 0;
        state = State.After;
        yield { text, index, line: startLine };
        index++;
        if (end === i + 1) continue;
        // A number, true, false or null ends at the byte after it: read that byte as what follows.
        if (b === NEWLINE) line--;
      }
      if (b === NEWLINE) line++;
      if (isSpace(b)) continue;
      switch (state) {
        case State.Before:
          if (b !== OPEN_SQUARE) throw fail('write a JSON array: [ ... ]');
          state = State.First;
          break;
        case State.After:
          if (b === COMMA) state = State.Next;
          else if (b === CLOSE_SQUARE) state = State.Done;
          else throw fail(`expected "," or "]" after element [${index - 1}]`);
          break;
        case State.Done:
          throw fail('text after the array\'s closing "]"');
        default: {
          // First or Next: an element begins (or, first, the array ends at once).
          if (b === CLOSE_SQUARE && state === State.First) {
            state = State.Done;
            break;
          }
          if (b === CLOSE_SQUARE || b === COMMA) throw fail(`expected an element after ${state === State.First ? '"["' : '","'}`);
          state = State.Value;
          start = i;
          startLine = line;
          inString = b === QUOTE;
          escaped = false;
          depth = b === OPEN_CURLY || b === OPEN_SQUARE ? 1 : 0;
          scalar = !inString && depth === 0;
        }
      }
    }
    if (state === State.Value) {
      const rest = chunk.subarray(start);
      partBytes += rest.length;
      if (partBytes > maxElementBytes) throw fail(`the element is over ${maxElementBytes} bytes`, `[${index}]`);
      // Copied: a stream may reuse its buffer.
      parts.push(Buffer.from(rest));
    }
  }
  if (state === State.Before) throw fail('write a JSON array: [ ... ] (the file is empty)');
  if (state !== State.Done) throw fail('the file ends before the array is closed with "]"');
}
