// `extend` cannot destroy: a project manager of projc (who may extend but not destroy) asking for
// 0m, 1m or anything earlier than the current expiry is refused with the allowed range, and on
// Temporal's time-skipping server the environment is still there past the time such an "extension"
// would have set, and past its old deadline once a real extension moved it. The chat core, the core
// and the store are real; the lifecycle's activities only record their calls (this is about who may
// move the deadline, not about what a destroy removes).
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatCore } from '../../bot/core/chat-core.js';
import { EnvbotCore } from '../../bot/core/core.js';
import type { Actor } from '../../bot/core/model.js';
import { WORKFLOWS_PATH } from '../../bot/worker.js';
import { workflowId } from '../../shared/names.js';
import { environmentLifecycle, expiryQuery } from '../../workflows/lifecycle.js';
import { testDeps, type TestDeps } from '../support/deps.js';
import { required, testSettings } from '../support/settings.js';
import { destructionOrder } from '../../shared/resources.js';

const DAY = 86_400_000;
const PM: Actor = { platform: 'slack', userId: 'U0PM0000002', groups: [], channel: 'C0PROJC0001' };
const DEVOPS: Actor = { platform: 'slack', userId: 'U0OPS000001', groups: [], channel: 'C0PROJC0001' };

describe('extension policy (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  let t: TestDeps;
  const calls: string[] = [];
  const activities = Object.fromEntries(
    ['setExpiry', 'notify', 'beginOperation', 'finishOperation', ...new Set(destructionOrder().map((r) => r.delete))].map((n) => [
      n,
      async () => {
        calls.push(n);
        return n === 'notify' ? 'msg-1' : {};
      },
    ]),
  );

  beforeAll(async () => {
    const path = required(testSettings().env.TEMPORAL_TEST_SERVER_PATH, 'TEMPORAL_TEST_SERVER_PATH');
    env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
    t = await testDeps('extend_policy');
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await env?.teardown();
  });

  it('refuses what would shorten the life of the environment, and it survives the time those would have set', async () => {
    const taskQueue = `extend-${randomUUID()}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: WORKFLOWS_PATH, activities });
    const catalogue = t.deps.catalogue.catalogue;
    const core = new EnvbotCore({ client: env.client, store: t.deps.store, catalogue, taskQueue });
    const chat = new ChatCore({ core, store: t.deps.store, catalogue, log: pino({ level: 'silent' }) });
    const name = `projc-qa-${randomUUID().slice(0, 6)}`;
    const ref = { environment: name, project: 'projc', stage: 'qa', suffix: name.split('-')[2]! };

    await worker.runUntil(async () => {
      // A ready environment expiring in 3 days, with its lifecycle running (as a create leaves it).
      const start = await env.currentTimeMs();
      const expiresAt = new Date(start + 3 * DAY);
      await t.deps.store.claimEnvironment({ name, project: 'projc', stage: 'qa', suffix: ref.suffix, createdBy: 'slack:U0PM0000002', runId: 'test:run' });
      await t.deps.store.setEnvironmentState(name, 'ready', { expiresAt });
      const lifecycle = await env.client.workflow.start(environmentLifecycle, {
        taskQueue, workflowId: workflowId('lifecycle', name), args: [{ ref, expiresAt: expiresAt.toISOString(), warnBefore: '1d' }],
      });
      const target = { platform: 'slack' as const, channel: PM.channel };

      for (const duration of ['0m', '1m', '59m']) {
        const reply = await chat.handle(PM, { name: 'extend', environment: name, duration }, target);
        expect(reply).toMatchObject({ kind: 'error', text: expect.stringMatching(/projc environments can be kept from 1h to 30d; ".*" is outside that/) });
      }
      for (const duration of ['1h', '1d', '2d']) {
        const reply = await chat.handle(PM, { name: 'extend', environment: name, duration }, target);
        expect(reply).toMatchObject({ kind: 'error', text: expect.stringMatching(/already expires at .*an extension never brings it closer \(that needs destroy permission\)/) });
      }
      expect(await chat.handle(PM, { name: 'extend', environment: name, duration: '99999w' }, target)).toMatchObject({ kind: 'error', text: expect.stringMatching(/from 1h to 30d/) });
      // Nothing moved: the store and the lifecycle still say 3 days.
      expect((await t.deps.store.getEnvironment(name))?.expiresAt?.toISOString()).toBe(expiresAt.toISOString());
      expect((await lifecycle.query(expiryQuery)).expiresAt).toBe(expiresAt.toISOString());

      await env.sleep(DAY); // well past any deadline the refused requests would have set
      expect(calls).not.toContain('beginOperation');

      // A real extension by the pm moves it later; one by devops (who may destroy) may bring it closer.
      const later = await chat.handle(PM, { name: 'extend', environment: name, duration: '5d' }, target);
      expect(later).toMatchObject({ kind: 'extended' });
      await env.sleep(3 * DAY); // past the old deadline: still there
      expect(calls).not.toContain('beginOperation');
      expect((await t.deps.store.getEnvironment(name))?.state).toBe('ready');
      const closer = await chat.handle(DEVOPS, { name: 'extend', environment: name, duration: '1h' }, target);
      expect(closer).toMatchObject({ kind: 'extended' });
      await lifecycle.result(); // time skips to the new, closer deadline, and the expiry runs
      expect(calls).toContain('beginOperation');
    });
  });
});
