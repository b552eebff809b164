// The chat outbox's decisions (activities/outbox.ts): newest state only, finals first, one post a
// second per channel, an edit budget, and a platform's Retry-After waited out with nothing lost.
// The platform is a function here; test/e2e/slack-messages.test.ts drives the real Slack port.
import { describe, expect, it } from 'vitest';
import { MAX_PAUSE_MS, MIN_PAUSE_MS, Outbox, RateLimitedError, retryAfterMs, type OutboxLimits } from '../../activities/outbox.js';
import type { ChatMessage } from '../../shared/chat.js';

const progress = (env: string, n: number): ChatMessage => ({ kind: 'progress', progress: { environment: env, operation: 'create', steps: [{ id: `s${n}`, title: `step ${n}`, status: 'done' }] } as never });
const card = (env: string): ChatMessage => ({ kind: 'card', card: { environment: env, project: 'p', stage: 's', status: 'ready', urls: [], databases: [] } });
const label = (m: ChatMessage) => (m.kind === 'progress' ? `progress ${m.progress.steps[0]!.id}` : m.kind);

function recorder(opts: { delayMs?: number; limitFirst?: number } = {}) {
  const calls: { id: string; what: string; at: number; ref?: string }[] = [];
  let limited = opts.limitFirst ?? 0;
  const t0 = Date.now();
  const item = (id: string, channel: string, message: ChatMessage, edit = false) => ({
    id,
    channel,
    message,
    edit,
    deliver: async (m: ChatMessage, ref: string | undefined) => {
      await new Promise((r) => setTimeout(r, opts.delayMs ?? 5));
      if (limited > 0) {
        limited -= 1;
        calls.push({ id, what: `429 ${label(m)}`, at: Date.now() - t0 });
        throw new RateLimitedError(300);
      }
      calls.push({ id, what: `${ref ? 'edit' : 'post'} ${label(m)}`, at: Date.now() - t0, ...(ref ? { ref } : {}) });
      return ref ?? `ts-${id}`;
    },
  });
  return { calls, item };
}

const fast: OutboxLimits = { postIntervalMs: 0, editsPerMinute: 60_000, editBurst: 100, concurrency: 1 };

