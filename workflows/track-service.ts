// trackService: `/env track <env> <service> <branch|default>`. Moves one service of a ready
// environment to another branch, renders it from that branch's head and server-side applies it
// (kubernetes.trackService records it, why: manual), then says in the channel what it runs now, or
// why it could not. One per environment at a time (workflowId('track', env)).
import { ApplicationFailure } from '@temporalio/workflow';
import type { TrackServiceResult } from '../activities/kubernetes.js';
import type { ChatTarget, EnvRef, Requester } from '../shared/model.js';
import { chat, long } from './activities.js';
import { describe } from './progress.js';

export interface TrackServiceWorkflowInput {
  ref: EnvRef;
  service: string;
  /** null: back to the service's default branch. */
  branch: string | null;
  requester: Requester;
  target?: ChatTarget;
}

export async function trackService(input: TrackServiceWorkflowInput): Promise<TrackServiceResult> {
  const { ref, service, requester } = input;
  const say = async (text: string) => {
    if (!input.target) return;
    await chat.notify({ target: { ...input.target, messageRef: undefined }, message: { kind: 'notice', environment: ref.environment, text }, kind: `track-${service}` }).catch(() => undefined);
  };
  try {
    const done = await long.trackService({ ref, service, branch: input.branch, who: requester.id });
    const was = done.before.branch === done.branch ? '' : ` (was ${done.before.branch ?? 'no branch'}${done.before.commit ? ` @ ${done.before.commit.slice(0, 7)}` : ''})`;
    await say(`${ref.environment}: ${service} follows ${done.branch} now, at ${done.commit.slice(0, 7)}${done.image ? ` (${done.image})` : ''}${was}; asked by ${requester.id}.`);
    return done;
  } catch (err) {
    const detail = describe(err);
    await say(`${ref.environment}: ${service} was not moved to ${input.branch ?? 'its default branch'}: ${detail}. It still runs what it ran before.`);
    throw ApplicationFailure.create({ type: 'TrackFailed', message: `${ref.environment}: ${service}: ${detail}`, nonRetryable: true });
  }
}
