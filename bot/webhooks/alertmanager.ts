// POST /webhooks/alertmanager: Alertmanager's webhook (payload version 4). In the house order: the
// body's size limit (createHttpApp's limitBody, then this route's own smaller one), then the bearer
// token (Alertmanager's http_config.authorization, compared in constant time), then de-duplication
// of a delivery seen before (a hash of the verified body: Alertmanager retries a failed delivery),
// then the alert core. Answers: 200 handled (or a replay), 400 not a version 4 payload, 401 no or
// wrong token, 413 too big.
import { createHash, timingSafeEqual } from 'node:crypto';
import express from 'express';
import { z } from 'zod';
import type { Logger } from '../../shared/logger.js';
import type { Store } from '../../shared/store/store.js';
import type { AlertCore, AlertmanagerPayload } from '../core/alerts.js';
import { rawBody } from '../http.js';

export const ALERTMANAGER_WEBHOOK_PATH = '/webhooks/alertmanager';
/** Largest payload accepted: Alertmanager's groups are a few kilobytes an alert; max_alerts keeps them bounded. */
export const MAX_ALERTMANAGER_BYTES = 256 * 1024;

/** What each delivery ended as (the webhook-deliveries metric's `result`). */
export type DeliveryResult = 'handled' | 'replay' | 'malformed' | 'unauthorised' | 'too-large' | 'failed';

const labels = z.record(z.string(), z.string());
const payloadSchema = z.object({
  version: z.literal('4', { message: 'only version "4" of the webhook payload is understood' }),
  groupKey: z.string().min(1),
  truncatedAlerts: z.number().int().min(0).optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: labels,
  commonLabels: labels,
  commonAnnotations: labels,
  externalURL: z.string(),
  alerts: z.array(
    z.object({
      status: z.enum(['firing', 'resolved']),
      labels,
      annotations: labels,
      startsAt: z.string(),
      endsAt: z.string(),
      generatorURL: z.string().optional(),
      fingerprint: z.string().optional(),
    }),
  ),
});

const digest = (s: string | Buffer) => createHash('sha256').update(s).digest();

/** Whether the Authorization header carries `token` as a bearer token; constant time in the token's content. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer ([^\s]+)$/.exec(header ?? '');
  // Digests of equal length, so timingSafeEqual never throws and the length is not revealed.
  return timingSafeEqual(digest(m?.[1] ?? ''), digest(token)) && m !== null;
}

export interface AlertmanagerWebhookOptions {
  token: string;
  alerts: Pick<AlertCore, 'handle'>;
  store: Pick<Store, 'chat'>;
  log: Logger;
  /** Called once per delivery with how it ended (envbot's metrics). */
  onDelivery?: (result: DeliveryResult) => void;
}

export function alertmanagerWebhookRouter(o: AlertmanagerWebhookOptions): express.Router {
  const router = express.Router();
  router.post(ALERTMANAGER_WEBHOOK_PATH, async (req, res) => {
    const answer = (result: DeliveryResult, status: number, body: unknown) => {
      o.onDelivery?.(result);
      res.status(status).json(body);
    };
    const body = rawBody(req);
    if (body.length > MAX_ALERTMANAGER_BYTES) return answer('too-large', 413, { error: `request body over ${MAX_ALERTMANAGER_BYTES} bytes` });
    if (!bearerMatches(req.headers.authorization, o.token)) {
      o.log.warn({ ip: req.ip }, 'Alertmanager webhook: missing or wrong bearer token');
      res.set('WWW-Authenticate', 'Bearer');
      return answer('unauthorised', 401, { error: 'a bearer token (ALERTMANAGER_WEBHOOK_TOKEN) is required' });
    }
    let payload: AlertmanagerPayload;
    try {
      const parsed = payloadSchema.safeParse(JSON.parse(body.toString('utf8')));
      if (!parsed.success) {
        const first = parsed.error.issues[0]!;
        return answer('malformed', 400, { error: `not an Alertmanager webhook payload: ${first.path.join('.') || 'body'}: ${first.message}` });
      }
      payload = parsed.data as AlertmanagerPayload;
    } catch {
      return answer('malformed', 400, { error: 'not an Alertmanager webhook payload: the body is not JSON' });
    }
    const key = digest(body).toString('hex');
    if (!(await o.store.chat.firstSeen('alertmanager', key))) return answer('replay', 200, { handled: 'replay' });
    try {
      const result = await o.alerts.handle(payload);
      answer('handled', 200, { handled: 'alerts', ...result });
    } catch (err) {
      // Forget it, so Alertmanager's retry is handled rather than taken for a replay.
      await o.store.chat.forget('alertmanager', key).catch(() => undefined);
      o.log.error({ err, groupKey: payload.groupKey }, 'Alertmanager webhook: posting the alerts failed');
      answer('failed', 500, { error: 'posting the alerts failed; Alertmanager will retry' });
    }
  });
  return router;
}
