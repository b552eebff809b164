// The words after `/env` (Slack) or `env` (Teams) → a Command, or a ParseError that says exactly
// what to write instead. Pure and total: it never throws, whatever the text.
import { parseDuration } from '../../shared/duration.js';
import type { ResetTarget } from '../../shared/model.js';
import type { Command, ParseError, Reply } from './model.js';

/** The commands, in the order help lists them. Usages leave out the `/env` (or `env`) prefix. */
export const COMMAND_USAGE: { usage: string; description: string }[] = [
  { usage: 'create [project] [stage] [suffix] [--ttl 14d]', description: 'Build an environment (in chat, without a project and stage, opens a form).' },
  { usage: 'list [project]', description: 'List environments, of one project or all of them.' },
  { usage: 'status <environment>', description: "Show an environment's state, progress and links." },
  { usage: 'destroy <environment>', description: 'Destroy an environment and its data (asks first).' },
  { usage: 'reset-db <environment> [mongo|sql|redis|all]', description: "Re-seed an environment's databases (all of them unless you name one; asks first)." },
  { usage: 'extend <environment> <duration>', description: 'Keep an environment longer, for example 3d or 1w.' },
  { usage: 'refresh <environment> [volume]', description: "Copy an environment's storage volumes (all of them unless you name one) from S3 again." },
  { usage: 'secrets <environment>', description: "Show an environment's credentials, only to you." },
  { usage: 'track <environment> <service> <branch|default>', description: 'Make a service follow another git branch (default: back to its own); it is rendered from that branch now and on every push.' },
  { usage: 'history <environment> [service]', description: 'List recent deployments of the services: what, why, who and when.' },
  { usage: 'promotions check <project>', description: "Look now at what the project's production runs, and bring the environments that follow it up to date." },
  { usage: 'subscribe <project>', description: "Post news about the project's environments in this channel." },
  { usage: 'unsubscribe [project]', description: 'Stop posting news about the project (or every project) in this channel.' },
  { usage: 'silence <environment> <duration>', description: "Mute an environment's monitoring alerts for a while, for example 2h." },
  { usage: 'help', description: 'Show this list.' },
];

/** The `help` reply, with an optional note above the list (for example why help is shown). */
export function helpReply(note?: string): Extract<Reply, { kind: 'help' }> {
  const commands = COMMAND_USAGE.map((c) => ({ ...c }));
  return note ? { kind: 'help', ephemeral: true, commands, note } : { kind: 'help', ephemeral: true, commands };
}

type Name = Command['name'];

/** Every word that starts a command, aliases included, mapped to the command it means. */
const WORDS: Record<string, Name> = {
  create: 'create',
  list: 'list',
  status: 'status',
  destroy: 'destroy',
  'reset-db': 'reset-db',
  reset: 'reset-db',
  extend: 'extend',
  refresh: 'refresh',
  secrets: 'secrets',
  credentials: 'secrets',
  subscribe: 'subscribe',
  unsubscribe: 'unsubscribe',
  silence: 'silence',
  track: 'track',
  history: 'history',
  promotions: 'promotions',
  promotion: 'promotions',
  help: 'help',
  '?': 'help',
};

/** Words offered as "did you mean …?": the letters-only words above, canonical ones first. */
const SUGGESTABLE = Object.keys(WORDS).filter((w) => /^[a-z-]+$/.test(w));

/** `destroy` → `destroy <environment>`: each command's usage line from COMMAND_USAGE. */
function usageOf(name: Name): string {
  return COMMAND_USAGE.find((c) => c.usage === name || c.usage.startsWith(`${name} `))?.usage ?? name;
}

const RESET_TARGETS: readonly ResetTarget[] = ['mongo', 'sql', 'redis', 'all'];

/** Dashes people (or their keyboards' "smart punctuation") put before an option name. */
const OPTION = /^(?:--|[\u2012\u2013\u2014\u2015\u2212])/;

/**
 * Optimal string alignment distance (Damerau-Levenshtein without repeated edits of a substring):
 * insertions, deletions, substitutions and swaps of two neighbouring characters each cost 1.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      d[i * cols + j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The closest command word within 3 edits, or undefined. */
