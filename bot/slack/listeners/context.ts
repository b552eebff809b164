// What every Slack listener gets, and the helpers they share: who is asking, and how to answer.
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../../../shared/logger.js';
import type { Store } from '../../../shared/store/store.js';
import type { ChatCore } from '../../core/chat-core.js';
import type { Actor, Reply } from '../../core/model.js';
import { replyMessage } from '../blocks/index.js';

export interface ListenerContext {
  chatCore: ChatCore;
  store: Store;
  log: Logger;
  temporalUiUrl?: string;
}

const groupCache = new Map<string, { at: number; groups: Map<string, string[]> }>();

/**
 * The user's Slack user groups (for slack-group: principals), cached for five minutes per team. A
 * failed look-up is logged and not cached: the person is refused what only a group allows this
 * time (the refusal says who may), and the next request asks Slack again.
 */
async function userGroups(client: WebClient, team: string, user: string, log: Logger): Promise<string[]> {
  let cached = groupCache.get(team);
  if (!cached || Date.now() - cached.at > 300_000) {
    const groups = new Map<string, string[]>();
    try {
      const res = await client.usergroups.list({ include_users: true });
      for (const g of res.usergroups ?? []) if (g.id) groups.set(g.id, g.users ?? []);
    } catch (err) {
      log.warn({ team, error: (err as Error).message }, 'Slack usergroups.list failed (is the usergroups:read scope granted?): slack-group: principals match nobody for this request');
      return [];
    }
    cached = { at: Date.now(), groups };
    groupCache.set(team, cached);
  }
  return [...cached.groups.entries()].filter(([, users]) => users.includes(user)).map(([id]) => id);
}

export async function actorOf(ctx: Pick<ListenerContext, 'log'>, client: WebClient, team: string | undefined, user: string, channel: string): Promise<Actor> {
  return { platform: 'slack', userId: user, channel, groups: await userGroups(client, team ?? 'default', user, ctx.log) };
}

/** Posts a reply: ephemeral ones to the person only, the rest in the channel. `started` replies post nothing: the workflow's live message is the answer. */
export async function answer(client: WebClient, channel: string, user: string, reply: Reply): Promise<void> {
  if (reply.kind === 'started' || reply.kind === 'open-create-form') return;
  const payload = replyMessage(reply);
  if (reply.ephemeral) await client.chat.postEphemeral({ channel, user, ...payload });
  else await client.chat.postMessage({ channel, ...payload });
}
