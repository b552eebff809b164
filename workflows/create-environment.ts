// createEnvironment: builds one environment as a saga. Secrets first; then databases, Redis, DNS and
// the namespace in parallel; then the credentials Secret and the services. On any failure every
// step done (or half done) is undone in reverse, and the result says what happened.
import {
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  defineQuery,
  getExternalWorkflowHandle,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { EnvironmentCard } from '../shared/chat.js';
import { parseDuration } from '../shared/duration.js';
import type { ChatTarget, EnvRef, Progress, Requester } from '../shared/model.js';
import { workflowId } from '../shared/names.js';
import { long, quick, undo } from './activities.js';
import { environmentLifecycle, extendSignal } from './lifecycle.js';
import { Notifier } from './notifier.js';
import { describe, Tracker } from './progress.js';
import { Saga } from './saga.js';

/** What the catalogue says this environment is made of; worked out by the core, which has the catalogue. */
export interface EnvironmentPlan {
  mongo: boolean;
  mysql: boolean;
  postgres: boolean;
  redis: boolean;
  /** Time to live (14d); none: the environment stays until destroyed. */
  ttl?: string;
  warnBefore: string;
}

export interface CreateEnvironmentInput {
  ref: EnvRef;
  requester: Requester;
  plan: EnvironmentPlan;
  target?: ChatTarget;
  /** Branch per service, when someone asked for other than the catalogue's. */
  branches?: Record<string, string>;
  temporalUiUrl?: string;
}

export interface CreateEnvironmentResult {
  environment: string;
  status: 'ready' | 'failed';
  urls: string[];
  databases: { engine: string; name: string }[];
  redisIndex?: number;
  expiresAt?: string;
  built: string[];
  failedStep?: string;
  error?: string;
  rolledBack: string[];
  undoFailed: string[];
}

export const progressQuery = defineQuery<Progress>('progress');

export const CREATE_STEPS = [
  { id: 'claim', title: 'Reserve the environment' },
  { id: 'secrets', title: 'Generate credentials' },
  { id: 'mongo', title: 'MongoDB databases' },
  { id: 'mysql', title: 'MySQL databases' },
  { id: 'postgres', title: 'PostgreSQL databases' },
  { id: 'redis', title: 'Redis database' },
  { id: 'dns', title: 'DNS records' },
  { id: 'namespace', title: 'Kubernetes namespace' },
  { id: 'credentials', title: 'Kubernetes secret' },
  { id: 'manifests', title: 'Services' },
  { id: 'ready', title: 'Ready' },
] as const;

export async function createEnvironment(input: CreateEnvironmentInput): Promise<CreateEnvironmentResult> {
  const { ref, requester, plan } = input;
  const steps = CREATE_STEPS.filter((s) => !(['mongo', 'mysql', 'postgres', 'redis'] as string[]).includes(s.id) || plan[s.id as 'mongo']);
  const result: CreateEnvironmentResult = { environment: ref.environment, status: 'ready', urls: [], databases: [], built: [], rolledBack: [], undoFailed: [] };
  const card = (): EnvironmentCard => ({
    environment: ref.environment,
    project: ref.project,
    stage: ref.stage,
    ...(ref.suffix ? { suffix: ref.suffix } : {}),
    status: result.status,
    urls: result.urls,
    databases: result.databases,
    ...(result.redisIndex !== undefined ? { redisIndex: result.redisIndex } : {}),
    ...(result.expiresAt ? { expiresAt: result.expiresAt } : {}),
    ...(input.temporalUiUrl ? { workflowUrl: `${input.temporalUiUrl}/namespaces/${workflowInfo().namespace}/workflows/${encodeURIComponent(workflowInfo().workflowId)}` } : {}),
    ...(result.failedStep ? { failedStep: result.failedStep, error: result.error ?? '', rolledBack: result.rolledBack } : {}),
  });
  const notifier = new Notifier(input.target, () => ({ kind: 'progress', progress: tracker.snapshot() }));
  const tracker = new Tracker(ref.environment, 'create', steps, () => notifier.changed());
  setHandler(progressQuery, () => tracker.snapshot());

  const saga = new Saga();
  const step = async <T>(id: string, fn: () => Promise<T>): Promise<T> => {
    try {
      const value = await tracker.run(id, fn);
      result.built.push(id);
      return value;
    } catch (err) {
      result.failedStep ??= id;
      result.error ??= describe(err);
      throw err;
    }
  };

  try {
    saga.onUndo('claim', () => undo.finishOperation({ ref, operation: 'create', requester, state: 'failed', error: result.error ?? 'cancelled' }));
    await step('claim', () => quick.beginOperation({ ref, operation: 'create', requester, spec: { plan, branches: input.branches ?? {} } }));

    saga.onUndo('secrets', () => undo.deleteSecrets({ ref }));
    await step('secrets', () => quick.createSecrets({ ref }));

    // Independent resources, in parallel; each registers its undo before it starts.
    const parallel: Promise<unknown>[] = [];
    if (plan.mongo) {
      saga.onUndo('mongo', () => undo.deleteMongo({ ref }));
      parallel.push(step('mongo', async () => {
        const created = await quick.createMongo({ ref });
        await long.seedMongo({ ref });
        for (const name of created.databases) result.databases.push({ engine: 'mongo', name });
      }));
    }
    for (const engine of ['mysql', 'postgres'] as const) {
      if (!plan[engine]) continue;
      saga.onUndo(engine, () => undo.deleteSql({ ref, engine }));
      parallel.push(step(engine, async () => {
        const created = await quick.createSql({ ref, engine });
        await long.seedSql({ ref, engine });
        for (const name of created.databases) result.databases.push({ engine, name });
      }));
    }
    if (plan.redis) {
      saga.onUndo('redis', () => undo.deleteRedis({ ref }));
      parallel.push(step('redis', async () => {
        const created = await quick.createRedis({ ref });
        await long.seedRedis({ ref });
        result.redisIndex = created.index;
      }));
    }
    saga.onUndo('dns', () => undo.deleteDnsRecords({ ref }));
    parallel.push(step('dns', async () => {
      const { records } = await quick.createDnsRecords({ ref });
      result.urls = records.map((r) => `https://${r}`);
    }));
    saga.onUndo('namespace', () => undo.deleteNamespace({ ref }));
    parallel.push(step('namespace', () => quick.createNamespace({ ref })));
    // Let every branch finish (or fail) before unwinding, so no step is still running during undo.
    const settled = await Promise.allSettled(parallel);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;

    saga.onUndo('credentials', () => undo.deleteCredentials({ ref }));
    await step('credentials', () => quick.applyCredentials({ ref }));
    saga.onUndo('manifests', () => undo.deleteManifests({ ref }));
    await step('manifests', () => long.applyManifests({ ref }));

    if (plan.ttl) result.expiresAt = new Date(Date.now() + parseDuration(plan.ttl)).toISOString();
    await step('ready', () => quick.finishOperation({ ref, operation: 'create', requester, state: 'ready', expiresAt: result.expiresAt ?? null }));
    tracker.finish('succeeded');
  } catch (err) {
    result.status = 'failed';
    result.error ??= describe(err);
    const unwound = await saga.unwind(tracker);
    result.rolledBack = unwound.undone;
    result.undoFailed = unwound.undoFailed;
    tracker.finish('failed');
    // Also after a cancellation: the channel learns how it ended.
    await CancellationScope.nonCancellable(() => notifier.close({ kind: 'card', card: card() }));
    throw ApplicationFailure.create({
      type: 'EnvironmentCreateFailed',
      message: `${ref.environment}: ${result.failedStep ?? 'a step'} failed: ${result.error}`,
      nonRetryable: true,
      details: [result],
    });
  }

  if (result.expiresAt) {
    const id = workflowId('lifecycle', ref.environment);
    try {
      await startChild(environmentLifecycle, {
        workflowId: id,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        args: [{ ref, expiresAt: result.expiresAt, warnBefore: plan.warnBefore, ...(input.target ? { target: { ...input.target, messageRef: undefined } } : {}) }],
      });
    } catch (err) {
      // A lifecycle of this environment is already running (extended meanwhile): move its deadline.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      await getExternalWorkflowHandle(id).signal(extendSignal, { until: result.expiresAt, by: requester.id });
    }
  }
  await notifier.close({ kind: 'card', card: card() });
  return result;
}
