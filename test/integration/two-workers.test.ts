// Two envbot workers share one task queue; eight environments are created while one worker is
// SIGKILLed in the middle of a seed: the other finishes all eight, each once, each with one card.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvbotCore } from '../../bot/core/core.js';
import type { Requester } from '../../shared/model.js';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { depsOn, uniqueEnv } from '../support/deps.js';
import { leftovers } from '../support/inspect.js';
import { endWorkflowsOn } from '../support/leftover-workflows.js';
import { ensureSharedSecrets } from '../support/shared-secrets.js';
import { testSettings } from '../support/settings.js';
import { channelView, startWorker, type WorkerProcess } from '../support/worker-process.js';

const requester: Requester = { id: 'cli:test', platform: 'cli' };
const COUNT = 8;

describe('two workers on one task queue, one killed while eight environments are created', () => {
  const dir = mkdtempSync(join(tmpdir(), 'envbot-two-workers-'));
  const chatLog = join(dir, 'chat.jsonl');
  let storeDb: ScratchDatabase;
  let connection: Connection;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    storeDb = await scratchPostgres('store_two_workers', { migrate: true });
    const { deps, store } = depsOn(storeDb.url, 'two-workers-setup');
    await ensureSharedSecrets(deps);
    await store.close();
    connection = await Connection.connect({ address: testSettings().temporal.address });
  });

  afterAll(async () => {
    for (const w of workers) w.kill();
    await connection?.close();
    await storeDb?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the survivor makes all eight ready, each resource once and one card each', async () => {
    const taskQueue = `two-workers-${randomUUID()}`;
    const { deps, store } = depsOn(storeDb.url, 'two-workers-test');
    const client = new Client({ connection });
    const core = new EnvbotCore({ client, store, catalogue: deps.catalogue.catalogue, taskQueue });
    const env = { TASK_QUEUE: taskQueue, STORE_URL: storeDb.url, CHAT_LOG: chatLog };
    try {
      // The doomed worker holds every seed it takes (heartbeating), so the kill lands inside one.
      const doomed = startWorker({ ...env, SEED_PAUSE_MS: '300000' });
      const survivor = startWorker({ ...env, SEED_PAUSE_MS: '0' });
      workers.push(doomed, survivor);
      await Promise.all([doomed.waitFor('worker ready', 180_000), survivor.waitFor('worker ready', 180_000)]);

      const refs = Array.from({ length: COUNT }, () => uniqueEnv('projb', 'qa'));
      const started = await Promise.all(
        refs.map((ref) => core.create({ project: 'projb', stage: 'qa', suffix: ref.suffix!, requester, target: { platform: 'console', channel: `C-${ref.suffix}` } })),
      );
      // Each environment seeds PostgreSQL and MySQL: sixteen seeds, shared between the two workers.
      await doomed.waitFor('seeded', 300_000);
      doomed.child.kill('SIGKILL');
      await new Promise((r) => (doomed.exited() ? r(undefined) : doomed.child.once('exit', r)));
      const readyAtKill = (await Promise.all(refs.map((r) => store.getEnvironment(r.environment)))).filter((e) => e?.state === 'ready').length;
      expect(readyAtKill).toBeLessThan(COUNT);

      const results = await Promise.all(started.map((s) => s.handle.result()));
      expect(results.map((r) => r.status)).toEqual(Array(COUNT).fill('ready'));
      expect(survivor.exited()).toBe(false);
      // The survivor took over seeds the doomed one had begun (it was killed holding one).
      expect(survivor.output()).toMatch(/seeded (mysql|postgres)/);

      for (const ref of refs) {
        expect((await store.getEnvironment(ref.environment))?.state).toBe('ready');
        const view = channelView(chatLog, `C-${ref.suffix}`);
        expect([...view.values()]).toEqual([expect.objectContaining({ kind: 'card', card: expect.objectContaining({ environment: ref.environment, status: 'ready' }) })]);
        const found = await leftovers({ deps }, ref);
        expect(new Set(found).size).toBe(found.length);
        for (const kind of ['postgres database', 'postgres role', 'mysql database', 'mysql user', 'mongo database', 'mongo user', 'redis index', 'kubernetes namespace']) {
          expect(found.filter((f) => f.startsWith(kind)), `${ref.environment}: ${kind}`).toHaveLength(1);
        }
      }
      // Every environment has a Redis index of its own.
      const indexes = await Promise.all(refs.map((r) => store.redisIndexOf('main', r.environment)));
      expect(new Set(indexes).size).toBe(COUNT);

      const destroyed = await Promise.all(refs.map((ref) => core.destroy({ environment: ref.environment, requester })));
      await Promise.all(destroyed.map((d) => d.handle.result()));
      for (const ref of refs) expect(await leftovers({ deps }, ref), ref.environment).toEqual([]);
    } finally {
      // The storage copies end at their next look, after the test: ended here, while the survivor runs.
      await endWorkflowsOn(client, taskQueue);
      await store.close();
    }
  }, 900_000);
});
