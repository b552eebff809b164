// environments: the environment's record in envbot's store (state, expiry, who asked), and the audit log.
import { activityInfo } from '@temporalio/activity';
import { ConflictError, NotFoundError } from '../shared/errors.js';
import type { EnvRef, OperationKind, Requester } from '../shared/model.js';
import type { EnvironmentState } from '../shared/store/store.js';
import type { ActivityDeps } from './deps.js';
import { runKey } from '../shared/names.js';
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
}

const DURING: Record<Exclude<OperationKind, 'create'>, { state: EnvironmentState; from: EnvironmentState[] }> = {
  destroy: { state: 'destroying', from: ['ready', 'failed', 'resetting', 'destroying', 'creating'] },
  expire: { state: 'destroying', from: ['ready', 'failed', 'resetting', 'destroying'] },
  reset: { state: 'resetting', from: ['ready', 'resetting'] },
};

/** The id of the workflow run this activity belongs to, as the environment record keeps it. */
function currentRun(): string {
  const run = activityInfo().workflowExecution;
  return run ? runKey(run.workflowId, run.runId) : `activity:${activityInfo().activityId}`;
}

export function createEnvironmentActivities(deps: ActivityDeps) {
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
        const during = DURING[operation];
        const moved = await deps.store.setEnvironmentState(name, during.state, { from: during.from, runId });
        if (!moved) {
          const existing = await deps.store.getEnvironment(name);
          if (!existing || existing.state === 'destroyed') throw new NotFoundError(`${name} does not exist; "list" shows the environments there are.`);
          throw new ConflictError(`${name} is ${existing.state}; wait for that to finish and try again.`);
        }
      }
      await deps.store.audit({ actor: requester.id, platform: requester.platform, channel: requester.channel, action: operation, environment: name, outcome: 'started' });
    },

    async finishOperation({ ref, operation, requester, state, error, expiresAt }: FinishInput): Promise<void> {
      deps.faults?.check('finishOperation');
      const name = ref.environment;
      // Only while this run owns the environment: a run that lost the claim, or was overtaken by a
      // destroy, never writes over another run's state.
      await deps.store.setEnvironmentState(name, state, {
        ifRun: currentRun(),
        error: error ?? null,
        ...(expiresAt !== undefined ? { expiresAt: expiresAt === null ? null : new Date(expiresAt) } : {}),
      });
      await deps.store.audit({
        actor: requester.id, platform: requester.platform, channel: requester.channel, action: operation, environment: name,
        outcome: error ? 'failed' : 'succeeded', details: error ? { error } : {},
      });
    },

    async setExpiry({ ref, expiresAt }: { ref: EnvRef; expiresAt: string }): Promise<void> {
      await deps.store.setExpiry(ref.environment, new Date(expiresAt));
    },
  };
}
