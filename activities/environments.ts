// environments: the environment's record in envbot's store (state, expiry, who asked), and the audit log.
import { activityInfo, ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { ConflictError, NotFoundError } from '../shared/errors.js';
import type { EnvRef, OperationKind, Requester } from '../shared/model.js';
import type { EnvironmentState } from '../shared/store/store.js';
import type { ActivityDeps } from './deps.js';
import { runKey, workflowIdOfRun } from '../shared/names.js';
import { resolveEnv } from './environment.js';

export interface BeginInput {
  ref: EnvRef;
  operation: OperationKind;
  requester: Requester;
  spec?: Record<string, unknown>;
}

export interface FinishInput {
  ref: EnvRef;
  operation: OperationKind;
  requester: Requester;
  state: EnvironmentState;
  error?: string;
  expiresAt?: string | null;
  /**
   * The undo of a claim that may never have been made (the create was refused): nothing to record,
   * and no error, when another run owns the environment.
   */
  onlyIfOwner?: boolean;
}

/** What each operation moves the environment to, and from which idle states it may start. */
const DURING: Record<Exclude<OperationKind, 'create'>, { state: EnvironmentState; from: EnvironmentState[] }> = {
  destroy: { state: 'destroying', from: ['ready', 'failed'] },
  expire: { state: 'destroying', from: ['ready', 'failed'] },
  reset: { state: 'resetting', from: ['ready'] },
};

/** The states in which a run owns the environment, as people read them. */
const BUSY: Partial<Record<EnvironmentState, string>> = { creating: 'being built', resetting: 'being reset', destroying: 'being destroyed' };

/**
 * Whether the workflow run named by a run key still runs. A run that was terminated, timed out or
 * crashed for good leaves its environment busy; once it is closed, another operation may take over.
 * Without a client (an activity tried alone) the answer is "yes", which never takes over wrongly.
 */
async function stillRunning(key: string): Promise<boolean> {
  const id = workflowIdOfRun(key);
  let client;
  try {
    client = Context.current().client;
  } catch {
    return true;
  }
  try {
    const run = await client.workflow.getHandle(id, key.slice(id.length + 1) || undefined).describe();
    return run.status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** The id of the workflow run this activity belongs to, as the environment record (and chat messages) keep it. */
export function currentRun(): string {
  const run = activityInfo().workflowExecution;
  return run ? runKey(run.workflowId, run.runId) : `activity:${activityInfo().activityId}`;
}

export function createEnvironmentActivities(deps: ActivityDeps) {
  /**
   * Makes `runId` the environment's owner for `operation`: from an idle state, or from a run that
   * has ended without finishing. While another run works on it, a destroy or reset is refused with
   * what is running, and an expiry waits (a retryable failure its preset retries for hours).
   */
  async function takeTurn(name: string, operation: Exclude<OperationKind, 'create'>, runId: string): Promise<void> {
    const during = DURING[operation];
    // Compare-and-set from what was read; another run moving it meanwhile means reading again.
    for (let attempt = 1; ; attempt++) {
      const existing = await deps.store.getEnvironment(name);
      if (!existing || existing.state === 'destroyed') throw new NotFoundError(`${name} does not exist; "list" shows the environments there are.`);
      if (existing.workflowId === runId) return; // a retried begin of this run
      const busy = BUSY[existing.state];
      if (!during.from.includes(existing.state)) {
        if (!busy) throw new ConflictError(`${name} is ${existing.state}; it can be ${operation === 'reset' ? 'reset' : 'destroyed'} when it is ready.`);
        if (existing.workflowId && (await stillRunning(existing.workflowId))) {
          const running = workflowIdOfRun(existing.workflowId);
          const message = existing.state === 'destroying' && operation !== 'reset'
            ? `${name} is already being destroyed (${running}).`
            : `${name} is ${busy} (${running}); ${operation === 'reset' ? 'reset' : 'destroy'} it once that has finished ("status ${name}" shows how far it is).`;
          if (operation === 'expire') throw ApplicationFailure.retryable(message, 'EnvironmentBusy');
          throw new ConflictError(message);
        }
      }
      const moved = await deps.store.setEnvironmentState(name, during.state, { from: [existing.state], ...(existing.workflowId ? { ifRun: existing.workflowId } : {}), runId });
      if (moved) return;
      if (attempt >= 3) throw ApplicationFailure.retryable(`${name} kept changing while ${operation} began; the step will be retried`, 'EnvironmentChanged');
    }
  }

  return {
    /** Records that an operation starts; refuses a create of an environment that exists or is being built. */
    async beginOperation({ ref, operation, requester, spec }: BeginInput): Promise<void> {
      deps.faults?.check('beginOperation');
      const runId = currentRun();
      // Only a create needs the catalogue; the other operations work on what exists, also for an
      // environment whose project has since left envbot.yaml.
      const name = ref.environment;
      if (operation === 'create') {
        const r = resolveEnv(deps.catalogue, ref);
        const claimed = await deps.store.claimEnvironment({
          name: r.env.name, project: r.env.project, stage: r.env.stage, suffix: r.env.suffix, createdBy: requester.id, runId, spec,
        });
        if (!claimed) {
          const existing = await deps.store.getEnvironment(r.env.name);
          throw new ConflictError(`${r.env.name} already exists (${existing?.state ?? 'unknown state'}); use it, reset it, or destroy it first.`);
        }
      } else {
        await takeTurn(name, operation, runId);
      }
      // Once per run: a begin run again (retried, or a local activity rerun) adds no second entry.
      const first = await deps.store.audit({ actor: requester.id, platform: requester.platform, channel: requester.channel, action: operation, environment: name, outcome: 'started', runId });
      if (first) deps.metrics?.operationsStarted.inc({ kind: operation });
    },

    async finishOperation({ ref, operation, requester, state, error, expiresAt, onlyIfOwner }: FinishInput): Promise<void> {
      deps.faults?.check('finishOperation');
      const name = ref.environment;
      // Only while this run owns the environment: a run that lost it never writes over another
      // run's state, and says so loudly (its outcome is not the environment's).
      const runId = currentRun();
      const recorded = await deps.store.setEnvironmentState(name, state, {
        ifRun: runId,
        error: error ?? null,
        ...(expiresAt !== undefined ? { expiresAt: expiresAt === null ? null : new Date(expiresAt) } : {}),
      });
      if (!recorded) {
        if (onlyIfOwner) return;
        const now = await deps.store.getEnvironment(name);
        const lost = `${name} was taken over by ${now?.workflowId ? workflowIdOfRun(now.workflowId) : 'another operation'} (now ${now?.state ?? 'gone'}) while this ${operation} ran; its outcome (${state}) was not recorded.`;
        await deps.store.audit({ actor: requester.id, platform: requester.platform, channel: requester.channel, action: operation, environment: name, outcome: 'failed', details: { error: lost }, runId });
        throw new ConflictError(lost);
      }
      const first = await deps.store.audit({
        actor: requester.id, platform: requester.platform, channel: requester.channel, action: operation, environment: name,
        outcome: error ? 'failed' : 'succeeded', details: error ? { error } : {}, runId,
      });
      if (first) deps.metrics?.finished(operation, state);
    },

    async setExpiry({ ref, expiresAt }: { ref: EnvRef; expiresAt: string }): Promise<void> {
      await deps.store.setExpiry(ref.environment, new Date(expiresAt));
    },
  };
}
