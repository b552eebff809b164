// Expiry keeps trying: a real environment (real activities on the local servers) whose destroy at
// expiry fails twice is destroyed on the third try, and the channel hears of each failure once.
// Temporal's time-skipping server runs the days to the deadline and the waits between tries.
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { planFor } from '../../bot/core/plan.js';
import { WORKFLOWS_PATH } from '../../bot/worker.js';
import type { ChatTarget, Requester } from '../../shared/model.js';
import { workflowId } from '../../shared/names.js';
import { createEnvironment } from '../../workflows/create-environment.js';
import { testDeps, uniqueEnv, type TestDeps } from '../support/deps.js';
import { recordHistory } from '../support/histories.js';
import { leftovers } from '../support/inspect.js';
import { ensureSharedSecrets } from '../support/shared-secrets.js';
import { required, testSettings } from '../support/settings.js';

const requester: Requester = { id: 'cli:test', platform: 'cli' };

describe('expiry (time-skipping, real activities)', () => {
  let env: TestWorkflowEnvironment;
  let t: TestDeps;

  beforeAll(async () => {
    const path = required(testSettings().env.TEMPORAL_TEST_SERVER_PATH, 'TEMPORAL_TEST_SERVER_PATH');
    env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
    t = await testDeps('expiry');
    await ensureSharedSecrets(t.deps);
  }, 120_000);

  afterAll(async () => {
    await env?.teardown();
    await t?.close();
  });

  it('a destroy that fails twice at expiry is tried again until the environment is destroyed, with one alert per failure', async () => {
    const ref = uniqueEnv('proja', 'qa');
    const target: ChatTarget = { platform: 'console', channel: `C-expiry-${ref.suffix}` };
    const taskQueue = `expiry-${randomUUID()}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: WORKFLOWS_PATH, activities: createActivities(t.deps) });
    await worker.runUntil(async () => {
      const plan = planFor(t.deps.catalogue.catalogue, 'proja', 'qa', '2d');
      const created = await env.client.workflow.execute(createEnvironment, { taskQueue, workflowId: workflowId('create', ref.environment), args: [{ ref, requester, plan, target }] });
      expect(created.status).toBe('ready');
      const from = t.chat.sent.length;

      // The Mongo database cannot be removed, twice (a permanent failure each time, not retried by Temporal).
      t.faults.failAt('deleteMongo', { times: 2 });
      const lifecycle = env.client.workflow.getHandle(workflowId('lifecycle', ref.environment));
      await lifecycle.result(); // time skips to the deadline and through the waits between tries

      expect((await t.deps.store.getEnvironment(ref.environment))?.state).toBe('destroyed');
      expect(await leftovers(t, ref)).toEqual([]);
      // The messages in the channel as they stand (an edit replaces what its message said).
      const shown = new Map(t.chat.sent.slice(from).map((s) => [s.ref, s.message]));
      const notices = [...shown.values()].flatMap((m) => (m.kind === 'notice' ? [m.text] : []));
      const alerts = notices.filter((n) => n.includes('could not be fully destroyed'));
      expect(alerts).toHaveLength(2);
      for (const [i, alert] of alerts.entries()) {
        expect(alert).toMatch(new RegExp(`^${ref.environment} could not be fully destroyed \\(asked by system:expiry, .*\\): mongo: injected fault .* envbot tries again in ${i === 0 ? '1 minute' : '2 minutes'}\\.$`));
      }
      expect(notices.filter((n) => n.startsWith(`${ref.environment} was destroyed (asked by system:expiry`))).toHaveLength(1);
      await recordHistory(env.client, lifecycle.workflowId, 'lifecycle-expiry-tried-three-times');
    });
  }, 240_000);
});
