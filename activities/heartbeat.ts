// Heartbeats and cancellation of long activities (seeding). Temporal hands an activity its
// cancellation (asked for by the workflow, or because the server timed the attempt out and
// scheduled a retry) only in the answer to a heartbeat, so a long activity heartbeats all the time,
// also while one long call runs (a big INSERT, COPY, insertMany or index build), and stops as soon
// as it is cancelled: a timed-out attempt must never keep writing beside its retry.
import { Context } from '@temporalio/activity';

export const HEARTBEAT_MS = 5_000;

export interface Pulse {
  /** Records progress, and lets a cancellation in. */
  beat(details: unknown): void;
  /** Throws the cancellation (a CancelledFailure) if there was one: call it before each write. */
  check(): void;
  /** Aborted when the activity is cancelled (its reason is the CancelledFailure). */
  readonly signal: AbortSignal;
  /**
   * Runs one long call, heartbeating `details()` every few seconds. When the activity is cancelled
   * meanwhile, `abort` runs with the call in flight (it has the server end the session, so the
   * statement stops and is rolled back, or waits for the call to finish) and, once it has, the call
   * rejects with the cancellation.
   */
  during<T>(details: () => unknown, fn: () => Promise<T>, abort?: (inFlight: Promise<unknown>) => unknown): Promise<T>;
}

/** The current activity's pulse; take it at the start, so stream and timer callbacks can use it. */
export function pulse(ctx: Context = Context.current()): Pulse {
  const signal = ctx.cancellationSignal;
  const check = () => {
    if (signal.aborted) throw signal.reason;
  };
  return {
    beat: (details) => ctx.heartbeat(details),
    check,
    signal,
    async during(details, fn, abort) {
      check();
      const timer = setInterval(() => ctx.heartbeat(details()), HEARTBEAT_MS);
      const call = fn();
      // Once cancelled, the call's own failure (its session ended under it) is the cancellation.
      const work = call.catch((err: unknown) => {
        throw signal.aborted ? signal.reason : err;
      });
      let onAbort = () => undefined as void;
      const cancelled = new Promise<never>((_, reject) => {
        onAbort = () => {
          // The activity says it stopped only once the server has stopped writing for it.
          void Promise.resolve()
            .then(() => abort?.(call.catch(() => undefined)))
            .catch(() => undefined)
            .finally(() => reject(signal.reason));
        };
        signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        return await Promise.race([work, cancelled]);
      } finally {
        clearInterval(timer);
        signal.removeEventListener('abort', onAbort);
        // Aborted: the call fails too (its connection is gone), and nobody waits for it any more.
        work.catch(() => undefined);
      }
    },
  };
}
