// POST /webhooks/s3: S3 event notifications delivered by Amazon SNS. In the house order: the body's
// size limit (createHttpApp's limitBody, before this router), then the message's SNS signature and
// topic (sns-signature.ts), then de-duplication by its MessageId, then the core. A subscription
// confirmation is confirmed by fetching its SubscribeURL; a notification's S3 records are matched to
// the catalogue's storage sources, and each source's refresh is signalled once per message.
// Answers: 200 handled (or a replay, ignored), 400 not an SNS message or S3 event, 403 refused
// (wrong topic, stale, certificate or confirmation URL off the SNS host, bad signature), 413 too
// big, 502 when SNS's certificate or confirmation URL could not be reached (SNS retries).
import express from 'express';
import type { EnvbotCore } from '../core/core.js';
import type { Catalogue } from '../../shared/catalogue/schema.js';
import type { Logger } from '../../shared/logger.js';
import { sourcesContaining, type StorageSource } from '../../shared/storage-sources.js';
import type { Store } from '../../shared/store/store.js';
import { rawBody } from '../http.js';
import { s3Changes } from './s3-event.js';
import { parseSnsMessage, SnsMalformed, SnsRefused, snsUrl, type SnsMessage, type SnsVerifier } from './sns-signature.js';

export const S3_WEBHOOK_PATH = '/webhooks/s3';

export interface SnsWebhookOptions {
  verifier: SnsVerifier;
  catalogue: Catalogue;
  core: Pick<EnvbotCore, 'sourceChanged'>;
  store: Pick<Store, 'chat'>;
  log: Logger;
  /** Tests only: the loopback origin accepted for SubscribeURL beside the SNS hosts. */
  testOrigin?: string | undefined;
  fetch?: typeof fetch;
}

/** What a handled message did, as the 200 answer says it. */
export type Handled =
  | { handled: 'confirmed'; topic: string }
  | { handled: 'unsubscribed'; topic: string }
  | { handled: 'notification'; refreshing: string[]; ignored: number }
  | { handled: 'replay'; messageId: string };

class Unreachable extends Error {}

export function snsWebhookRouter(o: SnsWebhookOptions): express.Router {
  const router = express.Router();
  const get = o.fetch ?? fetch;

  async function confirm(m: Extract<SnsMessage, { Type: 'SubscriptionConfirmation' }>): Promise<void> {
    const url = snsUrl(m.SubscribeURL, m.TopicArn, 'SubscribeURL', o.testOrigin);
    // The URL confirms a subscription to the message's own (allowed) topic, and nothing else.
    if (url.searchParams.get('Action') !== 'ConfirmSubscription' || url.searchParams.get('TopicArn') !== m.TopicArn) {
      throw new SnsRefused(`SubscribeURL "${m.SubscribeURL}" does not confirm a subscription to ${m.TopicArn}`);
    }
    let res: Response;
    try {
      res = await get(url, { redirect: 'error', signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      throw new Unreachable(`confirming the subscription to ${m.TopicArn}: ${(err as Error).message}`, { cause: err });
    }
    if (!res.ok) throw new Unreachable(`confirming the subscription to ${m.TopicArn}: SNS answered ${res.status}`);
  }

  async function notified(m: Extract<SnsMessage, { Type: 'Notification' }>): Promise<Handled> {
    const changes = s3Changes(m.Message);
    const bySource = new Map<string, { source: StorageSource; objects: number }>();
    let ignored = 0;
    for (const change of changes) {
      const sources = sourcesContaining(o.catalogue, change.bucket, change.key);
      if (!sources.length) ignored++;
      for (const source of sources) {
        const seen = bySource.get(source.raw) ?? { source, objects: 0 };
        seen.objects++;
        bySource.set(source.raw, seen);
      }
    }
    const refreshing: string[] = [];
    for (const { source, objects } of bySource.values()) {
      await o.core.sourceChanged(source, objects);
      refreshing.push(source.raw);
    }
    o.log.info({ messageId: m.MessageId, topic: m.TopicArn, changes: changes.length, refreshing, ignored }, 'S3 change notification');
    return { handled: 'notification', refreshing, ignored };
  }

  router.post(S3_WEBHOOK_PATH, async (req, res) => {
    let m: SnsMessage;
    try {
      m = parseSnsMessage(rawBody(req));
      const header = req.headers['x-amz-sns-message-type'];
      if (header !== undefined && header !== m.Type) throw new SnsMalformed(`x-amz-sns-message-type says ${String(header)}, the message says ${m.Type}`);
    } catch (err) {
      if (!(err instanceof SnsMalformed)) throw err;
      o.log.warn({ error: err.message }, 'S3 webhook: malformed request');
      res.status(400).json({ error: err.message });
      return;
    }
    try {
      await o.verifier.verify(m);
    } catch (err) {
      const refused = err instanceof SnsRefused;
      o.log.warn({ messageId: m.MessageId, topic: m.TopicArn, error: (err as Error).message }, refused ? 'S3 webhook: message refused' : 'S3 webhook: signature could not be checked');
      res.status(refused ? 403 : 502).json({ error: (err as Error).message });
      return;
    }
    if (!(await o.store.chat.firstSeen('sns', m.MessageId))) {
      o.log.info({ messageId: m.MessageId }, 'S3 webhook: message already handled');
      res.status(200).json({ handled: 'replay', messageId: m.MessageId } satisfies Handled);
      return;
    }
    try {
      let handled: Handled;
      if (m.Type === 'SubscriptionConfirmation') {
        await confirm(m);
        o.log.info({ topic: m.TopicArn }, 'S3 webhook: subscription confirmed');
        handled = { handled: 'confirmed', topic: m.TopicArn };
      } else if (m.Type === 'UnsubscribeConfirmation') {
        // Someone unsubscribed this endpoint; envbot does not subscribe itself again.
        o.log.warn({ topic: m.TopicArn }, 'S3 webhook: unsubscribed from the topic; S3 changes no longer refresh storage until it is subscribed again');
        handled = { handled: 'unsubscribed', topic: m.TopicArn };
      } else {
        handled = await notified(m);
      }
      res.status(200).json(handled);
    } catch (err) {
      // Not handled: SNS's retry of the same message must be.
      await o.store.chat.forget('sns', m.MessageId);
      const status = err instanceof SnsMalformed ? 400 : err instanceof SnsRefused ? 403 : 502;
      o.log.warn({ messageId: m.MessageId, error: (err as Error).message }, 'S3 webhook: message not handled');
      res.status(status).json({ error: (err as Error).message });
    }
  });
  return router;
}
