// The command parser: every form, alias and mistake, and that no text makes it throw.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMMAND_USAGE, editDistance, helpReply, parseCommand } from '../../bot/core/parse.js';
import { COMMAND_ACTION, type Command, type ParseError } from '../../bot/core/model.js';

const NAMES = Object.keys(COMMAND_ACTION);
const isError = (r: Command | ParseError): r is ParseError => 'error' in r;

describe('parseCommand: command forms', () => {
  it.each<[string, Command]>([
    ['', { name: 'create' }],
    ['   ', { name: 'create' }],
    ['create', { name: 'create' }],
    ['create projb', { name: 'create', project: 'projb' }],
    ['create projb qa', { name: 'create', project: 'projb', stage: 'qa' }],
    ['create projb qa 2', { name: 'create', project: 'projb', stage: 'qa', suffix: '2' }],
    ['create projb qa --ttl 3d', { name: 'create', project: 'projb', stage: 'qa', ttl: '3d' }],
    ['create --ttl 3d projb qa hotfix', { name: 'create', project: 'projb', stage: 'qa', suffix: 'hotfix', ttl: '3d' }],
    ['create projb --ttl 12h qa', { name: 'create', project: 'projb', stage: 'qa', ttl: '12h' }],
    ['create --ttl 2w', { name: 'create', ttl: '2w' }],
    ['create projb qa --ttl=1w', { name: 'create', project: 'projb', stage: 'qa', ttl: '1w' }],
    ['create projb qa \u2014ttl 3d', { name: 'create', project: 'projb', stage: 'qa', ttl: '3d' }],
    ['  CREATE   ProjB\tQA  ', { name: 'create', project: 'projb', stage: 'qa' }],
    ['list', { name: 'list' }],
    ['list projb', { name: 'list', project: 'projb' }],
    ['LIST', { name: 'list' }],
    ['status projb-qa', { name: 'status', environment: 'projb-qa' }],
    ['Status  PROJB-QA', { name: 'status', environment: 'projb-qa' }],
    ['destroy projb-qa-2', { name: 'destroy', environment: 'projb-qa-2' }],
    ['reset-db projb-qa', { name: 'reset-db', environment: 'projb-qa', which: 'all' }],
    ['reset-db projb-qa mongo', { name: 'reset-db', environment: 'projb-qa', which: 'mongo' }],
    ['reset-db projb-qa sql', { name: 'reset-db', environment: 'projb-qa', which: 'sql' }],
    ['reset-db projb-qa redis', { name: 'reset-db', environment: 'projb-qa', which: 'redis' }],
    ['reset-db projb-qa ALL', { name: 'reset-db', environment: 'projb-qa', which: 'all' }],
    ['reset projb-qa', { name: 'reset-db', environment: 'projb-qa', which: 'all' }],
    ['reset projb-qa sql', { name: 'reset-db', environment: 'projb-qa', which: 'sql' }],
    ['extend projb-qa 3d', { name: 'extend', environment: 'projb-qa', duration: '3d' }],
    ['refresh projb-qa', { name: 'refresh', environment: 'projb-qa' }],
    ['refresh projb-qa media', { name: 'refresh', environment: 'projb-qa', volume: 'media' }],
    ['REFRESH Projb-QA Media', { name: 'refresh', environment: 'projb-qa', volume: 'media' }],
    ['extend projb-qa 1W', { name: 'extend', environment: 'projb-qa', duration: '1w' }],
    ['extend 3d projb-qa', { name: 'extend', environment: 'projb-qa', duration: '3d' }],
    ['secrets projb-qa', { name: 'secrets', environment: 'projb-qa' }],
    ['credentials projb-qa', { name: 'secrets', environment: 'projb-qa' }],
    ['subscribe projb', { name: 'subscribe', project: 'projb' }],
    ['unsubscribe', { name: 'unsubscribe' }],
    ['unsubscribe projb', { name: 'unsubscribe', project: 'projb' }],
    ['track projb-qa service1 feature/x', { name: 'track', environment: 'projb-qa', service: 'service1', branch: 'feature/x' }],
    // Branch names are case-sensitive: kept as typed; "default" in any case goes back to the default branch.
    ['TRACK Projb-QA Service1 Feature/JIRA-12', { name: 'track', environment: 'projb-qa', service: 'service1', branch: 'Feature/JIRA-12' }],
    ['track projb-qa service1 default', { name: 'track', environment: 'projb-qa', service: 'service1', branch: null }],
    ['track projb-qa service1 DEFAULT', { name: 'track', environment: 'projb-qa', service: 'service1', branch: null }],
    ['history projb-qa', { name: 'history', environment: 'projb-qa' }],
    ['history projb-qa service1', { name: 'history', environment: 'projb-qa', service: 'service1' }],
    ['help', { name: 'help' }],
    ['?', { name: 'help' }],
    ['HELP', { name: 'help' }],
    ['help destroy', { name: 'help' }],
    ['\u00a0list\u00a0projb\n', { name: 'list', project: 'projb' }],
  ])('%j → %j', (text, expected) => {
    expect(parseCommand(text)).toEqual(expected);
  });
});

