// The chat outbox: every message the workers send to a chat platform goes through one per worker
// process, whatever the platform (Slack today, Teams through the same port). Per message only the
// newest state matters: a state superseded before its turn is never sent. A final state (a card, a
// notice) goes before any pending progress edit. New messages respect an interval per channel (Slack:
// one a second), edits a budget shared by the workspace (a token bucket: Slack's Tier 3 by default,
// 50 a minute with bursts, part of it kept for final states so they never wait behind progress),
// and a platform's "rate limited, retry after N s" pauses what it limits (that platform's edits, or
// that channel's posts) and keeps the message queued.
// Callers decide whether to wait: workflows do not wait for progress edits.
import type { ChatMessage } from '../shared/chat.js';

/** The shortest and longest pause a platform's Retry-After makes (a negative or absurd one is brought into this range). */
export const MIN_PAUSE_MS = 1000;
export const MAX_PAUSE_MS = 10 * 60_000;

/**
 * A Retry-After header's pause in milliseconds, within MIN_PAUSE_MS..MAX_PAUSE_MS: seconds (`"30"`,
 * or a number), or an HTTP date (`"Wed, 21 Oct 2026 07:28:00 GMT"`); missing or unreadable: the minimum.
 */
export function retryAfterMs(header: string | number | null | undefined, now: number = Date.now()): number {
  const text = typeof header === 'number' ? String(header) : (header ?? '').trim();
  return pause(/^-?\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now);
}

/** `ms` brought into MIN_PAUSE_MS..MAX_PAUSE_MS (not a number: the minimum). */
const pause = (ms: number): number => (Number.isFinite(ms) ? Math.min(MAX_PAUSE_MS, Math.max(MIN_PAUSE_MS, Math.round(ms))) : MIN_PAUSE_MS);

/** A platform's answer "too many requests": the call may be made again after `retryAfterMs` (kept within MIN_PAUSE_MS..MAX_PAUSE_MS). */
export class RateLimitedError extends Error {
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number, message?: string) {
    const ms = pause(retryAfterMs);
    super(message ?? `rate limited: retry after ${ms} ms`);
    this.retryAfterMs = ms;
    this.name = 'RateLimitedError';
  }
}

export interface OutboxLimits {
  /** Least time between two new messages in one channel. */
  postIntervalMs: number;
  /** Edits a minute across the workspace, on average. */
  editsPerMinute: number;
  /** Edits that may go at once after a quiet spell. */
  editBurst: number;
  /**
   * Edits of the budget kept for final states: a progress edit waits while no more than this many
   * are left, so the cards that end operations do not queue behind progress (default 0).
   */
  editReserve?: number;
  /** Calls in flight at once. */
  concurrency: number;
}

/**
 * Slack's published limits: chat.postMessage 1 a second per channel, chat.update Tier 3 (50+ a minute,
 * bursts welcome). Progress edits leave 8 of the 10 to final cards: with 16 creates ending together in
 * one channel, the last card came 1.28-1.43× after the last ready (1.57-1.60 when they left 5).
 */
export const SLACK_LIMITS: OutboxLimits = { postIntervalMs: 1000, editsPerMinute: 50, editBurst: 10, editReserve: 8, concurrency: 4 };

export interface OutboxItem {
  /** The message's identity: states under one id replace each other. */
  id: string;
  /** Where it goes (the post interval is kept per channel). */
  channel: string;
  /** The chat platform: a Retry-After on an edit pauses that platform's edits only. */
  platform?: string;
  message: ChatMessage;
  /** True when the message exists already (this state edits it), false when this state may post it. */
  edit: boolean;
  /**
   * Sends the state; `ref` is the message's reference when an earlier state under the id was sent.
   * Returns the message's reference. Throws RateLimitedError to be queued again after the pause.
   */
  deliver: (message: ChatMessage, ref: string | undefined) => Promise<string>;
}

interface Entry extends OutboxItem {
  final: boolean;
  seq: number;
  waiters: { resolve: (ref: string) => void; reject: (err: unknown) => void }[];
}

/** What the outbox did, for the bench and the tests. */
export interface OutboxStats {
  delivered: number;
  /** States dropped because a newer one of the same message came before their turn. */
  superseded: number;
  rateLimited: number;
}

const isFinal = (m: ChatMessage) => m.kind !== 'progress';
/** How long the outbox remembers a message's reference and that its final state went. */
const REMEMBER_MS = 60 * 60_000;

