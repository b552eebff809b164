// One card per operation in the channel, also when Slack answers a post late and with an error:
// the real envbot process creates, resets and destroys an environment from signed Slack requests,
// while the local Web API recorder holds the first chat.postMessage of each operation for two
// seconds and then answers 500. For the create and the reset the post was made all the same (the
// retry must find it and edit it); for the destroy it was not (the retry must post it).
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { depsOn } from '../support/deps.js';
import { leftovers } from '../support/inspect.js';
import { ensureSharedSecrets } from '../support/shared-secrets.js';
import { blockAction, signedHeaders, SlackRecorder, slashCommand, startEnvbot, until, type ChannelMessage, type EnvbotProcess } from '../support/slack.js';

const PM = { id: 'U0PM0000001' }; // in group pm: may create, reset and destroy proja (examples/envbot.yaml)
const CHANNEL = 'C0PROJA0001';

describe('Slack: one card per operation when a post is answered late and with an error', () => {
  const recorder = new SlackRecorder();
  let storeDb: ScratchDatabase;
  let envbot: EnvbotProcess;
  let deps: ReturnType<typeof depsOn>;
  const suffix = randomBytes(3).toString('hex');
  const env = `proja-qa-${suffix}`;
  const ref = { environment: env, project: 'proja', stage: 'qa', suffix };

  const post = async (body: string) => {
    const res = await fetch(`${envbot.base}/slack/events`, { method: 'POST', headers: signedHeaders(body), body });
    expect(res.status).toBe(200);
  };
  const state = async () => (await deps.store.getEnvironment(env))?.state;
  /** The channel's messages about the environment, grouped by the operation that posted them. */
  const byOperation = () => {
    const about = recorder.messagesIn(CHANNEL).filter((m) => JSON.stringify(m).includes(env));
    const groups = new Map<string, ChannelMessage[]>();
    for (const m of about) {
      const key = String(m.metadata?.event_payload?.key ?? 'no key');
      const operation = key.slice(0, key.lastIndexOf('/'));
      groups.set(operation, [...(groups.get(operation) ?? []), m]);
    }
    return { about, groups };
  };
  const kinds = (messages: ChannelMessage[]) => messages.map((m) => String(m.metadata?.event_payload?.key).split('/').at(-1)).sort();
  /** Lets retries that would post a second time (1 s apart) happen before counting. */
  const quiet = () => new Promise((r) => setTimeout(r, 4000));

  beforeAll(async () => {
    await recorder.start();
    storeDb = await scratchPostgres('store_slack_messages', { migrate: true });
    deps = depsOn(storeDb.url, 'slack-messages');
    await ensureSharedSecrets(deps.deps);
    envbot = await startEnvbot({ databaseUrl: storeDb.url, taskQueue: `slack-messages-${randomUUID()}`, slackApiUrl: recorder.url });
  }, 120_000);

  afterAll(async () => {
    await envbot?.stop();
    await deps?.store.close();
    await storeDb?.drop();
    await recorder.stop();
  }, 60_000);

  it('create, reset and destroy each end with exactly one card, and one outcome where they post one', async () => {
    recorder.failNext('chat.postMessage', { delayMs: 2000, done: true });
    await post(slashCommand(`create proja qa ${suffix}`, PM, CHANNEL, `${recorder.url}response`));
    await until('the environment to be ready', async () => (await state()) === 'ready', 90_000);
    await until('the card', () => recorder.messagesIn(CHANNEL).find((m) => JSON.stringify(m.blocks).includes(`https://web.${env}.example.com`)));
    await quiet();
    let { about, groups } = byOperation();
    expect(about).toHaveLength(1);
    const [create] = [...groups.keys()];
    expect(create).toMatch(new RegExp(`^envbot/${env}/create:`));
    expect(JSON.stringify(about[0]!.blocks)).toContain(`https://web.${env}.example.com`);

    recorder.failNext('chat.postMessage', { delayMs: 2000, done: true });
    await post(blockAction('env_reset_confirmed', JSON.stringify({ environment: env, which: 'all' }), PM, CHANNEL, `${recorder.url}response`));
    await until('the reset to be reported', () => recorder.messagesIn(CHANNEL).find((m) => String(m.text).includes(" re-seeded (asked by") && String(m.text).includes(env)));
    await quiet();

    recorder.failNext('chat.postMessage', { delayMs: 2000, done: false });
    await post(blockAction('env_destroy_confirmed', env, PM, CHANNEL, `${recorder.url}response`));
    await until('the destroy to be reported', () => recorder.messagesIn(CHANNEL).find((m) => String(m.text).includes(`${env} was destroyed (asked by`)), 90_000);
    await quiet();
    expect(await state()).toBe('destroyed');
    expect(await leftovers(deps, ref)).toEqual([]);

    ({ about, groups } = byOperation());
    expect([...groups.keys()].map((k) => k.replace(/:.*/, ''))).toEqual([`envbot/${env}/create`, `envbot/${env}/reset`, `envbot/${env}/destroy`]);
    expect([...groups.values()].map(kinds)).toEqual([['progress'], ['outcome', 'progress'], ['outcome', 'progress']]);
    // Three posts answered with an error; each operation still shows its message once.
    expect(recorder.of('chat.postMessage', CHANNEL).filter((c) => JSON.stringify(c.body).includes(env))).toHaveLength(about.length + 1);
  }, 240_000);
});