function closestCommand(word: string): string | undefined {
  let best: { word: string; distance: number } | undefined;
  for (const candidate of SUGGESTABLE) {
    if (Math.abs(candidate.length - word.length) > 3) continue;
    const distance = editDistance(word, candidate);
    if (distance <= 3 && (!best || distance < best.distance)) best = { word: candidate, distance };
  }
  return best?.word;
}

/** A word as the person typed it, shortened so a pasted essay does not come back whole. */
function quote(word: string): string {
  const chars = [...word];
  return `"${chars.length > 40 ? `${chars.slice(0, 40).join('')}…` : word}"`;
}

function durationProblem(text: string): string | undefined {
  try {
    parseDuration(text);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : `"${text}" is not a duration: write a number and a unit, such as 30m, 12h, 14d or 2w.`;
  }
}

function looksLikeDuration(text: string): boolean {
  return durationProblem(text) === undefined;
}

/**
 * Parses the words after the command prefix. `prefix` is what people type before them, used in the
 * guidance of errors: `/env` in Slack (the default), `env` in Teams.
 */
export function parseCommand(text: string, prefix = '/env'): Command | ParseError {
  try {
    return parse(typeof text === 'string' ? text : String(text ?? ''), prefix);
  } catch (err) {
    // Not reachable by design; a parser bug must still not take a chat handler down.
    return { error: `could not read that command (${err instanceof Error ? err.message : String(err)}); ${prefix} help lists the commands` };
  }
}

