// The crash matrix (issue 8, "Also prove"): a worker is SIGKILLed inside each activity of a create,
// a destroy and an undo in turn, in the middle of its work; a second worker finishes the workflow,
// which ends as it would have without the crash, and what exists of the environment anywhere
// (databases and their rows, documents and keys, users, cluster objects, DNS records, storage,
// stored secrets, the ledger, the audit log) equals what a clean run leaves.
//
// A case. A victim worker (test/support/worker-process.ts, a process of its own, alone on a task
// queue of the case's own) runs a projb-qa create, a destroy (after a create it also ran) or a
// create that fails at its last step (finishOperation, by fault injection: activities/faults.ts)
// and so unwinds: the undo. It stops inside the case's activity at the case's pause point (PAUSE
// below), frozen where it stands, and the test SIGKILLs it there. Only then does a rescuer worker
// start (in this process, same task queue, the real activities) and finish the workflow.
// Checked per case: the victim stopped where it should; the history shows the rescuer ran that very
// activity again (attempt 2 or more); the workflow's result is a clean run's (normalised: the
// environment's suffix, its Redis index and ARNs differ); for a create the inventory equals a clean
// create's (then it is destroyed, leaving nothing), for a destroy and an undo nothing is left.
//
// What "inside, mid-work" means. The pause is taken by the real activity, which runs until it
// reaches one of: a write to envbot's store (the ledger, the claim, a secret, an allocation),
// after it commits (`after:<table>#<n>`) or just before it is sent (`before:<table>#<n>`, so the
// server work before it is done and not yet recorded); its n-th heartbeat (`beat#<n>`: long
// activities beat after each file, collection or object); or its return. The whole worker then
// freezes (no statement, timer or heartbeat goes out), like a machine that stops, until the kill.
// Each activity is stopped where it is most half done (made but not recorded, recorded but not
// made, part of its objects or files done); PAUSE says for each what is done then and what is not. Where an activity's server
// work comes after all its writes with nothing observable between two server calls (createMongo,
// createSql, createNamespace, applyCredentials, createDnsRecords' one change batch), the pause is
// between the ledger and the server: the other honest point there is after everything, which is
// `returned`, run for those in the full matrix too (RETURNED). Other activities the victim was
// running at that moment (the parallel rows of a create) die with it wherever they were, and are
// retried too.
//
// Timing. Temporal notices a dead worker when the attempt's timeout ends (workflows/activities.ts):
// 20 s without a heartbeat for `long` activities, a 1 minute start-to-close for `quick` ones, and 5
// minutes for `undo` ones (every destroy and undo step). By default the matrix does not wait for that:
// once the victim is dead, the test fails each attempt it held, by activity id, with a retryable
// error, which is what the timeout would do later (the retry is the same attempt 2 either way).
// CRASH_MATRIX_TIMEOUTS=natural waits for the real timeouts instead.
// Cases run side by side, each with its own environment and task queue: at most
// CRASH_MATRIX_VICTIMS (4) victim processes at a time (the machine has 2 cores), at most LIVE
// environments alive at a time (of the 15 Redis databases envbot hands out, this store takes the top ones).
//
// What runs. The full matrix (every activity of projb's rows in the resource table, each way it is
// called, plus the `returned` ones: 48 cases before the load-balancer row) took 14 minutes (828 s,
// all passed) on the 2-core machine at a load average of about 17 (other test runs beside it): too
// long for `npm test`, which runs SUBSET, one case per activity module over create, destroy and undo
// (9 cases, 125 s at a load of about 4). A row whose activities have no PAUSE entry fails the matrix. CRASH_MATRIX=full runs them all;
// CRASH_MATRIX_CASES="create seedMongo,undo deleteSql mysql" runs the cases named. Every run prints
// its figures at the end.
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { EnvbotCore } from '../../bot/core/core.js';
import { planFor } from '../../bot/core/plan.js';
import { WORKFLOWS_PATH } from '../../bot/worker.js';
import { loadCatalogue } from '../../shared/catalogue/load.js';
import type { EnvRef, Requester } from '../../shared/model.js';
import { workflowId, type Operation } from '../../shared/names.js';
import { prerequisites, rowsFor, tableActivities } from '../../shared/resources.js';
import type { CreateEnvironmentResult } from '../../workflows/create-environment.js';
import type { DestroyEnvironmentResult } from '../../workflows/destroy-environment.js';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { depsOn, uniqueEnv } from '../support/deps.js';
import { inventory as everything, leftovers, normalised } from '../support/inspect.js';
import { endWorkflowsOn } from '../support/leftover-workflows.js';
import { ensureSharedSecrets } from '../support/shared-secrets.js';
import { repoRoot, testSettings } from '../support/settings.js';
import { startWorker, type PausePoint, type WorkerProcess } from '../support/worker-process.js';

