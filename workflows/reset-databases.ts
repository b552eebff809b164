// resetDatabases: drops and re-seeds the chosen data stores of an environment (mongo, sql, redis
// or all) from the catalogue's seeds, per-stage overrides included; everything else stays. Which
// rows a reset touches comes from the resource table (shared/resources.ts).
import { ApplicationFailure, CancellationScope, patched, setHandler } from '@temporalio/workflow';
import type { ChatTarget, EnvRef, Requester, ResetTarget } from '../shared/model.js';
import { progressQuery, resetRows, resetSteps, SOURCES_PATCH, type EnvironmentPlan } from '../shared/resources.js';
import { long, quick } from './activities.js';
import { Notifier } from './notifier.js';
import { describe, Tracker } from './progress.js';
import { seedResource } from './resources.js';

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

export async function resetDatabases(input: ResetDatabasesInput): Promise<ResetDatabasesResult> {
  const { ref, requester, which, plan } = input;
  const rows = resetRows(plan, which);
  const stores = rows.map((r) => r.id);
  // As in create: only plans with S3 or git sources, only runs that reached here on code that has the step.
  const fetchSources = plan.sources === true && patched(SOURCES_PATCH);
  const notifier = new Notifier(input.target, () => ({ kind: 'progress', progress: tracker.snapshot() }));
  const tracker = new Tracker(ref.environment, 'reset', resetSteps(rows, fetchSources), () => notifier.changed());
  setHandler(progressQuery, () => tracker.snapshot());

  let failure: string | undefined;
  try {
    await tracker.run('begin', () => quick.beginOperation({ ref, operation: 'reset', requester }));
    // The seeds being reset, at their version now (a new commit or upload is taken), recorded on the environment.
    // A seed that cannot be fetched re-seeds nothing: the stores keep what they have.
    const fetched = fetchSources ? await tracker.run('sources', () => long.resolveSources({ ref, only: stores })).then(() => undefined, (err: unknown) => `fetching seeds: ${describe(err)}`) : undefined;
    // Let every store finish (or fail) before reporting, so nothing is still seeding when we answer.
    const settled = fetched ? [] : await Promise.allSettled(rows.map((row) => tracker.run(row.id, () => seedResource(row, ref))));
    const failed = fetched ? [fetched] : settled.flatMap((r, i) => (r.status === 'rejected' ? [`${stores[i]}: ${describe(r.reason)}`] : []));
    if (failed.length) {
      failure = failed.join('; ');
      // The environment still exists; the failed stores may be half re-seeded: a new reset starts them clean.
      await quick.finishOperation({ ref, operation: 'reset', requester, state: 'ready', error: `reset failed: ${failure}` });
    } else {
      await tracker.run('done', () => quick.finishOperation({ ref, operation: 'reset', requester, state: 'ready' }));
    }
  } catch (err) {
    // Also when this run lost the environment to another while seeding: said, never swallowed.
    failure = failure ? `${failure}; ${describe(err)}` : describe(err);
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
