// Two ways a final card could be lost after its send was queued, with a real store and the chat
// port as a function (a 500 after a 429, or an edit budget spent on one worker, are sequences no
// local server produces on demand):
// - still queued when its activity stops waiting (a long Retry-After), then failing for another
//   reason: the notify activity has returned, so Temporal will not retry it; the worker sends it
//   again itself;
// - a progress state held back on one worker (its edit budget spent) while another worker sends the
//   card: it must not land afterwards and overwrite the card.
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINAL_WAIT_MS, createNotifyActivities } from '../../activities/notify.js';
import { Outbox, RateLimitedError } from '../../activities/outbox.js';
import type { ChatMessage } from '../../shared/chat.js';
import type { ChatTarget } from '../../shared/model.js';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { depsOn } from '../support/deps.js';

const card = (env: string): ChatMessage => ({ kind: 'card', card: { environment: env, project: 'projb', stage: 'qa', status: 'ready', urls: [], databases: [] } });

describe('notify: final cards are never lost or overwritten', () => {
  let storeDb: ScratchDatabase;
  let made: ReturnType<typeof depsOn>;

  beforeAll(async () => {
    storeDb = await scratchPostgres('store_notify_final', { migrate: true });
    made = depsOn(storeDb.url, 'notify-final');
  });

  afterAll(async () => {
    await made?.store.close();
    await storeDb?.drop();
  });

  it('a progress state one worker held back is dropped once another worker sent the card', async () => {
    const shown: string[] = [];
    const target: ChatTarget = { platform: 'slack', channel: 'C0TWOW00001' };
    const port = {
      async send(t: ChatTarget, m: ChatMessage): Promise<string> {
        shown.push(`${t.messageRef ? 'edit' : 'post'} ${m.kind === 'progress' ? `progress ${m.progress.steps.length}` : m.kind}`);
        return t.messageRef ?? 'ts-two-1';
      },
    };
    // Worker A may edit once a second (no burst) and spends it; worker B has room.
    const a = createNotifyActivities({ ...made.deps, chat: port, outbox: new Outbox({ postIntervalMs: 0, editsPerMinute: 60, editBurst: 1, concurrency: 2 }) }).notify;
    const b = createNotifyActivities({ ...made.deps, chat: port, outbox: new Outbox({ postIntervalMs: 0, editsPerMinute: 6000, editBurst: 100, concurrency: 2 }) }).notify;
    // Both run activities of the same workflow run: the same message key.
    const env = () => new MockActivityEnvironment({ workflowExecution: { workflowId: 'envbot/projb-qa-two/create', runId: 'run-two' } } as never);
    const progress = (n: number): ChatMessage => ({ kind: 'progress', progress: { environment: 'projb-qa-two', operation: 'create', steps: Array.from({ length: n }, (_, i) => ({ id: `s${i}`, title: `step ${i}`, status: 'done' })) } as never });
    const ref = 'ts-two-1';
    expect(await env().run(a, { target, message: progress(1), kind: 'progress' })).toBe('');
    await new Promise((r) => setTimeout(r, 200)); // posted
    await env().run(a, { target: { ...target, messageRef: ref }, message: progress(2), kind: 'progress' }); // edited: A's one edit spent
    await new Promise((r) => setTimeout(r, 100));
    await env().run(a, { target: { ...target, messageRef: ref }, message: progress(3), kind: 'progress' }); // held by A for about a second
    expect(await env().run(b, { target: { ...target, messageRef: ref }, message: card('projb-qa-two'), kind: 'progress' })).toBe(ref);
    await new Promise((r) => setTimeout(r, 1500)); // A's turn came
    expect(shown).toEqual(['post progress 1', 'edit progress 2', 'edit card']);
    // A later progress state, on either worker, is dropped at once: the card stands.
    await env().run(a, { target: { ...target, messageRef: ref }, message: progress(4), kind: 'progress' });
    await env().run(b, { target: { ...target, messageRef: ref }, message: progress(4), kind: 'progress' });
    await new Promise((r) => setTimeout(r, 1500));
    expect(shown).toEqual(['post progress 1', 'edit progress 2', 'edit card']);
  });

  it("a progress state another worker sends while this one's card is on its way waits for it, and is then dropped", async () => {
    // The card's edit takes 50 ms, the progress edit 300 ms: without one-at-a-time per message, the
    // progress state (looked at the store before the card was recorded) would land after the card.
    const shown: string[] = [];
    const target: ChatTarget = { platform: 'slack', channel: 'C0RACE00001', messageRef: 'ts-race-1' };
    const port = {
      async send(_t: ChatTarget, m: ChatMessage): Promise<string> {
        await new Promise((r) => setTimeout(r, m.kind === 'progress' ? 300 : 50));
        shown.push(m.kind);
        return 'ts-race-1';
      },
    };
    const roomy = () => new Outbox({ postIntervalMs: 0, editsPerMinute: 6000, editBurst: 100, concurrency: 2 });
    const a = createNotifyActivities({ ...made.deps, chat: port, outbox: roomy() }).notify;
    const b = createNotifyActivities({ ...made.deps, chat: port, outbox: roomy() }).notify;
    const env = () => new MockActivityEnvironment({ workflowExecution: { workflowId: 'envbot/projb-qa-race/create', runId: 'run-race' } } as never);
    const progress: ChatMessage = { kind: 'progress', progress: { environment: 'projb-qa-race', operation: 'create', steps: [{ id: 's1', title: 'step 1', status: 'done' }] } as never };
    const cardSent = env().run(b, { target, message: card('projb-qa-race'), kind: 'progress' });
    await new Promise((r) => setTimeout(r, 20)); // the card's edit is on its way
    await env().run(a, { target, message: progress, kind: 'progress' });
    expect(await cardSent).toBe('ts-race-1');
    await new Promise((r) => setTimeout(r, 600));
    expect(shown).toEqual(['card']);
  });

  it('is sent again by the worker (after looking for it), not dropped with a warning', async () => {
    const calls: string[] = [];
    const looked: string[] = [];
    const target: ChatTarget = { platform: 'slack', channel: 'C0LATE00001' };
    const deps = {
      ...made.deps,
      outbox: new Outbox({ postIntervalMs: 0, editsPerMinute: 6000, editBurst: 100, concurrency: 2 }),
      chat: {
        async send(_t: ChatTarget, m: ChatMessage): Promise<string> {
          calls.push(m.kind);
          // First a Retry-After longer than the activity waits, then a server error, then it goes.
          if (calls.length === 1) throw new RateLimitedError(FINAL_WAIT_MS + 1000);
          if (calls.length === 2) throw new Error('An API error occurred: internal_error (HTTP 500)');
          return 'ts-late-1';
        },
        async find(_t: ChatTarget, key: string): Promise<string | undefined> {
          looked.push(key);
          return undefined;
        },
      },
    };
    const notify = createNotifyActivities(deps).notify;
    const t0 = Date.now();
    const returned = await new MockActivityEnvironment().run(notify, { target, message: card('projb-qa-late'), kind: 'progress' });
    // The activity gave up waiting and returned: the card was still queued behind the Retry-After.
    expect(returned).toBe('');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(FINAL_WAIT_MS - 100);
    const sent = await (async () => {
      for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) if (calls.length >= 3) return true;
      return false;
    })();
    expect(sent).toBe(true);
    expect(calls).toEqual(['card', 'card', 'card']);
    // Held again as an activity's retry would be: a post that failed unanswered is looked for first.
    expect(looked).toHaveLength(1);
    expect(await deps.outbox.drain(1000)).toBe(0);
    expect(made.logs.some((l) => l.includes('a final message still queued after its wait failed; trying again'))).toBe(true);
  }, 60_000);
});