const FULL = process.env.CRASH_MATRIX === 'full';
const NATURAL = process.env.CRASH_MATRIX_TIMEOUTS === 'natural';
const VICTIMS = Number(process.env.CRASH_MATRIX_VICTIMS ?? 4);
/** Environments alive at a time (the reference's included). */
const LIVE = 6;
const requester: Requester = { id: 'cli:crash-matrix', platform: 'cli' };

/** Where each activity is stopped, and what is done and not done at that moment. */
const PAUSE: Record<string, { at: string; state: string }> = {
  beginOperation: { at: 'after:environments#1', state: 'the environment is claimed (create) or marked destroying; the audit row is not written' },
  finishOperation: { at: 'after:environments#1', state: 'the outcome is recorded on the environment; the audit row is not written' },
  createSecrets: { at: 'after:resources#1', state: 'every generated secret is in the ledger (one statement), none is stored' },
  deleteSecrets: { at: 'after:secrets#1', state: 'every value is deleted; every ledger entry is still open' },
  createMongo: { at: 'after:resources#1', state: 'user and database are in the ledger (one statement); nothing is made on the server yet' },
  seedMongo: { at: 'beat#1', state: 'the database is emptied and the first batch of the first collection loaded; the other collection, the indexes and the scripts are not' },
  deleteMongo: { at: 'after:resources#1', state: 'database and user are dropped; one of their two ledger entries is closed' },
  createSql: { at: 'after:resources#1', state: 'the user and the database are in the ledger (one statement); nothing is made on the server' },
  seedSql: { at: 'beat#3', state: 'the schema is emptied and the first seed files have run; the rest have not' },
  deleteSql: { at: 'before:resources#1', state: 'the database is dropped, its ledger entry still open; the user still exists' },
  createRedis: { at: 'after:allocations#1', state: 'a database index is claimed; nothing is in the ledger and there is no ACL user' },
  seedRedis: { at: 'beat#1', state: 'the database is emptied and the first pipeline of keys written (the example has one: every key); the activity has not returned' },
  deleteRedis: { at: 'before:resources#1', state: 'the ACL user is deleted, its ledger entry still open; the database is neither flushed nor released' },
  createDnsRecords: { at: 'after:resources#1', state: 'every host name is in the ledger (one statement); no record is made (all are made in one change batch)' },
  deleteDnsRecords: { at: 'after:resources#1', state: 'the records are deleted (one change batch); one of the two ledger entries is closed' },
  createNamespace: { at: 'after:resources#1', state: 'the namespace is in the ledger, not made' },
  deleteNamespace: { at: 'before:resources#1', state: 'the namespace is deleted and gone, its ledger entry still open' },
  applyCredentials: { at: 'after:resources#1', state: 'the Secret is in the ledger, not applied' },
  deleteCredentials: { at: 'before:resources#1', state: 'the Secret is deleted, its ledger entry still open' },
  createStorage: { at: 'before:resources#2', state: 'the EFS access point is made, but the PersistentVolume\'s entry that names it is not written; the PersistentVolume and the claim are neither recorded nor made' },
  deleteStorage: { at: 'before:resources#1', state: 'the claim is deleted, its ledger entry still open; the PersistentVolume and the access point remain' },
  createStorageCopy: { at: 'before:resources#2', state: 'the S3 source location exists in DataSync but its ARN is not in the ledger; destination and task are not made' },
  deleteStorageCopy: { at: 'before:resources#1', state: 'the copy task is deleted, its ledger entry still open; the two locations remain' },
  createLoadBalancerRules: { at: 'before:resources#5', state: "the first service's target group and listener rule are made, the rule's ARN is not in the ledger; the second service's are not made" },
  deleteLoadBalancerRules: { at: 'before:resources#1', state: 'the first listener rule is deleted, its ledger entries still open; the other rule and the target groups remain' },
  // projb has no VPN in the example catalogue: these two are named for completeness and not run for it.
  createVpnAccess: { at: 'after:resources#1', state: "the environment's use of the rule is in the ledger; the authorisation rule is not added" },
  deleteVpnAccess: { at: 'before:resources#1', state: 'the rule is revoked (last user) and its use still open in the ledger' },
  applyManifests: { at: 'beat#1', state: 'every object is in the ledger and the first one applied; the others are not' },
  deleteManifests: { at: 'before:resources#1', state: 'the newest object is deleted, its ledger entry still open; the others remain' },
  createMonitoring: { at: 'beat#1', state: 'every monitoring object is in the ledger and the ServiceMonitor applied; the PrometheusRule and the dashboard ConfigMap are not' },
  deleteMonitoring: { at: 'before:resources#1', state: 'the dashboard ConfigMap is deleted, its ledger entry still open; the PrometheusRule and the ServiceMonitor remain' },
};

