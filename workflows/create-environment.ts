// createEnvironment: builds one environment as a saga, row by row of the resource table
// (shared/resources.ts): each row once the rows it needs are built, side by side otherwise (runs
// from before the patch rows-by-need: the `before` rows, then the `parallel` ones side by side,
// then the `after` ones). On any failure every step done (or half done) is undone in reverse, and
// the result says what happened.
import {
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  getExternalWorkflowHandle,
  patched,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError, type Duration } from '@temporalio/common';
import type { EnvironmentCard, ServiceHealth, ServiceRun, VolumeCopy } from '../shared/chat.js';
import { parseDuration, parseWait } from '../shared/duration.js';
import type { ChatTarget, EnvRef, Requester } from '../shared/model.js';
import { workflowId } from '../shared/names.js';
import {
  createSteps,
  DEFAULT_READY_TIMEOUT,
  progressQuery,
  prerequisites,
  ROLLOUT_PATCH,
  rowsFor,
  ROWS_BY_NEED_PATCH,
  seedsOnCreate,
  SOURCES_PATCH,
  type EnvironmentPlan,
  type ResourceRow,
} from '../shared/resources.js';
import { local, long, quick, undo } from './activities.js';
import { environmentLifecycle, extendSignal } from './lifecycle.js';
import { Notifier } from './notifier.js';
import { describe, Halted, Tracker } from './progress.js';
import { admitted, createResource, deleteResource, seedResource } from './resources.js';
import { runByNeed, type Job } from './by-need.js';
import { Saga } from './saga.js';
import { startStorageCopy } from './storage-copy.js';

export type { EnvironmentPlan };

export interface CreateEnvironmentInput {
  ref: EnvRef;
  requester: Requester;
  plan: EnvironmentPlan;
  target?: ChatTarget;
  /** Branch per service, when someone asked for other than the catalogue's (recorded only, for now). */
  branches?: Record<string, string>;
  temporalUiUrl?: string;
  /** How long the storage copy waits between two looks at DataSync (30 seconds when absent). */
  storageCopyPoll?: Duration;
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
  /** The storage volumes being filled from S3 (by the storage-copy workflow, after this one). */
  storage?: VolumeCopy[];
  /** The directory group whose members reach the URLs over the company's Client VPN. */
  vpnGroup?: string;
  /** Each service's ready replicas as the wait for them last saw them. */
  services?: ServiceHealth[];
  /** What each service follows and runs (branch, commit, image), as applyManifests recorded it. */
  runs?: ServiceRun[];
}

/** What a row's create activity returned, onto the result (and so the card). */
function report(row: ResourceRow, created: unknown, result: CreateEnvironmentResult): void {
  const c = created as { runs?: ServiceRun[]; databases?: string[]; index?: number; records?: string[]; urls?: string[]; volumes?: VolumeCopy[]; group?: string } | undefined;
  if (row.reports === 'databases') for (const name of c?.databases ?? []) result.databases.push({ engine: row.id, name });
  if (row.reports === 'redisIndex' && c?.index !== undefined) result.redisIndex = c.index;
  if (row.reports === 'urls') result.urls = c?.urls ?? (c?.records ?? []).map((r) => `https://${r}`);
  if (row.reports === 'storage') result.storage = c?.volumes ?? [];
  if (row.reports === 'vpn' && c?.group) result.vpnGroup = c.group;
  if (row.reports === 'runs' && c?.runs) result.runs = c.runs;
}

/**
 * Waits until every Deployment and StatefulSet of the environment is available, the step's detail
 * saying how each service is doing; after the project's readyTimeout it fails with what the Pods
 * and their events say. The activity itself waits for a change, so this asks a few times a minute.
 */
async function waitForServices(ref: EnvRef, plan: EnvironmentPlan, tracker: Tracker, result: CreateEnvironmentResult, halted: () => boolean = () => false): Promise<void> {
  const timeout = plan.readyTimeout ?? DEFAULT_READY_TIMEOUT;
  const deadline = Date.now() + parseWait(timeout);
  let previous: string | undefined;
  for (;;) {
    // Another step failed meanwhile (the wait runs beside the rows after the services): stop here.
    if (halted()) throw new Halted();
    const waitSeconds = Math.max(1, Math.min(10, Math.ceil((deadline - Date.now()) / 1000)));
    const seen = await quick.environmentServices({ ref, ...(previous !== undefined ? { previous } : {}), waitSeconds });
    result.services = seen.services;
    if (seen.summary) tracker.detail('rollout', seen.summary);
    if (seen.ready) return;
    if (Date.now() >= deadline) {
      throw ApplicationFailure.create({
        type: 'ServicesNotReady',
        message: `not every service was ready within ${timeout} (${seen.summary}): ${seen.problems.join('; ')}`,
        nonRetryable: true,
      });
    }
    previous = seen.summary;
  }
}

