// destroyEnvironment: removes everything envbot built for an environment, in reverse order of
// creation. Every delete is idempotent and consults the ledger, so a destroy after a partial
// create, or a second destroy, is safe.
import { ApplicationFailure, defineQuery, setHandler } from '@temporalio/workflow';
import type { ChatTarget, EnvRef, Progress, Requester } from '../shared/model.js';
import { quick, undo } from './activities.js';
import { Notifier } from './notifier.js';
import { describe, Tracker } from './progress.js';

export interface DestroyEnvironmentInput {
  ref: EnvRef;
  requester: Requester;
  target?: ChatTarget;
  reason?: 'requested' | 'expired';
}

export interface DestroyEnvironmentResult {
  environment: string;
  status: 'destroyed' | 'failed';
  removed: string[];
  failed: { step: string; error: string }[];
}

export const destroyProgressQuery = defineQuery<Progress>('progress');

const STEPS = [
  { id: 'begin', title: 'Mark the environment as being destroyed' },
  { id: 'manifests', title: 'Services' },
  { id: 'credentials', title: 'Kubernetes secret' },
  { id: 'namespace', title: 'Kubernetes namespace' },
  { id: 'dns', title: 'DNS records' },
  { id: 'redis', title: 'Redis database' },
  { id: 'mysql', title: 'MySQL databases' },
  { id: 'postgres', title: 'PostgreSQL databases' },
  { id: 'mongo', title: 'MongoDB databases' },
  { id: 'secrets', title: 'Credentials' },
  { id: 'done', title: 'Destroyed' },
];

export async function destroyEnvironment(input: DestroyEnvironmentInput): Promise<DestroyEnvironmentResult> {
  const { ref, requester } = input;
  const operation = input.reason === 'expired' ? 'expire' : 'destroy';
  const notifier = new Notifier(input.target, () => ({ kind: 'progress', progress: tracker.snapshot() }));
  const tracker = new Tracker(ref.environment, operation, STEPS, () => notifier.changed());
  setHandler(destroyProgressQuery, () => tracker.snapshot());
  const result: DestroyEnvironmentResult = { environment: ref.environment, status: 'destroyed', removed: [], failed: [] };

  try {
    await tracker.run('begin', () => quick.beginOperation({ ref, operation, requester }));
  } catch (err) {
    // Not started (it does not exist, or another operation runs): say so where it was asked, then fail.
    tracker.finish('failed');
    await notifier.close({ kind: 'notice', environment: ref.environment, text: `${ref.environment} was not destroyed: ${describe(err)}` });
    throw err;
  }
  const removals: [string, () => Promise<unknown>][] = [
    ['manifests', () => undo.deleteManifests({ ref })],
    ['credentials', () => undo.deleteCredentials({ ref })],
    ['namespace', () => undo.deleteNamespace({ ref })],
    ['dns', () => undo.deleteDnsRecords({ ref })],
    ['redis', () => undo.deleteRedis({ ref })],
    ['mysql', () => undo.deleteSql({ ref, engine: 'mysql' })],
    ['postgres', () => undo.deleteSql({ ref, engine: 'postgres' })],
    ['mongo', () => undo.deleteMongo({ ref })],
    ['secrets', () => undo.deleteSecrets({ ref })],
  ];
  // Keep going past a failed removal: remove all that can be, then report what is left.
  for (const [id, remove] of removals) {
    try {
      await tracker.run(id, remove);
      result.removed.push(id);
    } catch (err) {
      result.failed.push({ step: id, error: describe(err) });
    }
  }
  const error = result.failed.map((f) => `${f.step}: ${f.error}`).join('; ');
  if (result.failed.length) result.status = 'failed';
  await tracker.run('done', () =>
    quick.finishOperation({ ref, operation, requester, state: result.failed.length ? 'failed' : 'destroyed', ...(error ? { error } : {}) }),
  );
  tracker.finish(result.failed.length ? 'failed' : 'succeeded');
  const who = `asked by ${requester.id}, ${new Date().toISOString()}`;
  await notifier.close({
    kind: 'notice',
    environment: ref.environment,
    text: result.failed.length ? `${ref.environment} could not be fully destroyed (${who}): ${error}. Run destroy again.` : `${ref.environment} was destroyed (${who}).`,
  });
  if (result.failed.length) {
    throw ApplicationFailure.create({ type: 'EnvironmentDestroyFailed', message: `${ref.environment}: ${error}`, nonRetryable: true, details: [result] });
  }
  return result;
}
