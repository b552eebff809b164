// promotionCheck: production promotion of one project (issue 11, items 3 and 4). Reads what
// production runs, updates each ready lower environment whose service follows production and runs
// an older image (a few at a time), and says each promotion once in every channel of the project
// and every channel subscribed to it, however many environments it reached. Started on a Temporal
// Schedule, by `/env promotions check <project>`, and by GitHub's deployment_status event for
// production; one run per project at a time (promotionWorkflowId).
import type { PromoteImageResult } from '../activities/promotion.js';
import type { ChatTarget } from '../shared/model.js';
import { promotionText, type PromotionOutcome } from '../shared/promotion.js';
import { chat, long, quick } from './activities.js';
import { describe } from './progress.js';
import { inTurn } from './storage-refresh.js';

export interface PromotionCheckInput {
  project: string;
  /** How many environments are updated at a time (4 when absent). */
  concurrency?: number;
  /** Who or what asked (`schedule`, `github:deployment_status`, `slack:U…`). */
  by: string;
  /** On demand: where to say what the check found, even when nothing was promoted. */
  target?: ChatTarget;
}

export interface PromotionCheckResult {
  project: string;
  production: Record<string, string>;
  unreadable: Record<string, string>;
  promotions: PromotionOutcome[];
  /** The alerts sent: one per promotion and channel. */
  alerts: { channel: string; text: string }[];
}

export async function promotionCheck(input: PromotionCheckInput): Promise<PromotionCheckResult> {
  const { project } = input;
  const { images, unreadable } = await quick.productionImages({ project });
  const plan = await quick.promotionPlan({ project, images });
  const result: PromotionCheckResult = { project, production: images, unreadable, promotions: [], alerts: [] };
  for (const s of plan.services) {
    const outcome: PromotionOutcome = { project, service: s.service, image: s.image, reached: [], skipped: [...s.skipped], failed: [] };
    await inTurn(s.targets, input.concurrency ?? 4, async (t) => {
      try {
        const done: PromoteImageResult = await long.promoteImage({ ref: t.ref, service: s.service, image: s.image, from: t.from });
        if ('skipped' in done) outcome.skipped.push({ environment: t.ref.environment, reason: done.skipped });
        else outcome.reached.push({ environment: t.ref.environment, from: t.from });
      } catch (err) {
        outcome.failed.push({ environment: t.ref.environment, reason: describe(err) });
      }
    });
    outcome.reached.sort((a, b) => a.environment.localeCompare(b.environment));
    outcome.skipped.sort((a, b) => a.environment.localeCompare(b.environment));
    result.promotions.push(outcome);
    // Only a promotion that reached or failed somewhere is news; environments left alone on every
    // check would otherwise be said again each time.
    if (!outcome.reached.length && !outcome.failed.length) continue;
    const text = promotionText(outcome);
    for (const target of plan.channels) {
      await chat.notify({ target, message: { kind: 'notice', environment: project, text }, kind: `promotion-${s.service}` }).catch(() => undefined);
      result.alerts.push({ channel: `${target.platform}/${target.channel}`, text });
    }
  }
  if (input.target) {
    const said = new Set(result.alerts.map((a) => a.channel));
    if (!said.has(`${input.target.platform}/${input.target.channel}`)) {
      const lines = result.promotions.map(promotionText);
      const read = Object.entries(images).map(([service, image]) => `${service} ${image}`);
      const problems = Object.entries(unreadable).map(([service, why]) => `${service}: ${why}`);
      const text = [
        `${project}: production runs ${read.join(', ') || 'none of its services'}.`,
        lines.length ? lines.join('\n') : 'Every environment that follows production runs it already.',
        ...(problems.length ? [`Not read: ${problems.join('; ')}`] : []),
      ].join('\n');
      await chat.notify({ target: { ...input.target, messageRef: undefined }, message: { kind: 'notice', environment: project, text }, kind: 'promotion-check' }).catch(() => undefined);
    }
  }
  return result;
}
