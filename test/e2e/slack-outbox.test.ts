// Many creates in one channel through the real envbot process: every environment ends with exactly
// one message, its ready card, also when Slack answers some calls 429 with Retry-After; nothing is
// sent again before the Retry-After has passed; and the chat costs few Web API calls per environment
// (states superseded before their turn are never sent). The recorder stands in for Slack's Web API.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { depsOn } from '../support/deps.js';
import { leftovers } from '../support/inspect.js';
import { ensureSharedSecrets } from '../support/shared-secrets.js';
import { blockAction, signedHeaders, SlackRecorder, slashCommand, startEnvbot, until, type EnvbotProcess } from '../support/slack.js';

const PM = { id: 'U0PM0000001' }; // in group pm: may create projc (examples/envbot.yaml)
const OPS = { id: 'U0OPS000001' }; // in group devops: may destroy it
const CHANNEL = 'C0PROJC0001';
const COUNT = 6;

describe('Slack: many creates in one channel through the outbox', () => {
  const recorder = new SlackRecorder();
  let storeDb: ScratchDatabase;
  let envbot: EnvbotProcess;
  let deps: ReturnType<typeof depsOn>;
  const run = randomBytes(2).toString('hex');
  const envs = Array.from({ length: COUNT }, (_, i) => ({ environment: `projc-dev-o${run}${i}`, project: 'projc', stage: 'dev', suffix: `o${run}${i}` }));

  const post = async (body: string) => {
    const res = await fetch(`${envbot.base}/slack/events`, { method: 'POST', headers: signedHeaders(body), body });
    expect(res.status).toBe(200);
  };
  const messagesAbout = (env: string) => recorder.messagesIn(CHANNEL).filter((m) => JSON.stringify([m.text, m.blocks]).includes(env));
  const isCard = (env: string) => (m: { blocks?: unknown }) => JSON.stringify(m.blocks ?? '').includes(`https://shop.${env}.example.com`);

  beforeAll(async () => {
    await recorder.start();
    storeDb = await scratchPostgres('store_slack_outbox', { migrate: true });
    deps = depsOn(storeDb.url, 'slack-outbox');
    await ensureSharedSecrets(deps.deps);
    envbot = await startEnvbot({ databaseUrl: storeDb.url, taskQueue: `slack-outbox-${randomUUID()}`, slackApiUrl: recorder.url });
  }, 120_000);

  afterAll(async () => {
    for (const e of envs) {
      if ((await deps?.store.getEnvironment(e.environment))?.state === 'ready') await post(blockAction('env_destroy_confirmed', e.environment, OPS, CHANNEL, `${recorder.url}response`));
    }
    for (const e of envs) {
      await until(`${e.environment} destroyed`, async () => (await deps.store.getEnvironment(e.environment))?.state === 'destroyed', 120_000);
      expect(await leftovers(deps, e)).toEqual([]);
    }
    await envbot?.stop();
    await deps?.store.close();
    await storeDb?.drop();
    await recorder.stop();
  }, 120_000);

  it(`${COUNT} creates in one channel, with 429s: one message each, ending as its card; no call before Retry-After`, async () => {
    // Slack refuses the first post and two edits with "retry after 1 s".
    recorder.failNext('chat.postMessage', { delayMs: 0, done: false, retryAfter: 1 });
    recorder.failNext('chat.update', { delayMs: 0, done: false, retryAfter: 1 });
    recorder.failNext('chat.update', { delayMs: 0, done: false, retryAfter: 1 });
    const t0 = Date.now();
    await Promise.all(envs.map((e) => post(slashCommand(`create projc dev ${e.suffix}`, PM, CHANNEL, `${recorder.url}response`))));
    for (const e of envs) {
      await until(`${e.environment} to be ready`, async () => (await deps.store.getEnvironment(e.environment))?.state === 'ready', 300_000);
    }
    const provisioned = Date.now() - t0;
    for (const e of envs) await until(`${e.environment}'s card`, () => messagesAbout(e.environment).find(isCard(e.environment)), 120_000);
    const carded = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 3000)); // a late duplicate would show by now
    for (const e of envs) {
      const about = messagesAbout(e.environment);
      expect(about, e.environment).toHaveLength(1);
      expect(isCard(e.environment)(about[0]!)).toBe(true);
    }
    // After each 429 nothing new is sent before its Retry-After (1 s): what reaches Slack in that second
    // left before the refusal came back (the outbox has at most 4 calls in flight), and the refused
    // message itself is sent again only after the second.
    const chatCalls = recorder.calls.filter((c) => c.method === 'chat.postMessage' || c.method === 'chat.update');
    const identity = (c: (typeof chatCalls)[number]) => String(c.body.ts ?? (c.body.metadata as { event_payload?: { key?: string } } | undefined)?.event_payload?.key);
    for (const refused of chatCalls.filter((c) => c.status === 429)) {
      const soon = chatCalls.filter((c) => c.at > refused.at && c.at - refused.at < 950);
      expect(soon.length, `calls within a second of a 429: ${soon.map((c) => `${c.method} +${c.at - refused.at} ms`).join(', ')}`).toBeLessThanOrEqual(3);
      expect(soon.map(identity)).not.toContain(identity(refused));
      expect(chatCalls.some((c) => c.at - refused.at >= 950 && identity(c) === identity(refused))).toBe(true);
    }
    expect(chatCalls.filter((c) => c.status === 429)).toHaveLength(3);
    const perEnvironment = chatCalls.length / COUNT;
    console.log(`${COUNT} creates: provisioned in ${provisioned} ms, last card at ${carded} ms (${(carded / provisioned).toFixed(2)}×), ${chatCalls.length} chat calls (${perEnvironment.toFixed(1)} per environment, 3 refused 429)`);
    expect(perEnvironment).toBeLessThan(8);
  }, 600_000);
});
