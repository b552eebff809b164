// resetDatabases: drops and re-seeds the chosen data stores of an environment (mongo, sql, redis
// or all) from the catalogue's seeds, per-stage overrides included; everything else stays.
import { ApplicationFailure, CancellationScope, defineQuery, setHandler } from '@temporalio/workflow';
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

  let failure: string | undefined;
  try {
    await tracker.run('begin', () => quick.beginOperation({ ref, operation: 'reset', requester }));
    // Let every store finish (or fail) before reporting, so nothing is still seeding when we answer.
    const settled = await Promise.allSettled(
      stores.map((s) =>
        tracker.run(s, async (): Promise<unknown> => (s === 'mongo' ? long.seedMongo({ ref }) : s === 'redis' ? long.seedRedis({ ref }) : long.seedSql({ ref, engine: s }))),
      ),
    );
    const failed = settled.flatMap((r, i) => (r.status === 'rejected' ? [`${stores[i]}: ${describe(r.reason)}`] : []));
    if (failed.length) {
      failure = failed.join('; ');
      // The environment still exists; the failed stores may be half re-seeded: a new reset starts them clean.
      await quick.finishOperation({ ref, operation: 'reset', requester, state: 'ready', error: `reset failed: ${failure}` });
    } else {
      await tracker.run('done', () => quick.finishOperation({ ref, operation: 'reset', requester, state: 'ready' }));
    }
  } catch (err) {
    failure ??= describe(err);
  } finally {
    tracker.finish(failure ? 'failed' : 'succeeded');
    const who = `asked by ${requester.id}, ${new Date().toISOString()}`;
    await CancellationScope.nonCancellable(() =>
      notifier.close({
        kind: 'notice',
        environment: ref.environment,
        text: failure ? `Resetting ${stores.join(', ')} of ${ref.environment} (${who}) failed: ${failure}. Run the reset again.` : `${ref.environment}: ${stores.join(', ')} re-seeded (${who}).`,
      }),
    );
  }
  if (failure) throw ApplicationFailure.create({ type: 'EnvironmentResetFailed', message: `${ref.environment}: ${failure}`, nonRetryable: true });
  return { environment: ref.environment, reset: stores };
}
