// Expiry on Temporal's time-skipping test server: the warning comes ahead of time, an extension
// moves the deadline, and the environment is destroyed when due. The activities here only record
// their calls: this test is about the workflow's timers; the real activities have their own tests.
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH } from '../../bot/worker.js';
import type { ChatMessage } from '../../shared/chat.js';
import { environmentLifecycle, expiryQuery, extendSignal } from '../../workflows/lifecycle.js';
import { recordHistory } from '../support/histories.js';
import { required, testSettings } from '../support/settings.js';
import { destructionOrder } from '../../shared/resources.js';

const DAY = 86_400_000;

describe('environmentLifecycle (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  const calls: { name: string; at: number; arg: unknown }[] = [];

  const record = (name: string) => async (arg: unknown) => {
    calls.push({ name, at: Date.now(), arg });
    return name === 'notify' ? 'msg-1' : {};
  };
  const activities = Object.fromEntries(
    ['setExpiry', 'notify', 'beginOperation', 'finishOperation', ...new Set(destructionOrder().map((r) => r.delete))].map((n) => [n, record(n)]),
  );

  beforeAll(async () => {
    const path = required(testSettings().env.TEMPORAL_TEST_SERVER_PATH, 'TEMPORAL_TEST_SERVER_PATH');
    env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
  }, 120_000);

  afterAll(async () => {
    await env?.teardown();
  });

  it('warns a day ahead, honours an extension, and destroys the environment when due', async () => {
    const taskQueue = `lifecycle-${randomUUID()}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: WORKFLOWS_PATH, activities });
    await worker.runUntil(async () => {
      const start = await env.currentTimeMs();
      const ref = { environment: 'projb-qa', project: 'projb', stage: 'qa' };
      const handle = await env.client.workflow.start(environmentLifecycle, {
        taskQueue,
        workflowId: `lifecycle-${randomUUID()}`,
        args: [{ ref, expiresAt: new Date(start + 3 * DAY).toISOString(), warnBefore: '1d', target: { platform: 'console', channel: 'C1' } }],
      });

      await env.sleep(2 * DAY + 3_600_000); // past the warning time (2 days in), before expiry
      const warnings = () =>
        calls
          .filter((c) => c.name === 'notify')
          .map((c) => (c.arg as { message: ChatMessage }).message)
          .filter((m) => m.kind === 'notice' && m.text.includes('expires at'));
      expect(warnings()).toHaveLength(1);
      expect(warnings()[0]).toMatchObject({ kind: 'notice', text: expect.stringMatching(/projb-qa expires at .*extend it/) });
      expect(calls.some((c) => c.name === 'beginOperation')).toBe(false);

      const until = new Date(start + 6 * DAY).toISOString();
      await handle.signal(extendSignal, { until, by: 'slack:U1' });
      expect(await handle.query(expiryQuery)).toMatchObject({ expiresAt: until, extensions: 1 });

      await env.sleep(2 * DAY); // past the first deadline: nothing is destroyed
      expect(calls.some((c) => c.name === 'beginOperation')).toBe(false);
      expect(calls.find((c) => c.name === 'setExpiry')?.arg).toEqual({ ref, expiresAt: until });

      const result = await handle.result(); // time skips to the new deadline
      expect(result.extensions).toBe(1);
      expect(Date.parse(result.destroyedAt)).toBeGreaterThanOrEqual(start + 6 * DAY);
      expect(warnings()).toHaveLength(2); // a second warning for the new deadline
      // The destroy that expiry starts reports to the same channel.
      const last = calls.filter((c) => c.name === 'notify').at(-1)!.arg as { message: ChatMessage };
      expect(last.message).toMatchObject({ kind: 'notice', text: expect.stringMatching(/^projb-qa was destroyed \(asked by system:expiry, /) });
      const begin = calls.find((c) => c.name === 'beginOperation');
      expect(begin?.arg).toMatchObject({ ref, operation: 'expire' });
      await recordHistory(env.client, handle.workflowId, 'lifecycle-extended-then-expired');
      // Every row's delete, in the exact reverse of creation (the table's order; deleteSql twice: MySQL and PostgreSQL).
      expect(calls.filter((c) => c.name.startsWith('delete')).map((c) => c.name)).toEqual(destructionOrder().map((r) => r.delete));
    });
  });
});
