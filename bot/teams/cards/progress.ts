// The progress card: a workflow's steps as they run, edited in place (updateActivity) as they
// change. The Adaptive Card twin of bot/slack/blocks/progress.ts; callers pass `now`.
import type { Progress, Step } from '../../../shared/model.js';
import { elapsedMs, OPERATION_VERB, stepText } from '../../slack/blocks/progress.js';
import { card, esc, formatDuration, message, oneLine, text, title, type CardMessage, type Element } from './common.js';

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

function stepLine(step: Step): string {
  return stepText(step, esc, (error) => `\n\n${error}`);
}
