// Slack's 429 through the real chat port (bot/slack/chat-port.ts) and the Web API client envbot
// sends with (bot/slack/app.ts), answered by the local recorder with each form a Retry-After header
// can take: every one is a rate limit the outbox waits out, for a pause between 1 s and 10 minutes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PAUSE_MS, MIN_PAUSE_MS, RateLimitedError } from '../../activities/outbox.js';
import { slackChatClient } from '../../bot/slack/app.js';
import { SlackChat } from '../../bot/slack/chat-port.js';
import type { ChatMessage } from '../../shared/chat.js';
import { SlackRecorder } from '../support/slack.js';

const notice: ChatMessage = { kind: 'notice', environment: 'projb-qa', text: 'hello' };

describe('Slack: Retry-After in every form is a rate limit', () => {
  const recorder = new SlackRecorder();
  let chat: SlackChat;

  beforeAll(async () => {
    await recorder.start();
    chat = new SlackChat(slackChatClient('xoxb-test', recorder.url));
  });

  afterAll(async () => {
    await recorder.stop();
  });

  const cases: [string, number | string | null, number][] = [
    ['seconds', 30, 30_000],
    ['an HTTP date (a minute on)', new Date(Date.now() + 60_000).toUTCString(), 60_000],
    ['no header', null, MIN_PAUSE_MS],
    ['a negative number', '-5', MIN_PAUSE_MS],
    ['a huge number', '999999', MAX_PAUSE_MS],
  ];
  for (const [what, header, expected] of cases) {
    it(`${what}: a RateLimitedError of about ${expected / 1000} s`, async () => {
      recorder.failNext('chat.postMessage', { delayMs: 0, done: false, retryAfter: header });
      const err = await chat.send({ platform: 'slack', channel: 'C0RATE00001' }, notice).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RateLimitedError);
      expect((err as RateLimitedError).retryAfterMs).toBeGreaterThanOrEqual(expected - 2000);
      expect((err as RateLimitedError).retryAfterMs).toBeLessThanOrEqual(expected);
      // The next call goes through.
      expect(await chat.send({ platform: 'slack', channel: 'C0RATE00001' }, notice)).toMatch(/^\d+\.\d+$/);
    });
  }
});