export async function createEnvironment(input: CreateEnvironmentInput): Promise<CreateEnvironmentResult> {
  const { ref, requester, plan } = input;
  const rows = admitted(rowsFor(plan));
  // Only plans with S3 or git sources have the step, and only runs that reached here on code that has it.
  const fetchSources = plan.sources === true && patched(SOURCES_PATCH);
  // Runs that started before the wait for the services replay without it.
  const awaitServices = patched(ROLLOUT_PATCH);
  // Runs that started before rows went by need replay phase by phase, their store rows as activities.
  const byNeed = patched(ROWS_BY_NEED_PATCH);
  const { store } = local();
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
    ...(result.vpnGroup && result.status === 'ready' ? { vpnGroup: result.vpnGroup } : {}),
    ...(result.storage?.length && result.status === 'ready' ? { storage: result.storage } : {}),
    ...(result.services ? { services: result.services } : {}),
    ...(result.runs?.length && result.status === 'ready' ? { runs: result.runs } : {}),
    ...(result.expiresAt ? { expiresAt: result.expiresAt } : {}),
    ...(input.temporalUiUrl ? { workflowUrl: `${input.temporalUiUrl}/namespaces/${workflowInfo().namespace}/workflows/${encodeURIComponent(workflowInfo().workflowId)}` } : {}),
    ...(result.failedStep ? { failedStep: result.failedStep, error: result.error ?? '', rolledBack: result.rolledBack } : {}),
  });
  const notifier = new Notifier(input.target, () => ({ kind: 'progress', progress: tracker.snapshot() }));
  const tracker = new Tracker(ref.environment, 'create', createSteps(plan, rows, fetchSources, awaitServices), () => notifier.changed());
  setHandler(progressQuery, () => tracker.snapshot());

  const saga = new Saga();
  const step = async <T>(id: string, fn: () => Promise<T>): Promise<T> => {
    try {
      const value = await tracker.run(id, fn);
      result.built.push(id);
      return value;
    } catch (err) {
      if (!(err instanceof Halted)) {
        result.failedStep ??= id;
        result.error ??= describe(err);
      }
      throw err;
    }
  };
  /** One row: its undo registered first (a half-made resource is undone too), then create and seed. */
  const build = (row: ResourceRow): Promise<void> => {
    saga.onUndo(row.id, () => deleteResource(row, ref));
    return step(row.id, async () => {
      const created = await createResource(row, ref, byNeed);
      if (seedsOnCreate(plan, row)) await seedResource(row, ref);
      report(row, created, result);
    });
  };

  try {
    saga.onUndo('claim', () => undo.finishOperation({ ref, operation: 'create', requester, state: 'failed', error: result.error ?? 'cancelled', onlyIfOwner: true }));
    await step('claim', () => store.beginOperation({ ref, operation: 'create', requester, spec: { plan, branches: input.branches ?? {} } }));
    // Every S3 and git seed and template resolved to a version and fetched once; later steps read that version.
    if (fetchSources) await step('sources', () => long.resolveSources({ ref }));

    if (byNeed) {
      // Each row once the rows it needs are built; the wait for the services once they are applied,
      // beside the rows after them.
      const jobs: Job[] = rows.map((row) => ({ id: row.id, needs: prerequisites(row, rows), run: () => build(row) }));
      if (awaitServices) {
        const rollout = (halted: () => boolean) => step('rollout', () => waitForServices(ref, plan, tracker, result, halted));
        // Stopped because another row failed: shown as skipped; that row's failure is the one thrown.
        jobs.push({ id: 'rollout', needs: ['manifests'], run: (halted) => rollout(halted).catch((err: unknown) => { if (!(err instanceof Halted)) throw err; }) });
      }
      await runByNeed(jobs);
    } else {
      for (const row of rows.filter((r) => r.phase === 'before')) await build(row);
      // Let every parallel row finish (or fail) before unwinding, so no step is still running during undo.
      const settled = await Promise.allSettled(rows.filter((r) => r.phase === 'parallel').map(build));
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      for (const row of rows.filter((r) => r.phase === 'after')) await build(row);
      if (awaitServices) await step('rollout', () => waitForServices(ref, plan, tracker, result));
    }

    if (plan.ttl) result.expiresAt = new Date(Date.now() + parseDuration(plan.ttl)).toISOString();
    await step('ready', () => store.finishOperation({ ref, operation: 'create', requester, state: 'ready', expiresAt: result.expiresAt ?? null }));
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

  const startLifecycle = async (expiresAt: string): Promise<void> => {
    const id = workflowId('lifecycle', ref.environment);
    for (let attempt = 1; ; attempt++) {
      try {
        await startChild(environmentLifecycle, {
          workflowId: id,
          parentClosePolicy: ParentClosePolicy.ABANDON,
          args: [{ ref, expiresAt, warnBefore: plan.warnBefore, ...(input.target ? { target: { ...input.target, messageRef: undefined } } : {}) }],
        });
        return;
      } catch (err) {
        // A lifecycle of this environment is already running (extended meanwhile): move its deadline.
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        try {
          await getExternalWorkflowHandle(id).signal(extendSignal, { until: expiresAt, by: requester.id });
          return;
        } catch (signalError) {
          // It ended between the start and the signal (from rows-by-need on: start one again, once).
          if (!byNeed || attempt >= 2) throw signalError;
        }
      }
    }
  };
  // After the card (its reference is in the target then), which the copy edits as it goes.
  const startCopy = (): Promise<void> =>
    result.storage?.length
      ? startStorageCopy({ ref, volumes: result.storage, card: card(), ...(input.target ? { target: { ...input.target } } : {}), ...(input.storageCopyPoll ? { pollEvery: input.storageCopyPoll } : {}) })
      : Promise.resolve();
  if (byNeed) {
    // The lifecycle starts beside the card; without a channel (no card to wait for) the copy too.
    const lifecycle = result.expiresAt ? startLifecycle(result.expiresAt) : Promise.resolve();
    lifecycle.catch(() => undefined); // thrown below, once the card is sent
    await notifier.close({ kind: 'card', card: card() });
    await Promise.all([lifecycle, startCopy()]);
  } else {
    if (result.expiresAt) await startLifecycle(result.expiresAt);
    await notifier.close({ kind: 'card', card: card() });
    await startCopy();
  }
  return result;
}
