// The platform-neutral core the CLI and the chat adapters share: check a request, start or signal
// the workflow, and answer with plain data. It never waits for provisioning itself.
import type { Duration } from '@temporalio/common';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Catalogue } from '../../shared/catalogue/schema.js';
import { parseDuration } from '../../shared/duration.js';
import { ConflictError, InvalidNameError } from '../../shared/errors.js';
import type { ChatTarget, EnvRef, Progress, Requester, ResetTarget } from '../../shared/model.js';
import { progressQuery } from '../../shared/resources.js';
import { environmentName, gitPushWorkflowId, promotionScheduleId, promotionWorkflowId, sourceRefreshWorkflowId, workflowId, workflowIdOfRun } from '../../shared/names.js';
import type { EnvironmentRecord, Store } from '../../shared/store/store.js';
import { createEnvironment } from '../../workflows/create-environment.js';
import { destroyEnvironment } from '../../workflows/destroy-environment.js';
import { environmentLifecycle, extendSignal } from '../../workflows/lifecycle.js';
import { sourceChangedSignal, storageRefresh } from '../../workflows/storage-refresh.js';
import { gitPush, gitPushSignal, type GitPush } from '../../workflows/git-push.js';
import { trackService } from '../../workflows/track-service.js';
import { promotionCheck, type PromotionCheckInput } from '../../workflows/promotion-check.js';
import { repositoryKey } from '../../shared/catalogue/tracked.js';
import type { StorageSource } from '../../shared/storage-sources.js';
import { resetDatabases } from '../../workflows/reset-databases.js';
import { storageCopiesQuery, storageCopy } from '../../workflows/storage-copy.js';
import { copySummary, type VolumeCopy } from '../../shared/chat.js';
import { extensionProblem, ttlProblem } from './expiry.js';
import { findEnvironment, isBusy, listEnvironments } from './lookup.js';
import { planFor } from './plan.js';
import { branchChoiceProblem } from './tracking.js';
import { volumesToCopy } from './storage.js';

export interface CoreOptions {
  client: Client;
  store: Store;
  catalogue: Catalogue;
  taskQueue: string;
  temporalUiUrl?: string;
  /** How often a storage copy looks at DataSync (30 seconds when absent; tests look more often). */
  storageCopyPoll?: Duration;
  /** How S3 changes refresh storage: the debounce window and how many copies at a time (60 s and 4 when absent). */
  sourceRefresh?: { debounce: Duration; concurrency: number };
  /** How many environments one push applies in at a time (4 when absent). */
  gitPushConcurrency?: number;
  /**
   * The client shares its NativeConnection with a worker on `taskQueue` in this process (bot/main.ts):
   * creates then ask for eager start, the server handing the first workflow task straight to that
   * worker instead of through the task queue (it falls back to the queue when the worker is busy).
   */
  eagerStart?: boolean;
}

/** A project whose production envbot reads, checked on a Schedule (README "Production promotion"). */
export function promotingProjects(catalogue: Catalogue): string[] {
  return Object.entries(catalogue.projects).filter(([, p]) => p.production).map(([name]) => name);
}

export interface Started {
  environment: string;
  workflowId: string;
  handle: WorkflowHandle;
  /** The server handed the first workflow task straight to this process's worker (a create with `eagerStart`). */
  eager?: boolean;
}


/** An environment as a caller has it: its record, loaded already (once per request), or the name someone typed. */
export type EnvironmentRef = EnvironmentRecord | string;

export class EnvbotCore {
  constructor(private readonly o: CoreOptions) {}

  get catalogue(): Catalogue {
    return this.o.catalogue;
  }

