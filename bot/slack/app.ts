// The Slack app: Bolt over envbot's own HTTP server (POST /slack/events; envbot refuses signing headers
// not exactly as Slack writes them, then Bolt checks the signature), or Socket Mode when an app-level
// token is set. Listeners are thin: ack first, then the chat core.
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { App, ExpressReceiver, LogLevel, SocketModeReceiver, type Receiver } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { Router, type RequestHandler } from 'express';
import type { Logger } from '../../shared/logger.js';
import type { Settings } from '../../shared/settings.js';
import type { Store } from '../../shared/store/store.js';
import type { ChatCore } from '../core/chat-core.js';
import { limitBody, rawBody } from '../http.js';
import { registerListeners } from './listeners.js';

const SLACK_EVENTS_PATH = '/slack/events';
const SIGNATURE = /^v0=[0-9a-f]{64}$/;
const TIMESTAMP = /^[1-9][0-9]{0,11}$/;
/** Slack's own rule: a request whose timestamp is further than this from now is refused. */
const MAX_CLOCK_SKEW_S = 5 * 60;

export interface SlackAppOptions {
  settings: Settings['slack'] & { botToken: string };
  chatCore: ChatCore;
  store: Store;
  log: Logger;
  temporalUiUrl?: string;
}

export interface SlackApp {
  app: App;
  /** The Web API client the chat port uses. */
  chatClient: WebClient;
  /** Express router with POST /slack/events (HTTP mode); absent in Socket Mode. */
  router?: Router;
  mode: 'http' | 'socket';
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The Web API client the chat port sends with: it never retries on its own, and a 429 is an error
 * at once (the outbox waits out its Retry-After; see createSlackApp).
 */
export function slackChatClient(token: string, apiUrl?: string): WebClient {
  return new WebClient(token, { ...apiUrlOption(apiUrl), retryConfig: { retries: 0 }, timeout: 5000, rejectRateLimitedCalls: true });
}

/** The Web API's base URL when one is set (tests point it at a recorder), as the client wants it: ending in '/'. */
const apiUrlOption = (apiUrl?: string) => (apiUrl ? { slackApiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/` } : {});

export async function createSlackApp(o: SlackAppOptions): Promise<SlackApp> {
  const clientOptions = apiUrlOption(o.settings.apiUrl);
  const logger = {
    debug: (...m: unknown[]) => o.log.debug({ slack: m }, 'bolt'),
    info: (...m: unknown[]) => o.log.info({ slack: m }, 'bolt'),
    warn: (...m: unknown[]) => o.log.warn({ slack: m }, 'bolt'),
    error: (...m: unknown[]) => o.log.error({ slack: m }, 'bolt'),
    setLevel: () => undefined,
    getLevel: () => LogLevel.INFO,
    setName: () => undefined,
  };
  let receiver: Receiver;
  let router: Router | undefined;
  if (o.settings.appToken) {
    receiver = new SocketModeReceiver({ appToken: o.settings.appToken, logger });
  } else {
    if (!o.settings.signingSecret) throw new Error('SLACK_SIGNING_SECRET is needed for Slack over HTTP (or set SLACK_APP_TOKEN for Socket Mode)');
    router = Router();
    // Ahead of Bolt, which checks the signature: the body size limit (again, for a router mounted
    // outside createHttpApp) and signing headers exactly as Slack writes them.
    router.post(SLACK_EVENTS_PATH, limitBody(), refuseMalformedHeaders(o.log));
    receiver = new ExpressReceiver({
      signingSecret: o.settings.signingSecret,
      endpoints: SLACK_EVENTS_PATH,
      router,
      logger,
      customPropertiesExtractor: (req) => ({ requestKey: slackRequestKey(req) }),
    });
  }
  const app = new App({ token: o.settings.botToken, receiver, clientOptions, logger, deferInitialization: true });
  await app.init();
  registerListeners(app, { chatCore: o.chatCore, store: o.store, log: o.log, ...(o.temporalUiUrl ? { temporalUiUrl: o.temporalUiUrl } : {}) });
  // The chat port's own client: no retries of its own and a short timeout, so a slow, failed or
  // rate-limited call fails the notify activity, whose retry (by Temporal) first looks for a post
  // that was made although its answer was lost; the client retrying a post would post it twice.
  const chatClient = slackChatClient(o.settings.botToken, o.settings.apiUrl);
  return {
    app,
    chatClient,
    ...(router ? { router } : {}),
    mode: o.settings.appToken ? 'socket' : 'http',
    start: async () => {
      if (o.settings.appToken) await app.start();
    },
    stop: async () => {
      if (o.settings.appToken) await app.stop();
    },
  };
}

/**
 * Why a request's signing headers are not as Slack writes them (`v0=` and 64 lowercase hex digits; a
 * plain decimal Unix time within five minutes of now), or undefined when they are. Bolt alone accepts
 * variants of one signed request (`v0=<sig>=x`, `<ts>.0`, `0<ts>`, `0x<hex ts>`, `<ts>` an hour ahead).
 */
export function malformedSlackHeaders(headers: IncomingHttpHeaders, nowMs = Date.now()): string | undefined {
  const signature = headers['x-slack-signature'];
  const timestamp = headers['x-slack-request-timestamp'];
  if (typeof signature !== 'string' || !SIGNATURE.test(signature)) return 'x-slack-signature is not v0= and 64 lowercase hex digits';
  if (typeof timestamp !== 'string' || !TIMESTAMP.test(timestamp)) return 'x-slack-request-timestamp is not a decimal integer';
  if (Math.abs(Number(timestamp) - nowMs / 1000) > MAX_CLOCK_SKEW_S) return 'x-slack-request-timestamp is more than five minutes from now';
  return undefined;
}

function refuseMalformedHeaders(log: Logger): RequestHandler {
  return (req, res, next) => {
    const why = malformedSlackHeaders(req.headers);
    if (!why) return next();
    log.warn({ why }, 'Slack request refused');
    res.status(401).send();
  };
}

/**
 * What identifies a request, from what Bolt verified: an event's id (Slack retries an event with a
 * new timestamp and signature but the same id), otherwise the timestamp and a hash of the body. One
 * seen before is acknowledged and ignored (bot/slack/listeners.ts).
 */
export function slackRequestKey(req: IncomingMessage & { body?: unknown }): string {
  const eventId = (req.body as { event_id?: unknown } | undefined)?.event_id;
  if (typeof eventId === 'string') return `event:${eventId}`;
  return `${Number(req.headers['x-slack-request-timestamp'])}:${createHash('sha256').update(rawBody(req)).digest('hex')}`;
}
