// Splits a SQL seed file into statements while it streams, so a file of any size runs a batch of
// statements at a time and is never held whole. A ";" ends a statement except inside quotes ('...',
// "...", `...` in MySQL, E'...' and $tag$...$tag$ in PostgreSQL), comments (--, /* */, # in MySQL),
// and the BEGIN ... END body of a CREATE PROCEDURE, FUNCTION, TRIGGER or EVENT (BEGIN ATOMIC in
// PostgreSQL), where CASE ... END nests. Client commands such as MySQL's DELIMITER are not SQL and
// are not understood (the server refuses them, as before).
import { CatalogueError } from '../../shared/errors.js';

export type Dialect = 'mysql' | 'postgres';

export interface Statement {
  /** From just after the previous statement's ";" (comments and blank lines included) to its own ";". */
  text: string;
  /** The line `text` starts on. */
  startLine: number;
  /** The line of its first character of SQL (after comments and blank lines). */
  line: number;
}

/** A statement larger than this is a quote or comment that never closes, not data. */
export const MAX_STATEMENT_CHARS = 64 * 1024 * 1024;
/** How far ahead a decision may look: `--`, `/*`, `''`, and a $tag$ (identifiers are at most 63 bytes). */
const LOOKAHEAD = 80;

/** What the splitter is reading: SQL, a quote ('...', "...", `...`, $tag$...$tag$) or a comment. */
const Mode = { Code: 0, Single: 1, Double: 2, Backtick: 3, LineComment: 4, BlockComment: 5, Dollar: 6 } as const;

const isWordChar = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x24 || c > 0x7f;
const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x0c;
const DOLLAR_TAG = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;
/** Words after END that close an IF, LOOP, WHILE or REPEAT, not a BEGIN or CASE. */
const END_OF_OTHER = new Set(['IF', 'LOOP', 'WHILE', 'REPEAT']);
/** What a CREATE makes when its body may hold ";" (named before the first "(", so a column called `event` is not one). */
const ROUTINES = new Set(['PROCEDURE', 'FUNCTION', 'TRIGGER', 'EVENT']);

