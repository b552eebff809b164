// The Teams adapter: botbuilder's CloudAdapter at POST /api/messages. Inbound order: the body size
// limit, then the Bot Framework's JWT (checked by the CloudAdapter against the app id, from the
// OpenID metadata of the channel), then the replay guard and the core (bot.ts). Without an app id
// (ENVBOT_TEAMS_EMULATOR=true) nothing is authenticated: for the Bot Framework Emulator only.
import { CallerIdConstants, CloudAdapter, ConfigurationBotFrameworkAuthentication, type Activity, type InvokeResponse, type TurnContext } from 'botbuilder';
import { Router } from 'express';
import type { Logger } from '../../shared/logger.js';
import type { Settings } from '../../shared/settings.js';
import type { ChatCore } from '../core/chat-core.js';
import { limitBody, rawBody } from '../http.js';
import { teamsTurn } from './bot.js';
import { TeamsChat } from './chat-port.js';
import { appIdentity } from './credentials.js';
import { GroupMembership } from './graph.js';

export const TEAMS_MESSAGES_PATH = '/api/messages';

/**
 * botbuilder's public-cloud values (botframework-connector's AuthenticationConstants). Setting any
 * one of these settings makes botbuilder expect all of them, so with ToBotFromChannelOpenIdMetadataUrl
 * or a login URL of a test set, the rest are given as the public cloud has them.
 */
const PUBLIC_CLOUD = {
  ToBotFromChannelOpenIdMetadataUrl: 'https://login.botframework.com/v1/.well-known/openidconfiguration',
  ValidateAuthority: true,
  ToChannelFromBotLoginUrl: 'https://login.microsoftonline.com/botframework.com',
  ToChannelFromBotOAuthScope: 'https://api.botframework.com',
  ToBotFromChannelTokenIssuer: 'https://api.botframework.com',
  OAuthUrl: 'https://api.botframework.com',
  ToBotFromEmulatorOpenIdMetadataUrl: 'https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration',
  CallerId: CallerIdConstants.PublicAzureChannel,
};

type Authenticated = Awaited<ReturnType<ConfigurationBotFrameworkAuthentication['authenticateRequest']>>;

/** CloudAdapter, run on an activity envbot authenticated itself (so every refusal is a 401 it logs). */
class EnvbotAdapter extends CloudAdapter {
  run(auth: Authenticated, activity: Activity, logic: (turn: TurnContext) => Promise<void>): Promise<InvokeResponse | undefined> {
    return this.processActivity(auth, activity, logic);
  }
}

export interface TeamsBot {
  router: Router;
  chat: TeamsChat;
  authenticated: boolean;
}

/**
 * teams-group: principals need Microsoft Graph; without it they match nobody, which start says
 * loudly when envbot.yaml names any.
 */
function groupMembership(s: Settings['teams'], groupIds: string[], identity: ReturnType<typeof appIdentity>, log: Logger): GroupMembership | undefined {
  if (groupIds.length === 0) return undefined;
  if (s.groupsFromGraph && identity) {
    log.info({ groups: groupIds.length, graph: s.graphUrl }, 'Teams: teams-group: principals are checked with Microsoft Graph (checkMemberGroups: User.Read.All and GroupMember.Read.All)');
    return new GroupMembership({ graphUrl: s.graphUrl, token: () => identity.graphToken(), groupIds, log });
  }
  const why = !s.appId
    ? 'Teams runs without MicrosoftAppId (Bot Framework Emulator), so envbot has no identity to ask Microsoft Graph with'
    : 'ENVBOT_TEAMS_GROUPS_FROM_GRAPH is not true (grant the app registration Graph\'s User.Read.All and GroupMember.Read.All application permissions, with admin consent, then set it)';
  log.warn({ groups: groupIds }, `TEAMS-GROUP PRINCIPALS MATCH NOBODY: envbot.yaml names ${groupIds.length} Entra ID group(s) as teams-group:, but ${why}. Members of those groups are refused unless named another way.`);
  return undefined;
}

export function createTeamsBot(o: { settings: Settings['teams']; chatCore: ChatCore; log: Logger; groupIds?: string[] }): TeamsBot {
  const s = o.settings;
  const identity = appIdentity(s);
  const cloud = s.openIdMetadataUrl || s.loginUrlOverridden;
  const auth = new ConfigurationBotFrameworkAuthentication(
    {
      ...(s.appId ? { MicrosoftAppId: s.appId } : {}),
      ...(s.appPassword ? { MicrosoftAppPassword: s.appPassword } : {}),
      ...(s.tenantId ? { MicrosoftAppTenantId: s.tenantId } : {}),
      ...(s.appType ? { MicrosoftAppType: s.appType } : {}),
      ...(cloud ? PUBLIC_CLOUD : {}),
      ...(s.openIdMetadataUrl ? { ToBotFromChannelOpenIdMetadataUrl: s.openIdMetadataUrl } : {}),
      ...(s.loginUrlOverridden && identity ? { ToChannelFromBotLoginUrl: identity.botAuthority } : {}),
    },
    // With a password or a certificate, envbot's own MSAL client gets the outbound token (so a
    // certificate works, and a test's login server can be trusted); otherwise botbuilder's default.
    identity?.botCredentials,
  );
  const groups = groupMembership(s, o.groupIds ?? [], identity, o.log);
  const adapter = new EnvbotAdapter(auth);
  adapter.onTurnError = async (turn, err) => {
    o.log.error({ err, type: turn.activity.type }, 'Teams activity failed');
  };
  const logic = teamsTurn({ chatCore: o.chatCore, log: o.log, ...(groups ? { groups } : {}) });
  const router = Router();
  router.post(TEAMS_MESSAGES_PATH, limitBody(), async (req, res) => {
    let body: unknown;
    try {
      body = JSON.parse(rawBody(req).toString('utf8'));
    } catch {
      body = undefined;
    }
    if (!body || typeof body !== 'object' || Array.isArray(body) || typeof (body as { type?: unknown }).type !== 'string') {
      res.status(400).json({ error: 'the body is not a Bot Framework activity (a JSON object with a type)' });
      return;
    }
    const activity = body as Activity;
    // Any failure to verify the token (missing, malformed, bad signature, wrong audience, issuer or
    // serviceUrl, expired, keys unreachable) is a refusal: 401, and nothing reaches the core.
    let verified: Authenticated;
    try {
      verified = await auth.authenticateRequest(activity, req.headers.authorization ?? '');
    } catch (err) {
      o.log.warn({ why: (err as Error).message }, 'Teams request refused');
      res.status(401).end();
      return;
    }
    try {
      const invoke = await adapter.run(verified, activity, logic);
      res.status(invoke?.status ?? 200);
      if (invoke?.body === undefined) res.end();
      else res.json(invoke.body);
    } catch (err) {
      o.log.error({ err }, 'Teams request failed');
      if (!res.headersSent) res.status(500).end();
    }
  });
  return { router, chat: new TeamsChat(adapter, s.appId ?? ''), authenticated: !!s.appId };
}
