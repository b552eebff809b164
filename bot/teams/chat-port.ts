// The chat port on Teams: the first message of an operation is posted to the conversation
// proactively (from its stored reference), later states replace it in place (updateActivity), at
// most one edit a second per conversation (under the worker's outbox, which also drops superseded
// states and waits out a 429's Retry-After). Cards are the pure Adaptive Card builders.
// botbuilder stays behind this port (and bot/teams/adapter.ts), so its successor can replace it.
import type { CloudAdapter } from 'botbuilder';
import { RateLimitedError, retryAfterMs } from '../../activities/outbox.js';
import { alertText, type ChatMessage, type ChatPort } from '../../shared/chat.js';
import type { ChatTarget } from '../../shared/model.js';
import { environmentCard, noticeCard, progressCard, storageCard, type CardMessage } from './cards/index.js';
import { referenceOf } from './conversation.js';

export const MIN_EDIT_INTERVAL_MS = 1000;

/** The card a chat message becomes on Teams. */
export function teamsMessage(message: ChatMessage, now: Date): CardMessage {
  switch (message.kind) {
    case 'progress':
      return progressCard(message.progress, now);
    case 'card':
      return environmentCard(message.card, { canReset: true, canDestroy: true, canExtend: true, canReadCredentials: true, canRefresh: true });
    case 'storage':
      return storageCard(message.environment, message.copies, message.by);
    case 'notice':
      return noticeCard(message.environment, message.text, message.retryCopy);
    case 'alert':
      // An alert group as a notice: its plain text, dashboard link included.
      return noticeCard(message.alert.environment, alertText(message.alert));
  }
}

export class TeamsChat implements ChatPort {
  private readonly lastEdit = new Map<string, number>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly adapter: CloudAdapter, private readonly appId: string, private readonly now: () => Date = () => new Date()) {}

  send(target: ChatTarget, message: ChatMessage): Promise<string> {
    // One call at a time per conversation, so the throttle holds however many workflows report there.
    const previous = this.queues.get(target.channel) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.sendNow(target, message));
    this.queues.set(target.channel, next);
    void next.finally(() => {
      if (this.queues.get(target.channel) === next) this.queues.delete(target.channel);
    }).catch(() => undefined);
    return next;
  }

  private async sendNow(target: ChatTarget, message: ChatMessage): Promise<string> {
    const activity = teamsMessage(message, this.now());
    const reference = referenceOf(target);
    if (target.messageRef) {
      const wait = (this.lastEdit.get(target.channel) ?? 0) + MIN_EDIT_INTERVAL_MS - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    let ref: string | undefined;
    try {
      await this.adapter.continueConversationAsync(this.appId, reference, async (ctx) => {
        if (target.messageRef) {
          await ctx.updateActivity({ ...activity, id: target.messageRef, conversation: ctx.activity.conversation });
          ref = target.messageRef;
        } else {
          ref = (await ctx.sendActivity(activity))?.id;
        }
      });
    } catch (err) {
      // The connector's 429: the outbox (activities/outbox.ts) waits out its Retry-After, the message kept.
      const e = err as { statusCode?: number; response?: { headers?: { get?(name: string): string | undefined } } };
      if (e.statusCode === 429) {
        // Seconds or an HTTP date, kept between 1 s and 10 minutes.
        const ms = retryAfterMs(e.response?.headers?.get?.('retry-after'));
        throw new RateLimitedError(ms, `the Bot Framework connector rate-limited a ${target.messageRef ? 'update' : 'post'} to ${target.channel}: retry after ${ms / 1000} s`);
      }
      throw err;
    } finally {
      // Counted from the end of an edit: the connector receives edits of a conversation at least a
      // second apart however long each took to reach it (a token fetch, a slow network).
      if (target.messageRef) this.lastEdit.set(target.channel, Date.now());
    }
    if (!ref) throw new Error(`the Bot Framework connector returned no activity id for a post to ${target.channel}`);
    return ref;
  }
}
