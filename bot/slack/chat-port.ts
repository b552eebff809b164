// The chat port on Slack: a message's first state is posted, later states edit it in place
// (chat.update); cards and notices use the pure Block Kit builders. Pacing is the worker's outbox's
// (activities/outbox.ts: one post a second per channel, edits within Tier 3); a call Slack answers
// with 429 becomes a RateLimitedError carrying its Retry-After, which the outbox waits out. Each post
// carries its key as message metadata, so a post whose answer was lost can be found in the channel's
// history and edited instead of posted again.
import { ErrorCode, type WebClient } from '@slack/web-api';
import { RateLimitedError, retryAfterMs } from '../../activities/outbox.js';
import type { ChatMessage, ChatPort } from '../../shared/chat.js';
import type { Metrics } from '../../shared/metrics.js';
import type { ChatTarget } from '../../shared/model.js';
import { alertMessage, environmentCard, noticeMessage, progressMessage, storageCopyMessage } from './blocks/index.js';

/** The metadata event type of envbot's messages; its payload is `{ key }`. */
export const MESSAGE_EVENT = 'envbot_message';

/** The Web API client's error for a 429 whose Retry-After it could not read as seconds; it quotes the header. */
const UNREAD_RETRY_AFTER = /Retry header did not contain a valid timeout.*retry-after header: ([^)]*)\)/;

export class SlackChat implements ChatPort {
  constructor(
    private readonly client: WebClient,
    private readonly now: () => Date = () => new Date(),
    private readonly metrics?: Metrics,
  ) {}

  /** One Web API call, counted by method and result. */
  private async call<T>(method: string, fn: () => Promise<T>): Promise<T> {
    try {
      const out = await fn();
      this.metrics?.chatCalls.inc({ platform: 'slack', method, result: 'ok' });
      return out;
    } catch (err) {
      const e = err as { code?: string; message?: string };
      const limited = e.code === 'slack_webapi_rate_limited_error' || UNREAD_RETRY_AFTER.test(e.message ?? '');
      this.metrics?.chatCalls.inc({ platform: 'slack', method, result: limited ? 'rate-limited' : 'error' });
      throw err;
    }
  }

  async find(target: ChatTarget, key: string, since: Date): Promise<string | undefined> {
    // A minute of slack for clocks; the post was made after `since`.
    const res = await this.call('conversations.history', () => this.client.conversations.history({ channel: target.channel, oldest: (since.getTime() / 1000 - 60).toFixed(6), include_all_metadata: true, limit: 200 }));
    return res.messages?.find((m) => m.metadata?.event_type === MESSAGE_EVENT && (m.metadata.event_payload as { key?: unknown } | undefined)?.key === key)?.ts;
  }

  async send(target: ChatTarget, message: ChatMessage, key?: string): Promise<string> {
    const payload =
      message.kind === 'progress'
        ? progressMessage(message.progress, this.now())
        : message.kind === 'card'
          ? environmentCard(message.card, { canReset: true, canDestroy: true, canExtend: true, canReadCredentials: true, canRefresh: true })
          : message.kind === 'storage'
            ? storageCopyMessage(message.environment, message.copies, message.by)
            : message.kind === 'alert'
              ? alertMessage(message.alert)
              : noticeMessage(message.environment, message.text, message.retryCopy);
    try {
      if (!target.messageRef) {
        const metadata = key ? { metadata: { event_type: MESSAGE_EVENT, event_payload: { key } } } : {};
        const res = await this.call('chat.postMessage', () => this.client.chat.postMessage({ channel: target.channel, ...payload, ...metadata }));
        if (!res.ts) throw new Error(`chat.postMessage to ${target.channel} returned no ts`);
        return res.ts;
      }
      await this.call('chat.update', () => this.client.chat.update({ channel: target.channel, ts: target.messageRef!, ...payload }));
      return target.messageRef;
    } catch (err) {
      const e = err as { code?: string; retryAfter?: number; message?: string };
      // A 429 whose Retry-After the Web API client could not read as seconds (missing, or a date) is a
      // plain error from it that quotes the header: still a rate limit, waited out all the same.
      const unread = UNREAD_RETRY_AFTER.exec(e.message ?? '');
      if (e.code === ErrorCode.RateLimitedError || unread) {
        const ms = retryAfterMs(unread ? (unread[1] === 'undefined' ? undefined : unread[1]) : e.retryAfter);
        throw new RateLimitedError(ms, `Slack rate-limited ${target.messageRef ? 'chat.update' : 'chat.postMessage'}: retry after ${ms / 1000} s`);
      }
      throw err;
    }
  }
}