describe('parseCommand: mistakes, each with what to write instead', () => {
  it.each<[string, string]>([
    ['status', 'status needs an environment: /env status projb-qa'],
    ['destroy', 'destroy needs an environment: /env destroy projb-qa'],
    ['secrets', 'secrets needs an environment: /env secrets projb-qa'],
    ['credentials', 'secrets needs an environment: /env secrets projb-qa'],
    ['reset-db', 'reset-db needs an environment: /env reset-db projb-qa (or /env reset-db projb-qa sql to re-seed only MySQL and PostgreSQL)'],
    ['reset', 'reset-db needs an environment: /env reset-db projb-qa (or /env reset-db projb-qa sql to re-seed only MySQL and PostgreSQL)'],
    ['reset-db projb-qa mysql', 'reset-db resets mongo, sql, redis or all, not "mysql": for example /env reset-db projb-qa sql'],
    ['extend', 'extend needs an environment and a duration: /env extend projb-qa 3d'],
    ['refresh', 'refresh needs an environment: /env refresh projb-qa (or /env refresh projb-qa media for one volume)'],
    ['refresh projb-qa media docs', 'too many words for refresh: write /env refresh <environment> [volume]'],
    ['refresh projb-qa --all', 'refresh takes no options like "--all": write /env refresh <environment> [volume]'],
    ['extend projb-qa', 'extend needs a duration after the environment: /env extend projb-qa 3d'],
    ['extend 3d', 'extend needs an environment before the duration: /env extend projb-qa 3d'],
    ['extend projb-qa soon', '"soon" is not a duration: write a number and a unit, such as 30m, 12h, 14d or 2w.'],
    ['extend projb-qa 3 days', 'too many words for extend: write /env extend <environment> <duration>'],
    ['subscribe', 'subscribe needs a project: /env subscribe projb'],
    ['create projb qa --ttl', '--ttl needs a duration: /env create projb qa --ttl 3d'],
    ['create projb qa --ttl --ttl 3d', '--ttl needs a duration: /env create projb qa --ttl 3d'],
    ['create projb qa --ttl forever', '"forever" is not a duration: write a number and a unit, such as 30m, 12h, 14d or 2w.'],
    ['create projb qa --ttl 3d --ttl 4d', 'give --ttl once: for example /env create projb qa --ttl 3d'],
    ['create projb qa --size big', 'create takes only --ttl, not "--size": for example /env create projb qa --ttl 3d'],
    ['create projb qa 2 extra', 'too many words for create: write /env create [project] [stage] [suffix] [--ttl 14d], for example /env create projb qa'],
    ['list projb projc', 'too many words for list: write /env list [project]'],
    ['status projb-qa projb-dev', 'too many words for status: write /env status <environment>'],
    ['destroy projb-qa now', 'too many words for destroy: write /env destroy <environment>'],
    ['reset-db projb-qa sql redis', 'too many words for reset-db: write /env reset-db <environment> [mongo|sql|redis|all]'],
    ['secrets projb-qa x', 'too many words for secrets: write /env secrets <environment>'],
    ['subscribe projb projc', 'too many words for subscribe: write /env subscribe <project>'],
    ['unsubscribe projb projc', 'too many words for unsubscribe: write /env unsubscribe [project]'],
    ['extend projb-qa --ttl 3d', '--ttl goes only with create; to keep an environment longer write /env extend projb-qa 3d'],
    ['destroy projb-qa --force', 'destroy takes no options like "--force": write /env destroy <environment>'],
    ['track projb-qa service1', "track needs an environment, a service and a branch: /env track projb-qa service1 feature/x (or default to go back to the service's own branch)"],
    ['track projb-qa service1 a b', 'too many words for track: write /env track <environment> <service> <branch|default>'],
    ['track projb-qa service1 --upload-pack=x', 'track takes no options like "--upload-pack=x": write /env track <environment> <service> <branch|default>'],
    ['history', 'history needs an environment: /env history projb-qa (or /env history projb-qa service1)'],
    ['history projb-qa service1 x', 'too many words for history: write /env history <environment> [service]'],
  ])('%j → %j', (text, error) => {
    expect(parseCommand(text)).toEqual({ error });
  });

  it('writes the Teams prefix in its guidance when given one', () => {
    expect(parseCommand('destroy', 'env')).toEqual({ error: 'destroy needs an environment: env destroy projb-qa' });
  });
});

