// Alertmanager's webhook through the real envbot process, its Slack Web API pointed at the local
// recorder: a firing group of projb-qa-… is one message in each of projb's channels and in a channel
// subscribed to projb, with the dashboard link; its resolution edits those messages; a delivery
// seen before posts nothing; `/env silence` mutes new groups. The token guard is attacked: no
// token, a wrong one, near misses and other schemes are all 401 and post nothing.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../shared/store/store.js';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { signedHeaders, SlackRecorder, slashCommand, startEnvbot, until, type EnvbotProcess } from '../support/slack.js';

const TOKEN = randomBytes(32).toString('base64url');
const OPS = { id: 'U0OPS000001' }; // group devops: may extend (and so silence) projb's environments
const NOBODY = { id: 'U0NOBODY001' };
const PROJB = ['C0PROJB0001', 'C0PROJB0002']; // projb's channels in examples/envbot.yaml
const SUBSCRIBED = 'C0SUBSCRIB1';

function payload(env: string, status: 'firing' | 'resolved', groupKey: string) {
  const alert = (service: string) => ({
    status,
    labels: { alertname: 'ServiceUnavailable', environment: env, project: 'projb', stage: 'qa', service, severity: 'critical' },
    annotations: { summary: `${service} of ${env} has no available replica`, dashboard: `https://grafana.example.com/d/envbot-${env}` },
    startsAt: '2026-11-30T10:00:00Z',
    endsAt: status === 'resolved' ? '2026-11-30T10:20:00Z' : '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.local/graph',
    fingerprint: `${service}-${groupKey.length}`,
  });
  return {
    version: '4', groupKey, truncatedAlerts: 0, status, receiver: 'envbot',
    groupLabels: { alertname: 'ServiceUnavailable', environment: env },
    commonLabels: { alertname: 'ServiceUnavailable', environment: env, severity: 'critical' },
    commonAnnotations: {}, externalURL: 'http://alertmanager.local',
    alerts: [alert('service1'), alert('service2')],
  };
}

