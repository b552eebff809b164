// A worker in its own process, so a test can SIGKILL it mid-activity. Real activities over the
// test's store database; SEED_PAUSE_MS holds seedSql open (heartbeating) after its rows are
// written, so the kill lands in the middle of seeding. CHAT_LOG names a file that gets every chat
// message the worker sends, one JSON line each, for the test to read. TEMPORAL_ADDRESS, when set,
// wins over the local stack's. Usage: node --import tsx worker-process.ts, or startWorker() below.
// PAUSE_IN, PAUSE_WHEN and PAUSE_AT stop the worker inside one activity call, where a crash would
// land (see pauseInside below); FAIL_AT makes one call of that activity fail (activities/faults.ts).
// WORKFLOW_BUNDLE names a workflow bundle the test built once (bundleWorkflowCode), so that many
// workers start without each bundling the workflows again.
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Context, heartbeat, sleep } from '@temporalio/activity';
import { NativeConnection, Worker } from '@temporalio/worker';
import type pg from 'pg';
import { createActivities } from '../../activities/index.js';
import { createWorker } from '../../bot/worker.js';
import type { ChatMessage, ChatPort } from '../../shared/chat.js';
import type { ChatTarget } from '../../shared/model.js';
import { closeActivityDeps } from '../../activities/deps.js';
import { depsOn } from './deps.js';
import { repoRoot, testSettings } from './settings.js';

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves once the worker printed `text`; fails if it exits first or `ms` pass. */
  waitFor(text: string, ms: number): Promise<void>;
  exited(): boolean;
  kill(): void;
}

