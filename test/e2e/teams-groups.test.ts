// teams-group: principals, end to end: the real envbot process with an app id, a password and
// ENVBOT_TEAMS_GROUPS_FROM_GRAPH=true asks a local Microsoft Graph (checkMemberGroups, with an
// app-only token from a local Entra ID token endpoint) whether the Teams user is in the Entra ID
// groups envbot.yaml names. The catalogue is the example one with an Entra ID group added to
// devops, who may create environments; "env create" with no project answers the create form to
// someone who may create in some project and a refusal to anyone else, and starts nothing.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { EntraRecorder } from '../support/entra.js';
import { repoRoot } from '../support/settings.js';
import { until, type EnvbotProcess } from '../support/slack.js';
import { BotFrameworkKeys, ConnectorRecorder, messageActivity, personalChat, startTeamsEnvbot, type TeamsUser } from '../support/teams.js';

const APP_ID = randomUUID();
const APP_PASSWORD = `pw-${randomUUID()}`;
const TENANT_ID = randomUUID();
const DEVOPS_GROUP = randomUUID();
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const user = (): TeamsUser => ({ aadObjectId: randomUUID() });

describe('Teams: Entra ID groups from Microsoft Graph', () => {
  const keys = new BotFrameworkKeys();
  const connector = new ConnectorRecorder();
  const entra = new EntraRecorder();
  let folder: string;
  let storeDb: ScratchDatabase;
  let envbot: EnvbotProcess;

  /** Sends `env create` as `who` in a one-to-one chat, and returns the text of envbot's answer there. */
  const ask = async (who: TeamsUser): Promise<string> => {
    const chat = personalChat(who);
    const activity = messageActivity(connector.url, who, chat, 'env create');
    const res = await fetch(`${envbot.base}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.token({ appId: APP_ID, serviceUrl: connector.url })}` },
      body: JSON.stringify(activity),
    });
    expect(res.status).toBe(200);
    const reply = await until(`envbot's answer to ${who.aadObjectId}`, () => connector.to(chat.id, 'POST')[0], 20_000);
    return JSON.stringify(reply.body);
  };
  const callsFor = (who: TeamsUser) => entra.graphCalls.filter((c) => c.rawPath.includes(who.aadObjectId));

  beforeAll(async () => {
    await keys.start();
    await connector.start();
    await entra.start();
    folder = await mkdtemp(join(tmpdir(), 'envbot-teams-groups-'));
    await cp(join(repoRoot, 'examples'), folder, { recursive: true });
    const file = join(folder, 'envbot.yaml');
    const yaml = await readFile(file, 'utf8');
    const withGroup = yaml.replace('    - slack-group:S0DEVOPS001\n', `    - slack-group:S0DEVOPS001\n    - teams-group:${DEVOPS_GROUP}\n`);
    expect(withGroup).not.toBe(yaml);
    await writeFile(file, withGroup);
    storeDb = await scratchPostgres('store_teams_groups', { migrate: true });
    envbot = await startTeamsEnvbot({
      databaseUrl: storeDb.url, taskQueue: `teams-groups-${randomUUID()}`,
      env: {
        ENVBOT_CONFIG: file,
        MicrosoftAppId: APP_ID, MicrosoftAppPassword: APP_PASSWORD, MicrosoftAppTenantId: TENANT_ID, MicrosoftAppType: 'MultiTenant',
        ToBotFromChannelOpenIdMetadataUrl: keys.metadataUrl,
        ENVBOT_MICROSOFT_LOGIN_URL: entra.origin, ENVBOT_MICROSOFT_GRAPH_URL: entra.origin, NODE_EXTRA_CA_CERTS: entra.caFile,
        ENVBOT_TEAMS_GROUPS_FROM_GRAPH: 'true',
      },
    });
  }, 200_000);

  afterAll(async () => {
    await envbot?.stop();
    await storeDb?.drop();
    await connector.stop();
    await entra.stop();
    await keys.stop();
    if (folder) await rm(folder, { recursive: true, force: true });
  }, 60_000);

  it('says at start that teams-group: principals are checked with Graph', () => {
    expect(envbot.output()).toContain('teams-group: principals are checked with Microsoft Graph');
    expect(envbot.output()).not.toContain('MATCH NOBODY');
  });

  it("lets a member of the catalogue's group in, asking Graph about that group only, with an app-only token for the tenant", async () => {
    const member = user();
    entra.members.set(member.aadObjectId, [DEVOPS_GROUP, randomUUID()]);
    const answer = await ask(member);
    expect(answer).toContain('New environment');
    expect(answer).not.toContain('You may not');
    const calls = callsFor(member);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.rawPath).toBe(`/v1.0/users/${member.aadObjectId}/checkMemberGroups`);
    expect(calls[0]!.body).toEqual({ groupIds: [DEVOPS_GROUP] });
    const token = entra.issuedFor(GRAPH_SCOPE);
    expect(token).toBeDefined();
    expect(token!.tenant).toBe(TENANT_ID);
    expect(token!.form).toMatchObject({ grant_type: 'client_credentials', client_id: APP_ID, client_secret: APP_PASSWORD, scope: GRAPH_SCOPE });
    expect(calls[0]!.authorization).toBe(`Bearer ${token!.issued}`);

    // Asked again within minutes: the answer is remembered, Graph is not asked twice.
    expect(await ask(member)).toContain('New environment');
    expect(callsFor(member)).toHaveLength(1);
  });

  it('refuses someone in none of the named groups', async () => {
    const outsider = user();
    entra.members.set(outsider.aadObjectId, [randomUUID()]);
    expect(await ask(outsider)).toContain('You may not create environments of any project here');
    expect(callsFor(outsider)).toHaveLength(1);
  });

  it('grants nothing for a group Graph names that envbot did not ask about', async () => {
    const outsider = user();
    entra.extraGroups = [randomUUID(), DEVOPS_GROUP.toUpperCase().replace(/-/g, '')];
    try {
      expect(await ask(outsider)).toContain('You may not create environments of any project here');
    } finally {
      entra.extraGroups = [];
    }
  });

  it('refuses, saying membership could not be checked, when Graph fails (500)', async () => {
    const member = user();
    entra.members.set(member.aadObjectId, [DEVOPS_GROUP]);
    entra.graphStatus = 500;
    try {
      const answer = await ask(member);
      expect(answer).toContain('could not check your Microsoft Entra ID group membership');
      expect(answer).not.toContain('New environment');
      expect(envbot.output()).toMatch(/"why":"Microsoft Graph answered 500 to checkMemberGroups[^\n]*Entra ID group membership could not be checked: request refused/);
    } finally {
      entra.graphStatus = 200;
    }
    // Graph back: the failure was not remembered as "no groups".
    expect(await ask(member)).toContain('New environment');
  });

  it('never puts a user id with path characters into a Graph URL', async () => {
    const before = entra.graphCalls.length;
    const attacker: TeamsUser = { aadObjectId: `../../groups/${DEVOPS_GROUP}/members/${randomUUID()}` };
    expect(await ask(attacker)).toContain('You may not create environments of any project here');
    expect(entra.graphCalls.slice(before)).toEqual([]);
    expect(envbot.output()).toContain('Teams user id is not an Entra ID object id: no groups looked up');
    for (const call of entra.graphCalls) expect(call.rawPath).toMatch(/^\/v1\.0\/users\/[0-9a-f-]{36}\/checkMemberGroups$/);
  });
});