/** Creates whose pause above comes before their server work: also stopped once all of it is done. */
const RETURNED = ['createSecrets', 'createMongo', 'createSql', 'createNamespace', 'applyCredentials', 'createDnsRecords'];

/** `npm test`'s cases: one per activity module (environments, mongo, redis, kubernetes, storage, sql, dns, secrets, loadbalancer). */
const SUBSET = [
  'destroy deleteSql postgres',
  'destroy deleteDnsRecords',
  'undo deleteSecrets',
  'create beginOperation',
  'create seedMongo',
  'create createRedis',
  'create applyManifests',
  'create createStorage',
  'create createLoadBalancerRules',
];

type Op = 'create' | 'destroy' | 'undo';

/** The workflows a create starts and leaves running: the expiry, and the storage copy where there is one. */
const CHILDREN = ['lifecycle', 'storage-copy'] as Operation[];

interface Case {
  id: string;
  op: Op;
  point: PausePoint;
  /** What is done and not done when the worker dies. */
  state: string;
}

/** Every case, from the resource table: the rows projb-qa has, in the order each operation calls them. */
function matrix(rows: ReturnType<typeof rowsFor>): Case[] {
  const one = (op: Op, activity: string, when?: Record<string, unknown>, returned = false): Case => {
    const pause = PAUSE[activity];
    if (!pause) throw new Error(`no pause point for ${activity}: add one to PAUSE, saying what is done and not done there`);
    const engine = typeof when?.engine === 'string' ? ` ${when.engine}` : '';
    return {
      id: `${op} ${activity}${engine}${returned ? ' returned' : ''}`,
      op,
      point: { activity, at: returned ? 'returned' : pause.at, ...(when ? { when } : {}) },
      state: returned ? 'all its work is done; Temporal has not heard of it' : pause.state,
    };
  };
  const reversed = [...rows].reverse();
  return [
    one('create', 'beginOperation', { operation: 'create' }),
    ...rows.flatMap((r) => [one('create', r.create, r.input), ...(r.seed ? [one('create', r.seed, r.input)] : [])]),
    one('create', 'finishOperation', { state: 'ready' }),
    ...rows.filter((r) => RETURNED.includes(r.create)).map((r) => one('create', r.create, r.input, true)),
    one('destroy', 'beginOperation', { operation: 'destroy' }),
    ...reversed.map((r) => one('destroy', r.delete, r.input)),
    one('destroy', 'finishOperation', { state: 'destroyed' }),
    ...reversed.map((r) => one('undo', r.delete, r.input)),
    one('undo', 'finishOperation', { state: 'failed' }),
  ];
}

