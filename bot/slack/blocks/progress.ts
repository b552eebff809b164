// The progress message: a workflow's steps as they run, one line per step, edited in place as they
// change. No clock: callers pass `now`, so the elapsed time is testable.
import type { Progress, Step, StepStatus } from '../../../shared/model.js';
import { clip, context, esc, fallback, formatDuration, header, oneLine, packSections, type KnownBlock, type MessagePayload } from './common.js';

/** Each step status's mark, on Slack and in Teams' cards alike. */
export const STEP_EMOJI: Record<StepStatus, string> = {
  pending: '⚪',
  running: '⏳',
  done: '✅',
  failed: '❌',
  undoing: '↩️',
  undone: '↩️',
  'undo-failed': '⚠️',
  skipped: '➖',
};

/** Said after the emoji, so the line does not depend on seeing it. */
const STEP_WORD: Record<StepStatus, string> = {
  pending: '',
  running: 'running',
  done: '',
  failed: 'failed',
  undoing: 'undoing',
  undone: 'rolled back',
  'undo-failed': 'could not be rolled back',
  skipped: 'skipped',
};

const FINISHED: StepStatus[] = ['done', 'failed', 'undone', 'undo-failed', 'skipped'];

export const OPERATION_VERB: Record<Progress['operation'], string> = {
  create: 'Creating',
  destroy: 'Destroying',
  reset: 'Resetting',
  expire: 'Destroying',
};

/** A workflow's steps as they run: one line per step, edited in place as they change. */
export function progressMessage(progress: Progress, now: Date): MessagePayload {
  const elapsed = elapsedMs(progress, now);
  const head = `${OPERATION_VERB[progress.operation]} ${progress.environment}${progress.operation === 'expire' ? ' (expired)' : ''}`;
  const done = progress.steps.filter((s) => s.status === 'done').length;
  const failed = progress.steps.find((s) => s.status === 'failed');
  const summary =
    progress.status === 'succeeded'
      ? `✅ Finished in ${formatDuration(elapsed)}`
      : progress.status === 'failed'
        ? `❌ Failed after ${formatDuration(elapsed)}${failed ? ` at ${esc(failed.title)}` : ''}`
        : `⏳ ${done} of ${progress.steps.length} steps done · running for ${formatDuration(elapsed)}`;

  const blocks: KnownBlock[] = [header(head), ...stepSections(progress.steps), context([summary])];

  const text =
    progress.status === 'succeeded'
      ? `${head}: finished in ${formatDuration(elapsed)}.`
      : progress.status === 'failed'
        ? `${head}: failed after ${formatDuration(elapsed)}${failed ? ` at ${failed.title}${failed.error ? `: ${oneLine(failed.error)}` : ''}` : ''}.`
        : `${head}: ${done} of ${progress.steps.length} steps done, running for ${formatDuration(elapsed)}.`;
  return { text: fallback(text, head), blocks };
}

/** The step lines, packed into sections; the status reply shows a running operation with them too. */
export function stepSections(steps: Step[]): KnownBlock[] {
  return packSections(steps.map(stepLine), { maxSections: 5, noun: 'steps' });
}

export function elapsedMs(progress: Progress, now: Date): number {
  const start = Date.parse(progress.startedAt);
  const end = progress.endedAt ? Date.parse(progress.endedAt) : now.getTime();
  return Number.isNaN(start) || Number.isNaN(end) ? 0 : Math.max(0, end - start);
}

function stepLine(step: Step): string {
  return stepText(step, esc, (error) => `\n> ${error}`);
}

/**
 * A step in one line of markdown (Slack's mrkdwn, Teams' TextBlock markdown): mark, title, what is
 * happening, how long it took, its detail, and a failed step's error as `errorLine` sets it.
 */
export function stepText(step: Step, escape: (text: string) => string, errorLine: (error: string) => string): string {
  let line = `${STEP_EMOJI[step.status]} ${escape(step.title)}`;
  const word = STEP_WORD[step.status];
  if (word) line += ` _${word}_`;
  if (FINISHED.includes(step.status) && step.startedAt && step.endedAt) {
    const ms = Date.parse(step.endedAt) - Date.parse(step.startedAt);
    if (!Number.isNaN(ms)) line += ` · ${formatDuration(ms)}`;
  }
  if (step.detail) line += ` · ${escape(clip(oneLine(step.detail), 300))}`;
  if ((step.status === 'failed' || step.status === 'undo-failed') && step.error) line += errorLine(escape(clip(oneLine(step.error), 500)));
  return line;
}
