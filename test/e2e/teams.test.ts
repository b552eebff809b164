// Teams end to end: the real envbot process (CloudAdapter, worker, activities) gets Bot Framework
// activities in the documented format over HTTP at /api/messages; its connector calls go to a local
// recorder standing in for the activity's serviceUrl. Unauthenticated (ENVBOT_TEAMS_EMULATOR=true):
// teams-auth.test.ts attacks the token guard. What only the asker may see (refusals, status,
// credentials) asked in a channel goes to a one-to-one chat with them that envbot opens through the
// connector, and nothing of it to the channel.
import { randomBytes, randomUUID } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveEnv } from '../../activities/environment.js';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { depsOn } from '../support/deps.js';
import { leftovers } from '../support/inspect.js';
import { ensureSharedSecrets } from '../support/shared-secrets.js';
import { until, type EnvbotProcess } from '../support/slack.js';
import { repoRoot } from '../support/settings.js';
import { BOT, cardAction, cardsOf, ConnectorRecorder, personalChatOf, startTeamsEnvbot, messageActivity, personalChat, teamChannel, TENANT, userIdOf, type TeamsUser } from '../support/teams.js';

const PM = { aadObjectId: '3f2b8c1e-7a4d-4e9b-9c2a-1d5e6f7a8b9c', name: 'Pat PM' }; // teams: member of group pm in examples/envbot.yaml
const NOBODY = { aadObjectId: '00000000-0000-4000-8000-000000000001', name: 'Nobody' };
const OPS = { aadObjectId: '6b0e2d4f-1c3a-4b5d-8e7f-9a0b1c2d3e4f', name: 'Olu Ops' }; // added to group devops in this test's catalogue: may see credentials
const UNREACHABLE_OPS = { aadObjectId: '7c1f3e5a-2d4b-4c6e-9f8a-0b1c2d3e4f5a', name: 'Una Ops' }; // devops too, but the connector refuses a chat with her