describe('parseCommand: unknown commands and suggestions', () => {
  it.each<[string, string, string | undefined]>([
    ['destory projb-qa', 'destory', 'destroy'],
    ['lsit', 'lsit', 'list'],
    ['reste-db projb-qa', 'reste-db', 'reset-db'],
    ['Destory', 'Destory', 'destroy'],
    ['stauts projb-qa', 'stauts', 'status'],
    ['secret projb-qa', 'secret', 'secrets'],
    ['credentails projb-qa', 'credentails', 'credentials'],
    ['unsubscirbe', 'unsubscirbe', 'unsubscribe'],
    ['halp', 'halp', 'help'],
    ['xyz', 'xyz', undefined],
    // Within 3 edits, so it is offered; destroy still asks before it does anything.
    ['deploy projb qa', 'deploy', 'destroy'],
    ['make projb qa', 'make', undefined],
    ['projb-qa', 'projb-qa', undefined],
    ['__proto__', '__proto__', undefined],
    ['constructor', 'constructor', undefined],
    ['toString', 'toString', undefined],
  ])('%j → unknown command "%s", suggestion %s', (text, word, suggestion) => {
    const result = parseCommand(text);
    expect(result).toEqual(suggestion ? { error: `unknown command "${word}"`, suggestion } : { error: `unknown command "${word}"` });
  });

  it('shortens a long unknown word in the error', () => {
    const result = parseCommand(`${'a'.repeat(500)} b`);
    expect(isError(result) && result.error).toBe(`unknown command "${'a'.repeat(40)}…"`);
  });
});

describe('editDistance', () => {
  it.each<[string, string, number]>([
    ['', '', 0],
    ['', 'list', 4],
    ['list', 'list', 0],
    ['lsit', 'list', 1],
    ['destory', 'destroy', 1],
    ['reste-db', 'reset-db', 1],
    ['kitten', 'sitting', 3],
    ['xyz', 'list', 4],
  ])('%j ↔ %j = %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('help', () => {
  it('lists every command, in COMMAND_USAGE order, with a description', () => {
    const reply = helpReply();
    expect(reply).toEqual({ kind: 'help', ephemeral: true, commands: COMMAND_USAGE });
    const firstWords = COMMAND_USAGE.map((c) => c.usage.split(' ')[0]);
    expect(firstWords).toEqual(NAMES);
    for (const c of COMMAND_USAGE) expect(c.description.length).toBeGreaterThan(0);
  });

  it('carries a note, and hands out copies callers may change', () => {
    const reply = helpReply('unknown command "x"');
    expect(reply.note).toBe('unknown command "x"');
    reply.commands[0]!.usage = 'changed';
    expect(COMMAND_USAGE[0]!.usage).not.toBe('changed');
  });

  it('every usage in COMMAND_USAGE parses once its placeholders are filled in', () => {
    const filled = (usage: string) =>
      usage
        .replace(/\[--ttl 14d\]/, '--ttl 14d')
        .replace('<environment>', 'projb-qa')
        .replace('<duration>', '3d')
        .replace(/<project>|\[project\]/, 'projb')
        .replace('[stage]', 'qa')
        .replace('[suffix]', '2')
        .replace('[mongo|sql|redis|all]', 'sql')
        .replace(/<service>|\[service\]/, 'service1')
        .replace('<branch|default>', 'feature/x');
    for (const c of COMMAND_USAGE) {
      const result = parseCommand(filled(c.usage));
      expect(isError(result), `${c.usage} → ${JSON.stringify(result)}`).toBe(false);
    }
  });
});

describe('parseCommand: properties', () => {
  const anyText = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.string({ unit: 'grapheme', maxLength: 100 }),
    fc.string({ unit: 'binary', maxLength: 100 }),
    // Command-ish text: known and near-miss words, options, names, durations and odd whitespace.
    fc
      .array(
        fc.oneof(
          fc.constantFrom(...Object.keys(COMMAND_ACTION), 'reset', 'credentials', '?', '__proto__', 'constructor', 'hasOwnProperty', '--ttl', '--ttl=', '\u2014ttl', '--', '-', 'sql', 'all', '3d', '99999w', '0m', 'projb-qa', 'projb', 'qa'),
          fc.string({ maxLength: 12 }),
        ),
        { maxLength: 8 },
      )
      .chain((words) => fc.constantFrom(' ', '  ', '\t', '\n', '\u00a0').map((sep) => words.join(sep))),
  );

  it('never throws; returns a Command with a known name or a ParseError with an error', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const result = parseCommand(text);
        if (isError(result)) {
          expect(result.error.length).toBeGreaterThan(0);
          if (result.suggestion !== undefined) expect(NAMES.concat('reset', 'credentials')).toContain(result.suggestion);
        } else {
          expect(NAMES).toContain(result.name);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('ignores the case of the text and extra whitespace around words', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const spaced = ` ${text.split(/\s+/).join('   ')}\t`;
        expect(parseCommand(spaced.toUpperCase())).toEqual(parseCommand(text.toUpperCase()));
      }),
      { numRuns: 500 },
    );
  });
});
