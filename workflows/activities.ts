// The one place workflows reach activities: each group with its timeout and retry preset.
import { patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { NON_RETRYABLE_ERRORS } from '../shared/errors.js';

const nonRetryableErrorTypes = [...NON_RETRYABLE_ERRORS];

const QUICK = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 6, nonRetryableErrorTypes },
} as const;

/** Quick calls to a server: seconds each, retried with backoff on transient faults. */
export const quick = proxyActivities<Activities>(QUICK);

/**
 * Seeding and applying: may run for many minutes, so they heartbeat; a worker that dies is noticed
 * within the heartbeat timeout and another worker retries from a clean start.
 */
export const long = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 6, nonRetryableErrorTypes },
});

/**
 * Undo and destroy steps: idempotent, so they are retried longer; a failure is logged and unwinding
 * goes on. A delete that can never succeed (its server is gone from the catalogue and from envbot's
 * memory) fails once with the reason instead of being retried to exhaustion.
 */
export const undo = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes },
});

/**
 * Waiting for the environment's turn: an expiry that comes due while another operation runs
 * (a long reset) begins once that has finished; the begin is retried for up to a day.
 */
export const patient = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '1 day',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes },
});

/**
 * Chat: best effort; provisioning never fails because a message could not be sent. The Slack client
 * does not retry by itself (a retried post must first look for the one it may have made), so the
 * retries are here: five attempts over about fifteen seconds.
 */
const CHAT = {
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
} as const;
export const chat = proxyActivities<Activities>(CHAT);

/**
 * Runs from 0.3 on run an operation's store-only steps (its claim and its finish) as local
 * activities: in the worker that runs the workflow, recorded as markers, without a round trip
 * through Temporal's task queue each. Runs recorded before replay with the activities they
 * scheduled. Chat sends stay activities: the notifier schedules a send when one ends, and as local
 * activities those ends replayed at other points than they happened (a recorded create failed to
 * replay), changing how many sends a run makes.
 */
export const LOCAL_ACTIVITIES_PATCH = 'local-store-steps';
/** Store-only steps as local activities (the claim, the finish, a `store` row of the table). */
export const localQuick = proxyLocalActivities<Activities>(QUICK);

/** The store-only steps' preset for this run: local from LOCAL_ACTIVITIES_PATCH on. */
export function local(): { store: Pick<Activities, 'beginOperation' | 'finishOperation'> } {
  return patched(LOCAL_ACTIVITIES_PATCH) ? { store: localQuick } : { store: quick };
}
