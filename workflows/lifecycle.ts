// environmentLifecycle: an environment with a time to live warns its channel ahead of expiry,
// can be extended (signal), and is destroyed when due; a destroy that fails is tried again, with
// backoff, until it succeeds (each failure is said in the channel by that destroy).
import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  executeChild,
  log,
  ParentClosePolicy,
  patched,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import { parseDuration } from '../shared/duration.js';
import type { ChatTarget, EnvRef } from '../shared/model.js';
import { workflowId } from '../shared/names.js';
import { chat, quick } from './activities.js';
import { destroyEnvironment } from './destroy-environment.js';

export interface LifecycleInput {
  ref: EnvRef;
  /** ISO time the environment is destroyed at, unless extended. */
  expiresAt: string;
  /** How long before expiry to warn (1d). */
  warnBefore: string;
  target?: ChatTarget;
  /** The expiry's attempt to destroy it this run starts with (after a continue-as-new): 1 at first. */
  attempt?: number;
}

export interface LifecycleResult {
  environment: string;
  destroyedAt: string;
  extensions: number;
}

/** Moves the expiry to `until` (ISO time); earlier than now means "destroy now". */
export const extendSignal = defineSignal<[{ until: string; by: string }]>('extend');
export const expiryQuery = defineQuery<{ expiresAt: string; warned: boolean; extensions: number }>('expiry');

/** envbot 0.1's lifecycle failed with its destroy, leaving the environment for good; now it tries again. */
export const EXPIRY_RETRIES_PATCH = 'expiry-tries-again';

/** Minutes to wait after the n-th failed expiry: 1, 2, 4, ... at most an hour. */
export function minutesBeforeRetry(attempt: number): number {
  return Math.min(2 ** (attempt - 1), 60);
}

/** The type of the domain error at the root of a failure (a child workflow's activity's error). */
function rootType(err: unknown): string | undefined {
  let e = err as { type?: string; cause?: unknown } | undefined;
  while (e?.cause && typeof e.cause === 'object') e = e.cause as typeof e;
  return e?.type;
}

/** Expiry warnings also go to the channels subscribed to the project (Slack channels, Teams conversations). */
export const WARN_SUBSCRIBERS_PATCH = 'expiry-warning-subscribers';

async function warn(input: LifecycleInput, deadline: number): Promise<void> {
  const env = input.ref.environment;
  const text = `${env} expires at ${new Date(deadline).toISOString()}; extend it (extend ${env} 7d) to keep it.`;
  const message = { kind: 'notice' as const, environment: env, text };
  if (input.target) await chat.notify({ target: input.target, message, kind: `warning-${deadline}` }).catch(() => undefined);
  if (!patched(WARN_SUBSCRIBERS_PATCH)) return;
  const subscribers = await chat.subscribersOf({ project: input.ref.project, ...(input.target ? { except: input.target } : {}) }).catch(() => []);
  for (const target of subscribers) {
    await chat.notify({ target, message, kind: `warning-${deadline}-${target.platform}-${target.channel}` }).catch(() => undefined);
  }
}

export async function environmentLifecycle(input: LifecycleInput): Promise<LifecycleResult> {
  let deadline = Date.parse(input.expiresAt);
  let extensions = 0;
  let warnedFor: number | undefined;
  let changed = false;
  const warnBefore = parseDuration(input.warnBefore);

  setHandler(extendSignal, ({ until }) => {
    deadline = Date.parse(until);
    extensions += 1;
    changed = true;
  });
  setHandler(expiryQuery, () => ({ expiresAt: new Date(deadline).toISOString(), warned: warnedFor === deadline, extensions }));

  for (;;) {
    if (changed) {
      changed = false;
      await quick.setExpiry({ ref: input.ref, expiresAt: new Date(deadline).toISOString() });
      continue;
    }
    const warnAt = deadline - warnBefore;
    if (Date.now() < warnAt && (await condition(() => changed, warnAt - Date.now()))) continue;
    if (warnedFor !== deadline && Date.now() < deadline) {
      warnedFor = deadline;
      await warn(input, deadline);
    }
    if (Date.now() < deadline && (await condition(() => changed, deadline - Date.now()))) continue;
    if (!changed) break;
  }

  for (let attempt = input.attempt ?? 1; ; attempt++) {
    const minutes = minutesBeforeRetry(attempt);
    try {
      await executeChild(destroyEnvironment, {
        workflowId: workflowId('destroy', input.ref.environment),
        // A destroy that has started finishes, even if this workflow is terminated meanwhile.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        args: [{
          ref: input.ref, requester: { id: 'system:expiry', platform: 'system' }, reason: 'expired',
          retryIn: minutes === 1 ? '1 minute' : `${minutes} minutes`, ...(input.target ? { target: input.target } : {}),
        }],
      });
      break;
    } catch (err) {
      if (!patched(EXPIRY_RETRIES_PATCH)) throw err;
      // Destroyed meanwhile (someone asked): nothing is left to expire.
      if (rootType(err) === 'NotFoundError') break;
      log.warn('the expiry could not destroy the environment; trying again', { environment: input.ref.environment, attempt, minutes, error: String(err) });
      await sleep(minutes * 60_000);
      // A long run of failures: carry on in a fresh history.
      if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof environmentLifecycle>({ ...input, attempt: attempt + 1 });
    }
  }
  return { environment: input.ref.environment, destroyedAt: new Date().toISOString(), extensions };
}