describe('POST /webhooks/alertmanager', () => {
  const recorder = new SlackRecorder();
  let storeDb: ScratchDatabase;
  let store: Store;
  let envbot: EnvbotProcess;
  const suffix = randomBytes(3).toString('hex');
  const env = `projb-qa-${suffix}`;

  /** `authorization`: the header's value; null: no header at all. */
  const deliver = async (body: unknown, authorization: string | null = `Bearer ${TOKEN}`) => {
    const res = await fetch(`${envbot.base}/webhooks/alertmanager`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...(authorization === null ? {} : { authorization }) }, body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const posts = () => recorder.of('chat.postMessage').length;

  beforeAll(async () => {
    await recorder.start();
    storeDb = await scratchPostgres('store_alertmanager', { migrate: true });
    store = new Store(storeDb.url, [{ id: 'test', key: randomBytes(32) }]);
    await store.claimEnvironment({ name: env, project: 'projb', stage: 'qa', suffix, createdBy: OPS.id, runId: `alertmanager-${suffix}` });
    await store.subscribe({ platform: 'slack', channel: SUBSCRIBED, project: 'projb', createdBy: OPS.id });
    envbot = await startEnvbot({ databaseUrl: storeDb.url, taskQueue: `alertmanager-${randomUUID()}`, slackApiUrl: recorder.url, env: { ALERTMANAGER_WEBHOOK_TOKEN: TOKEN } });
  }, 120_000);

  afterAll(async () => {
    await envbot?.stop();
    await store?.close();
    await storeDb?.drop();
    await recorder.stop();
  }, 60_000);

  it.each([
    ['no Authorization header', null],
    ['an empty bearer token', 'Bearer '],
    ['a wrong token of the same length', `Bearer ${randomBytes(32).toString('base64url')}`],
    ['the token without its last character', `Bearer ${TOKEN.slice(0, -1)}`],
    ['the token with a character more', `Bearer ${TOKEN}x`],
    ['the token and something after it', `Bearer ${TOKEN} x`],
    ['the token as Basic credentials', `Basic ${TOKEN}`],
    ['the token without a scheme', TOKEN],
    ['the scheme in lower case', `bearer ${TOKEN}`],
  ])('refuses %s with 401 and posts nothing', async (_what, authorization) => {
    const before = posts();
    const res = await deliver(payload(env, 'firing', `{}:{alertname="Attack-${randomUUID()}"}`), authorization);
    expect(res.status).toBe(401);
    expect(posts()).toBe(before);
  });

  it('refuses a body over 256 KiB with 413 and a payload of another version with 400', async () => {
    const big = payload(env, 'firing', 'big');
    big.commonAnnotations = { filler: 'x'.repeat(300 * 1024) } as Record<string, string>;
    expect((await deliver(big)).status).toBe(413);
    const v3 = { ...payload(env, 'firing', 'v3'), version: '3' };
    expect(await deliver(v3)).toMatchObject({ status: 400, body: { error: expect.stringMatching(/version "4"/) } });
    expect(await deliver('not json')).toMatchObject({ status: 400 });
  });

  it("posts a firing group once in each of projb's channels and a subscribed one, and edits those messages when it resolves", async () => {
    const groupKey = `{}:{alertname="ServiceUnavailable", environment="${env}"}`;
    const before = posts();
    const fired = await deliver(payload(env, 'firing', groupKey));
    expect(fired).toMatchObject({ status: 200, body: { handled: 'alerts', ignored: 0, environments: [{ environment: env, status: 'firing', posted: [...PROJB, SUBSCRIBED].map((c) => `slack:${c}`), edited: [] }] } });
    expect(posts() - before).toBe(3);
    for (const channel of [...PROJB, SUBSCRIBED]) {
      const [message, ...more] = recorder.messagesIn(channel);
      expect(more).toEqual([]);
      expect(message!.text).toBe(`2 alerts firing in ${env}: ServiceUnavailable (service1), ServiceUnavailable (service2) · dashboard https://grafana.example.com/d/envbot-${env}`);
      expect(JSON.stringify(message!.blocks)).toContain(`"url":"https://grafana.example.com/d/envbot-${env}"`);
    }
    // The same delivery again (Alertmanager retries one whose answer it lost): nothing new.
    expect(await deliver(payload(env, 'firing', groupKey))).toMatchObject({ status: 200, body: { handled: 'replay' } });
    expect(posts() - before).toBe(3);

    const resolved = await deliver(payload(env, 'resolved', groupKey));
    expect(resolved).toMatchObject({ status: 200, body: { environments: [{ status: 'resolved', posted: [], edited: [...PROJB, SUBSCRIBED].map((c) => `slack:${c}`) }] } });
    expect(posts() - before).toBe(3);
    for (const channel of [...PROJB, SUBSCRIBED]) {
      const messages = recorder.messagesIn(channel);
      expect(messages).toHaveLength(1);
      expect(messages[0]!.text).toMatch(new RegExp(`^Resolved in ${env}: `));
      expect(recorder.of('chat.update', channel).map((c) => c.body.ts)).toEqual([messages[0]!.ts]);
    }
  });

  it('/env silence mutes new alert groups of the environment; someone who may not extend it is refused', async () => {
    const command = async (user: { id: string }, text: string) => {
      const body = slashCommand(text, user, PROJB[0]!, `${recorder.url}response`);
      return fetch(`${envbot.base}/slack/events`, { method: 'POST', headers: signedHeaders(body), body });
    };
    expect((await command(NOBODY, `silence ${env} 2h`)).status).toBe(200);
    const refusal = await until('the refusal', () => recorder.of('chat.postEphemeral', PROJB[0]).find((x) => x.body.user === NOBODY.id), 15_000);
    expect(String(refusal.body.text)).toMatch(/may not extend/i);
    expect(await store.alerts.silencedUntil(env)).toBeUndefined();

    expect((await command(OPS, `silence ${env} 2h`)).status).toBe(200);
    const until2h = await until('the silence', () => store.alerts.silencedUntil(env), 15_000);
    expect(until2h.getTime()).toBeGreaterThan(Date.now() + 119 * 60_000);
    expect(until2h.getTime()).toBeLessThan(Date.now() + 121 * 60_000);

    // Waited for: the silence's own reply is a channel post too, and must not be taken for an alert's.
    await until('the silence reply', () => recorder.of('chat.postMessage', PROJB[0]).find((c) => String(c.body.text).includes('muted')), 15_000);
    const before = posts();
    const res = await deliver(payload(env, 'firing', `{}:{alertname="HighErrorRate", environment="${env}"}`));
    expect(res).toMatchObject({ status: 200, body: { environments: [{ environment: env, posted: [], edited: [], silencedUntil: until2h.toISOString() }] } });
    expect(posts()).toBe(before);
  });

  it("counts every delivery by result, and the chat calls, in envbot's /metrics", async () => {
    const text = await (await fetch(`${envbot.base}/metrics`)).text();
    const value = (line: string) => Number(new RegExp(`^${line.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    expect(value('envbot_webhook_deliveries_total{webhook="alertmanager",result="unauthorised"}')).toBe(9);
    expect(value('envbot_webhook_deliveries_total{webhook="alertmanager",result="too-large"}')).toBe(1);
    expect(value('envbot_webhook_deliveries_total{webhook="alertmanager",result="malformed"}')).toBe(2);
    expect(value('envbot_webhook_deliveries_total{webhook="alertmanager",result="replay"}')).toBe(1);
    expect(value('envbot_webhook_deliveries_total{webhook="alertmanager",result="handled"}')).toBe(3);
    // The three alert posts (the chat port's calls); the silence reply the listener posts through
    // Bolt's own client is not counted (yet).
    expect(value('envbot_chat_api_calls_total{platform="slack",method="chat.postMessage",result="ok"}')).toBe(3);
    expect(value('envbot_chat_api_calls_total{platform="slack",method="chat.update",result="ok"}')).toBe(3);
  });
});
