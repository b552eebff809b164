// resetDatabases: drops and re-seeds the chosen data stores of an environment (mongo, sql, redis
// or all) from the catalogue's seeds, per-stage overrides included; everything else stays.
import { ApplicationFailure, defineQuery, setHandler } from '@temporalio/workflow';
import type { ChatTarget, EnvRef, Progress, Requester, ResetTarget } from '../shared/model.js';
import { long, quick } from './activities.js';
import type { EnvironmentPlan } from './create-environment.js';
import { Notifier } from './notifier.js';
import { describe, Tracker } from './progress.js';

export interface ResetDatabasesInput {
  ref: EnvRef;
  requester: Requester;
  which: ResetTarget;
  plan: EnvironmentPlan;
  target?: ChatTarget;
}

export interface ResetDatabasesResult {
  environment: string;
  reset: string[];
}

export const resetProgressQuery = defineQuery<Progress>('progress');

export async function resetDatabases(input: ResetDatabasesInput): Promise<ResetDatabasesResult> {
  const { ref, requester, which, plan } = input;
  const wanted = (store: 'mongo' | 'mysql' | 'postgres' | 'redis'): boolean =>
    plan[store] && (which === 'all' || which === store || (which === 'sql' && (store === 'mysql' || store === 'postgres')));
  const stores = (['mongo', 'mysql', 'postgres', 'redis'] as const).filter(wanted);
  const steps = [{ id: 'begin', title: 'Mark the environment as resetting' }, ...stores.map((s) => ({ id: s, title: `Re-seed ${s}` })), { id: 'done', title: 'Ready' }];
  const notifier = new Notifier(input.target, () => ({ kind: 'progress', progress: tracker.snapshot() }));
  const tracker = new Tracker(ref.environment, 'reset', steps, () => notifier.changed());
  setHandler(resetProgressQuery, () => tracker.snapshot());

  await tracker.run('begin', () => quick.beginOperation({ ref, operation: 'reset', requester }));
  try {
    await Promise.all(
      stores.map((s) =>
        tracker.run(s, async (): Promise<unknown> => (s === 'mongo' ? long.seedMongo({ ref }) : s === 'redis' ? long.seedRedis({ ref }) : long.seedSql({ ref, engine: s }))),
      ),
    );
  } catch (err) {
    // The environment still exists; its data may be half re-seeded: say so and leave it usable for a retry.
    await quick.finishOperation({ ref, operation: 'reset', requester, state: 'ready', error: `reset failed: ${describe(err)}` });
    tracker.finish('failed');
    await notifier.close({ kind: 'notice', environment: ref.environment, text: `Resetting ${stores.join(', ')} of ${ref.environment} (asked by ${requester.id}) failed: ${describe(err)}. Run the reset again.` });
    throw ApplicationFailure.create({ type: 'EnvironmentResetFailed', message: `${ref.environment}: ${describe(err)}`, nonRetryable: true });
  }
  await tracker.run('done', () => quick.finishOperation({ ref, operation: 'reset', requester, state: 'ready' }));
  tracker.finish('succeeded');
  await notifier.close({ kind: 'notice', environment: ref.environment, text: `${ref.environment}: ${stores.join(', ')} re-seeded (asked by ${requester.id}, ${new Date().toISOString()}).` });
  return { environment: ref.environment, reset: stores };
}
