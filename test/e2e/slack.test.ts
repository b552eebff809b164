// Slack end to end: the real envbot process (Bolt app, worker, activities) gets correctly signed
// requests in Slack's documented formats over HTTP; its Web API calls go to a local recorder.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveEnv } from '../../activities/environment.js';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { depsOn } from '../support/deps.js';
import { leftovers } from '../support/inspect.js';
import { endWorkflowsOn } from '../support/leftover-workflows.js';
import { ensureSharedSecrets } from '../support/shared-secrets.js';
import { repoRoot, testSettings } from '../support/settings.js';
import { blockAction, signedHeaders, SlackRecorder, slashCommand, viewSubmission } from '../support/slack.js';

const PM = { id: 'U0PM0000001' }; // in group pm: may create, reset, extend, destroy projb (examples/envbot.yaml)
const NOBODY = { id: 'U0NOBODY001' };
const CHANNEL = 'C0PROJB0001';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('Slack, end to end', () => {
  const recorder = new SlackRecorder();
  let storeDb: ScratchDatabase;
  let child: ChildProcess;
  let base: string;
  let output = '';
  let deps: ReturnType<typeof depsOn>;
  const taskQueue = `slack-${randomUUID()}`;
  const suffix = randomBytes(3).toString('hex');
  const env = `projb-qa-${suffix}`;
  const ref = { environment: env, project: 'projb', stage: 'qa', suffix };

  const post = async (body: string, headers: Record<string, string> = signedHeaders(body)) => {
    const t0 = Date.now();
    const res = await fetch(`${base}/slack/events`, { method: 'POST', headers, body });
    return { status: res.status, text: await res.text(), ms: Date.now() - t0 };
  };
  const mentions = (text: string) => recorder.calls.filter((c) => JSON.stringify(c.body).includes(text));

  beforeAll(async () => {
    await recorder.start();
    storeDb = await scratchPostgres('store_slack', { migrate: true });
    deps = depsOn(storeDb.url, 'slack-test');
    await ensureSharedSecrets(deps.deps);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'bot', 'main.ts')], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: storeDb.url, PORT: String(port), TEMPORAL_TASK_QUEUE: taskQueue,
        SLACK_SIGNING_SECRET: 'test-signing-secret-0123456789abcdef', SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_API_URL: recorder.url,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await until('envbot to answer /healthz', async () => {
      if (child.exitCode !== null) throw new Error(`envbot exited:\n${output}`);
      return (await fetch(`${base}/healthz`).catch(() => undefined))?.ok;
    });
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      // While its worker runs: a create's storage copy left on this task queue ends now.
      const connection = await Connection.connect({ address: testSettings().temporal.address });
      await endWorkflowsOn(new Client({ connection, namespace: testSettings().temporal.namespace }), taskQueue).finally(() => connection.close());
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
    }
    await deps?.store.close();
    await storeDb?.drop();
    await recorder.stop();
  }, 60_000);

  it('says the Slack adapter is on', () => {
    expect(output).toMatch(/chat adapter slack: on \(HTTP mode at POST \/slack\/events\)/);
  });

  it('acknowledges /env create at once, then posts one message, edits it, and ends with the card', async () => {
    const res = await post(slashCommand(`create projb qa ${suffix}`, PM, CHANNEL, `${recorder.url}response`));
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(3000);

    const card = await until('the card', () =>
      recorder.of('chat.update', CHANNEL).find((c) => JSON.stringify(c.body).includes(`https://service1.${env}.example.com`)),
    );
    const posts = recorder.of('chat.postMessage', CHANNEL).filter((c) => JSON.stringify(c.body).includes(env));
    expect(posts).toHaveLength(1);
    const updates = recorder.of('chat.update', CHANNEL).filter((c) => c.body.ts === card.body.ts);
    // The card is an edit of the one message, the last; progress edits between them may be dropped
    // by the outbox when superseded (how many depends on the machine's speed); edits within the
    // outbox's budget (Slack's Tier 3: a burst of 10, then 50 a minute; test/unit/outbox.test.ts
    // checks the pacing itself).
    expect(updates.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(posts[0]!.body)).not.toContain(`https://service1.${env}.example.com`);
    expect(updates.at(-1)).toBe(card);
    for (const u of updates) expect(updates.filter((o) => o.at <= u.at && o.at > u.at - 60_000).length).toBeLessThanOrEqual(10 + Math.ceil(((u.at - updates[0]!.at) / 60_000) * 50));
    expect(typeof card.body.text).toBe('string');
    expect(card.body.text).toMatch(env);

    // The resources really exist.
    expect(await leftovers(deps, ref)).toEqual(expect.arrayContaining([`mysql user ${resolveEnv(deps.deps.catalogue, ref).names.mysqlUser}`, `dns record service1.${env}.example.com.`]));
  }, 120_000);

  it('re-seeds the databases from a confirmed "Reset database" click and confirms it in the channel', async () => {
    const names = resolveEnv(deps.deps.catalogue, ref).names;
    const admin = new URL(deps.deps.catalogue.catalogue.servers.postgres.main!.url);
    admin.pathname = `/${names.postgresDatabase('orders')}`;
    const c = new pg.Client({ connectionString: admin.toString() });
    await c.connect();
    const before = (await c.query('SELECT count(*)::int AS n FROM order_lines')).rows[0].n as number;
    await c.query('DELETE FROM order_lines');

    // "Reset database" on the card asks which stores; choosing "all" is the confirmed action.
    const ask = await post(blockAction('env_reset', env, PM, CHANNEL, `${recorder.url}response`));
    expect(ask.status).toBe(200);
    await until('the reset chooser', () => recorder.of('chat.postEphemeral', CHANNEL).find((x) => JSON.stringify(x.body).includes('env_reset_confirmed')));
    const res = await post(blockAction('env_reset_confirmed', JSON.stringify({ environment: env, which: 'all' }), PM, CHANNEL, `${recorder.url}response`));
    expect(res.status).toBe(200);
    const notice = await until('the reset confirmation', () =>
      recorder.of('chat.postMessage', CHANNEL).find((x) => String(x.body.text).includes(`${env}: mongo, mysql, postgres, redis re-seeded (asked by`)),
    );
    expect(JSON.stringify(notice.body)).toContain(`<@${PM.id}>`);
    const after = (await c.query('SELECT count(*)::int AS n FROM order_lines')).rows[0].n as number;
    await c.end();
    expect(after).toBe(before);
  }, 120_000);

  it('refuses an unauthorised user, ephemerally, and runs nothing', async () => {
    const other = `projb-qa-${randomBytes(3).toString('hex')}`;
    const res = await post(slashCommand(`create projb qa ${other.split('-')[2]}`, NOBODY, CHANNEL, `${recorder.url}response`));
    expect(res.status).toBe(200);
    const refusal = await until('the refusal', () => recorder.of('chat.postEphemeral', CHANNEL).find((x) => x.body.user === NOBODY.id));
    expect(String(refusal.body.text)).toMatch(/may not create/i);
    expect(mentions(other).filter((x) => x.method === 'chat.postMessage')).toEqual([]);
    expect(await deps.store.getEnvironment(other)).toBeUndefined();
  });

  it.each([
    ['a forged signature', (body: string) => ({ ...signedHeaders(body), 'x-slack-signature': `v0=${'0'.repeat(64)}` })],
    ['a stale timestamp (6 minutes old)', (body: string) => signedHeaders(body, { timestamp: Math.floor(Date.now() / 1000) - 360 })],
    ['a missing signature header', (body: string) => { const h = signedHeaders(body); delete (h as Record<string, string | undefined>)['x-slack-signature']; return h; }],
    ['another secret', (body: string) => signedHeaders(body, { secret: 'not-the-secret' })],
  ])('answers 401 to %s and starts nothing', async (_what, headers) => {
    const target = `projb-qa-${randomBytes(3).toString('hex')}`;
    // A response_url of its own, so an answer to it is told apart from other tests' late ones.
    const body = slashCommand(`create projb qa ${target.split('-')[2]}`, PM, CHANNEL, `${recorder.url}response-${target}`);
    const calls = recorder.calls.length;
    const res = await post(body, headers(body));
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 500));
    // Nothing said about it, and no answer to the forged request's response_url (other environments'
    // cards may still be edited meanwhile: their calls are not this request's).
    expect(recorder.calls.slice(calls).filter((c) => JSON.stringify(c).includes(target))).toEqual([]);
    expect(await deps.store.getEnvironment(target)).toBeUndefined();
  });

  it('answers /env status to the asker alone, with the URLs and databases the environment has', async () => {
    const inChannel = recorder.of('chat.postMessage', CHANNEL).length;
    const res = await post(slashCommand(`status ${env}`, NOBODY, CHANNEL, `${recorder.url}response`));
    expect(res.status).toBe(200);
    const reply = await until('the status', () => recorder.of('chat.postEphemeral', CHANNEL).find((x) => x.body.user === NOBODY.id && JSON.stringify(x.body).includes(`${env}: ready`)));
    const shown = JSON.stringify(reply.body.blocks);
    expect(shown).toContain(`https://service1.${env}.example.com`);
    expect(shown).toContain(`orders_projb_qa_${env.split('-')[2]}`);
    expect(recorder.of('chat.postMessage', CHANNEL)).toHaveLength(inChannel);
  });

  it('starts nothing new for a replayed request', async () => {
    const body = slashCommand(`extend ${env} 3d`, PM, CHANNEL, `${recorder.url}response`);
    const headers = signedHeaders(body);
    expect((await post(body, headers)).status).toBe(200);
    await until('the extension notice', () => recorder.of('chat.postMessage', CHANNEL).find((x) => String(x.body.text).includes(`${env} now expires at`)));
    const calls = recorder.calls.length;
    const audits = (await deps.store.pool.query("SELECT count(*)::int AS n FROM audit_log WHERE action = 'extend'")).rows[0].n as number;
    expect((await post(body, headers)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1000));
    expect(recorder.calls.length).toBe(calls);
    expect((await deps.store.pool.query("SELECT count(*)::int AS n FROM audit_log WHERE action = 'extend'")).rows[0].n).toBe(audits);
  });

  it('returns bad modal input as field errors, and creates from a good submission', async () => {
    const bad = await post(
      viewSubmission(
        { project: { value: { type: 'static_select', selected_option: { value: 'projc' } } }, stage: { value: { type: 'static_select', selected_option: { value: 'uat' } } }, suffix: { value: { type: 'plain_text_input', value: 'Not_OK' } } },
        PM,
        JSON.stringify({ channel: 'C0PROJC0001' }),
      ),
    );
    expect(bad.status).toBe(200);
    const answer = JSON.parse(bad.text) as { response_action: string; errors: Record<string, string> };
    expect(answer.response_action).toBe('errors');
    expect(answer.errors.stage).toMatch(/has no stage "uat"/);
    expect(answer.errors.suffix).toMatch(/"Not_OK" is not a valid suffix: use 1-12 lowercase letters and digits/);

    const good = `projb-dev-${randomBytes(3).toString('hex')}`;
    const ok = await post(
      viewSubmission(
        {
          project: { value: { type: 'static_select', selected_option: { value: 'projb' } } },
          stage: { value: { type: 'static_select', selected_option: { value: 'dev' } } },
          suffix: { value: { type: 'plain_text_input', value: good.split('-')[2] } },
        },
        PM,
        JSON.stringify({ channel: CHANNEL }),
      ),
    );
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('');
    await until('the modal-created card', () => recorder.of('chat.update', CHANNEL).find((c) => JSON.stringify(c.body).includes(`https://service1.${good}.example.com`)));
    expect((await deps.store.getEnvironment(good))?.state).toBe('ready');
    const connection = await Connection.connect({ address: testSettings().temporal.address });
    const destroyed = await new Client({ connection }).workflow.start('destroyEnvironment', {
      taskQueue, workflowId: `envbot/${good}/destroy`,
      args: [{ ref: { environment: good, project: 'projb', stage: 'dev', suffix: good.split('-')[2] }, requester: { id: 'cli:test', platform: 'cli' } }],
    });
    await destroyed.result();
    await connection.close();
  }, 120_000);

  it('shows credentials only to people allowed to see them, and only to them', async () => {
    const refused = await post(blockAction('env_credentials', env, PM, CHANNEL, `${recorder.url}response`));
    expect(refused.status).toBe(200);
    const no = await until('the refusal', () => recorder.of('chat.postEphemeral', CHANNEL).find((x) => x.body.user === PM.id && /may not see the credentials/.test(String(x.body.text))));
    expect(no).toBeDefined();

    const OPS = { id: 'U0OPS000001' }; // group devops
    const shown = await post(slashCommand(`secrets ${env}`, OPS, CHANNEL, `${recorder.url}response`));
    expect(shown.status).toBe(200);
    const token = (await deps.store.getSecret(env, 'api-token'))!;
    const message = await until('the credentials', () => recorder.of('chat.postEphemeral', CHANNEL).find((x) => x.body.user === OPS.id && JSON.stringify(x.body).includes(token)));
    expect(message.method).toBe('chat.postEphemeral');
    // Never in anything posted to the channel.
    expect(recorder.calls.filter((c) => c.method !== 'chat.postEphemeral' && JSON.stringify(c.body).includes(token))).toEqual([]);
  });

  it('publishes the App Home tab with the user\'s environments', async () => {
    const event = JSON.stringify({
      token: 'legacy-verification-token', team_id: 'T0TEST0001', api_app_id: 'A0ENVBOT01', type: 'event_callback',
      event_id: `Ev${randomBytes(4).toString('hex')}`, event_time: Math.floor(Date.now() / 1000),
      event: { type: 'app_home_opened', user: PM.id, channel: 'D0PM000001', tab: 'home', event_ts: `${Date.now() / 1000}` },
    });
    const res = await post(event, signedHeaders(event, { contentType: 'application/json' }));
    expect(res.status).toBe(200);
    const publish = await until('views.publish', () => recorder.of('views.publish').find((c) => c.body.user_id === PM.id));
    expect(JSON.stringify(publish.body.view)).toContain(env);
  });

  it('destroys everything from the card\'s Destroy button and confirms it in the channel', async () => {
    const res = await post(blockAction('env_destroy', env, PM, CHANNEL, `${recorder.url}response`));
    expect(res.status).toBe(200);
    await until('the destroy confirmation', () => recorder.of('chat.postMessage', CHANNEL).find((x) => String(x.body.text).includes(`${env} was destroyed (asked by`)));
    expect(await leftovers(deps, ref)).toEqual([]);
  }, 120_000);
});
