// The Teams guard, attacked: envbot with a MicrosoftAppId checks every activity's Bot Framework
// token against the OpenID metadata and keys the test serves (ToBotFromChannelOpenIdMetadataUrl),
// before the replay guard and the core. A request the core saw leaves its key in the store's
// chat_requests; a refused one leaves nothing. Outbound, envbot's replies carry the Bot Framework
// token it got by client credentials from a local Entra ID token endpoint (ENVBOT_MICROSOFT_LOGIN_URL).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { depsOn } from '../support/deps.js';
import { until, type EnvbotProcess } from '../support/slack.js';
import { EntraRecorder } from '../support/entra.js';
import { BotFrameworkKeys, ConnectorRecorder, startTeamsEnvbot, messageActivity, personalChat, strangerKey } from '../support/teams.js';

const PM = { aadObjectId: '3f2b8c1e-7a4d-4e9b-9c2a-1d5e6f7a8b9c' };
const APP_ID = randomUUID();
const APP_PASSWORD = `pw-${randomUUID()}`;

describe('Teams authentication', () => {
  const keys = new BotFrameworkKeys();
  const connector = new ConnectorRecorder();
  const entra = new EntraRecorder();
  let storeDb: ScratchDatabase;
  let envbot: EnvbotProcess;
  let deps: ReturnType<typeof depsOn>;
  const chat = personalChat(PM);

  const post = async (activity: Record<string, unknown>, authorization?: string) => {
    const res = await fetch(`${envbot.base}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization !== undefined ? { authorization } : {}) },
      body: JSON.stringify(activity),
    });
    await res.text();
    return res.status;
  };
  const seen = async (activity: Record<string, unknown>) =>
    (await deps.store.pool.query("SELECT count(*)::int AS n FROM chat_requests WHERE platform = 'teams' AND request_key = $1", [`${chat.id}|${String(activity.id)}`])).rows[0].n as number;
  const valid = (claims: Record<string, unknown> = {}) => `Bearer ${keys.token({ appId: APP_ID, serviceUrl: connector.url, claims })}`;

  beforeAll(async () => {
    await keys.start();
    await connector.start();
    await entra.start();
    storeDb = await scratchPostgres('store_teams_auth', { migrate: true });
    deps = depsOn(storeDb.url, 'teams-auth-test');
    envbot = await startTeamsEnvbot({
      databaseUrl: storeDb.url, taskQueue: `teams-auth-${randomUUID()}`,
      env: {
        MicrosoftAppId: APP_ID, MicrosoftAppPassword: APP_PASSWORD, MicrosoftAppType: 'MultiTenant', ToBotFromChannelOpenIdMetadataUrl: keys.metadataUrl,
        ENVBOT_MICROSOFT_LOGIN_URL: entra.origin, NODE_EXTRA_CA_CERTS: entra.caFile,
      },
    });
  }, 200_000);

  afterAll(async () => {
    await envbot?.stop();
    await deps?.store.close();
    await storeDb?.drop();
    await connector.stop();
    await entra.stop();
    await keys.stop();
  }, 60_000);

  it('says Teams requires Bot Framework tokens for the app', () => {
    expect(envbot.output()).toContain(`chat adapter teams: on (POST /api/messages, Bot Framework tokens for app ${APP_ID} required)`);
    expect(envbot.output()).not.toMatch(/UNAUTHENTICATED/);
  });

  const now = () => Math.floor(Date.now() / 1000);
  it.each([
    ['no Authorization header', () => undefined],
    ['an empty bearer', () => 'Bearer '],
    ['a token signed by another key under the published key id', () => `Bearer ${keys.token({ appId: APP_ID, serviceUrl: connector.url, key: strangerKey() })}`],
    ['a token whose key id is not published', () => `Bearer ${keys.token({ appId: APP_ID, serviceUrl: connector.url, kid: 'someone-elses' })}`],
    ['an unsigned token (alg none)', () => `Bearer ${keys.token({ appId: APP_ID, serviceUrl: connector.url, alg: 'none' })}`],
    ['a token for another bot (wrong audience)', () => `Bearer ${keys.token({ appId: randomUUID(), serviceUrl: connector.url })}`],
    ['an expired token (10 minutes ago, past the 5-minute clock tolerance)', () => valid({ exp: now() - 600, iat: now() - 4000, nbf: now() - 4000 })],
    ['a token from another issuer', () => valid({ iss: 'https://attacker.example.com' })],
    ['a token for another serviceUrl than the activity names', () => valid({ serviceurl: 'https://smba.trafficmanager.net/emea/' })],
    ['a token with the signature cut off', () => valid().replace(/\.[^.]*$/, '.')],
  ])('refuses %s with 401, and the core never sees it', async (_what, authorization) => {
    const activity = messageActivity(connector.url, PM, chat, 'env help');
    expect(await post(activity, authorization())).toBe(401);
    expect(await seen(activity)).toBe(0);
  });

  it('refuses an Emulator-issued token that no Emulator key signed', async () => {
    const activity = messageActivity(connector.url, PM, chat, 'env help');
    const status = await post(activity, valid({ iss: 'https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/', ver: '1.0', appid: APP_ID }));
    expect(status).toBeGreaterThanOrEqual(400);
    expect(await seen(activity)).toBe(0);
  });

  it('accepts a valid token, and handles the same activity id only once', async () => {
    const activity = messageActivity(connector.url, PM, chat, 'env help');
    expect(await post(activity, valid())).toBe(200);
    expect(await seen(activity)).toBe(1);
    // Sent again with a fresh, valid token (a retry or a replay): acknowledged, nothing run again.
    const before = envbot.output().match(/Teams activity seen before: ignored/g)?.length ?? 0;
    expect(await post(activity, valid())).toBe(200);
    await until('the replay to be ignored', () => (envbot.output().match(/Teams activity seen before: ignored/g)?.length ?? 0) > before, 5000);
    expect(await seen(activity)).toBe(1);
  });

  it("replies with the Bot Framework token envbot got for its app id and password from the login server", async () => {
    const activity = messageActivity(connector.url, PM, chat, 'env help');
    expect(await post(activity, valid())).toBe(200);
    const reply = await until('the help reply at the connector', () => connector.to(chat.id, 'POST').find((c) => c.activityId === activity.id || c.body.replyToId === activity.id), 20_000);
    // The token request: client credentials for this app, its password, the Bot Framework's scope,
    // from the multi-tenant bots' tenant.
    const request = entra.issuedFor('https://api.botframework.com/.default');
    expect(request).toBeDefined();
    expect(request!.tenant).toBe('botframework.com');
    expect(request!.form).toMatchObject({ grant_type: 'client_credentials', client_id: APP_ID, client_secret: APP_PASSWORD });
    expect(reply.authorization).toBe(`Bearer ${request!.issued}`);
    // Every call envbot made to the connector carried a token the login server issued.
    const issued = new Set(entra.tokenRequests.map((r) => `Bearer ${r.issued}`));
    expect(connector.calls.length).toBeGreaterThan(0);
    for (const call of connector.calls) expect(issued.has(call.authorization ?? '')).toBe(true);
  });
});
