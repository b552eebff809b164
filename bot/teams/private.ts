// Replies only the person who asked may see. Slack shows them ephemerally in the channel; Teams has
// no such message in a channel or group chat, so there envbot opens (or finds: Teams gives the same
// one back) a one-to-one chat with that person through the Bot Connector (POST
// {serviceUrl}/v3/conversations, the bot and that one member, the tenant, isGroup false) and
// answers in it. The channel sees nothing of it. In a one-to-one chat the reply stays there.
import { CloudAdapter, type Activity, type ConversationParameters, type TurnContext } from 'botbuilder';
import type { Logger } from '../../shared/logger.js';
import type { Reply } from '../core/model.js';
import { isPersonal } from './conversation.js';

/**
 * Whether a reply goes to the asker alone: every reply Slack shows ephemerally (help, errors,
 * refusals, lists, status, history, credentials) but the two that are clicked through where they
 * were asked: the confirmation (its confirmed operation reports where it was asked) and the create
 * form. Neither carries more than the command that asked for it, which the channel saw.
 */
export function isPrivate(reply: Reply): boolean {
  return reply.ephemeral && reply.kind !== 'confirm' && reply.kind !== 'open-create-form';
}

/** The one-to-one chat the Bot Connector is asked to create with the person `activity` came from. */
export function personalChatParameters(activity: Activity): ConversationParameters {
  const tenantId = activity.conversation?.tenantId ?? (activity.channelData as { tenant?: { id?: string } } | undefined)?.tenant?.id;
  return {
    isGroup: false,
    bot: activity.recipient,
    members: [{ id: activity.from.id, name: activity.from.name ?? '' }],
    ...(tenantId ? { tenantId, channelData: { tenant: { id: tenantId } } } : {}),
  } as ConversationParameters;
}

/**
 * Sends `message` to the person `turn` came from, in a one-to-one chat: the conversation itself
 * when it is one, else a one-to-one chat made through the connector. False when that chat could not
 * be made (the bot is not installed for the person, the connector refused): nothing was sent.
 */
export async function sendToPerson(turn: TurnContext, message: Partial<Activity>, log: Logger): Promise<boolean> {
  const a = turn.activity;
  if (isPersonal(a)) {
    await turn.sendActivity(message);
    return true;
  }
  if (!(turn.adapter instanceof CloudAdapter)) throw new Error('a one-to-one chat is made through botbuilder\'s CloudAdapter; this turn came through another adapter');
  // The bot's own app id is the audience of the channel's token ('' unauthenticated, for the
  // Emulator); the connector is called with the audience this turn's replies use.
  const identity = turn.turnState.get<{ claims?: { type: string; value: string }[] } | undefined>(turn.adapter.BotIdentityKey);
  const appId = identity?.claims?.find((c) => c.type === 'aud')?.value ?? '';
  const audience = turn.turnState.get<string | undefined>(turn.adapter.OAuthScopeKey);
  try {
    // botbuilder types the audience as a string, and uses the cloud's own scope when it is absent.
    await turn.adapter.createConversationAsync(appId, a.channelId, a.serviceUrl, audience as string, personalChatParameters(a), async (chat) => {
      await chat.sendActivity(message);
    });
    return true;
  } catch (err) {
    const e = err as { statusCode?: number; message?: string };
    log.warn({ status: e.statusCode, why: e.message, conversationType: a.conversation?.conversationType }, 'Teams: could not open a one-to-one chat to answer privately');
    return false;
  }
}

/** Said in the conversation when a private answer could not be sent: nothing of the answer in it. */
export const NO_PERSONAL_CHAT = 'envbot could not open a one-to-one chat with you to answer, and answers this only there: open a chat with envbot (Apps → envbot) and ask there.';
