// A workflow that only seeds: one seed activity of the real worker, with the timeouts of the `long`
// preset seeding runs under (workflows/activities.ts: 20 s heartbeat timeout), for tests of
// heartbeats, cancellation and memory. It waits for a cancelled activity to say it stopped, so the
// history records when it did (ActivityTaskCanceled).
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { EnvRef, SqlEngine } from '../../shared/model.js';

export interface SeedOnlyInput {
  activity: 'seedMongo' | 'seedSql' | 'seedRedis';
  ref: EnvRef;
  engine?: SqlEngine;
}

const seeding = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '20 seconds',
  retry: { maximumAttempts: 1 },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

export async function seedOnly(input: SeedOnlyInput): Promise<unknown> {
  const call = seeding[input.activity] as (i: { ref: EnvRef; engine?: SqlEngine }) => Promise<unknown>;
  return call({ ref: input.ref, ...(input.engine ? { engine: input.engine } : {}) });
}
