// environmentLifecycle: an environment with a time to live warns its channel ahead of expiry,
// can be extended (signal), and is destroyed when due.
import { condition, defineQuery, defineSignal, executeChild, ParentClosePolicy, setHandler } from '@temporalio/workflow';
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
}

export interface LifecycleResult {
  environment: string;
  destroyedAt: string;
  extensions: number;
}

/** Moves the expiry to `until` (ISO time); earlier than now means "destroy now". */
export const extendSignal = defineSignal<[{ until: string; by: string }]>('extend');
export const expiryQuery = defineQuery<{ expiresAt: string; warned: boolean; extensions: number }>('expiry');

async function warn(input: LifecycleInput, deadline: number): Promise<void> {
  if (!input.target) return;
  const env = input.ref.environment;
  const text = `${env} expires at ${new Date(deadline).toISOString()}; extend it (extend ${env} 7d) to keep it.`;
  await chat.notify({ target: input.target, message: { kind: 'notice', environment: env, text } }).catch(() => undefined);
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

  await executeChild(destroyEnvironment, {
    workflowId: workflowId('destroy', input.ref.environment),
    // A destroy that has started finishes, even if this workflow is terminated meanwhile.
    parentClosePolicy: ParentClosePolicy.ABANDON,
    args: [{ ref: input.ref, requester: { id: 'system:expiry', platform: 'system' }, reason: 'expired', ...(input.target ? { target: input.target } : {}) }],
  });
  return { environment: input.ref.environment, destroyedAt: new Date().toISOString(), extensions };
}
