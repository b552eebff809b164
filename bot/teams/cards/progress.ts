// The progress card: a workflow's steps as they run, edited in place (updateActivity) as they
// change. The Adaptive Card twin of bot/slack/blocks/progress.ts; callers pass `now`.
import type { Progress, Step, StepStatus } from '../../../shared/model.js';
import { OPERATION_VERB } from '../../slack/blocks/progress.js';
import { card, clip, esc, formatDuration, message, oneLine, text, title, type CardMessage, type Element } from './common.js';

const STEP_MARK: Record<StepStatus, string> = {
  pending: '⚪', running: '⏳', done: '✅', failed: '❌', undoing: '↩️', undone: '↩️', 'undo-failed': '⚠️', skipped: '➖',
};
const STEP_WORD: Record<StepStatus, string> = {
  pending: '', running: 'running', done: '', failed: 'failed', undoing: 'undoing', undone: 'rolled back', 'undo-failed': 'could not be rolled back', skipped: 'skipped',
};
const FINISHED: StepStatus[] = ['done', 'failed', 'undone', 'undo-failed', 'skipped'];

export function progressCard(progress: Progress, now: Date): CardMessage {
  const elapsed = elapsedMs(progress, now);
  const head = `${OPERATION_VERB[progress.operation]} ${progress.environment}${progress.operation === 'expire' ? ' (expired)' : ''}`;
  const done = progress.steps.filter((s) => s.status === 'done').length;
  const failed = progress.steps.find((s) => s.status === 'failed');
  const summary =
    progress.status === 'succeeded'
      ? `✅ Finished in ${formatDuration(elapsed)}`
      : progress.status === 'failed'
        ? `❌ Failed after ${formatDuration(elapsed)}${failed ? ` at ${failed.title}` : ''}`
        : `⏳ ${done} of ${progress.steps.length} steps done · running for ${formatDuration(elapsed)}`;
  const plain =
    progress.status === 'succeeded'
      ? `${head}: finished in ${formatDuration(elapsed)}.`
      : progress.status === 'failed'
        ? `${head}: failed after ${formatDuration(elapsed)}${failed ? ` at ${failed.title}${failed.error ? `: ${oneLine(failed.error)}` : ''}` : ''}.`
        : `${head}: ${done} of ${progress.steps.length} steps done, running for ${formatDuration(elapsed)}.`;
  const body: Element[] = [title(head), ...stepBlocks(progress.steps), text(esc(summary), { isSubtle: true })];
  return message(card(body, [], plain));
}

/** The step lines, one TextBlock each; the status reply shows a running operation with them too. */
export function stepBlocks(steps: Step[]): Element[] {
  return steps.map((s) => text(stepLine(s), { ...(s.status === 'failed' || s.status === 'undo-failed' ? { color: 'Attention' as const } : {}) }));
}

function elapsedMs(progress: Progress, now: Date): number {
  const start = Date.parse(progress.startedAt);
  const end = progress.endedAt ? Date.parse(progress.endedAt) : now.getTime();
  return Number.isNaN(start) || Number.isNaN(end) ? 0 : Math.max(0, end - start);
}

function stepLine(step: Step): string {
  let line = `${STEP_MARK[step.status]} ${esc(step.title)}`;
  const word = STEP_WORD[step.status];
  if (word) line += ` _${word}_`;
  if (FINISHED.includes(step.status) && step.startedAt && step.endedAt) {
    const ms = Date.parse(step.endedAt) - Date.parse(step.startedAt);
    if (!Number.isNaN(ms)) line += ` · ${formatDuration(ms)}`;
  }
  if (step.detail) line += ` · ${esc(clip(oneLine(step.detail), 300))}`;
  if ((step.status === 'failed' || step.status === 'undo-failed') && step.error) line += `\n\n${esc(clip(oneLine(step.error), 500))}`;
  return line;
}
