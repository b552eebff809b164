// envbot CLI: the operator's way in, through the same parser and chat core as Slack, as the
// operator identity `cli:<OS user>` (README, "Operating envbot"). A command waits for its workflow
// and shows live progress (--no-wait returns at once); --json prints a machine-readable result; the
// exit code is 0 on success, 1 on failure, 2 on bad usage.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { userInfo } from 'node:os';
import { EnvbotError } from '../shared/errors.js';
import { projectRoot, servicesEnvFile } from '../shared/paths.js';
import { sourcesLine, type Actor, type Command, type EnvironmentSummary, type Reply } from './core/model.js';
import { COMMAND_USAGE, parseCommand } from './core/parse.js';
import { catalogueFile } from './catalogue-file.js';

/** The chat commands that make sense from a terminal. */
const CLI_COMMANDS: readonly Command['name'][] = ['create', 'list', 'status', 'destroy', 'reset-db', 'extend', 'refresh'];

/**
 * Where a terminal differs from chat: there is no form (a create needs its project and stage) and no
 * question (typing the command is the confirmation).
 */
const CLI_WORDING: Partial<Record<Command['name'], { usage?: string; description?: string }>> = {
  create: { usage: 'create <project> <stage> [suffix] [--ttl 14d]', description: 'Build an environment.' },
  destroy: { description: 'Destroy an environment and its data (typing the command is the confirmation).' },
  'reset-db': { description: "Re-seed an environment's databases (all of them unless you name one; typing the command is the confirmation)." },
};

const USAGE = [
  'usage: envbot <command> [options]',
  '',
  ...COMMAND_USAGE.flatMap((c) => {
    const name = CLI_COMMANDS.find((n) => c.usage === n || c.usage.startsWith(`${n} `));
    if (!name) return [];
    const own = CLI_WORDING[name];
    return [`  ${(own?.usage ?? c.usage).padEnd(46)} ${own?.description ?? c.description}`];
  }),
  '',
  'options: --suffix S (create)  --no-wait (return once started)  --json (machine-readable output)  --version',
].join('\n');

class UsageError extends Error {}

export interface Output {
  json: boolean;
  line(text: string): void;
  result(value: unknown): void;
}


/** The command line as the chat parser reads it: options the parser knows are passed back in. */
function commandOf(positionals: string[], values: { suffix?: string | undefined; ttl?: string | undefined }): Command {
  const words = [...positionals];
  if (values.suffix !== undefined) {
    if (words[0] !== 'create') throw new UsageError(`--suffix goes only with create.\n\n${USAGE}`);
    words.splice(3, 0, values.suffix);
  }
  if (values.ttl !== undefined) words.push('--ttl', values.ttl);
  const parsed = parseCommand(words.join(' '), 'envbot');
  if ('error' in parsed) throw new UsageError(`${parsed.error}${parsed.suggestion ? ` (did you mean "${parsed.suggestion}"?)` : ''}\n\n${USAGE}`);
  if (!CLI_COMMANDS.includes(parsed.name)) throw new UsageError(`${parsed.name} is a chat command; the CLI runs ${CLI_COMMANDS.join(', ')}.\n\n${USAGE}`);
  if (parsed.name === 'create' && (!parsed.project || !parsed.stage)) {
    throw new UsageError(`create needs a project and a stage, for example "envbot create projb qa".\n\n${USAGE}`);
  }
  return parsed;
}