/** At most `n` at a time. */
function gate(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (running >= n) await new Promise<void>((r) => waiting.push(r));
    running++;
    try {
      return await fn();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

interface Outcome {
  ref: EnvRef;
  /** The victim's own words on where it stopped. */
  paused?: string;
  result?: CreateEnvironmentResult | DestroyEnvironmentResult;
  /** An undo: the failed create's result (the workflow's failure details). */
  failed?: CreateEnvironmentResult;
  state?: string;
  inventory?: string[];
  /** What is left once the case is over (after the destroy that ends a create case). */
  left?: string[];
  /** The case's activity in the history: each call's last attempt and who ran it. */
  attempts?: { attempt: number; identity: string; local?: boolean }[];
  rescuer: string;
  error?: string;
  ms: { paused?: number; total?: number };
}

interface Reference {
  create: { result: unknown; inventory: string[] };
  destroy: { result: DestroyEnvironmentResult; left: string[] };
  undo: { failed: unknown; left: string[]; state?: string };
}

describe('crash matrix: a worker SIGKILLed inside each create, destroy and undo activity', () => {
  let storeDb: ScratchDatabase;
  let made: ReturnType<typeof depsOn>;
  let connection: Connection;
  let client: Client;
  let native: NativeConnection;
  let bundle: WorkflowBundle;
  let bundleFile: string;
  const catalogue = loadCatalogue(join(repoRoot, 'examples', 'envbot.yaml'), testSettings().env);
  const all = matrix(rowsFor(planFor(catalogue.catalogue, 'projb', 'qa')));
  const only = process.env.CRASH_MATRIX_CASES?.split(',').map((id) => id.trim());
  const byId = new Map(all.map((c) => [c.id, c]));
  // Destroys first: theirs are the longest (the victim builds the environment before it destroys it).
  const longestFirst = (cases: Case[]) => (['destroy', 'undo', 'create'] as const).flatMap((op) => cases.filter((c) => c.op === op));
  const CASES = only ? all.filter((c) => only.includes(c.id)) : FULL ? longestFirst(all) : SUBSET.flatMap((id) => byId.get(id) ?? []);
  let reference: Reference | undefined;
  let referenceError: string | undefined;
  const outcomes = new Map<string, Outcome>();
  const victims: WorkerProcess[] = [];
  const figures: string[] = [];

  const deps = () => made.deps;
  const coreOn = (taskQueue: string) =>
    new EnvbotCore({ client, store: made.store, catalogue: made.deps.catalogue.catalogue, taskQueue });
  const create = (core: EnvbotCore, ref: EnvRef) => core.create({ project: ref.project, stage: ref.stage, suffix: ref.suffix!, requester });

  /** A worker in this process with `activities`, made as bot/worker.ts makes one but over the bundle built once. */
  const inProcessWorker = (taskQueue: string, identity: string, activities: object) =>
    Worker.create({ connection: native, namespace: testSettings().temporal.namespace, taskQueue, workflowBundle: bundle, activities, identity });

  /** Everything of `ref` that exists (test/support/inspect.ts inventory), with its closed ledger entries, its audit log and its state. */
  async function inventory(ref: EnvRef): Promise<string[]> {
    const found: string[] = [];
    const closed = await made.store.pool.query<{ kind: string; name: string }>(
      'SELECT kind, name FROM resources WHERE environment = $1 AND deleted_at IS NOT NULL ORDER BY id',
      [ref.environment],
    );
    found.push(...closed.rows.map((x) => `ledger closed ${x.kind} ${x.name}`));
    const audit = await made.store.pool.query<{ action: string; outcome: string }>('SELECT action, outcome FROM audit_log WHERE environment = $1 ORDER BY id', [ref.environment]);
    found.push(...audit.rows.map((x) => `audit ${x.action} ${x.outcome}`));
    found.push(`environment ${(await made.store.getEnvironment(ref.environment))?.state ?? 'none'}`);
    return [...(await everything({ deps: deps() }, ref)), ...found.map((line) => normalised(ref.environment, line))].sort();
  }

  const shape = <T>(ref: EnvRef, value: T): T => JSON.parse(normalised(ref.environment, JSON.stringify(value))) as T;

  /**
   * A create's result as a clean run's compares: rows start once what they need is built, so they
   * finish, and are undone, in an order that differs between runs (undoneBeforeNeeds checks that
   * order); the index and expiry differ.
   */
  function createShape(ref: EnvRef, result: CreateEnvironmentResult) {
    const { redisIndex, expiresAt, built, databases, rolledBack, ...rest } = shape(ref, result);
    return {
      ...rest,
      built: [...built].sort(),
      rolledBack: [...rolledBack].sort(),
      databases: [...databases].sort((a, b) => a.name.localeCompare(b.name)),
      redisIndex: redisIndex !== undefined,
      expiresAt: expiresAt !== undefined,
    };
  }

  /** Rows undone after a row they need was undone: each row must go before what it needs. */
  function undoneBeforeNeeds(rolledBack: string[]): string[] {
    const rows = rowsFor(planFor(catalogue.catalogue, 'projb', 'qa'));
    return rows.flatMap((row) =>
      rolledBack.includes(row.id) ? prerequisites(row, rows).filter((need) => rolledBack.includes(need) && rolledBack.indexOf(need) < rolledBack.indexOf(row.id)).map((need) => `${row.id} after ${need}`) : [],
    );
  }

  async function failureOf(handle: WorkflowHandle): Promise<CreateEnvironmentResult> {
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(err instanceof WorkflowFailedError)) throw new Error(`the create was to fail, and ended ${err ? String(err) : 'ready'}`);
    const details = (err.cause as { details?: CreateEnvironmentResult[] } | undefined)?.details?.[0];
    if (!details) throw new Error(`the create failed without a result: ${err.cause?.message ?? err.message}`);
    return details;
  }

  /**
   * Fails, as their timeout would later, the attempts the dead victim held in the environment's
   * workflows (the case's, its storage copy, its lifecycle), so their retries start now.
   */
  async function releaseDeadAttempts(ref: EnvRef, main: WorkflowHandle): Promise<void> {
    const ids = [main.workflowId, ...CHILDREN.map((op) => workflowId(op, ref.environment))];
    for (const id of ids) {
      const handle = id === main.workflowId ? main : client.workflow.getHandle(id);
      const described = await handle.describe().catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      });
      if (!described || described.status.name !== 'RUNNING') continue;
      for (const a of described.raw.pendingActivities ?? []) {
        // 2: started (on the dead worker); 3: cancel requested while started.
        if (a.state !== 2 && a.state !== 3) continue;
        await client.activity
          .fail({ workflowId: id, runId: described.runId, activityId: a.activityId! }, new Error('the worker running this attempt was SIGKILLed (reported by the crash-matrix test instead of the timeout)'))
          .catch(() => undefined); // it ended meanwhile
      }
    }
  }

  /** Each call of the case's activity in `handle`'s history: the attempt that ended it and the worker that ran that one. */
  async function attemptsOf(handle: WorkflowHandle, point: PausePoint): Promise<{ attempt: number; identity: string; local?: boolean }[]> {
    const events = (await handle.fetchHistory()).events ?? [];
    const matches = (payloads: Payload[] | null | undefined) => {
      const input = payloads?.[0] ? (defaultPayloadConverter.fromPayload(payloads[0]) as Record<string, unknown>) : {};
      return Object.entries(point.when ?? {}).every(([k, v]) => input[k] === v);
    };
    const scheduled = events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === point.activity && matches(e.activityTaskScheduledEventAttributes.input?.payloads))
      .map((s) => {
        const started = events.find((e) => e.activityTaskStartedEventAttributes && Number(e.activityTaskStartedEventAttributes.scheduledEventId) === Number(s.eventId));
        return { attempt: started?.activityTaskStartedEventAttributes?.attempt ?? 0, identity: started?.activityTaskStartedEventAttributes?.identity ?? '' };
      });
    // A local activity (a create's claim and finish, workflows/activities.ts) leaves a marker, recorded
    // with the workflow task of the worker that ran it: its input is not in the history, nor an attempt
    // that counts the dead worker's (the rerun after the workflow task timed out starts again at 1).
    const local = events
      .filter((e) => {
        const m = e.markerRecordedEventAttributes;
        const data = m?.markerName === 'core_local_activity' ? m.details?.data?.payloads?.[0] : undefined;
        return data !== undefined && (defaultPayloadConverter.fromPayload(data) as { activity_type?: string }).activity_type === point.activity;
      })
      .map((m) => {
        const task = events.find((e) => Number(e.eventId) === Number(m.markerRecordedEventAttributes!.workflowTaskCompletedEventId));
        return { attempt: 0, identity: task?.workflowTaskCompletedEventAttributes?.identity ?? '', local: true };
      });
    return [...scheduled, ...local];
  }

  /** Ends what the environment's run left open when the case stopped early (best effort). */
  async function endOpenRuns(ref: EnvRef): Promise<void> {
    for (const op of ['create', 'destroy', ...CHILDREN] as Operation[]) {
      await client.workflow.getHandle(workflowId(op, ref.environment)).terminate('crash matrix: the case is over').catch(() => undefined);
    }
  }

  const message = (err: unknown) => (err instanceof Error ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}` : String(err));

  /** The victim's part: it runs the operation until it stops inside the case's activity, and is killed there. */
  async function victimPart(c: Case, ref: EnvRef, taskQueue: string, core: EnvbotCore, out: Outcome, started: number): Promise<WorkflowHandle> {
    const victim = startWorker({
      TASK_QUEUE: taskQueue,
      STORE_URL: storeDb.url,
      WORKFLOW_BUNDLE: bundleFile,
      PAUSE_IN: c.point.activity,
      PAUSE_AT: c.point.at,
      ...(c.point.when ? { PAUSE_WHEN: JSON.stringify(c.point.when) } : {}),
      // The undo: the create's last step (finishOperation, state ready) fails once.
      ...(c.op === 'undo' ? { FAIL_AT: 'finishOperation' } : {}),
    });
    victims.push(victim);
    const tail = () => victim.output().split('\n').slice(-30).join('\n');
    try {
      await victim.waitFor('worker ready', 300_000);
      let handle: WorkflowHandle;
      if (c.op === 'destroy') {
        const created = await (await create(core, ref)).handle.result();
        if (created.status !== 'ready') throw new Error(`the victim's create ended ${created.status}`);
        handle = (await core.destroy({ environment: ref.environment, requester })).handle;
      } else {
        handle = (await create(core, ref)).handle;
      }
      const ended = handle.result().then(
        () => 'completed',
        (e: unknown) => `failed (${message(e)})`,
      );
      await Promise.race([
        victim.waitFor('paused in', 600_000),
        ended.then((how) => {
          throw new Error(`the workflow ${how} before the victim paused at ${c.point.at}\n${tail()}`);
        }),
      ]);
      out.paused = /paused in (.*)/.exec(victim.output())![1];
      out.ms.paused = Date.now() - started;
      return handle;
    } finally {
      victim.kill();
      if (victim.child.exitCode === null && victim.child.signalCode === null) await new Promise((r) => victim.child.once('exit', r));
    }
  }

  async function runCase(c: Case, victimSlot: ReturnType<typeof gate>): Promise<Outcome> {
    const ref = uniqueEnv('projb', 'qa');
    const taskQueue = `crash-matrix-${randomUUID()}`;
    const core = coreOn(taskQueue);
    const out: Outcome = { ref, rescuer: `rescuer of ${c.id}`, ms: {} };
    const started = Date.now();
    let rescuer: Worker | undefined;
    let running: Promise<void> | undefined;
    try {
      const handle = await victimSlot(() => victimPart(c, ref, taskQueue, core, out, started));
      if (!NATURAL) await releaseDeadAttempts(ref, handle);
      rescuer = await inProcessWorker(taskQueue, out.rescuer, activities);
      running = rescuer.run().catch((err: unknown) => {
        out.error ??= `rescuer: ${message(err)}`;
      });
      if (c.op === 'undo') out.failed = await failureOf(handle);
      else out.result = (await handle.result()) as CreateEnvironmentResult | DestroyEnvironmentResult;
      out.attempts = await attemptsOf(handle, c.point);
      out.state = (await made.store.getEnvironment(ref.environment))?.state;
      if (c.op === 'create') {
        out.inventory = await inventory(ref);
        // Done with it: the rescuer destroys it, which also ends its expiry and storage copy.
        await (await core.destroy({ environment: ref.environment, requester })).handle.result();
      }
      out.left = await leftovers({ deps: deps() }, ref);
    } catch (err) {
      out.error ??= message(err);
      // Leave the servers as they were: whatever the case made goes (best effort).
      await endOpenRuns(ref);
      rescuer ??= await inProcessWorker(taskQueue, out.rescuer, activities).catch(() => undefined);
      running ??= rescuer?.run().catch(() => undefined);
      const record = await made.store.getEnvironment(ref.environment).catch(() => undefined);
      if (rescuer && record && record.state !== 'destroyed') {
        await core
          .destroy({ environment: ref.environment, requester })
          .then((d) => d.handle.result())
          .catch(() => undefined);
      }
    } finally {
      await endOpenRuns(ref);
      // The storage copy ends at its next look, after the case: ended here, while the rescuer runs.
      await endWorkflowsOn(client, taskQueue, { workerRunning: rescuer !== undefined });
      rescuer?.shutdown();
      await running;
      out.ms.total = Date.now() - started;
    }
    return out;
  }

  let activities: object;

  beforeAll(async () => {
    const t0 = Date.now();
    storeDb = await scratchPostgres('store_crash_matrix', { migrate: true });
    made = depsOn(storeDb.url, 'crash-matrix');
    await ensureSharedSecrets(made.deps);
    activities = createActivities(made.deps);
    connection = await Connection.connect({ address: testSettings().temporal.address });
    client = new Client({ connection, namespace: testSettings().temporal.namespace });
    native = await NativeConnection.connect({ address: testSettings().temporal.address });
    // Built once for every worker of this process (the victims build their own, as envbot does).
    bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
    // The victims too: a worker process builds no bundle of its own when given one (bundling takes longer than the rest of its start).
    bundleFile = join(tmpdir(), `crash-matrix-workflows-${randomUUID()}.js`);
    writeFileSync(bundleFile, bundle.code);
    // Redis indexes are handed out per store, and other test runs on this machine share the Redis
    // server, taking the lowest indexes of their own stores: this store hands out only the top ones,
    // so that no other run's seed or destroy empties one of ours.
    const redis = new Redis(made.deps.catalogue.catalogue.servers.redis.main!.url);
    const [, databases] = (await redis.config('GET', 'databases')) as [string, string];
    redis.disconnect();
    for (let i = 1; i < Number(databases) - LIVE - 1; i++) await made.store.claimRedisIndex('main', `kept-by-crash-matrix-${i}`, Number(databases));

    // The reference: a clean create, its destroy, and a clean create that fails at its last step.
    const cleanRun = async (): Promise<Reference> => {
      const clean = depsOn(storeDb.url, 'crash-matrix-clean');
      const taskQueue = `crash-matrix-clean-${randomUUID()}`;
      const worker = await inProcessWorker(taskQueue, 'clean', createActivities(clean.deps));
      const running = worker.run();
      const core = coreOn(taskQueue);
      try {
        const ref = uniqueEnv('projb', 'qa');
        const result = await (await create(core, ref)).handle.result();
        const inv = await inventory(ref);
        const destroyed = (await (await core.destroy({ environment: ref.environment, requester })).handle.result()) as DestroyEnvironmentResult;
        const left = await leftovers({ deps: deps() }, ref);
        clean.faults.failAt('finishOperation', { times: 1 });
        const failedRef = uniqueEnv('projb', 'qa');
        const failed = await failureOf((await create(core, failedRef)).handle);
        return {
          create: { result: createShape(ref, result), inventory: inv },
          destroy: { result: shape(ref, destroyed), left },
          undo: { failed: createShape(failedRef, failed), left: await leftovers({ deps: deps() }, failedRef), state: (await made.store.getEnvironment(failedRef.environment))?.state },
        };
      } finally {
        await endWorkflowsOn(client, taskQueue);
        worker.shutdown();
        await running;
        await clean.store.close();
      }
    };

    const victimSlot = gate(VICTIMS);
    const liveSlot = gate(LIVE);
    const matrixStart = Date.now();
    const [clean] = await Promise.allSettled([
      liveSlot(cleanRun),
      ...CASES.map((c) =>
        liveSlot(async () => {
          const o = await runCase(c, victimSlot);
          outcomes.set(c.id, o);
          figures.push(`${c.id.padEnd(34)} paused after ${((o.ms.paused ?? 0) / 1000).toFixed(0).padStart(4)} s, done after ${((o.ms.total ?? 0) / 1000).toFixed(0).padStart(4)} s${o.error ? ` ERROR ${o.error.split('\n')[0]}` : ''}`);
        }),
      ),
    ]);
    if (clean!.status === 'rejected') referenceError = message(clean!.reason);
    else reference = clean!.value;
    const wall = (Date.now() - matrixStart) / 1000;
    console.log(
      `crash matrix: ${CASES.length} cases (${only ? 'named' : FULL ? 'full' : 'subset'}, ${NATURAL ? 'natural timeouts' : 'dead attempts failed at once'}, ${VICTIMS} victims at a time) ` +
        `in ${wall.toFixed(0)} s (setup ${((matrixStart - t0) / 1000).toFixed(0)} s)\n${figures.join('\n')}`,
    );
  }, 60 * 60_000);

  afterAll(async () => {
    for (const v of victims) v.kill();
    // Each step on its own: a worker still running (the hook timed out) must not keep the store from being dropped.
    await native?.close().catch(() => undefined);
    await connection?.close().catch(() => undefined);
    await made?.store.close().catch(() => undefined);
    await storeDb?.drop();
    if (bundleFile) rmSync(bundleFile, { force: true });
  });

  it('names a pause point for every activity of the resource table, and the references are clean', () => {
    for (const activity of tableActivities()) expect(PAUSE[activity], activity).toBeDefined();
    expect(referenceError).toBeUndefined();
    expect(SUBSET.filter((id) => !byId.has(id))).toEqual([]);
    expect(reference!.create.result).toMatchObject({ status: 'ready' });
    expect(reference!.create.inventory).toContain('environment ready');
    expect(reference!.destroy).toMatchObject({ result: { status: 'destroyed', failed: [] }, left: [] });
    expect(reference!.undo).toMatchObject({ failed: { status: 'failed', failedStep: 'ready', undoFailed: [] }, left: [], state: 'failed' });
  });

  it.each(CASES.map((c) => [c.id, c] as const))('%s: killed mid-work, a second worker ends it as a clean run ends', (_, c) => {
    const o = outcomes.get(c.id);
    const about = `${c.id} (${c.point.at}: ${c.state}); victim: ${o?.paused ?? 'did not pause'}`;
    expect(o?.error, about).toBeUndefined();
    expect(o!.paused, about).toMatch(new RegExp(`^${c.point.activity} `));
    // The kill landed inside the activity: the rescuer ran it again (a local activity: the rescuer recorded it).
    expect(o!.attempts!.some((a) => a.identity === o!.rescuer && (a.local === true || a.attempt >= 2)), `${about}; attempts ${JSON.stringify(o!.attempts)}`).toBe(true);
    if (c.op === 'create') {
      expect(createShape(o!.ref, o!.result as CreateEnvironmentResult), about).toEqual(reference!.create.result);
      expect(o!.inventory, about).toEqual(reference!.create.inventory);
      expect(o!.state, about).toBe('ready');
    } else if (c.op === 'destroy') {
      expect(shape(o!.ref, o!.result), about).toEqual(reference!.destroy.result);
      expect(o!.state, about).toBe('destroyed');
    } else {
      expect(createShape(o!.ref, o!.failed!), about).toEqual(reference!.undo.failed);
      expect(undoneBeforeNeeds(o!.failed!.rolledBack), `${about}; undone in the order ${o!.failed!.rolledBack.join(', ')}`).toEqual([]);
      expect(o!.state, about).toBe('failed');
    }
    expect(o!.left, about).toEqual([]);
  });
});
