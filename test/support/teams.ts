// Microsoft Teams for tests: Bot Framework activities in the documented format, tokens signed by a
// local key whose OpenID metadata and JWKS a local server publishes (the Bot Framework's stand-in),
// and a connector recorder standing in for the activity's serviceUrl that answers like the Bot
// Connector API (v3) and keeps every call and what each conversation shows.
import { createPrivateKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startEnvbot, type EnvbotProcess } from './slack.js';

export const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const BOT = { id: '28:0b2f5a4e-envbot', name: 'envbot' };

export interface TeamsUser {
  /** The Entra ID (AAD) object id: what the catalogue names as teams:<id>. */
  aadObjectId: string;
  name?: string;
}

export interface ConnectorCall {
  method: string;
  path: string;
  conversation: string;
  activityId?: string;
  body: Record<string, unknown>;
  /** The Authorization header the call carried (envbot's Bot Framework token, when it has an app id). */
  authorization?: string;
  at: number;
}

/** Answers the Bot Connector API like the Bot Framework would, and records every call. */
export class ConnectorRecorder {
  readonly calls: ConnectorCall[] = [];
  /**
   * Members (29:… ids) a one-to-one chat is refused for, as the connector refuses one with someone who
   * has not installed the bot (403): the recorder stands in for that refusal.
   */
  readonly refuseChatsWith = new Set<string>();
  private readonly conversations = new Map<string, Map<string, Record<string, unknown>>>();
  private server: Server | undefined;
  private next = 0;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const path = (req.url ?? '').split('?')[0] ?? '';
        const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
        res.setHeader('content-type', 'application/json');
        const m = /^\/v3\/conversations(?:\/([^/]+)\/activities(?:\/([^/]+))?)?$/.exec(path);
        if (!m) {
          res.statusCode = 404;
          res.end('{}');
          return;
        }
        const conversation = m[1] ? decodeURIComponent(m[1]) : '';
        const activityId = m[2] ? decodeURIComponent(m[2]) : undefined;
        const authorization = req.headers.authorization;
        this.calls.push({ method: req.method ?? '', path, conversation, ...(activityId ? { activityId } : {}), body, ...(authorization ? { authorization } : {}), at: Date.now() });
        if (!m[1] && req.method === 'POST') {
          // createConversation: a one-to-one chat with the member named.
          const member = String((body.members as { id?: string }[] | undefined)?.[0]?.id);
          if (this.refuseChatsWith.has(member)) {
            res.statusCode = 403;
            res.end(JSON.stringify({ error: { code: 'Forbidden', message: 'The bot is not part of the conversation roster.' } }));
            return;
          }
          const id = `a:1-personal-${String((body.members as { id?: string }[] | undefined)?.[0]?.id)}`;
          const activity = body.activity && typeof body.activity === 'object' ? body.activity as Record<string, unknown> : undefined;
          res.end(JSON.stringify({ id, ...(activity ? { activityId: this.store(id, { ...activity }) } : {}) }));
          return;
        }
        if (req.method === 'PUT' && activityId) {
          const shown = this.conversations.get(conversation);
          if (!shown?.has(activityId)) {
            res.statusCode = 404;
            res.end(JSON.stringify({ error: { code: 'ActivityNotFound', message: 'Unknown activity' } }));
            return;
          }
          shown.set(activityId, body);
          res.end(JSON.stringify({ id: activityId }));
          return;
        }
        if (req.method === 'POST') {
          res.end(JSON.stringify({ id: this.store(conversation, body) }));
          return;
        }
        res.end('{}');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** What a conversation shows now: each activity posted there, as last replaced. */
  shown(conversation: string): Map<string, Record<string, unknown>> {
    return new Map(this.conversations.get(conversation) ?? []);
  }

  /** Posts (POST) and replacements (PUT) to `conversation`. */
  to(conversation: string, method?: 'POST' | 'PUT'): ConnectorCall[] {
    return this.calls.filter((c) => c.conversation === conversation && (!method || c.method === method));
  }

  private store(conversation: string, body: Record<string, unknown>): string {
    const id = `1${String(Date.now()).slice(-9)}${String(++this.next).padStart(4, '0')}`;
    const shown = this.conversations.get(conversation) ?? new Map<string, Record<string, unknown>>();
    shown.set(id, body);
    this.conversations.set(conversation, shown);
    return id;
  }
}

/** The cards (Adaptive Card content) an activity carries. */
export function cardsOf(activity: Record<string, unknown> | undefined): Record<string, unknown>[] {
  const attachments = (activity?.attachments ?? []) as { contentType?: string; content?: Record<string, unknown> }[];
  return attachments.filter((a) => a.contentType === 'application/vnd.microsoft.card.adaptive').map((a) => a.content ?? {});
}

export interface Conversation {
  id: string;
  type: 'personal' | 'channel' | 'groupChat';
}

export function personalChat(user: TeamsUser): Conversation {
  return { id: `a:1-personal-${user.aadObjectId}-${randomUUID().slice(0, 8)}`, type: 'personal' };
}

export function teamChannel(): Conversation {
  return { id: `19:${randomUUID().replace(/-/g, '')}@thread.tacv2`, type: 'channel' };
}