/** envbot's version, from its package.json. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

function summaryLine(e: EnvironmentSummary): string {
  return `${e.name.padEnd(28)} ${e.state.padEnd(11)} ${e.expiresAt ? `expires ${e.expiresAt}` : ''}`;
}

export async function runCli(argv: string[], out: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { 'no-wait': { type: 'boolean' }, json: { type: 'boolean' }, suffix: { type: 'string' }, ttl: { type: 'string' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.version) {
    out.result({ version: packageVersion() });
    if (!out.json) out.line(`envbot ${packageVersion()}`);
    return 0;
  }
  if (!positionals.length || values.help) {
    out.line(USAGE);
    return positionals.length || values.help ? 0 : 2;
  }
  const command = commandOf(positionals, values);
  // What a command needs is loaded only now: --version and --help answer without it.
  const [{ default: pino }, { loadCatalogue }, { readSettings }, { pendingMigrations }, { Store }, { ChatCore }] = await Promise.all([
    import('pino'),
    import('../shared/catalogue/load.js'),
    import('../shared/settings.js'),
    import('../shared/store/migrate.js'),
    import('../shared/store/store.js'),
    import('./core/chat-core.js'),
  ]);
  const settings = readSettings(env, [servicesEnvFile]);
  const catalogue = loadCatalogue(catalogueFile(settings), settings.env).catalogue;
  // A store an older envbot made: say so rather than fail on a missing column.
  const pending = await pendingMigrations(settings.databaseUrl).catch((err: unknown) => {
    throw new CliError(`cannot read envbot's store at ${storeWhere(settings.databaseUrl)} (DATABASE_URL): ${(err as Error).message}. Check that PostgreSQL runs there and DATABASE_URL is right (the local servers: scripts/services/services up, then .envbot/services.env)`);
  });
  if (pending.length) {
    throw new CliError(`the store (DATABASE_URL) lacks ${pending.length === 1 ? 'migration' : 'migrations'} ${pending.join(', ')}: start this version of envbot (npm start), or run npm run migrate, then try again`);
  }
  const store = new Store(settings.databaseUrl, settings.secretKeys);
  // The engine (the Temporal client, the workflows' definitions) is loaded and connected only for a
  // command that needs it: `list`, and `status` of an environment nothing runs on, answer from the store.
  let engine: Awaited<ReturnType<typeof import('./core/connect.js').connectCore>> | undefined;
  const connect = async () => {
    const { connectCore } = await import('./core/connect.js');
    engine = await connectCore(settings, catalogue, store);
    return engine.core;
  };
  // Unexpected errors are logged to stderr; the reply then says so.
  const chatCore = new ChatCore({ core: connect, store, catalogue, log: pino({ level: 'error' }, pino.destination(2)) });
  const operator: Actor = { platform: 'cli', userId: userInfo().username, groups: [], channel: 'cli' };
  try {
    // Confirmed: typing the command in a terminal is the confirmation.
    const reply: Reply = await chatCore.handle(operator, command, undefined, true);
    switch (reply.kind) {
      case 'started': {
        if (!engine) throw new Error('a workflow started without the engine');
        const { started } = await import('./cli-follow.js');
        return await started(reply.environment, engine.client.workflow.getHandle(reply.workflowId), !values['no-wait'], out);
      }
      case 'extended':
        out.result({ environment: reply.environment, expiresAt: reply.expiresAt });
        if (!out.json) out.line(`${reply.environment} now expires at ${reply.expiresAt}`);
        return 0;
      case 'silenced':
        out.result({ environment: reply.environment, until: reply.until });
        if (!out.json) out.line(reply.text);
        return 0;
      case 'list':
        out.result(reply.environments);
        if (!out.json) {
          if (!reply.environments.length) out.line('no environments');
          for (const e of reply.environments) out.line(summaryLine(e));
        }
        return 0;
      case 'status': {
        const e = reply.environment;
        const c = reply.card;
        out.result({ ...e, progress: reply.progress, ...(c ? { urls: c.urls, databases: c.databases, ...(c.redisIndex !== undefined ? { redisIndex: c.redisIndex } : {}) } : {}) });
        if (!out.json) {
          out.line(`${e.name}: ${e.state}${e.expiresAt ? `, expires ${e.expiresAt}` : ''}${e.lastError ? `\nlast error: ${e.lastError}` : ''}`);
          if (c?.urls.length) out.line(`urls: ${c.urls.join(' ')}`);
          if (c?.databases.length) out.line(`databases: ${c.databases.map((d) => `${d.engine} ${d.name}`).join(', ')}`);
          if (c?.redisIndex !== undefined) out.line(`redis: database ${c.redisIndex}`);
          if (e.sources?.length) out.line(`sources: ${sourcesLine(e.sources)}`);
          if (reply.progress?.steps.length) {
            const { stepLine } = await import('./cli-follow.js');
            for (const s of reply.progress.steps) out.line(stepLine(s));
          }
        }
        return 0;
      }
      case 'error':
      case 'refused':
        throw new CliError(reply.text);
      default:
        throw new CliError(`unexpected answer "${reply.kind}" to ${command.name}`);
    }
  } finally {
    await engine?.connection.close();
    await store.close();
  }
}

/** A refusal or an error the core answered: exit 1 with its sentence. */
class CliError extends Error {}

function consoleOutput(json: boolean): Output {
  return {
    json,
    line: (text) => process.stdout.write(`${text}\n`),
    result: (value) => {
      if (json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
  };
}

/** Where a PostgreSQL URL points, without its credentials: `host:port/database`. */
export function storeWhere(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host || 'localhost'}${u.pathname}`;
  } catch {
    return 'the URL it gives (unreadable as a URL)';
  }
}

// Run as a program (not imported by a test): its own file, compared as URLs (a path may hold spaces).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const out = consoleOutput(argv.includes('--json'));
  runCli(argv, out).then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof UsageError || err instanceof EnvbotError || err instanceof CliError) {
        process.stderr.write(`${err.message}\n`);
        process.exit(err instanceof UsageError ? 2 : 1);
      }
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