export async function* sqlStatements(chunks: AsyncIterable<string>, dialect: Dialect, file: string, maxChars = MAX_STATEMENT_CHARS): AsyncGenerator<Statement> {
  const mysql = dialect === 'mysql';
  let mode: number = Mode.Code;
  let backslashes = false; // the quote being read takes backslash escapes (MySQL, PostgreSQL E'...')
  let commentDepth = 0;
  let tag = '';
  let modeLine = 0; // where the quote or comment being read began, for errors
  let line = 1;
  // The statement being read.
  let pending = '';
  let startLine = 1;
  let codeLine = 0; // 0 until it has SQL
  let firstWord = '';
  let word = '';
  let routine = false; // a CREATE PROCEDURE, FUNCTION, TRIGGER or EVENT
  let paren = false; // a "(" was read: words after it no longer say what is created
  let blocks = 0; // open BEGIN and CASE of the routine's body
  let afterEnd = false; // END read, waiting for what follows to know what it closes

  const fail = (problem: string, at = line) => new CatalogueError(file, [{ path: '', line: at, problem }]);
  const code = () => {
    if (!codeLine) codeLine = line;
  };
  /** A word of SQL outside quotes and comments has ended: it may open or close a body. */
  const endWord = () => {
    if (!word) return;
    const w = word.toUpperCase();
    word = '';
    if (!firstWord) firstWord = w;
    if (firstWord !== 'CREATE') return;
    if (!paren && ROUTINES.has(w)) routine = true;
    if (!routine) return;
    if (afterEnd) {
      afterEnd = false;
      if (END_OF_OTHER.has(w)) return;
      blocks--;
      if (w === 'CASE') return; // END CASE: the CASE closed, it opens nothing
    }
    if (w === 'BEGIN' || (w === 'CASE' && blocks > 0)) blocks++;
    else if (w === 'END' && blocks > 0) afterEnd = true;
  };

  let carry = '';
  let done = false;
  const iterator = chunks[Symbol.asyncIterator]();
  while (!done) {
    const next = await iterator.next();
    done = next.done === true;
    const buf = carry + (done ? '' : (next.value as string));
    // Decide only where the lookahead is in hand; the rest waits for the next chunk.
    const limit = done ? buf.length : Math.max(0, buf.length - LOOKAHEAD);
    let from = 0; // start of this buffer's part of `pending`
    let i = 0;
    for (; i < limit; i++) {
      const c = buf.charCodeAt(i);
      if (c === 0x0a) line++;
      switch (mode) {
        case Mode.Code: {
          if (c === 0x24 && !mysql && !word) {
            // A $tag$ quote (PostgreSQL), unless the $ is part of a name or a $1 parameter.
            const m = DOLLAR_TAG.exec(buf.slice(i, i + LOOKAHEAD));
            code();
            if (m) {
              mode = Mode.Dollar;
              tag = m[0];
              modeLine = line;
              i += tag.length - 1;
              continue;
            }
          }
          if (isWordChar(c)) {
            word += buf[i];
            code();
            continue;
          }
          // A quote right after a lone E (PostgreSQL) starts an escape string.

          const eString = !mysql && c === 0x27 && (word === 'E' || word === 'e');
          endWord();
          if (isSpace(c)) continue;
          const n = buf.charCodeAt(i + 1);
          if (c === 0x27 || c === 0x22) {
            mode = c === 0x27 ? Mode.Single : Mode.Double;
            backslashes = mysql || eString;
            modeLine = line;
            code();
          } else if (c === 0x60 && mysql) {
            mode = Mode.Backtick;
            modeLine = line;
            code();
          } else if (c === 0x2d && n === 0x2d && (!mysql || i + 2 >= buf.length || isSpace(buf.charCodeAt(i + 2)) || buf.charCodeAt(i + 2) < 0x20)) {
            mode = Mode.LineComment;
            i++;
          } else if (c === 0x23 && mysql) {
            mode = Mode.LineComment;
          } else if (c === 0x2f && n === 0x2a) {
            mode = Mode.BlockComment;
            commentDepth = 1;
            modeLine = line;
            // MySQL runs /*! ... */ and reads /*+ ... */: they are SQL, though they split like comments.
            if (mysql && (buf[i + 2] === '!' || buf[i + 2] === '+')) code();
            i++;
          } else if (c === 0x3b) {
            if (afterEnd) {
              afterEnd = false;
              blocks--;
            }
            if (blocks > 0) continue;
            pending += buf.slice(from, i + 1);
            from = i + 1;
            if (codeLine) yield { text: pending, startLine, line: codeLine };
            // The next statement starts right after the ";", on this line.
            pending = '';
            startLine = line;
            codeLine = 0;
            firstWord = '';
            routine = false;
            paren = false;
            blocks = 0;
          } else {
            if (c === 0x28) paren = true;
            code();
          }
          break;
        }
        case Mode.Single:
        case Mode.Double: {
          const quote = mode === Mode.Single ? 0x27 : 0x22;
          if (c === 0x5c && backslashes) {
            if (buf.charCodeAt(i + 1) === 0x0a) line++;
            i++;
          } else if (c === quote) {
            if (buf.charCodeAt(i + 1) === quote) i++;
            else mode = Mode.Code;
          }
          break;
        }
        case Mode.Backtick:
          if (c === 0x60) {
            if (buf.charCodeAt(i + 1) === 0x60) i++;
            else mode = Mode.Code;
          }
          break;
        case Mode.LineComment:
          if (c === 0x0a) mode = Mode.Code;
          break;
        case Mode.BlockComment:
          if (c === 0x2a && buf.charCodeAt(i + 1) === 0x2f) {
            i++;
            // PostgreSQL comments nest; MySQL's end at the first */.
            if (--commentDepth === 0 || mysql) mode = Mode.Code;
          } else if (!mysql && c === 0x2f && buf.charCodeAt(i + 1) === 0x2a) {
            i++;
            commentDepth++;
          }
          break;
        case Mode.Dollar:
          if (c === 0x24 && buf.startsWith(tag, i)) {
            i += tag.length - 1;
            mode = Mode.Code;
          }
          break;
      }
    }
    // A step may have looked past `limit` (a doubled quote, a tag): the carry starts after it.
    pending += buf.slice(from, i);
    carry = buf.slice(i);
    if (pending.length > maxChars) {
      throw fail(
        mode === Mode.Code ? `a statement of more than ${maxChars} characters: end each statement with ";"` : `a quote or comment opened here is not closed within ${maxChars} characters`,
        mode === Mode.Code ? startLine : modeLine,
      );
    }
  }
  endWord();
  if (mode !== Mode.Code && mode !== Mode.LineComment) {
    const what = mode === Mode.BlockComment ? 'a comment' : mode === Mode.Dollar ? `a ${tag} quote` : 'a quoted string or name';
    throw fail(`${what} opened here is never closed`, modeLine);
  }
  if (codeLine) yield { text: pending, startLine, line: codeLine };
}
