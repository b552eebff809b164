// A worker in its own process, so a test can SIGKILL it mid-activity. Real activities over the
// test's store database; SEED_PAUSE_MS holds seedSql open (heartbeating) after its rows are
// written, so the kill lands in the middle of seeding. CHAT_LOG names a file that gets every chat
// message the worker sends, one JSON line each, for the test to read. TEMPORAL_ADDRESS, when set,
// wins over the local stack's. Usage: node --import tsx worker-process.ts, or startWorker() below.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { heartbeat, sleep } from '@temporalio/activity';
import { createActivities } from '../../activities/index.js';
import { createWorker } from '../../bot/worker.js';
import type { ChatMessage, ChatPort } from '../../shared/chat.js';
import type { ChatTarget } from '../../shared/model.js';
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

async function main(): Promise<void> {
  const { TASK_QUEUE, STORE_URL, SEED_PAUSE_MS, CHAT_LOG } = process.env;
  if (!TASK_QUEUE || !STORE_URL) throw new Error('TASK_QUEUE and STORE_URL are required');

  const made = depsOn(STORE_URL, 'worker-process');
  const deps = CHAT_LOG ? { ...made.deps, chat: chatLog(CHAT_LOG) } : made.deps;
  const real = createActivities(deps);
  const pause = Number(SEED_PAUSE_MS ?? 0);
  const { worker } = await createWorker({
    settings: testSettings(),
    deps,
    taskQueue: TASK_QUEUE,
    activities: {
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
    },
  });
  process.stdout.write('worker ready\n');
  await worker.run();
}

// Run as a program, not when a test imports startWorker.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
