// destroyEnvironment: removes everything envbot built for an environment, in the reverse order of
// creation (shared/resources.ts). Every delete is idempotent and works from the ledger, not the
// catalogue, so a destroy after a partial create, a second destroy, or a destroy of an environment
// whose project has left envbot.yaml is safe.
import { ApplicationFailure, getExternalWorkflowHandle, patched, setHandler } from '@temporalio/workflow';
import type { ChatTarget, EnvRef, Requester } from '../shared/model.js';
import { workflowId } from '../shared/names.js';
import { destroySteps, destructionOrder, progressQuery, RESOURCES, type ResourceRow } from '../shared/resources.js';
import { patient, quick } from './activities.js';
import { Notifier } from './notifier.js';
import { describe, Tracker } from './progress.js';
import { admitted, deleteResource } from './resources.js';

export interface DestroyEnvironmentInput {
  ref: EnvRef;
  requester: Requester;
  target?: ChatTarget;
  reason?: 'requested' | 'expired';
  /** For an expiry: when its lifecycle tries again should this destroy fail (said in the channel). */
  retryIn?: string;
}

export interface DestroyEnvironmentResult {
  environment: string;
  status: 'destroyed' | 'failed';
  removed: string[];
  failed: { step: string; error: string }[];
}

/**
 * envbot 0.1 removed MySQL before PostgreSQL, not in the exact reverse of creation. Destroys that
 * started under 0.1 keep that order when they replay (Temporal patching); new ones take the reverse.
 */
export const REVERSE_ORDER_PATCH = 'destroy-in-reverse-creation-order';
const ORDER_0_1 = ['manifests', 'credentials', 'namespace', 'dns', 'redis', 'mysql', 'postgres', 'mongo', 'secrets'];

/**
 * A requested destroy ends the environment's expiry once it has the environment. envbot 0.1's core
 * ended it before starting the destroy, also when the destroy was then refused.
 */
export const ENDS_EXPIRY_PATCH = 'destroy-ends-expiry-once-begun';

function removalOrder(): ResourceRow[] {
  // Rows added since (storage) only where patched: a destroy recorded before them replays as it ran.
  if (patched(REVERSE_ORDER_PATCH)) return admitted(destructionOrder());
  return ORDER_0_1.map((id) => RESOURCES.find((r) => r.id === id)!);
}

export async function destroyEnvironment(input: DestroyEnvironmentInput): Promise<DestroyEnvironmentResult> {
  const { ref, requester } = input;
  const operation = input.reason === 'expired' ? 'expire' : 'destroy';
  const rows = removalOrder();
  const notifier = new Notifier(input.target, () => ({ kind: 'progress', progress: tracker.snapshot() }));
  const tracker = new Tracker(ref.environment, operation, destroySteps(operation, rows), () => notifier.changed());
  setHandler(progressQuery, () => tracker.snapshot());
  const result: DestroyEnvironmentResult = { environment: ref.environment, status: 'destroyed', removed: [], failed: [] };

  try {
    // An expiry waits while another operation (a long reset) runs; a requested destroy is refused.
    await tracker.run('begin', () => (operation === 'expire' ? patient : quick).beginOperation({ ref, operation, requester }));
  } catch (err) {
    // Not started (it does not exist, or another operation runs): say so where it was asked, then fail.
    tracker.finish('failed');
    await notifier.close({ kind: 'notice', environment: ref.environment, text: `${ref.environment} was not destroyed: ${describe(err)}` });
    throw err;
  }
  if (operation === 'destroy' && patched(ENDS_EXPIRY_PATCH)) {
    // A pending expiry would otherwise try to destroy it again later.
    await getExternalWorkflowHandle(workflowId('lifecycle', ref.environment)).cancel().catch(() => undefined);
  }
  // Keep going past a failed removal: remove all that can be, then report what is left.
  for (const row of rows) {
    try {
      await tracker.run(row.id, () => deleteResource(row, ref));
      result.removed.push(row.id);
    } catch (err) {
      result.failed.push({ step: row.id, error: describe(err) });
    }
  }
  const failures = () => result.failed.map((f) => `${f.step}: ${f.error}`).join('; ');
  const removalError = failures();
  try {
    await tracker.run('done', () =>
      quick.finishOperation({ ref, operation, requester, state: removalError ? 'failed' : 'destroyed', ...(removalError ? { error: removalError } : {}) }),
    );
  } catch (err) {
    // Another run took the environment over meanwhile: this run's outcome is not its state.
    result.failed.push({ step: 'done', error: describe(err) });
  }
  const error = failures();
  if (result.failed.length) result.status = 'failed';
  tracker.finish(result.failed.length ? 'failed' : 'succeeded');
  const who = `asked by ${requester.id}, ${new Date().toISOString()}`;
  const next = input.retryIn ? `envbot tries again in ${input.retryIn}.` : 'Run destroy again.';
  await notifier.close({
    kind: 'notice',
    environment: ref.environment,
    text: result.failed.length ? `${ref.environment} could not be fully destroyed (${who}): ${error}. ${next}` : `${ref.environment} was destroyed (${who}).`,
  });
  if (result.failed.length) {
    throw ApplicationFailure.create({ type: 'EnvironmentDestroyFailed', message: `${ref.environment}: ${error}`, nonRetryable: true, details: [result] });
  }
  return result;
}
