// A final card that is still queued when its activity stops waiting (a long Retry-After) is not
// lost when its delivery then fails for another reason: the notify activity has returned, so
// Temporal will not retry it, and the worker sends it again itself. The chat port is a function
// here (a 500 after a 429 is a sequence no local server produces on demand); the store is real.
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINAL_WAIT_MS, createNotifyActivities } from '../../activities/notify.js';
import { Outbox, RateLimitedError } from '../../activities/outbox.js';
import type { ChatMessage } from '../../shared/chat.js';
import type { ChatTarget } from '../../shared/model.js';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { depsOn } from '../support/deps.js';

const card = (env: string): ChatMessage => ({ kind: 'card', card: { environment: env, project: 'projb', stage: 'qa', status: 'ready', urls: [], databases: [] } });

describe('notify: a final card that fails after its wait', () => {
  let storeDb: ScratchDatabase;
  let made: ReturnType<typeof depsOn>;

  beforeAll(async () => {
    storeDb = await scratchPostgres('store_notify_late', { migrate: true });
    made = depsOn(storeDb.url, 'notify-late');
  });

  afterAll(async () => {
    await made?.store.close();
    await storeDb?.drop();
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