/** Runs this file as a worker in a child process with `env` added to the test's environment. */
export function startWorker(env: Record<string, string>): WorkerProcess {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'support', 'worker-process.ts')], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    output: () => output,
    exited,
    kill: () => void (exited() || child.kill('SIGKILL')),
    async waitFor(text, ms) {
      const deadline = Date.now() + ms;
      while (!output.includes(text)) {
        if (Date.now() > deadline) throw new Error(`worker did not print "${text}" in ${ms} ms:\n${output}`);
        if (exited()) throw new Error(`worker exited:\n${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
  };
}

interface ChatLine {
  target: ChatTarget;
  message: ChatMessage;
  ref: string;
}

/** Posts get a reference unique across worker processes; edits keep theirs. */
function chatLog(file: string): ChatPort {
  let posted = 0;
  return {
    async send(target, message) {
      const ref = target.messageRef ?? `${process.pid}-${++posted}`;
      appendFileSync(file, `${JSON.stringify({ target, message, ref } satisfies ChatLine)}\n`);
      return ref;
    },
  };
}

/** What a channel shows in the end, from a CHAT_LOG: each message posted there, as last edited. */
export function channelView(file: string, channel: string): Map<string, ChatMessage> {
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  const view = new Map<string, ChatMessage>();
  for (const line of lines.map((l) => JSON.parse(l) as ChatLine)) {
    if (line.target.channel === channel) view.set(line.ref, line.message);
  }
  return view;
}

/**
 * Where a worker stops inside an activity, as a crash would find it. `activity` is the activity's
 * name and `when` the input fields a call must have (`{"engine":"mysql"}`); `at` says where in it:
 * - `after:<table>#<n>`: once the call's n-th write to that table of envbot's store has committed;
 * - `before:<table>#<n>`: just before that write is sent (the work before it is done);
 * - `beat#<n>`: at the call's n-th heartbeat (long activities beat after each piece of work);
 * - `returned`: once the real activity has returned, before Temporal hears of it.
 */
export interface PausePoint {
  activity: string;
  when?: Record<string, unknown>;
  at: string;
}

/**
 * Stops the whole process where it stands: no more statements, timers, heartbeats or completions
 * reach any server, as if the machine had frozen. It prints where first; the test then SIGKILLs it.
 */
function freeze(where: string): never {
  writeSync(1, `paused in ${where}\n`);
  for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}

type Activity = (input: Record<string, unknown>) => Promise<unknown>;

/** `activities` with `point.activity` wrapped so its matching call freezes the worker at `point.at`. */
export function pauseInside<T extends object>(activities: T, storePool: pg.Pool, point: PausePoint): T {
  const m = /^(?:(after|before):(\w+)#(\d+)|beat#(\d+)|returned)$/.exec(point.at);
  if (!m) throw new Error(`PAUSE_AT "${point.at}" is not after:<table>#<n>, before:<table>#<n>, beat#<n> or returned`);
  const real = (activities as Record<string, Activity>)[point.activity];
  if (!real) throw new Error(`PAUSE_IN: no activity "${point.activity}"`);
  const [, side, table = '', n, beats] = m;
  const where = (what: string) => `${point.activity}${point.when ? ` ${JSON.stringify(point.when)}` : ''} ${point.at}: ${what}`;
  /** Writes per table of the one call that pauses. */
  const call = new AsyncLocalStorage<Map<string, number>>();
  if (side) {
    const query = storePool.query.bind(storePool) as (...args: unknown[]) => Promise<unknown>;
    storePool.query = (async (...args: unknown[]) => {
      const writes = call.getStore();
      const sql = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
      const written = writes && /^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)/i.exec(sql ?? '')?.[1];
      if (!writes || written !== table) return query(...args);
      const count = (writes.get(table) ?? 0) + 1;
      writes.set(table, count);
      if (side === 'before' && count === Number(n)) freeze(where(`before ${sql!.trim().split(/\s+/).slice(0, 3).join(' ')} (write ${count})`));
      const result = await query(...args);
      if (side === 'after' && count === Number(n)) freeze(where(`after ${sql!.trim().split(/\s+/).slice(0, 3).join(' ')} (write ${count})`));
      return result;
    }) as typeof storePool.query;
  }
  const matches = (input: Record<string, unknown>) => Object.entries(point.when ?? {}).every(([k, v]) => input?.[k] === v);
  const paused: Activity = (input) => {
    if (!matches(input)) return real(input);
    return call.run(new Map(), async () => {
      if (beats) {
        const ctx = Context.current();
        const beat = ctx.heartbeat;
        let count = 0;
        Object.defineProperty(ctx, 'heartbeat', {
          value: (details?: unknown) => {
            beat(details);
            if (++count === Number(beats)) freeze(where(`heartbeat ${JSON.stringify(details)}`));
          },
        });
      }
      const result = await real(input);
      if (point.at === 'returned') freeze(where('the activity returned'));
      return result;
    });
  };
  return { ...activities, [point.activity]: paused };
}

async function main(): Promise<void> {
  const { TASK_QUEUE, STORE_URL, SEED_PAUSE_MS, CHAT_LOG, PAUSE_IN, PAUSE_WHEN, PAUSE_AT, FAIL_AT, WORKFLOW_BUNDLE } = process.env;
  if (!TASK_QUEUE || !STORE_URL) throw new Error('TASK_QUEUE and STORE_URL are required');

  const made = depsOn(STORE_URL, 'worker-process');
  if (FAIL_AT) made.faults.failAt(FAIL_AT, { times: 1 });
  const deps = CHAT_LOG ? { ...made.deps, chat: chatLog(CHAT_LOG) } : made.deps;
  const real = createActivities(deps);
  const pause = Number(SEED_PAUSE_MS ?? 0);
  const activities = {
    ...real,
    async seedSql(input: Parameters<typeof real.seedSql>[0]) {
      const result = await real.seedSql(input);
      process.stdout.write(`seeded ${input.engine}\n`);
      for (let waited = 0; waited < pause; waited += 500) {
        heartbeat({ pausedMs: waited });
        await sleep(500);
      }
      return result;
    },
  };
  const registered = PAUSE_IN
    ? pauseInside(activities, made.store.pool, { activity: PAUSE_IN, at: PAUSE_AT ?? 'returned', ...(PAUSE_WHEN ? { when: JSON.parse(PAUSE_WHEN) as Record<string, unknown> } : {}) })
    : activities;
  const settings = testSettings();
  // With a bundle: the worker createWorker makes, over that bundle instead of one of its own.
  const worker = WORKFLOW_BUNDLE
    ? await Worker.create({
        connection: await NativeConnection.connect({ address: settings.temporal.address }),
        namespace: settings.temporal.namespace,
        taskQueue: TASK_QUEUE,
        workflowBundle: { codePath: WORKFLOW_BUNDLE },
        activities: registered,
      })
    : (await createWorker({ settings, deps, taskQueue: TASK_QUEUE, activities: registered })).worker;
  process.stdout.write('worker ready\n');
  await worker.run();
  // The worker's database and Kubernetes clients would otherwise keep the process alive after a shutdown.
  await closeActivityDeps(deps);
  await made.store.close();
}

// Run as a program, not when a test imports startWorker.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
