// Where a Teams message goes, kept in a chat target (and so in workflow inputs and the store) as a
// Bot Framework conversation reference: ids and the connector's URL, never a secret.
import type { Activity, ConversationReference } from 'botbuilder';
import type { ChatTarget } from '../../shared/model.js';

export interface TeamsConversation {
  serviceUrl: string;
  channelId: string;
  conversationId: string;
  conversationType?: string;
  tenantId?: string;
  botId?: string;
}

/** The chat target of the conversation an activity came from. */
export function targetOf(activity: Activity): ChatTarget {
  const conversation: TeamsConversation = {
    serviceUrl: activity.serviceUrl,
    channelId: activity.channelId,
    conversationId: activity.conversation.id,
    ...(activity.conversation.conversationType ? { conversationType: activity.conversation.conversationType } : {}),
    ...(activity.conversation.tenantId ? { tenantId: activity.conversation.tenantId } : {}),
    ...(activity.recipient?.id ? { botId: activity.recipient.id } : {}),
  };
  return { platform: 'teams', channel: activity.conversation.id, conversation: { ...conversation } };
}

/** The conversation reference a proactive message needs, from a target made by `targetOf`. */
export function referenceOf(target: ChatTarget): Partial<ConversationReference> {
  const c = target.conversation as Partial<TeamsConversation> | undefined;
  if (!c || typeof c.serviceUrl !== 'string' || typeof c.conversationId !== 'string') {
    throw new Error(`Teams target ${target.channel} has no conversation reference (serviceUrl, conversationId): it was not made from a Teams activity`);
  }
  return {
    serviceUrl: c.serviceUrl,
    channelId: c.channelId ?? 'msteams',
    conversation: { id: c.conversationId, isGroup: c.conversationType !== 'personal', conversationType: c.conversationType ?? '', name: '', ...(c.tenantId ? { tenantId: c.tenantId } : {}) },
    ...(c.botId ? { bot: { id: c.botId, name: 'envbot' } } : {}),
  };
}

/** A one-to-one chat with the bot: the only place credentials are shown. */
export function isPersonal(activity: Pick<Activity, 'conversation'>): boolean {
  return activity.conversation?.conversationType === 'personal';
}
