// The streaming SQL splitter: statements come back whole however the file is cut into chunks, with
// ";" inside quotes, comments, $tag$ bodies and routine bodies left alone, each engine's quoting
// rules, and the line each statement starts on.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sqlStatements, type Dialect, type Statement } from '../../activities/sql/statements.js';
import { CatalogueError } from '../../shared/errors.js';
import { chunked } from '../support/chunks.js';

async function split(text: string, dialect: Dialect, cuts: number[] = []): Promise<Statement[]> {
  const out: Statement[] = [];
  for await (const s of sqlStatements(chunked(text, cuts), dialect, 'seed.sql')) out.push(s);
  return out;
}

const texts = (statements: Statement[]) => statements.map((s) => s.text.trim());

/** A piece of SQL that may hold ";" where it must not split, written for `dialect`. */
function fragment(dialect: Dialect): fc.Arbitrary<string> {
  const content = fc.string({ unit: fc.constantFrom('a', ';', "'", '"', '\\', '-', '/', '*', '$', '\n', ' ', 'é', '`', '#') });
  const quoted = (q: string) =>
    content.map((c) => (dialect === 'mysql' ? `${q}${c.replace(/\\/g, '\\\\').replace(new RegExp(q, 'g'), `\\${q}`)}${q}` : `${q}${c.replace(new RegExp(q, 'g'), q + q)}${q}`));
  const common = [
    fc.constantFrom('SELECT 1', 'INSERT INTO t (a, b) VALUES (1, 2)', 'UPDATE t SET a = a - 1', 'x'),
    quoted("'"),
    content.filter((c) => !c.includes('\n')).map((c) => `-- ${c}\n`),
    content.filter((c) => !c.includes('*/') && !c.includes('/*')).map((c) => `/* ${c} */`),
  ];
  return dialect === 'mysql'
    ? fc.oneof(...common, quoted('"'), content.map((c) => `\`${c.replace(/`/g, '``')}\``), content.filter((c) => !c.includes('\n')).map((c) => `# ${c}\n`))
    : fc.oneof(
        ...common,
        content.map((c) => `"${c.replace(/"/g, '""')}"`),
        content.filter((c) => !c.includes('$body$')).map((c) => `$body$${c}$body$`),
        content.map((c) => `E'${c.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`),
      );
}

describe.each(['mysql', 'postgres'] as const)('sqlStatements (%s)', (dialect) => {
  it('gives back each statement whole, however the file is cut, whatever its quotes and comments hold', async () => {
    const statement = fc.tuple(fc.constantFrom('SELECT 1', 'DELETE FROM t'), fc.array(fragment(dialect), { maxLength: 6 })).map(([head, rest]) => [head, ...rest].join(' '));
    await fc.assert(
      fc.asyncProperty(fc.array(statement, { minLength: 1, maxLength: 8 }), fc.constantFrom('\n', ' ', '\n\n', '\r\n'), fc.array(fc.nat(), { maxLength: 30 }), async (statements, gap, cuts) => {
        const text = statements.map((s) => `${s};`).join(gap);
        expect(texts(await split(text, dialect, cuts))).toEqual(statements.map((s) => `${s};`.trim()));
      }),
      { numRuns: 400 },
    );
  });

  it('says where each statement starts, skips comments-only text, and takes a last statement without ";"', async () => {
    const text = '-- a header\n\nCREATE TABLE t (id INT);\n\n/* two\nlines */ INSERT INTO t VALUES (1);\n-- the end\n  SELECT 2';
    const out = await split(text, dialect);
    expect(out.map((s) => [s.startLine, s.line])).toEqual([[1, 3], [3, 6], [6, 8]]);
    expect(out[2]!.text).toBe('\n-- the end\n  SELECT 2');
    expect(await split('-- nothing\n/* at all; */\n', dialect)).toEqual([]);
  });

  it('refuses a quote that never closes, naming the line it opens on', async () => {
    const err = await split("SELECT 1;\nINSERT INTO t VALUES ('oops);\nSELECT 2;\n", dialect).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CatalogueError);
    expect((err as CatalogueError).problems[0]).toMatchObject({ line: 2, problem: 'a quoted string or name opened here is never closed' });
  });

  it('refuses a statement over the size limit instead of holding the rest of the file', async () => {
    const out: Statement[] = [];
    const err = await (async () => {
      for await (const s of sqlStatements(chunked(`SELECT 1;\nSELECT '${'x'.repeat(5000)}`, [100, 2000, 4000]), dialect, 'seed.sql', 1000)) out.push(s);
    })().catch((e: unknown) => e);
    expect(out).toHaveLength(1);
    expect((err as CatalogueError).problems[0]).toMatchObject({ line: 2, problem: 'a quote or comment opened here is not closed within 1000 characters' });
  });
});

describe('sqlStatements: each engine\'s own rules', () => {
  it('MySQL: backslash escapes, `names`, # comments, -- only before a space, /*! */ is SQL', async () => {
    const text = "INSERT INTO t VALUES ('it\\'s; fine', \"a\\\";b\");\nSELECT `a;b` FROM t # c; d\n;\nSELECT 5--1;\n/*!40101 SET NAMES utf8mb4 */;\n";
    expect(texts(await split(text, 'mysql'))).toEqual([
      "INSERT INTO t VALUES ('it\\'s; fine', \"a\\\";b\");",
      'SELECT `a;b` FROM t # c; d\n;',
      'SELECT 5--1;',
      '/*!40101 SET NAMES utf8mb4 */;',
    ]);
  });

  it('MySQL: a routine body keeps its ";" (BEGIN, nested blocks, IF, CASE, loops), a column named event or begin does not', async () => {
    const body = [
      'CREATE DEFINER = `root`@`%` PROCEDURE fill(n INT)',
      'BEGIN',
      '  DECLARE i INT DEFAULT 0;',
      '  lbl: WHILE i < n DO',
      '    IF i % 2 = 0 THEN INSERT INTO t VALUES (i); END IF;',
      '    CASE WHEN i > 5 THEN SET i = i + 1; ELSE BEGIN SET i = i + 1; END; END CASE;',
      '    SET @x = CASE i WHEN 1 THEN 2 ELSE 3 END;',
      '  END WHILE lbl;',
      'END;',
    ].join('\n');
    const trigger = 'CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; SET NEW.b = 2; END;';
    const table = 'CREATE TABLE log (event VARCHAR(10), begin INT);';
    const out = await split(`${body}\n${table}\n${trigger}\nSELECT 1;`, 'mysql');
    expect(texts(out)).toEqual([body, table, trigger, 'SELECT 1;']);
  });

  it("PostgreSQL: standard strings keep '\\', E'' strings escape, $tag$ bodies, nested comments, BEGIN ATOMIC", async () => {
    const fn = "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$ BEGIN RAISE NOTICE 'a;b'; RETURN 1; END $fn$;";
    const atomic = 'CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); SELECT CASE WHEN true THEN 1 END; END;';
    const text = `SELECT 'C:\\';\nSELECT E'it\\'s; fine';\n${fn}\n/* outer /* inner; */ still; */ SELECT $1;\n${atomic}\nSELECT a$b FROM t;`;
    expect(texts(await split(text, 'postgres'))).toEqual([
      "SELECT 'C:\\';",
      "SELECT E'it\\'s; fine';",
      fn,
      '/* outer /* inner; */ still; */ SELECT $1;',
      atomic,
      'SELECT a$b FROM t;',
    ]);
  });
});
