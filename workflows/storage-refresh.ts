// storageRefresh: one S3 source changed (objects created or removed under its prefix), so every ready
// environment whose volumes are filled from it copies again. One run per source (its id comes from
// the source), started or signalled by each change: it waits out the debounce window so that many
// uploads make one refresh, then re-runs the storage copies of those environments a few at a time,
// each through the storageCopy workflow, and posts one summary per project in each of its channels
// and each channel subscribed to it (once in a channel that is both). Changes that
// come while it copies make another round after it.
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  continueAsNew,
  defineSignal,
  executeChild,
  ParentClosePolicy,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError, type Duration } from '@temporalio/common';
import type { SourceUser } from '../activities/storage.js';
import { copySummary, type VolumeCopy } from '../shared/chat.js';
import type { StorageSource } from '../shared/storage-sources.js';
import { workflowId } from '../shared/names.js';
import { chat, quick } from './activities.js';
import { describe } from './progress.js';
import { storageCopy, type StorageCopyResult } from './storage-copy.js';

export interface SourceChanged {
  /** How many object changes this signal carries (records of one S3 event). */
  objects: number;
}

export const sourceChangedSignal = defineSignal<[SourceChanged]>('sourceChanged');

export interface StorageRefreshInput {
  source: StorageSource;
  /** How long to wait for more changes before copying. */
  debounce: Duration;
  /** How many environments copy at a time. */
  concurrency: number;
  /** How often each copy looks at DataSync (30 seconds when absent), and waits for a copy already running. */
  pollEvery?: Duration;
  /** Changes that came while the previous round copied (a run continued as new). */
  pending?: number;
}

export interface EnvironmentRefresh {
  environment: string;
  project: string;
  state: 'refreshed' | 'failed' | 'gone';
  volumes: VolumeCopy[];
  error?: string;
}

export interface StorageRefreshResult {
  source: string;
  /** Object changes this round handled. */
  changes: number;
  environments: EnvironmentRefresh[];
}

/** How many times a refresh waits for a copy of the same environment already running before giving up on it. */
const WAITS_FOR_RUNNING_COPY = 120;

export async function storageRefresh(input: StorageRefreshInput): Promise<StorageRefreshResult> {
  let changes = input.pending ?? 0;
  setHandler(sourceChangedSignal, (c) => {
    changes += Math.max(1, c.objects);
  });
  await sleep(input.debounce);
  const handled = changes;
  const { users, channels } = await quick.storageSourceUsers({ source: input.source });
  const environments = await inTurn(users, input.concurrency, (u) => refresh(u, input));

  for (const [project, targets] of Object.entries(channels)) {
    const mine = environments.filter((e) => e.project === project && e.state !== 'gone');
    if (!mine.length) continue;
    const text = summary(input.source.raw, handled, mine);
    for (const target of targets) {
      await chat
        .notify({ target, message: { kind: 'notice', environment: input.source.raw, text }, kind: `summary-${project}-${target.channel}` })
        .catch(() => undefined);
    }
  }
  const result: StorageRefreshResult = { source: input.source.raw, changes: handled, environments };
  // Changes during the copies may not be in them: another round, after the window.
  if (changes > handled) return continueAsNew<typeof storageRefresh>({ ...input, pending: changes - handled });
  return result;
}

/** Runs `fn` over `items`, at most `n` at a time, keeping their order in the result. */
export async function inTurn<T, R>(items: readonly T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, n), items.length) }, lane));
  return out;
}

/**
 * One environment's copy of the source's volumes, as a storageCopy child under the environment's
 * storage-copy id. A copy of it already running (its first copy, or one someone asked for) started
 * before this change may miss it: the refresh waits for it to end, then starts its own.
 */
async function refresh(user: SourceUser, input: StorageRefreshInput): Promise<EnvironmentRefresh> {
  const { ref } = user;
  const base = { environment: ref.environment, project: ref.project };
  const volumes: VolumeCopy[] = user.volumes.map((volume) => ({ volume, source: input.source.raw, state: 'copying' }));
  for (let wait = 0; ; wait++) {
    try {
      const done: StorageCopyResult = await executeChild(storageCopy, {
        workflowId: workflowId('storage-copy', ref.environment),
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        args: [{ ref, volumes, ...(input.pollEvery ? { pollEvery: input.pollEvery } : {}) }],
      });
      return { ...base, state: done.stopped ? 'gone' : 'refreshed', volumes: done.volumes };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError && wait < WAITS_FOR_RUNNING_COPY) {
        await sleep(input.pollEvery ?? '30 seconds');
        continue;
      }
      return { ...base, state: 'failed', volumes: failedVolumes(err) ?? volumes.map((v) => ({ ...v, state: 'failed' })), error: describe(cause(err)) };
    }
  }
}

function cause(err: unknown): unknown {
  return err instanceof ChildWorkflowFailure || err instanceof ActivityFailure ? (err.cause ?? err) : err;
}

/** The volumes a failed storageCopy reported (its failure's details). */
function failedVolumes(err: unknown): VolumeCopy[] | undefined {
  const c = cause(err);
  if (c instanceof ApplicationFailure && c.type === 'StorageCopyFailed') return (c.details?.[0] as StorageCopyResult | undefined)?.volumes;
  return undefined;
}

/** The channel's one message about a round: what changed, which environments were refreshed, which failed. */
export function summary(source: string, changes: number, environments: readonly EnvironmentRefresh[]): string {
  const line = (e: EnvironmentRefresh) => `• ${e.environment}: ${e.volumes.map((v) => `${v.volume} ${copySummary(v)}`).join('; ') || e.error || ''}`;
  const refreshed = environments.filter((e) => e.state === 'refreshed');
  const failed = environments.filter((e) => e.state === 'failed');
  return [
    `${source} changed (${changes} object change${changes === 1 ? '' : 's'}): storage refreshed in ${refreshed.length} of ${environments.length} environment${environments.length === 1 ? '' : 's'}.`,
    ...refreshed.map(line),
    ...(failed.length ? [`Failed in ${failed.length}; their volumes may be incomplete (the environments are usable):`, ...failed.map(line)] : []),
  ].join('\n');
}
