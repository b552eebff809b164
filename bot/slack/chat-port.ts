// The chat port on Slack: the first message of an operation is posted, later states edit it in
// place (chat.update), at most one edit a second per channel; cards and notices use the pure
// Block Kit builders. Each post carries its key as message metadata, so a post whose answer was
// lost can be found in the channel's history and edited instead of posted again.
import type { WebClient } from '@slack/web-api';
import type { ChatMessage, ChatPort } from '../../shared/chat.js';
import type { ChatTarget } from '../../shared/model.js';
import { environmentCard, noticeMessage, progressMessage, storageCopyMessage } from './blocks/index.js';

export const MIN_EDIT_INTERVAL_MS = 1000;
/** The metadata event type of envbot's messages; its payload is `{ key }`. */
export const MESSAGE_EVENT = 'envbot_message';

export class SlackChat implements ChatPort {
  private readonly lastEdit = new Map<string, number>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly client: WebClient, private readonly now: () => Date = () => new Date()) {}

  send(target: ChatTarget, message: ChatMessage, key?: string): Promise<string> {
    // One call at a time per channel, so the throttle holds however many workflows report there.
    const previous = this.queues.get(target.channel) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.sendNow(target, message, key));
    this.queues.set(target.channel, next);
    void next.finally(() => {
      if (this.queues.get(target.channel) === next) this.queues.delete(target.channel);
    }).catch(() => undefined);
    return next;
  }

  async find(target: ChatTarget, key: string, since: Date): Promise<string | undefined> {
    // A minute of slack for clocks; the post was made after `since`.
    const res = await this.client.conversations.history({ channel: target.channel, oldest: (since.getTime() / 1000 - 60).toFixed(6), include_all_metadata: true, limit: 200 });
    return res.messages?.find((m) => m.metadata?.event_type === MESSAGE_EVENT && (m.metadata.event_payload as { key?: unknown } | undefined)?.key === key)?.ts;
  }

  private async sendNow(target: ChatTarget, message: ChatMessage, key: string | undefined): Promise<string> {
    const payload =
      message.kind === 'progress'
        ? progressMessage(message.progress, this.now())
        : message.kind === 'card'
          ? environmentCard(message.card, { canReset: true, canDestroy: true, canExtend: true, canReadCredentials: true, canRefresh: true })
          : message.kind === 'storage'
            ? storageCopyMessage(message.environment, message.copies, message.by)
            : noticeMessage(message.environment, message.text, message.retryCopy);
    if (!target.messageRef) {
      const metadata = key ? { metadata: { event_type: MESSAGE_EVENT, event_payload: { key } } } : {};
      const res = await this.client.chat.postMessage({ channel: target.channel, ...payload, ...metadata });
      if (!res.ts) throw new Error(`chat.postMessage to ${target.channel} returned no ts`);
      return res.ts;
    }
    const wait = (this.lastEdit.get(target.channel) ?? 0) + MIN_EDIT_INTERVAL_MS - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    this.lastEdit.set(target.channel, Date.now());
    await this.client.chat.update({ channel: target.channel, ts: target.messageRef, ...payload });
    return target.messageRef;
  }
}
