// One operation at a time per environment: a destroy that lands while a Retry (a new create of the
// same name) builds, or an expiry that comes due while a long reset runs, waits or is refused with
// what is running. Each race ends with the environment ready or destroyed, nothing left behind,
// and no card in the channel saying otherwise. The requests are started while no worker runs (a
// backlog), so the core's own checks, made before either workflow ran, let both through.
import { WorkflowIdConflictPolicy } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createWorker } from '../../bot/worker.js';
import type { ChatMessage } from '../../shared/chat.js';
import type { ChatTarget, EnvRef, Requester } from '../../shared/model.js';
import { workflowId } from '../../shared/names.js';
import { environmentLifecycle } from '../../workflows/lifecycle.js';
import { uniqueEnv } from '../support/deps.js';
import { leftovers } from '../support/inspect.js';
import { provisioningHarness, type Harness } from '../support/provisioning.js';
import { testSettings } from '../support/settings.js';
import { until } from '../support/slack.js';

const requester: Requester = { id: 'cli:test', platform: 'cli' };

/** What a message in the channel says the environment is, if it says. */
function claim(m: ChatMessage): 'ready' | 'destroyed' | undefined {
  if (m.kind === 'card') return m.card.status === 'ready' ? 'ready' : undefined;
  if (m.kind !== 'notice') return undefined;
  if (/ was destroyed \(/.test(m.text)) return 'destroyed';
  if (/ re-seeded \(/.test(m.text)) return 'ready';
  return undefined;
}

describe('one operation at a time per environment', () => {
  let h: Harness;
  let stopWorker: (() => Promise<void>) | undefined;

  /** A worker on the harness's task queue; until it runs, requests queue up. */
  async function startWorker(): Promise<void> {
    const { worker, connection } = await createWorker({ settings: testSettings(), deps: h.deps, taskQueue: h.taskQueue });
    const running = worker.run();
    stopWorker = async () => {
      worker.shutdown();
      await running;
      await connection.close();
      stopWorker = undefined;
    };
  }

  /** The messages about `env` sent since `from` (an index into the chat's record), as they stand in the channel now. */
  function channel(env: string, from: number, target: ChatTarget): { ref: string; message: ChatMessage; at: number }[] {
    const latest = new Map<string, { ref: string; message: ChatMessage; at: number }>();
    h.chat.sent.slice(from).forEach((s, at) => {
      if (s.target.channel !== target.channel) return;
      const about = s.message.kind === 'progress' ? s.message.progress.environment : s.message.kind === 'card' ? s.message.card.environment : s.message.kind === 'alert' ? s.message.alert.environment : s.message.environment;
      if (about === env) latest.set(s.ref, { ref: s.ref, message: s.message, at });
    });
    return [...latest.values()];
  }

  /** The environment ended ready or destroyed, as nothing or everything, and the channel's last word agrees. */
  async function expectConsistent(ref: EnvRef, from: number, target: ChatTarget): Promise<'ready' | 'destroyed'> {
    const state = (await h.deps.store.getEnvironment(ref.environment))?.state;
    expect(['ready', 'destroyed']).toContain(state);
    const left = await leftovers(h, ref);
    if (state === 'destroyed') expect(left).toEqual([]);
    else expect(left).toEqual(expect.arrayContaining([expect.stringMatching(/^kubernetes namespace /), expect.stringMatching(/^mongo database /)]));
    const claims = channel(ref.environment, from, target)
      .map((m) => ({ ...m, says: claim(m.message) }))
      .filter((m) => m.says)
      .sort((a, b) => a.at - b.at);
    expect(claims.length).toBeGreaterThan(0);
    expect(claims.at(-1)!.says).toBe(state);
    // Never "ready" (a card, a reset done) after "destroyed".
    const destroyedAt = claims.findIndex((c) => c.says === 'destroyed');
    if (destroyedAt >= 0) expect(claims.slice(destroyedAt).map((c) => c.says)).toEqual(claims.slice(destroyedAt).map(() => 'destroyed'));
    return state as 'ready' | 'destroyed';
  }

  const settle = (p: Promise<unknown>) => p.then(() => 'ok' as const, (e: unknown) => e as Error);
  /** A create (or a Retry) of `ref`, asked from `target`. */
  const create = (ref: EnvRef, target: ChatTarget) => h.core.create({ project: ref.project, stage: ref.stage, suffix: ref.suffix!, requester, target });

  /** A new environment whose create failed and was rolled back (its card offers Retry); the worker runs. */
  async function failedEnvironment(channel: string) {
    const ref = uniqueEnv('proja', 'qa');
    const target: ChatTarget = { platform: 'console', channel: `${channel}-${ref.suffix}` };
    await startWorker();
    // It fails at its first step, before any namespace is made, so a Retry of the same name starts clean.
    h.faults.failAt('createSecrets', { times: 1 });
    await settle((await create(ref, target)).handle.result());
    h.faults.clear();
    const failed = await h.core.find(ref.environment);
    expect(failed.state).toBe('failed');
    return { ref, target, failed };
  }

  beforeAll(async () => {
    h = await provisioningHarness('operations', { runWorker: false });
  });

  afterEach(async () => {
    h.faults.clear();
    await stopWorker?.();
  });

  afterAll(async () => {
    await stopWorker?.();
    // The harness's own worker never ran; run it down so its connection can close.
    if (h) {
      const idle = h.worker.run();
      h.worker.shutdown();
      await idle;
    }
    await h?.stop();
  });

  it('a Retry and a destroy of the same environment, queued together, end as one of them', async () => {
    const { ref, target, failed } = await failedEnvironment('C-retry');
    await stopWorker!();

    const from = h.chat.sent.length;
    const retry = await create(ref, target);
    const destroy = await h.core.destroy({ environment: failed, requester, target });
    await startWorker();
    const outcomes = await Promise.all([settle(retry.handle.result()), settle(destroy.handle.result())]);

    const state = await expectConsistent(ref, from, target);
    // The loser was refused with what is running, and said so.
    if (state === 'ready') expect(outcomes[1]).toBeInstanceOf(Error);
    else expect(outcomes[0]).toBeInstanceOf(Error);
    if (state === 'ready') await (await h.core.destroy({ environment: ref.environment, requester })).handle.result();
    expect(await leftovers(h, ref)).toEqual([]);
  }, 180_000);

  it('a destroy that arrives after the Retry began building waits its turn or is refused; it never overtakes', async () => {
    const { ref, target, failed } = await failedEnvironment('C-retry2');

    const from = h.chat.sent.length;
    // The Retry is slow to build; the destroy was asked from the failed card, read before the Retry began.
    h.faults.failAt('seedMongo', { times: 2, retryable: true });
    const retry = await create(ref, target);
    await until('the Retry to claim the environment', async () => (await h.deps.store.getEnvironment(ref.environment))?.state === 'creating');
    const destroy = await h.core.destroy({ environment: failed, requester, target });
    const [built, destroyed] = await Promise.all([settle(retry.handle.result()), settle(destroy.handle.result())]);

    expect(await expectConsistent(ref, from, target)).toBe('ready');
    expect(built).toBe('ok');
    expect(destroyed).toBeInstanceOf(Error);
    const refusal = channel(ref.environment, from, target).find((m) => m.message.kind === 'notice' && /was not destroyed/.test(m.message.text));
    expect(refusal?.message).toMatchObject({ text: expect.stringMatching(/is being built/) });
    await (await h.core.destroy({ environment: ref.environment, requester })).handle.result();
    expect(await leftovers(h, ref)).toEqual([]);
  }, 180_000);

  it.each([
    ['the reset began first', true],
    ['both were queued together', false],
  ])('an expiry that comes due during a long reset destroys the environment once the reset is done (%s)', async (_what, resetFirst) => {
    const ref = uniqueEnv('proja', 'qa');
    const target: ChatTarget = { platform: 'console', channel: `C-expiry-${ref.suffix}` };
    await startWorker();
    await (await create(ref, target)).handle.result();
    if (!resetFirst) await stopWorker!();

    const from = h.chat.sent.length;
    // Each attempt to seed Mongo fails twice before it works: the reset runs for several seconds.
    h.faults.failAt('seedMongo', { times: 3, retryable: true });
    const reset = await h.core.resetDatabases({ environment: ref.environment, which: 'all', requester, target });
    if (resetFirst) await until('the reset to begin', async () => (await h.deps.store.getEnvironment(ref.environment))?.state === 'resetting');
    // The deadline passes now: the lifecycle the create started is replaced by one that is due.
    const lifecycle = await h.client.workflow.start(environmentLifecycle, {
      taskQueue: h.taskQueue,
      workflowId: workflowId('lifecycle', ref.environment),
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.TERMINATE_EXISTING,
      args: [{ ref, expiresAt: new Date().toISOString(), warnBefore: '1d', target }],
    });
    if (!resetFirst) await startWorker();
    await Promise.all([settle(reset.handle.result()), settle(lifecycle.result())]);

    expect(await expectConsistent(ref, from, target)).toBe('destroyed');
  }, 240_000);
});
