// The Temporal server is stopped and started again (same SQLite file) in the middle of a create:
// the create completes, and the channel ends with exactly one card. The server is a dev server of
// this test's own, on its own port, so the shared one the other tests use is never touched.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvbotCore } from '../../bot/core/core.js';
import type { Requester } from '../../shared/model.js';
import { createContext } from '../../scripts/services/lib/context.js';
import { freePortOffset, stopGroup } from '../../scripts/services/lib/proc.js';
import { temporal } from '../../scripts/services/servers/temporal.js';
import { down, up } from '../../scripts/services/stack.js';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { depsOn, uniqueEnv } from '../support/deps.js';
import { leftovers } from '../support/inspect.js';
import { ensureSharedSecrets } from '../support/shared-secrets.js';
import { channelView, startWorker, type WorkerProcess } from '../support/worker-process.js';

const requester: Requester = { id: 'cli:test', platform: 'cli' };

describe('a Temporal server restarted in the middle of a create', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'envbot-temporal-restart-'));
  const chatLog = join(stateDir, 'chat.jsonl');
  let portOffset: number;
  let storeDb: ScratchDatabase;
  let connection: Connection;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    portOffset = await freePortOffset(temporal.ports);
    const res = await up({ quiet: true, stateDir, portOffset, only: [temporal] });
    if (!res.ok) throw new Error(res.servers.map((s) => s.error).join('\n'));
    storeDb = await scratchPostgres('store_restart', { migrate: true });
    const { deps, store } = depsOn(storeDb.url, 'restart-setup');
    await ensureSharedSecrets(deps);
    await store.close();
    connection = await Connection.connect({ address: `127.0.0.1:${7233 + portOffset}` });
  }, 120_000);

  afterAll(async () => {
    for (const w of workers) w.kill();
    await connection?.close();
    await storeDb?.drop();
    await down({ quiet: true, stateDir, portOffset });
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('completes the create, with exactly one final card in the channel', async () => {
    const ctx = createContext({ quiet: true, stateDir, portOffset });
    const address = `127.0.0.1:${7233 + portOffset}`;
    const taskQueue = `restart-${randomUUID()}`;
    const { deps, store } = depsOn(storeDb.url, 'restart-test');
    const core = new EnvbotCore({ client: new Client({ connection }), store, catalogue: deps.catalogue.catalogue, taskQueue });
    const ref = uniqueEnv('projb', 'qa');
    const channel = `C-restart-${ref.suffix}`;
    try {
      // Seeding holds (heartbeating) for 25 s once its rows are in: the restart lands inside it.
      const worker = startWorker({ TASK_QUEUE: taskQueue, STORE_URL: storeDb.url, SEED_PAUSE_MS: '25000', CHAT_LOG: chatLog, TEMPORAL_ADDRESS: address });
      workers.push(worker);
      await worker.waitFor('worker ready', 180_000);
      const started = await core.create({ project: 'projb', stage: 'qa', suffix: ref.suffix!, requester, target: { platform: 'console', channel } });
      await worker.waitFor('seeded', 120_000);
      expect((await store.getEnvironment(ref.environment))?.state).toBe('creating');

      expect(await stopGroup(ctx.pidFile('temporal'))).toBe(true);
      expect(await temporal.ready(ctx)).toBe(false);
      await new Promise((r) => setTimeout(r, 3000));
      const again = await up({ quiet: true, stateDir, portOffset, only: [temporal] });
      expect(again.servers).toEqual([expect.objectContaining({ name: 'temporal', state: 'started' })]);

      const result = await started.handle.result();
      expect(result.status).toBe('ready');
      expect(worker.exited()).toBe(false);
      const env = await store.getEnvironment(ref.environment);
      expect(env?.state).toBe('ready');

      // The channel holds one message, the card, edited from the progress message.
      const view = channelView(chatLog, channel);
      const cards = [...view.values()].filter((m) => m.kind === 'card');
      expect(cards).toHaveLength(1);
      expect(cards[0]).toMatchObject({ kind: 'card', card: { environment: ref.environment, status: 'ready' } });
      expect(view.size).toBe(1);

      const destroyed = await core.destroy({ environment: ref.environment, requester });
      await destroyed.handle.result();
      expect(await leftovers({ deps }, ref)).toEqual([]);
    } finally {
      await store.close();
    }
  }, 420_000);
});