describe('chat outbox', () => {
  it('sends only the newest state of a message: states superseded before their turn are dropped', async () => {
    const outbox = new Outbox(fast);
    const r = recorder({ delayMs: 50 });
    const sends = [1, 2, 3, 4, 5].map((n) => outbox.send(r.item('op1', 'C1', progress('e1', n))));
    expect(await Promise.all(sends)).toEqual(Array(5).fill('ts-op1'));
    // The first went at once; 2, 3 and 4 were replaced by 5 while it was in flight.
    expect(r.calls.map((c) => c.what)).toEqual(['post progress s1', 'edit progress s5']);
    expect(outbox.stats).toMatchObject({ delivered: 2, superseded: 3 });
  });

  it('sends a final card before pending progress of other messages, and drops progress that comes after a final', async () => {
    const outbox = new Outbox(fast);
    const r = recorder({ delayMs: 20 });
    const first = outbox.send(r.item('busy', 'C1', progress('e0', 0)));
    const p = outbox.send(r.item('a', 'C1', progress('ea', 1)));
    const c = outbox.send(r.item('b', 'C1', card('eb')));
    await Promise.all([first, p, c]);
    expect(r.calls.map((x) => `${x.id} ${x.what}`)).toEqual(['busy post progress s0', 'b post card', 'a post progress s1']);
    // A late progress state of b (a retried activity) does not undo its card.
    expect(await outbox.send(r.item('b', 'C1', progress('eb', 9)))).toBe('ts-b');
    expect(r.calls).toHaveLength(3);
  });

  it('posts at most one new message a second per channel, other channels unaffected', async () => {
    const outbox = new Outbox({ ...fast, postIntervalMs: 1000, concurrency: 4 });
    const r = recorder();
    await Promise.all([outbox.send(r.item('a', 'C1', card('a'))), outbox.send(r.item('b', 'C1', card('b'))), outbox.send(r.item('c', 'C2', card('c')))]);
    const at = Object.fromEntries(r.calls.map((c) => [c.id, c.at]));
    expect(at.b! - at.a!).toBeGreaterThanOrEqual(950);
    expect(at.c!).toBeLessThan(500);
  });

  it('keeps edits within the budget: a burst, then the refill rate', async () => {
    const outbox = new Outbox({ postIntervalMs: 0, editsPerMinute: 600, editBurst: 3, concurrency: 4 }); // one edit per 100 ms after 3
    const r = recorder({ delayMs: 1 });
    await Promise.all(Array.from({ length: 6 }, (_, i) => outbox.send(r.item(`m${i}`, 'C1', card(`e${i}`), true))));
    const times = r.calls.map((c) => c.at).sort((a, b) => a - b);
    expect(times[2]! - times[0]!).toBeLessThan(80); // the burst
    expect(times[5]! - times[2]!).toBeGreaterThanOrEqual(250); // then ~100 ms apiece
  });

  it('keeps part of the edit budget for final cards: progress edits wait, a final goes at once', async () => {
    const outbox = new Outbox({ postIntervalMs: 0, editsPerMinute: 600, editBurst: 4, editReserve: 2, concurrency: 4 }); // one edit per 100 ms after the burst
    const r = recorder({ delayMs: 1 });
    const t0 = Date.now();
    const progressEdits = Array.from({ length: 4 }, (_, i) => outbox.send(r.item(`p${i}`, 'C1', progress(`e${i}`, 1), true)));
    await new Promise((done) => setTimeout(done, 20));
    // Two progress edits took the budget down to the reserve; the other two wait for the refill.
    expect(r.calls).toHaveLength(2);
    await outbox.send(r.item('f', 'C1', card('f'), true));
    expect(Date.now() - t0).toBeLessThan(80); // the final did not wait for a refill
    await Promise.all(progressEdits);
    const at = (id: string) => r.calls.find((c) => c.id === id)!.at;
    expect(Math.max(at('p2'), at('p3'))).toBeGreaterThanOrEqual(150); // they waited for the budget (times from the recorder's start)
    expect(r.calls.map((c) => c.id).slice(0, 3)).toEqual(['p0', 'p1', 'f']);
  });

  it('waits out Retry-After on 429 and loses no final card', async () => {
    const outbox = new Outbox(fast);
    const r = recorder({ limitFirst: 2 });
    const t0 = Date.now();
    const refs = await Promise.all([outbox.send(r.item('a', 'C1', card('a'))), outbox.send(r.item('b', 'C1', card('b')))]);
    expect(refs).toEqual(['ts-a', 'ts-b']);
    expect(r.calls.filter((c) => c.what.startsWith('429'))).toHaveLength(2);
    expect(r.calls.filter((c) => c.what === 'post card').map((c) => c.id).sort()).toEqual(['a', 'b']);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1950); // two pauses of 300 ms, each raised to the least a pause lasts (1 s)
    expect(outbox.stats.rateLimited).toBe(2);
  });

  it('drops a progress state that comes while the final card is being sent: the message ends as the card', async () => {
    const outbox = new Outbox(fast);
    const r = recorder({ delayMs: 100 });
    await outbox.send(r.item('m', 'C1', progress('m', 1)));
    const final = outbox.send(r.item('m', 'C1', card('m'), true));
    await new Promise((resolve) => setTimeout(resolve, 30)); // the card is in flight now
    const late = outbox.send(r.item('m', 'C1', progress('m', 9), true));
    expect(await Promise.all([final, late])).toEqual(['ts-m', 'ts-m']);
    expect(r.calls.map((c) => c.what)).toEqual(['post progress s1', 'edit card']);
  });

  it('keeps a rate-limited final card queued even when a progress state of the same message came meanwhile', async () => {
    // The card hits a 429 while in flight; a progress state arrives before the 429 does (the
    // outbox drops it, as above); whichever way, the card is what is sent after the pause.
    const outbox = new Outbox(fast);
    const r = recorder({ delayMs: 60, limitFirst: 1 });
    const final = outbox.send(r.item('m', 'C1', card('m')));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const late = outbox.send(r.item('m', 'C1', progress('m', 9)));
    expect(await Promise.all([final, late])).toEqual(['ts-m', 'ts-m']);
    expect(r.calls.map((c) => c.what)).toEqual(['429 card', 'post card']);
  });

  it('reads Retry-After as seconds or an HTTP date, and keeps the pause between 1 s and 10 minutes', () => {
    const now = Date.parse('2026-12-01T12:00:00Z');
    expect(retryAfterMs('30', now)).toBe(30_000);
    expect(retryAfterMs(2, now)).toBe(2000);
    expect(retryAfterMs('Tue, 01 Dec 2026 12:00:45 GMT', now)).toBe(45_000);
    expect(retryAfterMs('Tue, 01 Dec 2026 11:00:00 GMT', now)).toBe(MIN_PAUSE_MS); // a date gone by
    expect(retryAfterMs(undefined, now)).toBe(MIN_PAUSE_MS);
    expect(retryAfterMs('soon', now)).toBe(MIN_PAUSE_MS);
    expect(retryAfterMs('-5', now)).toBe(MIN_PAUSE_MS);
    expect(retryAfterMs('999999', now)).toBe(MAX_PAUSE_MS);
    expect(new RateLimitedError(-5000).retryAfterMs).toBe(MIN_PAUSE_MS);
    expect(new RateLimitedError(Number.NaN).retryAfterMs).toBe(MIN_PAUSE_MS);
    expect(new RateLimitedError(86_400_000).retryAfterMs).toBe(MAX_PAUSE_MS);
  });

  it('a Retry-After pauses what it limits: one platform\'s edits, or one channel\'s posts; other platforms and channels go on', async () => {
    const outbox = new Outbox(fast);
    const calls: string[] = [];
    let teamsLimited = true;
    const send = (id: string, platform: string, channel: string, edit: boolean) =>
      outbox.send({
        id,
        platform,
        channel,
        message: card(id),
        edit,
        deliver: async () => {
          if (platform === 'teams' && teamsLimited) {
            teamsLimited = false;
            calls.push(`429 ${id}`);
            throw new RateLimitedError(86_400_000); // a day, kept to 10 minutes: far longer than this test
          }
          calls.push(id);
          return `ts-${id}`;
        },
      });
    void send('teams-edit', 'teams', 'teams/T1', true).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const t0 = Date.now();
    await Promise.all([send('slack-edit', 'slack', 'slack/C1', true), send('slack-post', 'slack', 'slack/C2', false), send('teams-post', 'teams', 'teams/T2', false)]);
    expect(Date.now() - t0).toBeLessThan(500);
    expect(calls).toEqual(['429 teams-edit', 'slack-edit', 'slack-post', 'teams-post']);
    expect(outbox.queued).toBe(1); // the Teams edit waits out its pause
    expect(await outbox.drain(50)).toBe(1);
  });

  it('drain starts sends put off (defer) at once and waits for them; close rejects what is left and takes nothing new', async () => {
    const outbox = new Outbox(fast);
    const r = recorder({ delayMs: 20 });
    let ran = 0;
    outbox.defer(60_000, async () => {
      ran += 1;
      await outbox.send(r.item('late', 'C1', card('late')));
    });
    const t0 = Date.now();
    expect(await outbox.drain(5000)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect([ran, r.calls.map((c) => `${c.id} ${c.what}`)]).toEqual([1, ['late post card']]);

    const stuck = new Outbox(fast);
    const s = recorder({ limitFirst: 1 });
    const queued = stuck.send(s.item('x', 'C1', card('x'))).catch((err: unknown) => err);
    await new Promise((resolve) => setTimeout(resolve, 50)); // refused 429, waiting out its pause
    stuck.close();
    expect(String(await queued)).toMatch(/outbox closed before this message could be sent/);
    await expect(stuck.send(s.item('y', 'C1', card('y')))).rejects.toThrow(/outbox is closed/);
  });

  it('an empty reference (a state skipped before anything was posted) is not taken for the message', async () => {
    const outbox = new Outbox(fast);
    const seen: (string | undefined)[] = [];
    const item = (m: ChatMessage, answer: string) => ({ id: 'e', channel: 'C1', message: m, edit: false, deliver: async (_m: ChatMessage, ref: string | undefined) => (seen.push(ref), answer) });
    expect(await outbox.send(item(progress('e', 1), ''))).toBe('');
    expect(await outbox.send(item(card('e'), 'ts-e'))).toBe('ts-e');
    expect(seen).toEqual([undefined, undefined]);
  });

  it('drain resolves once everything is sent', async () => {
    const outbox = new Outbox(fast);
    const r = recorder({ delayMs: 50 });
    void outbox.send(r.item('a', 'C1', card('a')));
    void outbox.send(r.item('b', 'C2', card('b')));
    expect(await outbox.drain(5000)).toBe(0);
    expect(r.calls).toHaveLength(2);
    expect(await new Outbox(fast).drain(5000)).toBe(0);
  });

  it('rejects the waiters of a state whose delivery failed, and sends the next state afresh', async () => {
    const outbox = new Outbox(fast);
    let fail = true;
    const item = (m: ChatMessage) => ({ id: 'x', channel: 'C1', message: m, edit: false, deliver: async () => { if (fail) { fail = false; throw new Error('boom'); } return 'ts-x'; } });
    await expect(outbox.send(item(card('x')))).rejects.toThrow('boom');
    expect(await outbox.send(item(card('x')))).toBe('ts-x');
  });
});