function parse(text: string, p: string): Command | ParseError {
  const typed = text.trim().split(/\s+/).filter((w) => w.length > 0);
  const words = typed.map((w) => w.toLowerCase());
  const [first, ...args] = words;
  if (first === undefined) return { name: 'create' };

  // Own keys only: "constructor" or "__proto__" are not commands.
  const name = Object.hasOwn(WORDS, first) ? WORDS[first] : undefined;
  if (name === undefined) {
    const suggestion = closestCommand(first);
    const error = `unknown command ${quote(typed[0] ?? first)}`;
    return suggestion ? { error, suggestion } : { error };
  }

  const usage = `${p} ${usageOf(name)}`;
  const tooMany = (): ParseError => ({ error: `too many words for ${name}: write ${usage}` });

  if (name === 'help') return { name: 'help' };
  if (name === 'create') return parseCreate(args, p, usage);

  const option = args.find((w) => OPTION.test(w));
  if (option !== undefined) {
    return {
      error:
        /^(?:--|[\u2012-\u2015\u2212])ttl\b/.test(option)
          ? `--ttl goes only with create; to keep an environment longer write ${p} extend projb-qa 3d`
          : `${name} takes no options like ${quote(option)}: write ${usage}`,
    };
  }

  const [a, b, ...rest] = args;
  switch (name) {
    case 'list':
      if (b !== undefined) return tooMany();
      return a === undefined ? { name } : { name, project: a };
    case 'unsubscribe':
      if (b !== undefined) return tooMany();
      return a === undefined ? { name } : { name, project: a };
    case 'subscribe':
      if (a === undefined) return { error: `subscribe needs a project: ${p} subscribe projb` };
      if (b !== undefined) return tooMany();
      return { name, project: a };
    case 'status':
    case 'destroy':
    case 'secrets':
      if (a === undefined) return { error: `${name} needs an environment: ${p} ${name} projb-qa` };
      if (b !== undefined) return tooMany();
      return { name, environment: a };
    case 'reset-db': {
      if (a === undefined) return { error: `reset-db needs an environment: ${p} reset-db projb-qa (or ${p} reset-db projb-qa sql to re-seed only MySQL and PostgreSQL)` };
      if (rest.length > 0) return tooMany();
      if (b === undefined) return { name, environment: a, which: 'all' };
      const which = RESET_TARGETS.find((t) => t === b);
      if (which === undefined) {
        return { error: `reset-db resets mongo, sql, redis or all, not ${quote(b)}: for example ${p} reset-db ${a} sql` };
      }
      return { name, environment: a, which };
    }
    case 'refresh':
      if (a === undefined) return { error: `refresh needs an environment: ${p} refresh projb-qa (or ${p} refresh projb-qa media for one volume)` };
      if (rest.length > 0) return tooMany();
      return b === undefined ? { name, environment: a } : { name, environment: a, volume: b };
    case 'silence': {
      if (a === undefined || b === undefined) return { error: `silence needs an environment and a duration: ${p} silence projb-qa 2h` };
      if (rest.length > 0) return tooMany();
      const [environment, duration] = looksLikeDuration(a) && !looksLikeDuration(b) ? [b, a] : [a, b];
      const problem = durationProblem(duration);
      if (problem !== undefined) return { error: problem };
      return { name, environment, duration };
    }
    case 'track': {
      if (a === undefined || b === undefined || rest.length === 0) return { error: `track needs an environment, a service and a branch: ${p} track projb-qa service1 feature/x (or default to go back to the service's own branch)` };
      if (rest.length > 1) return tooMany();
      // Branch names are case-sensitive: take the word as it was typed.
      const branch = typed[3] ?? '';
      return { name, environment: a, service: b, branch: branch.toLowerCase() === 'default' ? null : branch };
    }
    case 'history':
      if (a === undefined) return { error: `history needs an environment: ${p} history projb-qa (or ${p} history projb-qa service1)` };
      if (rest.length > 0) return tooMany();
      return b === undefined ? { name, environment: a } : { name, environment: a, service: b };
    case 'promotions':
      if (a !== 'check') return { error: `promotions needs "check" and a project: ${p} promotions check projb` };
      if (b === undefined) return { error: `promotions check needs a project: ${p} promotions check projb` };
      if (rest.length > 0) return tooMany();
      return { name, project: b };
    case 'extend': {
      if (a === undefined) return { error: `extend needs an environment and a duration: ${p} extend projb-qa 3d` };
      if (rest.length > 0) return tooMany();
      if (b === undefined) {
        return looksLikeDuration(a)
          ? { error: `extend needs an environment before the duration: ${p} extend projb-qa ${a}` }
          : { error: `extend needs a duration after the environment: ${p} extend ${a} 3d` };
      }
      // "extend 3d projb-qa" is unambiguous (an environment name always has a "-"): take it.
      const [environment, duration] = looksLikeDuration(a) && !looksLikeDuration(b) ? [b, a] : [a, b];
      const problem = durationProblem(duration);
      if (problem !== undefined) return { error: problem };
      return { name, environment, duration };
    }
  }
}

function parseCreate(args: string[], p: string, usage: string): Command | ParseError {
  const positional: string[] = [];
  let ttl: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const word = args[i] ?? '';
    if (!OPTION.test(word)) {
      positional.push(word);
      continue;
    }
    const m = /^(?:--|[\u2012-\u2015\u2212])([a-z-]*)(?:=(.*))?$/.exec(word);
    if (!m || m[1] !== 'ttl') {
      return { error: `create takes only --ttl, not ${quote(word)}: for example ${p} create projb qa --ttl 3d` };
    }
    if (ttl !== undefined) return { error: `give --ttl once: for example ${p} create projb qa --ttl 3d` };
    let value = m[2];
    if (value === undefined) {
      const next = args[i + 1];
      if (next !== undefined && !OPTION.test(next)) {
        value = next;
        i++;
      }
    }
    if (value === undefined || value === '') return { error: `--ttl needs a duration: ${p} create projb qa --ttl 3d` };
    const problem = durationProblem(value);
    if (problem !== undefined) return { error: problem };
    ttl = value;
  }
  if (positional.length > 3) return { error: `too many words for create: write ${usage}, for example ${p} create projb qa` };
  const [project, stage, suffix] = positional;
  return {
    name: 'create',
    ...(project !== undefined ? { project } : {}),
    ...(stage !== undefined ? { stage } : {}),
    ...(suffix !== undefined ? { suffix } : {}),
    ...(ttl !== undefined ? { ttl } : {}),
  };
}
