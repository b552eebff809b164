// The App Home tab: the user's environments, each with its buttons, and how to make one.
import type { types } from '@slack/bolt';
import type { EnvironmentSummary } from '../../core/model.js';
import { cardActions, summaryLine } from './card.js';
import { context, header, section, SLACK_LIMITS, type KnownBlock } from './common.js';

/** The Home tab: the user's environments with their buttons, and how to make one. */
export function homeView(environments: EnvironmentSummary[], opts: { userId: string }): types.HomeView {
  const blocks: KnownBlock[] = [header('Your environments')];
  const hint = context(['Create one with `/env create &lt;project&gt; &lt;stage&gt;`, for example `/env create projb qa`; `/env help` lists every command.']);
  if (!environments.length) {
    blocks.push(section('You have no environments.'), hint);
    return { type: 'home', blocks };
  }
  // Two blocks an environment; keep room for the "more" line, a divider and the hint.
  const room = Math.floor((SLACK_LIMITS.blocks - blocks.length - 3) / 2);
  for (const e of environments.slice(0, room)) {
    blocks.push(section(summaryLine(e, opts.userId)));
    if (e.state === 'destroyed' || e.state === 'destroying') continue;
    // The environment's name as discriminator: every row has the same buttons.
    blocks.push({
      type: 'actions',
      block_id: `env_actions:${e.name}`,
      elements: cardActions(e.name, { canReset: e.state === 'ready', canDestroy: true, canExtend: false, canReadCredentials: e.state === 'ready', canRefresh: false }, e.name),
    });
  }
  if (environments.length > room) blocks.push(context([`…and ${environments.length - room} more: \`/env list\` shows them all.`]));
  blocks.push({ type: 'divider' }, hint);
  return { type: 'home', blocks };
}
