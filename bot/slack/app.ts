// The Slack app: Bolt over envbot's own HTTP server (POST /slack/events, signature checked by Bolt),
// or Socket Mode when an app-level token is set. Listeners are thin: ack first, then the chat core.
import { App, ExpressReceiver, LogLevel, SocketModeReceiver, type Receiver } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { Router } from 'express';
import type { Logger } from '../../shared/logger.js';
import type { Settings } from '../../shared/settings.js';
import type { Store } from '../../shared/store/store.js';
import type { ChatCore } from '../core/chat-core.js';
import { registerListeners } from './listeners.js';

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

export async function createSlackApp(o: SlackAppOptions): Promise<SlackApp> {
  const clientOptions = o.settings.apiUrl ? { slackApiUrl: o.settings.apiUrl.endsWith('/') ? o.settings.apiUrl : `${o.settings.apiUrl}/` } : {};
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
    receiver = new ExpressReceiver({
      signingSecret: o.settings.signingSecret,
      endpoints: '/slack/events',
      router,
      logger,
      // What identifies a request: an event's id (Slack retries an event with a new signature but the
      // same id), otherwise its timestamp and signature. One seen before is acknowledged and ignored.
      customPropertiesExtractor: (req) => {
        const eventId = (req.body as { event_id?: unknown } | undefined)?.event_id;
        return { requestKey: typeof eventId === 'string' ? `event:${eventId}` : `${req.headers['x-slack-request-timestamp']}:${req.headers['x-slack-signature']}` };
      },
    });
  }
  const app = new App({ token: o.settings.botToken, receiver, clientOptions, logger, deferInitialization: true });
  await app.init();
  registerListeners(app, { chatCore: o.chatCore, store: o.store, log: o.log, ...(o.temporalUiUrl ? { temporalUiUrl: o.temporalUiUrl } : {}) });
  // The chat port's own client: few retries and a short timeout, so one slow or rate-limited call
  // fails the notify activity (which Temporal retries) instead of holding a channel's queue for minutes.
  const chatClient = new WebClient(o.settings.botToken, { ...clientOptions, retryConfig: { retries: 2 }, timeout: 5000, rejectRateLimitedCalls: true });
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