  /** Starts building `<project>-<stage>[-<suffix>]`; refuses one that exists or is being built. */
  async create(req: { project: string; stage: string; suffix?: string; requester: Requester; target?: ChatTarget; ttl?: string; branches?: Record<string, string> }): Promise<Started> {
    const env = environmentName(req.project, req.stage, req.suffix);
    const project = this.o.catalogue.projects[req.project];
    for (const [service, branch] of Object.entries(req.branches ?? {})) {
      const bad = project ? branchChoiceProblem(project, service, branch) : undefined;
      if (bad) throw new InvalidNameError(bad);
    }
    const plan = planFor(this.o.catalogue, req.project, req.stage, req.ttl);
    const tooLong = req.ttl ? ttlProblem(this.o.catalogue, req.project, req.ttl) : undefined;
    if (tooLong) throw new InvalidNameError(tooLong);
    const existing = await this.o.store.getEnvironment(env.name);
    if (existing && existing.state !== 'destroyed' && existing.state !== 'failed') {
      throw new ConflictError(
        existing.state === 'creating'
          ? `${env.name} is already being built; "status ${env.name}" shows how far it is.`
          : `${env.name} already exists (${existing.state}); use it, reset it, or destroy it first.`,
      );
    }
    const ref: EnvRef = { environment: env.name, project: env.project, stage: env.stage, ...(env.suffix ? { suffix: env.suffix } : {}) };
    const id = workflowId('create', env.name);
    try {
      const handle = await this.o.client.workflow.start(createEnvironment, {
        taskQueue: this.o.taskQueue,
        workflowId: id,
        // One create per environment at a time; after it ended, a new create is a new run (the
        // workflow's first step still refuses an environment that exists).
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        ...(this.o.eagerStart ? { requestEagerStart: true } : {}),
        args: [{ ref, requester: req.requester, plan, ...(req.target ? { target: req.target } : {}), ...(req.branches ? { branches: req.branches } : {}), ...(this.o.temporalUiUrl ? { temporalUiUrl: this.o.temporalUiUrl } : {}), ...(this.o.storageCopyPoll ? { storageCopyPoll: this.o.storageCopyPoll } : {}) }],
      });
      return { environment: env.name, workflowId: id, handle, eager: handle.eagerlyStarted };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        throw new ConflictError(`${env.name} is already being built; "status ${env.name}" shows how far it is.`);
      }
      throw err;
    }
  }

  async destroy(req: { environment: EnvironmentRef; requester: Requester; target?: ChatTarget }): Promise<Started> {
    const record = await this.recordOf(req.environment);
    const ref = refOf(record);
    // A quick answer for what the record shows; the workflow's first step decides for certain (a
    // create or reset that began after this record was read refuses it there), and once the
    // destroy has the environment it ends the pending expiry.
    if (record.workflowId && (record.state === 'creating' || record.state === 'resetting') && (await this.running(workflowIdOfRun(record.workflowId)))) {
      throw new ConflictError(`${ref.environment} is ${record.state === 'creating' ? 'being built' : 'being reset'}; destroy it once that has finished ("status ${ref.environment}" shows how far it is).`);
    }
    if (await this.running(workflowId('destroy', ref.environment))) throw new ConflictError(`${ref.environment} is already being destroyed.`);
    return this.startOnce(destroyEnvironment, 'destroy', ref, [{ ref, requester: req.requester, reason: 'requested' as const, ...(req.target ? { target: req.target } : {}) }]);
  }

  async resetDatabases(req: { environment: EnvironmentRef; which: ResetTarget; requester: Requester; target?: ChatTarget }): Promise<Started> {
    const record = await this.recordOf(req.environment);
    if (record.state !== 'ready') throw new ConflictError(`${record.name} is ${record.state}; it can be reset when it is ready.`);
    const ref = refOf(record);
    const plan = planFor(this.o.catalogue, ref.project, ref.stage);
    return this.startOnce(resetDatabases, 'reset', ref, [{ ref, requester: req.requester, which: req.which, plan, ...(req.target ? { target: req.target } : {}) }]);
  }

  /**
   * Re-runs the copy from S3 of some (`volumes`) or all of a ready environment's storage volumes, as a
   * storageCopy workflow that posts its own message in `target` and edits it as the copies go. The
   * `refresh` command and the Retry of a failed copy come here; S3 change notifications start their
   * copies as children of the source's storageRefresh workflow, under the same id. Every copy of an environment runs under one
   * workflow id (`envbot/<env>/storage-copy`, also the create's first copy), so one running is never
   * doubled: a second is refused, saying what runs. A copy does not take the environment's operation
   * (it changes nothing the record holds, and may run for hours): a reset or extend goes on beside it,
   * and a destroy stops it by deleting the DataSync task, after which the copy ends quietly.
   */
  async copyStorage(req: { environment: EnvironmentRef; volumes?: string[]; requester: Requester; target?: ChatTarget }): Promise<Started & { volumes: string[] }> {
    const record = await this.recordOf(req.environment);
    const copies = volumesToCopy(record, this.o.catalogue, req.volumes);
    const ref = refOf(record);
    const id = workflowId('storage-copy', ref.environment);
    try {
      const handle = await this.o.client.workflow.start(storageCopy, {
        taskQueue: this.o.taskQueue,
        workflowId: id,
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        args: [{
          ref, volumes: copies, requester: req.requester,
          ...(req.target ? { target: { ...req.target, messageRef: undefined } } : {}),
          ...(this.o.storageCopyPoll ? { pollEvery: this.o.storageCopyPoll } : {}),
        }],
      });
      return { environment: ref.environment, workflowId: id, handle, volumes: copies.map((c) => c.volume) };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      const running: VolumeCopy[] = await this.o.client.workflow.getHandle(id).query(storageCopiesQuery).catch(() => []);
      const what = running.filter((c) => c.state === 'copying').map((c) => `${c.volume}: ${copySummary(c)}`);
      throw new ConflictError(
        `A copy of ${ref.environment}'s storage is already running${what.length ? ` (${what.join('; ')})` : ''}; ` +
          'one runs at a time per environment: refresh again once it has ended (its message in the channel shows how far it is).',
      );
    }
  }

  /**
   * Sets the expiry to now + `duration` (within the project's bounds, and never closer than it is
   * unless `mayShorten`: see expiry.ts); starts a lifecycle for an environment that had none.
   */
  async extend(req: { environment: EnvironmentRef; duration: string; requester: Requester; target?: ChatTarget; mayShorten?: boolean }): Promise<{ environment: string; expiresAt: string }> {
    const record = await this.recordOf(req.environment);
    if (record.state !== 'ready') throw new ConflictError(`${record.name} is ${record.state}; it can be extended when it is ready.`);
    const now = Date.now();
    const problem = extensionProblem({ catalogue: this.o.catalogue, project: record.project, environment: record.name, duration: req.duration, now, current: record.expiresAt, mayShorten: req.mayShorten ?? false });
    if (problem) throw new InvalidNameError(problem);
    const until = new Date(now + parseDuration(req.duration)).toISOString();
    const ref = refOf(record);
    await this.o.client.workflow.signalWithStart(environmentLifecycle, {
      taskQueue: this.o.taskQueue,
      workflowId: workflowId('lifecycle', ref.environment),
      args: [{ ref, expiresAt: until, warnBefore: this.o.catalogue.defaults.warnBefore, ...(req.target ? { target: req.target } : {}) }],
      signal: extendSignal,
      signalArgs: [{ until, by: req.requester.id }],
    });
    await this.o.store.setExpiry(ref.environment, new Date(until));
    await this.o.store.audit({ actor: req.requester.id, platform: req.requester.platform, channel: req.requester.channel, action: 'extend', environment: ref.environment, outcome: 'succeeded', details: { until } });
    return { environment: ref.environment, expiresAt: until };
  }

  /**
   * Objects under an S3 source changed: signals the source's refresh, starting it when none runs
   * (Signal-With-Start), so changes within its debounce window make one refresh.
   */
  async sourceChanged(source: StorageSource, objects: number): Promise<{ workflowId: string }> {
    const id = sourceRefreshWorkflowId(source.raw);
    const refresh = this.o.sourceRefresh ?? { debounce: '60 seconds', concurrency: 4 };
    await this.o.client.workflow.signalWithStart(storageRefresh, {
      taskQueue: this.o.taskQueue,
      workflowId: id,
      args: [{ source, debounce: refresh.debounce, concurrency: refresh.concurrency, ...(this.o.storageCopyPoll ? { pollEvery: this.o.storageCopyPoll } : {}) }],
      signal: sourceChangedSignal,
      signalArgs: [{ objects }],
    });
    return { workflowId: id };
  }

  /**
   * A branch of a repository moved: hands the push to the run of that repository and branch, starting
   * it when none runs (Signal-With-Start); a push it has not started on yet is superseded.
   */
  async gitPushed(push: GitPush): Promise<{ workflowId: string }> {
    const id = gitPushWorkflowId(repositoryKey(push.urls[0]!), push.branch);
    await this.o.client.workflow.signalWithStart(gitPush, {
      taskQueue: this.o.taskQueue,
      workflowId: id,
      args: [{ concurrency: this.o.gitPushConcurrency ?? 4 }],
      signal: gitPushSignal,
      signalArgs: [push],
    });
    return { workflowId: id };
  }

  /**
   * `/env track`: starts moving one service of a ready environment to `branch` (null: its default
   * branch); the trackService workflow applies the branch's head and says so in `target`.
   */
  async track(req: { environment: EnvironmentRef; service: string; branch: string | null; requester: Requester; target?: ChatTarget }): Promise<Started> {
    const record = await this.recordOf(req.environment);
    const project = this.o.catalogue.projects[record.project];
    if (!project) throw new InvalidNameError(`${record.project} is no longer in the catalogue; its services cannot move.`);
    const bad = branchChoiceProblem(project, req.service, req.branch ?? 'main');
    if (bad) throw new InvalidNameError(bad);
    if (record.state !== 'ready') throw new ConflictError(`${record.name} is ${record.state}; a service can move to another branch when it is ready.`);
    const ref = refOf(record);
    const id = workflowId('track', ref.environment);
    try {
      const handle = await this.o.client.workflow.start(trackService, {
        taskQueue: this.o.taskQueue,
        workflowId: id,
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        args: [{ ref, service: req.service, branch: req.branch, requester: req.requester, ...(req.target ? { target: req.target } : {}) }],
      });
      return { environment: ref.environment, workflowId: id, handle };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new ConflictError(`A service of ${ref.environment} is already moving to another branch; try again once that is done.`);
      throw err;
    }
  }

  /**
   * Starts the production promotion check of `project` (`/env promotions check`, GitHub's
   * deployment_status); a check already running is joined, not doubled.
   */
  async checkPromotions(req: { project: string; by: string; target?: ChatTarget }): Promise<{ workflowId: string; handle: WorkflowHandle }> {
    const p = this.o.catalogue.projects[req.project];
    if (!p) throw new InvalidNameError(`There is no project "${req.project}". Projects: ${Object.keys(this.o.catalogue.projects).join(', ')}.`);
    if (!p.production) throw new InvalidNameError(`${req.project} names no production to promote from: an envbot admin adds projects.${req.project}.production (context and namespace) to envbot.yaml.`);
    const id = promotionWorkflowId(req.project);
    const handle = await this.o.client.workflow.start(promotionCheck, {
      taskQueue: this.o.taskQueue,
      workflowId: id,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      args: [{ project: req.project, by: req.by, ...(req.target ? { target: req.target } : {}) }],
    });
    return { workflowId: id, handle };
  }

  /**
   * Makes (or updates) one Temporal Schedule per project that names its production: a promotion
   * check every `every`; a check still running when the next is due is not doubled.
   */
  async ensurePromotionSchedules(every: Duration): Promise<string[]> {
    const ids: string[] = [];
    for (const project of promotingProjects(this.o.catalogue)) {
      const scheduleId = promotionScheduleId(project);
      const action = { type: 'startWorkflow' as const, workflowType: promotionCheck, workflowId: promotionWorkflowId(project), taskQueue: this.o.taskQueue, args: [{ project, by: 'schedule' }] as [PromotionCheckInput] };
      const spec = { intervals: [{ every }] };
      try {
        await this.o.client.schedule.create({ scheduleId, spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP } });
      } catch (err) {
        if (!(err instanceof ScheduleAlreadyRunning)) throw err;
        await this.o.client.schedule.getHandle(scheduleId).update((s) => ({ ...s, spec, action, policies: { ...s.policies, overlap: ScheduleOverlapPolicy.SKIP } }));
      }
      ids.push(scheduleId);
    }
    return ids;
  }

  list(project?: string): Promise<EnvironmentRecord[]> {
    return listEnvironments(this.o.store, this.o.catalogue, project);
  }

  /** While an operation runs on the environment, its live progress. */
  async progress(record: EnvironmentRecord): Promise<Progress | undefined> {
    if (!isBusy(record) || !record.workflowId) return undefined;
    return this.o.client.workflow.getHandle(workflowIdOfRun(record.workflowId)).query(progressQuery).catch(() => undefined);
  }

  private async running(id: string): Promise<boolean> {
    try {
      return (await this.o.client.workflow.getHandle(id).describe()).status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  private recordOf(env: EnvironmentRef): Promise<EnvironmentRecord> {
    return typeof env === 'string' ? this.find(env) : Promise.resolve(env);
  }

  /**
   * The record of an environment someone named, loaded once per request. The store is asked first,
   * so an environment whose project has since left the catalogue can still be found (and destroyed).
   */
  find(text: string): Promise<EnvironmentRecord> {
    return findEnvironment(this.o.store, this.o.catalogue, text);
  }

  private async startOnce<A extends unknown[]>(fn: (...args: A) => Promise<unknown>, op: 'destroy' | 'reset', ref: EnvRef, args: A): Promise<Started> {
    const id = workflowId(op, ref.environment);
    try {
      const handle = await this.o.client.workflow.start(fn as never, {
        taskQueue: this.o.taskQueue,
        workflowId: id,
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        args: args as never,
      });
      return { environment: ref.environment, workflowId: id, handle };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        throw new ConflictError(`${ref.environment} is already being ${op === 'destroy' ? 'destroyed' : 'reset'}.`);
      }
      throw err;
    }
  }
}

export function refOf(r: EnvironmentRecord): EnvRef {
  return { environment: r.name, project: r.project, stage: r.stage, ...(r.suffix ? { suffix: r.suffix } : {}) };
}