describe('Teams, end to end', () => {
  const connector = new ConnectorRecorder();
  let storeDb: ScratchDatabase;
  let envbot: EnvbotProcess;
  let deps: ReturnType<typeof depsOn>;
  const suffix = randomBytes(3).toString('hex');
  const env = `projb-qa-${suffix}`;
  const ref = { environment: env, project: 'projb', stage: 'qa', suffix };
  const chat = personalChat(PM);
  const channel = teamChannel();

  const post = async (activity: Record<string, unknown>) => {
    const res = await fetch(`${envbot.base}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(activity) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };
  const summaries = (conversation: string) => [...connector.shown(conversation).values()].map((a) => String(a.summary ?? a.text ?? ''));
  /** The one-to-one chats envbot asked the connector to open with `user`. */
  const chatsOpenedWith = (user: TeamsUser) =>
    connector.calls.filter((c) => c.method === 'POST' && c.path === '/v3/conversations' && (c.body.members as { id?: string }[] | undefined)?.[0]?.id === userIdOf(user));
  /** The environment's secret values, as the store keeps them. */
  const secretValues = async () => {
    const values: string[] = [];
    for (const name of await deps.store.secretNames(env)) values.push((await deps.store.getSecret(env, name))!);
    expect(values.length).toBeGreaterThan(0);
    return values.filter((v) => v.length >= 8);
  };
  const carriesAny = (body: unknown, values: string[]) => {
    const text = JSON.stringify(body);
    return values.some((v) => text.includes(v) || text.includes(JSON.stringify(v).slice(1, -1)));
  };
  let tmp: string;

  beforeAll(async () => {
    await connector.start();
    // The example catalogue with a Teams user in devops (the only group that may see projb's credentials).
    tmp = await mkdtemp(join(tmpdir(), 'envbot-teams-'));
    await cp(join(repoRoot, 'examples'), join(tmp, 'catalogue'), { recursive: true });
    const file = join(tmp, 'catalogue', 'envbot.yaml');
    const yaml = await readFile(file, 'utf8');
    expect(yaml).toContain('  devops:\n    - slack:U0OPS000001\n');
    await writeFile(file, yaml.replace('  devops:\n', `  devops:\n    - teams:${OPS.aadObjectId}\n    - teams:${UNREACHABLE_OPS.aadObjectId}\n`));
    connector.refuseChatsWith.add(userIdOf(UNREACHABLE_OPS));
    storeDb = await scratchPostgres('store_teams', { migrate: true });
    deps = depsOn(storeDb.url, 'teams-test');
    await ensureSharedSecrets(deps.deps);
    envbot = await startTeamsEnvbot({
      databaseUrl: storeDb.url, taskQueue: `teams-${randomUUID()}`,
      env: { ENVBOT_TEAMS_EMULATOR: 'true', ENVBOT_CONFIG: file },
    });
  }, 200_000);

  afterAll(async () => {
    await envbot?.stop();
    await deps?.store.close();
    await storeDb?.drop();
    await connector.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }, 60_000);

  it('says loudly that Teams runs unauthenticated', () => {
    expect(envbot.output()).toMatch(/chat adapter teams: on \(POST \/api\/messages WITHOUT AUTHENTICATION/);
    expect(envbot.output()).toMatch(/TEAMS IS UNAUTHENTICATED/);
  });

  it('creates projb-qa from "env create" in a 1:1 chat: one progress card, replaced in place, ending with the environment card', async () => {
    // A team channel subscribes to projb first: the expiry warning reaches it too (below).
    expect((await post(messageActivity(connector.url, NOBODY, channel, 'subscribe projb'))).status).toBe(200);
    await until('the subscription', () => summaries(channel.id).find((s) => s.includes('subscribed to projb')));
    const res = await post(messageActivity(connector.url, PM, chat, `env create projb qa ${suffix} --ttl 12h`));
    expect(res.status).toBe(200);

    const final = await until('the environment card', () => {
      const shown = [...connector.shown(chat.id).entries()].find(([, a]) => JSON.stringify(cardsOf(a)).includes(`https://service1.${env}.example.com`));
      return shown;
    }, 120_000);
    const [cardId, activity] = final;
    // One post (the progress card), then replacements of that same activity, at most one a second.
    const posts = connector.to(chat.id, 'POST').filter((c) => JSON.stringify(c.body).includes(`Creating ${env}`));
    expect(posts).toHaveLength(1);
    const puts = connector.to(chat.id, 'PUT').filter((c) => c.activityId === cardId);
    expect(puts.length).toBeGreaterThanOrEqual(1); // superseded progress may be dropped, the card never
    for (let i = 1; i < puts.length; i++) expect(puts[i]!.at - puts[i - 1]!.at).toBeGreaterThanOrEqual(950);
    expect(JSON.stringify(cardsOf(posts[0]!.body))).toMatch(/steps done/);
    const card = cardsOf(activity)[0]!;
    expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.5' });
    expect(JSON.stringify(card.body)).toContain(`${env} is ready`);
    expect((card.actions as { title: string }[]).map((a) => a.title)).toEqual(['Reset database', 'Extend', 'Refresh storage', 'Show credentials', 'Destroy']);
    expect(String(activity.summary)).toContain(env);

    // It really exists: the namespace, the databases and the DNS record.
    const names = resolveEnv(deps.deps.catalogue, ref).names;
    expect((await deps.deps.kube.makeApiClient(CoreV1Api).readNamespace({ name: names.namespace })).metadata?.name).toBe(env);
    expect(await leftovers(deps, ref)).toEqual(expect.arrayContaining([`mysql user ${names.mysqlUser}`, `postgres database ${names.postgresDatabase('orders')}`, `dns record service1.${env}.example.com.`]));
  }, 150_000);

  it('sends the expiry warning proactively to the conversation and to the subscribed channel (a 12h time to live is inside the 1d warning)', async () => {
    const warning = await until('the expiry warning', () => summaries(chat.id).find((s) => s.includes(`${env} expires at`)), 60_000);
    expect(warning).toMatch(/extend it \(extend .* 7d\)/);
    const inChannel = await until('the expiry warning in the subscribed channel', () => summaries(channel.id).find((s) => s.includes(`${env} expires at`)), 60_000);
    expect(inChannel).toBe(warning);
    // Once in each: the conversation it was created from is not warned twice as a subscriber.
    expect(summaries(chat.id).filter((s) => s.includes(`${env} expires at`))).toHaveLength(1);
    expect(summaries(channel.id).filter((s) => s.includes(`${env} expires at`))).toHaveLength(1);
  }, 130_000);

  it('answers an @mention in a channel (mention stripped) in a one-to-one chat it opens with the asker: a status is theirs alone', async () => {
    const inChannel = connector.to(channel.id).length;
    const res = await post(messageActivity(connector.url, NOBODY, channel, `status ${env}`));
    expect(res.status).toBe(200);
    const mine = personalChatOf(NOBODY);
    const reply = await until('the status reply', () => connector.to(mine, 'POST').find((c) => JSON.stringify(c.body).includes(`${env}: ready`)));
    // What the environment has: its URLs and databases, as the ledger holds them.
    expect(JSON.stringify(reply.body)).toContain(`https://service1.${env}.example.com`);
    expect(JSON.stringify(reply.body)).toContain(`orders_projb_qa_${env.split('-')[2]}`);
    // The chat was asked of the connector as the Bot Framework documents it: the bot, that one member, the tenant, not a group.
    const [opened] = chatsOpenedWith(NOBODY);
    expect(opened!.body).toMatchObject({ isGroup: false, bot: { id: BOT.id }, members: [{ id: userIdOf(NOBODY) }], tenantId: TENANT, channelData: { tenant: { id: TENANT } } });
    expect(connector.to(channel.id).length).toBe(inChannel);
  });

  it('refuses a user the catalogue does not allow in a one-to-one chat with them, posts nothing in the channel, and starts nothing', async () => {
    const inChannel = connector.to(channel.id).length;
    const other = `projb-qa-${randomBytes(3).toString('hex')}`;
    expect((await post(messageActivity(connector.url, NOBODY, channel, `create projb qa ${other.split('-')[2]}`))).status).toBe(200);
    const refusal = await until('the refusal', () => connector.to(personalChatOf(NOBODY), 'POST').find((c) => /may not create/i.test(JSON.stringify(c.body))));
    expect(JSON.stringify(refusal.body)).toContain('projb');
    // The same in a group chat: the refusal goes to the one-to-one chat, the group chat gets nothing.
    const group = { id: `19:${randomUUID().replace(/-/g, '')}@thread.v2`, type: 'groupChat' as const };
    const refusals = () => connector.to(personalChatOf(NOBODY), 'POST').filter((c) => /may not create/i.test(JSON.stringify(c.body))).length;
    const before = refusals();
    expect((await post(messageActivity(connector.url, NOBODY, group, `create projb qa ${other.split('-')[2]}`))).status).toBe(200);
    await until('the refusal of the group chat\'s request', () => (refusals() > before ? true : undefined));
    await new Promise((r) => setTimeout(r, 500));
    expect(connector.to(channel.id).length).toBe(inChannel);
    expect(connector.to(group.id)).toHaveLength(0);
    expect(await deps.store.getEnvironment(other)).toBeUndefined();
  });

  it('sends credentials asked for in a channel to a one-to-one chat with the asker only; the channel gets no secret, and someone not allowed gets a refusal there', async () => {
    const secrets = await secretValues();
    const audits = async () => (await deps.store.pool.query("SELECT count(*)::int AS n FROM audit_log WHERE action = 'credentials' AND environment = $1", [env])).rows[0].n as number;
    const inChannel = connector.to(channel.id).length;
    expect((await post(messageActivity(connector.url, OPS, channel, `secrets ${env}`))).status).toBe(200);
    const shown = await until('the credentials', () => connector.to(personalChatOf(OPS), 'POST').find((c) => carriesAny(c.body, secrets)));
    expect(JSON.stringify(shown.body)).toContain(env);
    expect(chatsOpenedWith(OPS)).toHaveLength(1);
    expect(await audits()).toBe(1);
    // PM may not see projb's credentials: a refusal, to PM alone.
    expect((await post(messageActivity(connector.url, PM, channel, `secrets ${env}`))).status).toBe(200);
    await until('the refusal', () => connector.to(personalChatOf(PM), 'POST').find((c) => /may not/i.test(JSON.stringify(c.body))));
    expect(connector.to(personalChatOf(PM)).some((c) => carriesAny(c.body, secrets))).toBe(false);
    await new Promise((r) => setTimeout(r, 500));
    // Nothing of either in the channel; no secret anywhere but OPS's chat.
    expect(connector.to(channel.id).length).toBe(inChannel);
    expect(connector.calls.filter((c) => carriesAny(c.body, secrets)).every((c) => c.conversation === personalChatOf(OPS))).toBe(true);
    expect(await audits()).toBe(1);
  });

  it('says only that it could not open a one-to-one chat when the connector refuses one (no secret in the channel)', async () => {
    const secrets = await secretValues();
    expect((await post(messageActivity(connector.url, UNREACHABLE_OPS, channel, `secrets ${env}`))).status).toBe(200);
    const note = await until('the note', () => connector.to(channel.id, 'POST').find((c) => JSON.stringify(c.body).includes('could not open a one-to-one chat with you')));
    expect(carriesAny(note.body, secrets)).toBe(false);
    expect(chatsOpenedWith(UNREACHABLE_OPS)).toHaveLength(1);
    expect(connector.to(personalChatOf(UNREACHABLE_OPS))).toHaveLength(0);
    expect(connector.to(channel.id).filter((c) => carriesAny(c.body, secrets))).toHaveLength(0);
  });

  it('"Show credentials" clicked in a channel: the secrets go to the clicker\'s one-to-one chat, the invoke response only says so; someone else clicking the card made for PM gets only what they may', async () => {
    const secrets = await secretValues();
    const [, card] = [...connector.shown(chat.id).entries()].find(([, a]) => JSON.stringify(cardsOf(a)).includes(`${env} is ready`))!;
    const show = (cardsOf(card)[0]!.actions as { title: string; verb: string; data: Record<string, unknown> }[]).find((a) => a.title === 'Show credentials')!;
    const inChannel = connector.to(channel.id).length;
    const opsPosts = connector.to(personalChatOf(OPS), 'POST').length;

    // OPS may see them: in OPS's own one-to-one chat, not in the channel, not in the invoke response.
    const res = await post(cardAction(connector.url, OPS, channel, show.verb, show.data));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.activity.message' });
    expect(String((res.body as { value: string }).value)).toBe(`Credentials of ${env} sent to your one-to-one chat with envbot.`);
    expect(carriesAny(res.body, secrets)).toBe(false);
    const sent = connector.to(personalChatOf(OPS), 'POST').slice(opsPosts);
    expect(sent.filter((c) => carriesAny(c.body, secrets))).toHaveLength(1);

    // NOBODY (read only) clicking the same button: a refusal to NOBODY alone, no secret to anyone.
    const nobodyPosts = connector.to(personalChatOf(NOBODY)).length;
    const refused = await post(cardAction(connector.url, NOBODY, channel, show.verb, show.data));
    expect(refused.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.activity.message' });
    expect(String((refused.body as { value: string }).value)).toMatch(/may not/i);
    expect(carriesAny(refused.body, secrets)).toBe(false);
    // PM, who asked for the environment, clicking the card made for PM: refused too (the catalogue decides, not the card).
    const pm = await post(cardAction(connector.url, PM, chat, show.verb, show.data));
    expect(String((pm.body as { value: string }).value)).toMatch(/may not/i);
    await new Promise((r) => setTimeout(r, 500));
    expect(connector.to(personalChatOf(NOBODY)).length).toBe(nobodyPosts);
    expect(connector.to(channel.id).length).toBe(inChannel);
    expect(connector.calls.filter((c) => carriesAny(c.body, secrets)).every((c) => c.conversation === personalChatOf(OPS))).toBe(true);
  });

  it('re-seeds the databases from a confirmed "Reset database" click; the refreshed card comes back in the invoke response and the confirmation in the conversation', async () => {
    const names = resolveEnv(deps.deps.catalogue, ref).names;
    const url = new URL(deps.deps.catalogue.catalogue.servers.postgres.main!.url);
    url.pathname = `/${names.postgresDatabase('orders')}`;
    const c = new pg.Client({ connectionString: url.toString() });
    await c.connect();
    try {
      const before = (await c.query('SELECT count(*)::int AS n FROM order_lines')).rows[0].n as number;
      expect(before).toBeGreaterThan(0);
      await c.query('DELETE FROM order_lines');

      const [cardId, shown] = [...connector.shown(chat.id).entries()].find(([, a]) => JSON.stringify(cardsOf(a)).includes(`${env} is ready`))!;
      const reset = (cardsOf(shown)[0]!.actions as { title: string; card: { actions: { verb: string; data: Record<string, unknown>; title: string }[] } }[]).find((a) => a.title === 'Reset database')!;
      const all = reset.card.actions.find((a) => a.title === 'Reset all databases')!;
      const res = await post(cardAction(connector.url, PM, chat, all.verb, all.data, cardId));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
      expect(JSON.stringify(res.body)).toContain(`Resetting all of ${env}`);

      const notice = await until('the reset confirmation', () => summaries(chat.id).find((s) => s.includes(`${env}: mongo, mysql, postgres, redis re-seeded (asked by teams:${PM.aadObjectId},`)), 150_000)
        .catch((err: unknown) => {
          throw new Error(`${(err as Error).message}; the chat shows:\n${summaries(chat.id).join('\n')}\n${envbot.output().slice(-4000)}`, { cause: err });
        });
      expect(notice).toBeDefined();
      expect((await c.query('SELECT count(*)::int AS n FROM order_lines')).rows[0].n).toBe(before);
    } finally {
      await c.end();
    }
  }, 180_000);

  it('opens the create form for "env" alone, and returns bad input as field errors in the refreshed form', async () => {
    expect((await post(messageActivity(connector.url, PM, chat, 'env'))).status).toBe(200);
    const form = await until('the form', () => connector.to(chat.id, 'POST').find((c) => JSON.stringify(c.body).includes('envCreateForm')));
    expect(JSON.stringify(cardsOf(form.body))).toContain('"id":"project"');
    const res = await post(cardAction(connector.url, PM, chat, 'envCreateForm', { project: 'projc', stage: 'uat', suffix: 'Not_OK' }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    const card = JSON.stringify(res.body);
    expect(card).toMatch(/has no stage \\"uat\\"/);
    expect(card).toMatch(/is not a valid suffix: use 1-12 lowercase letters and digits/);
    expect(await deps.store.getEnvironment('projc-uat-Not_OK')).toBeUndefined();
  });

  it('refuses a click of someone not allowed, to them only, and leaves the card as it was', async () => {
    const res = await post(cardAction(connector.url, NOBODY, chat, 'envResetConfirmed', { environment: env, which: 'all' }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.activity.message' });
    expect(String((res.body as { value: string }).value)).toMatch(/may not reset/i);
  });

  it('starts nothing new for an activity it has seen (same activity id)', async () => {
    const activity = messageActivity(connector.url, PM, chat, `extend ${env} 3d`);
    const audits = async () => (await deps.store.pool.query("SELECT count(*)::int AS n FROM audit_log WHERE action = 'extend' AND environment = $1", [env])).rows[0].n as number;
    expect((await post(activity)).status).toBe(200);
    await until('the extension', () => summaries(chat.id).find((s) => s.includes(`${env} now expires at`)));
    // Answers to the activity are replies to its id; workflows' own messages may come meanwhile.
    const answers = () => connector.calls.filter((c) => c.activityId === activity.id).length;
    expect(answers()).toBe(1);
    expect(await audits()).toBe(1);
    expect((await post(activity)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await audits()).toBe(1);
    expect(answers()).toBe(1);
    expect(envbot.output()).toMatch(/Teams activity seen before: ignored/);
  });
});
