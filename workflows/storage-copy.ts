// storageCopy: fills an environment's storage volumes from S3, one DataSync copy per volume side by
// side, each followed until it ends. createEnvironment starts it once the environment is ready and
// does not wait (a copy may take hours; the environment is usable meanwhile). The card createEnvironment
// posted is edited as the copies go; a failed copy is also said in the channel, and the environment is
// left as it is. A copy whose environment was destroyed meanwhile (its task is gone) ends quietly, and
// so does one that is cancelled.
import { WorkflowExecutionAlreadyStartedError, type Duration } from '@temporalio/common';
import {
  ApplicationFailure,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  ParentClosePolicy,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { EnvironmentCard, VolumeCopy } from '../shared/chat.js';
import type { ChatTarget, EnvRef } from '../shared/model.js';
import { workflowId } from '../shared/names.js';
import { chat, quick } from './activities.js';
import { Notifier } from './notifier.js';
import { describe } from './progress.js';

export interface StorageCopyInput {
  ref: EnvRef;
  /** The volumes to copy, as the card shows them (`copying`). */
  volumes: VolumeCopy[];
  /** Where the card is (its `messageRef`): the copies edit it. */
  target?: ChatTarget;
  card?: EnvironmentCard;
  /** How long between two looks at a copy; 30 seconds when absent. */
  pollEvery?: Duration;
  /** Copies already started, by volume (a run continued as new follows them on). */
  executions?: Record<string, string>;
}

export interface StorageCopyResult {
  environment: string;
  volumes: VolumeCopy[];
  /** The environment was destroyed while copying: nothing more was said. */
  stopped?: boolean;
}

const DEFAULT_POLL = '30 seconds';
/** A copy that runs for days would make a long history: past this, the run continues as new. */
const HISTORY_LIMIT = 5000;

export async function storageCopy(input: StorageCopyInput): Promise<StorageCopyResult> {
  const { ref } = input;
  const copies = input.volumes.map((v) => ({ ...v }));
  const executions: Record<string, string> = { ...input.executions };
  const pollEvery = input.pollEvery ?? DEFAULT_POLL;
  const card = (): EnvironmentCard => ({ ...input.card!, storage: copies });
  const notifier = new Notifier(input.card ? input.target : undefined, () => ({ kind: 'card', card: card() }));
  let stopped = false;

  /** Follows one volume's copy until it ends, the environment is gone, or the history is long. */
  async function follow(copy: VolumeCopy): Promise<void> {
    try {
      let execution = executions[copy.volume];
      if (!execution) {
        execution = (await quick.startStorageCopy({ ref, volume: copy.volume })).execution;
        if (!execution) {
          stopped = true;
          return;
        }
        executions[copy.volume] = execution;
      }
      while (!stopped && workflowInfo().historyLength < HISTORY_LIMIT) {
        await sleep(pollEvery);
        const { status, ...seen } = await quick.storageCopyStatus({ ref, volume: copy.volume, execution });
        if (status === 'gone') {
          stopped = true;
          return;
        }
        const changed = JSON.stringify({ ...copy, ...seen }) !== JSON.stringify(copy);
        Object.assign(copy, seen);
        if (changed) notifier.changed();
        if (copy.state !== 'copying') return;
      }
    } catch (err) {
      if (isCancellation(err)) {
        stopped = true;
        return;
      }
      copy.state = 'failed';
      copy.error = describe(err);
      notifier.changed();
    }
  }

  await Promise.all(copies.filter((c) => c.state === 'copying').map(follow));
  if (stopped) {
    await notifier.close();
    return { environment: ref.environment, volumes: copies, stopped };
  }
  if (copies.some((c) => c.state === 'copying')) {
    await notifier.close();
    return continueAsNew<typeof storageCopy>({ ...input, volumes: copies, executions, ...(input.target ? { target: input.target } : {}) });
  }
  await notifier.close(input.card ? { kind: 'card', card: card() } : undefined);
  const failed = copies.filter((c) => c.state === 'failed');
  if (input.target) {
    for (const c of failed) {
      const text = `${ref.environment}: the copy of volume ${c.volume}${c.source ? ` from ${c.source}` : ''} failed: ${c.error ?? 'no reason given'}. ` +
        'The environment is usable, but the volume may be incomplete.';
      await chat.notify({ target: { ...input.target, messageRef: undefined }, message: { kind: 'notice', environment: ref.environment, text } }).catch(() => undefined);
    }
  }
  const result: StorageCopyResult = { environment: ref.environment, volumes: copies };
  if (failed.length) {
    throw ApplicationFailure.create({
      type: 'StorageCopyFailed',
      message: `${ref.environment}: ${failed.map((c) => `${c.volume}: ${c.error ?? 'failed'}`).join('; ')}`,
      nonRetryable: true,
      details: [result],
    });
  }
  return result;
}

/**
 * Starts the environment's storage copy as a child the caller does not wait for. A copy of the same
 * environment still running is one from before a destroy that has not looked since: it is cancelled,
 * and this one starts once it has ended.
 */
export async function startStorageCopy(input: StorageCopyInput): Promise<void> {
  const id = workflowId('storage-copy', input.ref.environment);
  for (let attempt = 0; ; attempt++) {
    try {
      await startChild(storageCopy, { workflowId: id, parentClosePolicy: ParentClosePolicy.ABANDON, args: [input] });
      return;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    if (attempt === 0) await getExternalWorkflowHandle(id).cancel().catch(() => undefined);
    if (attempt === 30) {
      log.warn('an earlier storage copy of this environment does not end; none started', { environment: input.ref.environment });
      return;
    }
    await sleep('1 second');
  }
}
