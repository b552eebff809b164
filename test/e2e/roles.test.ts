// ENVBOT_ROLE splits envbot's process as the Helm chart's split.enabled runs it: `bot` serves chat and
// webhooks with no worker polling Temporal; `worker` polls the task queue and serves only /healthz
// and /metrics. Both migrate the same store, and both stop cleanly on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { freePort } from '../support/slack.js';
import { repoRoot, testSettings } from '../support/settings.js';

interface Proc {
  child: ChildProcess;
  port: number;
  output: string;
}

const taskQueue = `roles-test-${randomUUID()}`;
const token = randomBytes(32).toString('base64url');

async function start(role: 'bot' | 'worker', db: ScratchDatabase): Promise<Proc> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'bot', 'main.ts')], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: db.url, PORT: String(port), TEMPORAL_TASK_QUEUE: taskQueue, ENVBOT_ROLE: role, ALERTMANAGER_WEBHOOK_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p: Proc = { child, port, output: '' };
  child.stdout?.on('data', (d: Buffer) => (p.output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (p.output += d.toString()));
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`envbot (${role}) exited early:\n${p.output}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return p;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`envbot (${role}) did not become healthy:\n${p.output}`);
}

/** The identities polling the task queue for workflow tasks, as Temporal sees them. */
async function pollers(): Promise<string[]> {
  const settings = testSettings();
  const connection = await Connection.connect({ address: settings.temporal.address });
  try {
    const res = await connection.workflowService.describeTaskQueue({
      namespace: settings.temporal.namespace,
      // TASK_QUEUE_KIND_NORMAL, TASK_QUEUE_TYPE_WORKFLOW
      taskQueue: { name: taskQueue, kind: 1 },
      taskQueueType: 1,
    });
    return (res.pollers ?? []).map((p) => p.identity ?? '');
  } finally {
    await connection.close();
  }
}

describe('envbot split by ENVBOT_ROLE', () => {
  let db: ScratchDatabase;
  let bot: Proc;
  let worker: Proc | undefined;

  beforeAll(async () => {
    db = await scratchPostgres('roles_test');
    bot = await start('bot', db);
  }, 120_000);

  afterAll(async () => {
    for (const p of [bot, worker]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    await db?.drop();
  });

  it('bot: healthy without a worker, serves the webhooks, and nobody polls the task queue', async () => {
    const health = await (await fetch(`http://127.0.0.1:${bot.port}/healthz`)).json();
    expect(health).toEqual({ status: 'ok', checks: { store: 'ok', temporal: 'ok' } });
    // The route is on (ALERTMANAGER_WEBHOOK_TOKEN is set): an unauthenticated call is refused, not missing.
    expect((await fetch(`http://127.0.0.1:${bot.port}/webhooks/alertmanager`, { method: 'POST', body: '{}' })).status).toBe(401);
    expect(await pollers()).toEqual([]);
    expect(bot.output).toMatch(/no worker \(ENVBOT_ROLE=bot\)/);
  });

  it('worker: polls the task queue, checks its worker, and has no chat or webhook routes', async () => {
    worker = await start('worker', db);
    const health = await (await fetch(`http://127.0.0.1:${worker.port}/healthz`)).json();
    expect(health).toEqual({ status: 'ok', checks: { store: 'ok', temporal: 'ok', worker: 'ok' } });
    expect((await fetch(`http://127.0.0.1:${worker.port}/webhooks/alertmanager`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${worker.port}/metrics`)).status).toBe(200);
    // Temporal's view: the worker's process polls; the bot's does not.
    const deadline = Date.now() + 20_000;
    let seen: string[] = [];
    while (Date.now() < deadline && !(seen = await pollers()).some((id) => id.startsWith(`${worker!.child.pid}@`))) await new Promise((r) => setTimeout(r, 500));
    expect(seen.some((id) => id.startsWith(`${worker!.child.pid}@`))).toBe(true);
    expect(seen.some((id) => id.startsWith(`${bot.child.pid}@`))).toBe(false);
  }, 120_000);

  it('both stop cleanly on SIGTERM', async () => {
    for (const p of [bot, worker!]) {
      const exited = new Promise<number | null>((resolve) => p.child.once('exit', (code) => resolve(code)));
      p.child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(p.output).toMatch(/envbot stopped/);
    }
  }, 60_000);
});