export class Outbox {
  readonly stats: OutboxStats = { delivered: 0, superseded: 0, rateLimited: 0 };
  private readonly pending = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Entry>();
  private readonly sent = new Map<string, { ref: string; final: boolean; at: number }>();
  private readonly nextPost = new Map<string, number>();
  private tokens: number;
  private refilledAt: number;
  /** Until when a Retry-After pauses what it limited: `<platform>/edit` (the workspace's edits) or `<channel>/post` (that channel's posts). */
  private readonly pausedUntil = new Map<string, number>();
  private readonly drained: (() => void)[] = [];
  /** Sends put off by a caller (defer): counted by drain, started at once when draining. */
  private readonly deferred = new Map<NodeJS.Timeout, () => Promise<unknown>>();
  private deferredRunning = 0;
  private closed = false;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;

  /** Told of each wait for a platform's rate limit (the Retry-After it gave, the platform), for envbot's metrics. */
  onRateLimited: ((retryAfterMs: number, platform: string) => void) | undefined;

  constructor(private readonly limits: OutboxLimits = SLACK_LIMITS, private readonly now: () => number = Date.now) {
    this.tokens = limits.editBurst;
    this.refilledAt = now();
  }

  /**
   * Queues a state of a message. Resolves with the message's reference once this state, or a newer
   * one of the same message, is delivered; rejects when its delivery fails (not when rate limited:
   * that waits). A progress state that comes after the message's final state was queued or sent is
   * dropped (it resolves with the final's reference).
   */
  send(item: OutboxItem): Promise<string> {
    if (this.closed) return Promise.reject(new Error('the chat outbox is closed (the worker is stopping)'));
    return new Promise<string>((resolve, reject) => {
      const waiter = { resolve, reject };
      const final = isFinal(item.message);
      const done = this.sent.get(item.id);
      const queued = this.pending.get(item.id);
      const sending = this.inFlight.get(item.id);
      if (!final && (queued?.final || sending?.final || done?.final)) {
        // The final state is queued, being sent or sent: a progress state would overwrite it.
        this.stats.superseded += 1;
        if (queued?.final) queued.waiters.push(waiter);
        else if (sending?.final) sending.waiters.push(waiter);
        else resolve(done!.ref);
        return;
      }
      if (queued) {
        this.stats.superseded += 1;
        Object.assign(queued, { message: item.message, deliver: item.deliver, final, edit: queued.edit || item.edit });
        queued.waiters.push(waiter);
      } else {
        this.pending.set(item.id, { ...item, edit: item.edit || !!done, final, seq: (this.seq += 1), waiters: [waiter] });
      }
      this.pump();
    });
  }

  /** Messages waiting for their turn (not counting those being sent). */
  get queued(): number {
    return this.pending.size;
  }

