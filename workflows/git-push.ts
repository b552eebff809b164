// gitPush: a branch of a repository moved. Every ready environment where a service from that
// repository follows that branch renders the service again from the pushed commit and server-side
// applies it, a few environments at a time; a failed apply is said in the project's channels. One
// run per repository and branch (gitPushWorkflowId), started or signalled by each push
// (Signal-With-Start): a push that comes while a round applies waits for the round, and of several
// that wait only the newest is applied (it supersedes the older ones, which were never started).
import { condition, continueAsNew, defineSignal, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ApplyTrackedServiceResult } from '../activities/kubernetes.js';
import { chat, long, quick } from './activities.js';
import { describe } from './progress.js';
import { inTurn } from './storage-refresh.js';

export interface GitPush {
  /** Every URL the push names its repository by (clone, SSH, web). */
  urls: string[];
  branch: string;
  /** The commit the branch points at after the push. */
  commit: string;
  /** Who pushed, as the platform names them (`github:octocat`). */
  who: string;
  /** The platform's delivery id, for the logs. */
  delivery: string;
}

export const gitPushSignal = defineSignal<[GitPush]>('gitPush');

export interface GitPushInput {
  /** How many environments apply at a time. */
  concurrency: number;
  /** A push not yet applied when the run continued as new. */
  pending?: GitPush;
}

export interface PushOutcome {
  environment: string;
  service: string;
  state: 'applied' | 'skipped' | 'failed';
  detail?: string;
}

export interface GitPushResult {
  /** Each push applied, in order, with what it did; pushes superseded before they started are not here. */
  rounds: { commit: string; delivery: string; outcomes: PushOutcome[] }[];
  /** Deliveries that a newer push superseded before they were applied. */
  superseded: string[];
}

export async function gitPush(input: GitPushInput): Promise<GitPushResult> {
  let pending: GitPush | undefined = input.pending;
  const result: GitPushResult = { rounds: [], superseded: [] };
  setHandler(gitPushSignal, (push) => {
    if (pending) result.superseded.push(pending.delivery);
    pending = push;
  });
  await condition(() => pending !== undefined);
  while (pending) {
    const push: GitPush = pending;
    pending = undefined;
    result.rounds.push({ commit: push.commit, delivery: push.delivery, outcomes: await round(push, input.concurrency) });
    if (pending && workflowInfo().continueAsNewSuggested) return continueAsNew<typeof gitPush>({ ...input, pending });
  }
  return result;
}

async function round(push: GitPush, concurrency: number): Promise<PushOutcome[]> {
  const { targets, channels } = await quick.pushTargets({ urls: push.urls, branch: push.branch });
  return inTurn(targets, concurrency, async (t): Promise<PushOutcome> => {
    const base = { environment: t.ref.environment, service: t.service };
    try {
      const done: ApplyTrackedServiceResult = await long.applyTrackedService({ ref: t.ref, service: t.service, branch: push.branch, commit: push.commit, why: 'push', who: push.who });
      return 'skipped' in done ? { ...base, state: 'skipped', detail: done.skipped } : { ...base, state: 'applied' };
    } catch (err) {
      const detail = describe(err);
      const text = `${t.ref.environment}: ${t.service} was not updated to ${push.branch} @ ${push.commit.slice(0, 7)} (pushed by ${push.who}): ${detail}. It still runs ${t.commit ? t.commit.slice(0, 7) : 'what it ran before'}; fix the template on ${push.branch} and push again.`;
      for (const target of channels[t.ref.project] ?? []) {
        await chat.notify({ target, message: { kind: 'notice', environment: t.ref.environment, text }, kind: `push-failed-${t.ref.environment}-${t.service}-${push.commit}` }).catch(() => undefined);
      }
      return { ...base, state: 'failed', detail };
    }
  });
}
