// envbot CLI: the same core the chat adapters use, from a terminal. A command waits for its
// workflow and shows live progress (--no-wait returns at once); --json prints a machine-readable
// result; the exit code is 0 on success, 1 on failure, 2 on bad usage.
import { parseArgs } from 'node:util';
import { userInfo } from 'node:os';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { loadCatalogue } from '../shared/catalogue/load.js';
import { EnvbotError } from '../shared/errors.js';
import type { Progress, Requester, ResetTarget, Step } from '../shared/model.js';
import { servicesEnvFile } from '../shared/paths.js';
import { readSettings } from '../shared/settings.js';
import { Store } from '../shared/store/store.js';
import { connectCore } from './core/connect.js';
import type { Started } from './core/core.js';
import { catalogueFile } from './catalogue-file.js';

const USAGE = `usage: envbot <command> [options]

  create <project> <stage> [--suffix S] [--ttl 14d]   build an environment
  list [project]                                       environments that exist
  status <environment>                                 state, expiry, live progress
  destroy <environment>                                remove everything it has
  reset-db <environment> [mongo|sql|redis|all]         re-seed its data (default all)
  extend <environment> <duration>                      keep it longer (30m, 12h, 14d, 2w)

options: --no-wait (return once started)  --json (machine-readable output)`;

class UsageError extends Error {}

interface Output {
  json: boolean;
  line(text: string): void;
  result(value: unknown): void;
}

const SYMBOL: Record<Step['status'], string> = {
  pending: '·', running: '…', done: '✓', failed: '✗', undoing: '↺', undone: '↩', 'undo-failed': '!', skipped: '-',
};

function stepLine(s: Step): string {
  const secs = s.startedAt && s.endedAt ? ` (${((Date.parse(s.endedAt) - Date.parse(s.startedAt)) / 1000).toFixed(1)}s)` : '';
  return `  ${SYMBOL[s.status]} ${s.title}${secs}${s.error && s.status === 'failed' ? `: ${s.error}` : ''}`;
}

/** Waits for the workflow, printing each step as its state changes. */
async function follow(handle: WorkflowHandle, out: Output): Promise<{ ok: boolean; value: unknown }> {
  const seen = new Map<string, string>();
  const show = async (): Promise<void> => {
    const p = await handle.query<Progress>('progress').catch(() => undefined);
    for (const s of p?.steps ?? []) {
      if (seen.get(s.id) !== s.status && s.status !== 'pending' && s.status !== 'skipped') {
        seen.set(s.id, s.status);
        if (!out.json) out.line(stepLine(s));
      }
    }
  };
  let done = false;
  const poll = (async () => {
    while (!done) {
      await show();
      await new Promise((r) => setTimeout(r, 400));
    }
  })();
  try {
    const value = await handle.result();
    return { ok: true, value };
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      const details = (err.cause as { details?: unknown[] } | undefined)?.details?.[0];
      return { ok: false, value: details ?? { error: err.cause?.message ?? err.message } };
    }
    throw err;
  } finally {
    done = true;
    await poll;
    await show(); // the steps that finished after the last poll
  }
}

async function started(s: Started, wait: boolean, out: Output): Promise<number> {
  if (!wait) {
    out.result({ environment: s.environment, workflowId: s.workflowId, status: 'started' });
    if (!out.json) out.line(`started ${s.workflowId}`);
    return 0;
  }
  if (!out.json) out.line(`${s.environment}: ${s.workflowId}`);
  const { ok, value } = await follow(s.handle, out);
  out.result(value);
  if (!out.json) {
    const v = value as { urls?: string[]; error?: string; rolledBack?: string[]; failedStep?: string };
    if (ok) {
      if (v.urls?.length) out.line(`ready: ${v.urls.join(' ')}`);
      else out.line('done');
    } else {
      out.line(`failed${v.failedStep ? ` at ${v.failedStep}` : ''}: ${v.error ?? 'see the workflow'}${v.rolledBack?.length ? `; rolled back: ${v.rolledBack.join(', ')}` : ''}`);
    }
  }
  return ok ? 0 : 1;
}

export async function runCli(argv: string[], out: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { 'no-wait': { type: 'boolean' }, json: { type: 'boolean' }, suffix: { type: 'string' }, ttl: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  const [command, ...args] = positionals;
  if (!command || values.help) {
    out.line(USAGE);
    return command || values.help ? 0 : 2;
  }
  const need = (n: number, what: string): string[] => {
    if (args.length < n) throw new UsageError(`${command} needs ${what}.\n\n${USAGE}`);
    return args;
  };
  const settings = readSettings(env, [servicesEnvFile]);
  const catalogue = loadCatalogue(catalogueFile(settings), settings.env).catalogue;
  const store = new Store(settings.databaseUrl, settings.secretKeys);
  const { core, connection } = await connectCore(settings, catalogue, store);
  const requester: Requester = { id: `cli:${userInfo().username}`, platform: 'cli' };
  const wait = !values['no-wait'];
  try {
    switch (command) {
      case 'create': {
        const [project, stage] = need(2, 'a project and a stage, for example "create projb qa"');
        return await started(await core.create({ project: project!, stage: stage!, requester, ...(values.suffix ? { suffix: values.suffix } : {}), ...(values.ttl ? { ttl: values.ttl } : {}) }), wait, out);
      }
      case 'destroy':
        return await started(await core.destroy({ environment: need(1, 'an environment, for example "destroy projb-qa"')[0]!, requester }), wait, out);
      case 'reset-db': {
        const [environment, which = 'all'] = need(1, 'an environment, for example "reset-db projb-qa sql"');
        if (!['mongo', 'sql', 'redis', 'all'].includes(which)) throw new UsageError(`reset-db takes mongo, sql, redis or all, not "${which}"`);
        return await started(await core.resetDatabases({ environment: environment!, which: which as ResetTarget, requester }), wait, out);
      }
      case 'extend': {
        const [environment, duration] = need(2, 'an environment and a duration, for example "extend projb-qa 7d"');
        const res = await core.extend({ environment: environment!, duration: duration!, requester });
        out.result(res);
        if (!out.json) out.line(`${res.environment} now expires at ${res.expiresAt}`);
        return 0;
      }
      case 'list': {
        const rows = await core.list(args[0]);
        out.result(rows.map((r) => ({ name: r.name, project: r.project, stage: r.stage, state: r.state, expiresAt: r.expiresAt, createdBy: r.createdBy })));
        if (!out.json) {
          if (!rows.length) out.line('no environments');
          for (const r of rows) out.line(`${r.name.padEnd(28)} ${r.state.padEnd(11)} ${r.expiresAt ? `expires ${r.expiresAt.toISOString()}` : ''}`);
        }
        return 0;
      }
      case 'status': {
        const { record, progress } = await core.status(need(1, 'an environment')[0]!);
        out.result({ ...record, progress });
        if (!out.json) {
          out.line(`${record.name}: ${record.state}${record.expiresAt ? `, expires ${record.expiresAt.toISOString()}` : ''}${record.lastError ? `\nlast error: ${record.lastError}` : ''}`);
          for (const s of progress?.steps ?? []) out.line(stepLine(s));
        }
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
    }
  } finally {
    await connection.close();
    await store.close();
  }
}

function consoleOutput(json: boolean): Output {
  return {
    json,
    line: (text) => process.stdout.write(`${text}\n`),
    result: (value) => {
      if (json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  const out = consoleOutput(argv.includes('--json'));
  runCli(argv, out).then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof UsageError || err instanceof EnvbotError) {
        process.stderr.write(`${err.message}\n`);
        process.exit(err instanceof UsageError ? 2 : 1);
      }
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