  /**
   * Resolves once nothing is queued or being sent, or after `timeoutMs` (a worker stopping gives its
   * queued cards that long); says how many messages were still queued or in flight.
   */
  async drain(timeoutMs: number): Promise<number> {
    for (const [timer, run] of this.deferred) {
      clearTimeout(timer);
      this.deferred.delete(timer);
      this.runDeferred(run);
    }
    const left = () => this.pending.size + this.inFlight.size + this.deferred.size + this.deferredRunning;
    if (left()) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((resolve) => this.drained.push(resolve)), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
    }
    return left();
  }

  /**
   * Runs `run` (which queues a send) after `ms`, unless the outbox drains first: then at once. Until
   * it has run, drain counts it as a message still to go.
   */
  defer(ms: number, run: () => Promise<unknown>): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.deferred.delete(timer);
      this.runDeferred(run);
    }, ms).unref();
    this.deferred.set(timer, run);
  }

  private runDeferred(run: () => Promise<unknown>): void {
    this.deferredRunning += 1;
    void run()
      .catch(() => undefined)
      .finally(() => {
        this.deferredRunning -= 1;
        this.pump();
      });
  }

  /** Stops: nothing queued or put off is sent any more (their waiters are rejected), nothing new is taken. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const timer of this.deferred.keys()) clearTimeout(timer);
    this.deferred.clear();
    const stopped = new Error('the chat outbox closed before this message could be sent (the worker stopped)');
    for (const e of this.pending.values()) for (const w of e.waiters) w.reject(stopped);
    this.pending.clear();
  }

  private pump(): void {
    if (this.closed) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const now = this.now();
    this.refill(now);
    let wakeAt = Infinity;
    while (this.inFlight.size < this.limits.concurrency) {
      const next = this.choose(now);
      if ('wakeAt' in next) {
        wakeAt = next.wakeAt;
        break;
      }
      this.start(next.entry, now);
    }
    // Unref'd: a pause (up to 10 minutes) never keeps a stopping process alive; drain() bounds that wait.
    if (wakeAt < Infinity) this.timer = setTimeout(() => this.pump(), Math.max(1, wakeAt - now)).unref();
    if (!this.pending.size && !this.inFlight.size && !this.deferred.size && !this.deferredRunning) for (const resolve of this.drained.splice(0)) resolve();
  }

  /** The entry to send now (finals first, then oldest first), or when one may go. */
  private choose(now: number): { entry: Entry } | { wakeAt: number } {
    let best: Entry | undefined;
    let wakeAt = Infinity;
    for (const e of this.pending.values()) {
      if (this.inFlight.has(e.id)) continue;
      const readyAt = this.readyAt(e, now);
      if (readyAt > now) {
        wakeAt = Math.min(wakeAt, readyAt);
        continue;
      }
      if (!best || (e.final && !best.final) || (e.final === best.final && e.seq < best.seq)) best = e;
    }
    return best ? { entry: best } : { wakeAt };
  }

  /** What a Retry-After on this entry's call pauses: the platform's edits, or the channel's posts. */
  private static pauseKey(e: Pick<Entry, 'platform' | 'channel' | 'edit'>): string {
    return e.edit ? `${e.platform ?? ''}/edit` : `${e.channel}/post`;
  }

  private readyAt(e: Entry, now: number): number {
    const paused = Math.max(this.pausedUntil.get(Outbox.pauseKey(e)) ?? 0, now);
    if (!e.edit) return Math.max(paused, this.nextPost.get(e.channel) ?? 0);
    // A final may take the last edit; a progress edit leaves the reserve for finals.
    const need = e.final ? 1 : 1 + Math.min(this.limits.editReserve ?? 0, this.limits.editBurst - 1);
    if (this.tokens >= need) return paused;
    const perMs = this.limits.editsPerMinute / 60_000;
    return Math.max(paused, now + Math.ceil((need - this.tokens) / perMs));
  }

  private refill(now: number): void {
    const perMs = this.limits.editsPerMinute / 60_000;
    this.tokens = Math.min(this.limits.editBurst, this.tokens + (now - this.refilledAt) * perMs);
    this.refilledAt = now;
  }

  private start(e: Entry, now: number): void {
    this.pending.delete(e.id);
    this.inFlight.set(e.id, e);
    if (e.edit) this.tokens -= 1;
    else this.nextPost.set(e.channel, now + this.limits.postIntervalMs);
    const known = this.sent.get(e.id)?.ref;
    void e.deliver(e.message, known).then(
      (ref) => {
        this.inFlight.delete(e.id);
        this.stats.delivered += 1;
        // An empty reference (a state skipped before anything was posted) is no message to edit.
        if (ref) this.remember(e.id, ref, e.final);
        for (const w of e.waiters) w.resolve(ref);
        // A newer state queued meanwhile edits what this one made.
        const newer = this.pending.get(e.id);
        if (newer) newer.edit = true;
        this.pump();
      },
      (err: unknown) => {
        this.inFlight.delete(e.id);
        if (err instanceof RateLimitedError) {
          this.stats.rateLimited += 1;
          this.onRateLimited?.(err.retryAfterMs, e.platform ?? 'unknown');
          const key = Outbox.pauseKey(e);
          this.pausedUntil.set(key, Math.max(this.pausedUntil.get(key) ?? 0, this.now() + err.retryAfterMs));
          // Queued again, unless a newer state took its place (a final, or a progress state after a
          // progress state): that one carries these waiters too. A final is never given up for progress.
          const newer = this.pending.get(e.id);
          if (newer && (newer.final || !e.final)) newer.waiters.push(...e.waiters);
          else this.pending.set(e.id, { ...e, edit: e.edit || !!newer?.edit, waiters: [...e.waiters, ...(newer?.waiters ?? [])] });
        } else {
          for (const w of e.waiters) w.reject(err);
        }
        this.pump();
      },
    );
  }

  private remember(id: string, ref: string, final: boolean): void {
    const now = this.now();
    const before = this.sent.get(id);
    this.sent.set(id, { ref, final: final || !!before?.final, at: now });
    if (this.sent.size > 10_000) {
      for (const [k, v] of this.sent) if (now - v.at > REMEMBER_MS) this.sent.delete(k);
    }
  }
}
