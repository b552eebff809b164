// storageCopy: fills an environment's storage volumes from S3, one DataSync copy per volume side by
// side, each followed until it ends. createEnvironment starts it once the environment is ready and
// does not wait (a copy may take hours; the environment is usable meanwhile); a refresh
// (EnvbotCore.copyStorage) starts it for some or all volumes of a ready environment. Every copy of an
// environment runs under one workflow id, so a second is refused while one runs. The card
// createEnvironment posted is edited as the copies go (a refresh posts a message of its own and edits
// that); a failed copy is also said in the channel, with a Retry button, and the environment is left
// as it is. A copy whose environment was destroyed meanwhile (its task is gone) ends quietly, and so
// does one that is cancelled. It never takes the environment's operation: a destroy stops it by
// deleting the DataSync task (deleteStorageCopy cancels the running execution first).
import { WorkflowExecutionAlreadyStartedError, type Duration } from '@temporalio/common';
import {
  ApplicationFailure,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  defineQuery,
  log,
  ParentClosePolicy,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { ChatMessage, EnvironmentCard, VolumeCopy } from '../shared/chat.js';
import type { ChatTarget, EnvRef, Requester } from '../shared/model.js';
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
  /** Who asked for a refresh (absent for the copy a create starts), said on its message. */
  requester?: Requester;
}

/** The volumes a running copy is copying and how far each is (a refused second refresh says it). */
export const storageCopiesQuery = defineQuery<VolumeCopy[]>('storageCopies');

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
  // A create's copy edits its card; a refresh's has a message of its own.
  const message = (): ChatMessage =>
    input.card ? { kind: 'card', card: card() } : { kind: 'storage', environment: ref.environment, copies, ...(input.requester ? { by: input.requester.id } : {}) };
  const notifier = new Notifier(input.target, message);
  setHandler(storageCopiesQuery, () => copies);
  let stopped = false;
  /** The environment was destroyed meanwhile (its task is gone). */
  let gone = false;

  /** Follows one volume's copy until it ends, the environment is gone, or the history is long. */
  async function follow(copy: VolumeCopy): Promise<void> {
    try {
      let execution = executions[copy.volume];
      if (!execution) {
        execution = (await quick.startStorageCopy({ ref, volume: copy.volume })).execution;
        if (!execution) {
          stopped = gone = true;
          return;
        }
        executions[copy.volume] = execution;
      }
      while (!stopped && workflowInfo().historyLength < HISTORY_LIMIT) {
        await sleep(pollEvery);
        const { status, ...seen } = await quick.storageCopyStatus({ ref, volume: copy.volume, execution });
        if (status === 'gone') {
          stopped = gone = true;
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

  if (!input.card && !input.executions) notifier.changed(); // a refresh says at once that it started
  await Promise.all(copies.filter((c) => c.state === 'copying').map(follow));
  if (stopped) {
    if (gone && !input.card && input.target) {
      // A refresh's own message must not go on saying "copying".
      for (const c of copies.filter((x) => x.state === 'copying')) Object.assign(c, { state: 'failed', error: 'stopped: the environment was destroyed' });
      await notifier.close(message());
    } else await notifier.close();
    return { environment: ref.environment, volumes: copies, stopped };
  }
  if (copies.some((c) => c.state === 'copying')) {
    await notifier.close();
    return continueAsNew<typeof storageCopy>({ ...input, volumes: copies, executions, ...(input.target ? { target: input.target } : {}) });
  }
  await notifier.close(input.target ? message() : undefined);
  const failed = copies.filter((c) => c.state === 'failed');
  if (input.target) {
    for (const c of failed) {
      const text = `${ref.environment}: the copy of volume ${c.volume}${c.source ? ` from ${c.source}` : ''} failed: ${c.error ?? 'no reason given'}. ` +
        'The environment is usable, but the volume may be incomplete.';
      const notice: ChatMessage = { kind: 'notice', environment: ref.environment, text, retryCopy: { volume: c.volume } };
      await chat.notify({ target: { ...input.target, messageRef: undefined }, message: notice }).catch(() => undefined);
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