/** The user's id in the conversation (Teams' 29:… id), as activities from them carry it. */
export function userIdOf(user: TeamsUser): string {
  return `29:1${user.aadObjectId.replace(/-/g, '')}`;
}

/** The one-to-one chat the recorder makes for the user when envbot asks for one (POST /v3/conversations). */
export function personalChatOf(user: TeamsUser): string {
  return `a:1-personal-${userIdOf(user)}`;
}

function base(serviceUrl: string, user: TeamsUser, conversation: Conversation, id = `${Date.now()}${Math.floor(Math.random() * 1000)}`) {
  return {
    id,
    timestamp: new Date().toISOString(),
    localTimestamp: new Date().toISOString(),
    serviceUrl,
    channelId: 'msteams',
    from: { id: userIdOf(user), name: user.name ?? 'Test User', aadObjectId: user.aadObjectId },
    conversation: { conversationType: conversation.type, tenantId: TENANT, id: conversation.id, ...(conversation.type === 'personal' ? {} : { isGroup: true }) },
    recipient: { id: BOT.id, name: BOT.name },
    locale: 'en-US',
    channelData: { tenant: { id: TENANT }, ...(conversation.type === 'channel' ? { channel: { id: conversation.id.split(';')[0] }, team: { id: '19:team@thread.tacv2' } } : {}) },
  };
}

/** A message activity; in a channel the text starts with the bot's @mention, as Teams sends it. */
export function messageActivity(serviceUrl: string, user: TeamsUser, conversation: Conversation, text: string, id?: string): Record<string, unknown> {
  const mention = `<at>${BOT.name}</at>`;
  return {
    type: 'message',
    ...base(serviceUrl, user, conversation, id),
    textFormat: 'plain',
    text: conversation.type === 'personal' ? text : `${mention} ${text}`,
    entities: [
      { type: 'clientInfo', locale: 'en-US', country: 'US', platform: 'Web', timezone: 'Europe/London' },
      ...(conversation.type === 'personal' ? [] : [{ type: 'mention', text: mention, mentioned: { id: BOT.id, name: BOT.name } }]),
    ],
  };
}

/** An Action.Execute click (Universal Actions) on a card the bot posted as `replyToId`. */
export function cardAction(serviceUrl: string, user: TeamsUser, conversation: Conversation, verb: string, data: Record<string, unknown>, replyToId?: string): Record<string, unknown> {
  return {
    type: 'invoke',
    name: 'adaptiveCard/action',
    ...base(serviceUrl, user, conversation),
    ...(replyToId ? { replyToId } : {}),
    value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' },
  };
}

const b64url = (v: Buffer | string): string => Buffer.from(v).toString('base64url');

/** A signing key and the OpenID metadata + JWKS that publish it, served on 127.0.0.1. */
export class BotFrameworkKeys {
  readonly kid = `test-${randomUUID().slice(0, 8)}`;
  readonly privateKey: KeyObject;
  private readonly publicJwk: Record<string, unknown>;
  private server: Server | undefined;
  metadataUrl = '';

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = privateKey;
    this.publicJwk = { ...publicKey.export({ format: 'jwk' }), kid: this.kid, kty: 'RSA', use: 'sig', endorsements: ['msteams'] };
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const origin = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
      res.setHeader('content-type', 'application/json');
      if (req.url === '/v1/.well-known/openidconfiguration') {
        res.end(JSON.stringify({ issuer: 'https://api.botframework.com', authorization_endpoint: 'https://invalid.botframework.com', jwks_uri: `${origin}/v1/.well-known/keys`, id_token_signing_alg_values_supported: ['RS256'], token_endpoint_auth_methods_supported: ['private_key_jwt'] }));
      } else if (req.url === '/v1/.well-known/keys') {
        res.end(JSON.stringify({ keys: [this.publicJwk] }));
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.metadataUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/.well-known/openidconfiguration`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** A token as the Bot Framework's channel service issues one; `claims` and `key` change it for attacks. */
  token(o: { appId: string; serviceUrl: string; claims?: Record<string, unknown>; key?: KeyObject; kid?: string; alg?: string }): string {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: o.alg ?? 'RS256', typ: 'JWT', kid: o.kid ?? this.kid };
    const payload = { iss: 'https://api.botframework.com', aud: o.appId, serviceurl: o.serviceUrl, nbf: now - 60, iat: now - 60, exp: now + 3600, ...o.claims };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
    const signature = header.alg === 'none' ? Buffer.alloc(0) : sign('RSA-SHA256', Buffer.from(input), o.key ?? this.privateKey);
    return `${input}.${b64url(signature)}`;
  }
}

/** Another key, not published: what a forger would sign with. */
export function strangerKey(): KeyObject {
  return createPrivateKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
}

/**
 * The real envbot (bot/main.ts) in its own process with Teams on and Slack off, answering /healthz.
 * Waits up to three minutes: on a busy machine bundling the workflows alone can take a minute.
 */
export function startTeamsEnvbot(o: { databaseUrl: string; taskQueue: string; env: Record<string, string> }): Promise<EnvbotProcess> {
  return startEnvbot({ ...o, readyMs: 180_000 });
}
