// The worker is killed (SIGKILL) in the middle of seeding: a new worker finishes the environment,
// with no duplicate rows or resources.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveEnv } from '../../activities/environment.js';
import { EnvbotCore } from '../../bot/core/core.js';
import type { Requester } from '../../shared/model.js';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { depsOn, uniqueEnv } from '../support/deps.js';
import { leftovers } from '../support/inspect.js';
import { endWorkflowsOn } from '../support/leftover-workflows.js';
import { ensureSharedSecrets } from '../support/shared-secrets.js';
import { repoRoot, testSettings } from '../support/settings.js';

const requester: Requester = { id: 'cli:test', platform: 'cli' };

function startWorker(env: Record<string, string>): { child: ChildProcess; output: () => string; waitFor: (text: string, ms: number) => Promise<void> } {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'support', 'worker-process.ts')], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const waitFor = async (text: string, ms: number) => {
    const deadline = Date.now() + ms;
    while (!output.includes(text)) {
      if (Date.now() > deadline) throw new Error(`worker did not print "${text}" in ${ms} ms:\n${output}`);
      if (child.exitCode !== null) throw new Error(`worker exited:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  return { child, output: () => output, waitFor };
}

describe('a worker killed mid-seeding', () => {
  let storeDb: ScratchDatabase;
  let connection: Connection;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    storeDb = await scratchPostgres('store_crash', { migrate: true });
    const { deps, store } = depsOn(storeDb.url, 'crash-setup');
    await ensureSharedSecrets(deps);
    await store.close();
    connection = await Connection.connect({ address: testSettings().temporal.address });
  });

  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await connection?.close();
    await storeDb?.drop();
  });

  it('is replaced by a new worker that finishes the environment without duplicates', async () => {
    const taskQueue = `crash-${randomUUID()}`;
    const { deps, store } = depsOn(storeDb.url, 'crash-test');
    const client = new Client({ connection });
    const core = new EnvbotCore({ client, store, catalogue: deps.catalogue.catalogue, taskQueue });
    const ref = uniqueEnv('projb', 'qa');
    try {
      const first = startWorker({ TASK_QUEUE: taskQueue, STORE_URL: storeDb.url, SEED_PAUSE_MS: '120000' });
      workers.push(first.child);
      await first.waitFor('worker ready', 60_000);
      const started = await core.create({ project: 'projb', stage: 'qa', suffix: ref.suffix!, requester });
      await first.waitFor('seeded', 90_000);
      first.child.kill('SIGKILL');
      await new Promise((r) => first.child.once('exit', r));

      const second = startWorker({ TASK_QUEUE: taskQueue, STORE_URL: storeDb.url, SEED_PAUSE_MS: '0' });
      workers.push(second.child);
      const result = await started.handle.result();
      expect(result.status).toBe('ready');
      expect(second.output()).toMatch(/seeded (mysql|postgres)/);

      // The CSV table holds each row once, although the first worker had loaded it already.
      const r = resolveEnv(deps.catalogue, ref);
      const csv = readFileSync(join(deps.catalogue.root, 'seeds/projb/postgres/orders/data/order_lines.csv'), 'utf8').trim().split('\n').length - 1;
      const admin = new URL(deps.catalogue.catalogue.servers.postgres.main!.url);
      admin.pathname = `/${r.names.postgresDatabase('orders')}`;
      const c = new pg.Client({ connectionString: admin.toString() });
      await c.connect();
      const { rows } = await c.query('SELECT count(*)::int AS n FROM order_lines');
      await c.end();
      expect(rows[0].n).toBe(csv);

      // Each resource once, in the systems and in the ledger.
      const found = await leftovers({ deps }, ref);
      expect(found.filter((f) => f.startsWith('postgres database'))).toHaveLength(1);
      expect(found.filter((f) => f.startsWith('mysql user'))).toHaveLength(1);
      expect(new Set(found).size).toBe(found.length);

      const destroyed = await core.destroy({ environment: ref.environment, requester });
      await destroyed.handle.result();
      expect(await leftovers({ deps }, ref)).toEqual([]);
    } finally {
      // The storage copy ends at its next look, after the test: ended here, while the second worker runs.
      await endWorkflowsOn(client, taskQueue);
      await store.close();
    }
  }, 300_000);
});
