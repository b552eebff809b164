// Slack end to end for storage: the real envbot process (Bolt app, worker, activities on moto, the
// API server, Temporal) gets signed requests in Slack's formats; its Web API calls go to a local
// recorder. The card of an environment with a storage volume has "Refresh storage"; a click by someone
// with the `refresh` permission starts a new DataSync execution (in moto) and the channel gets the
// copy's own message, edited to the end; a click by someone without it is refused to them alone and
// starts nothing; a failed copy's notice has a Retry button that copies the volume again.
import { randomBytes, randomUUID } from 'node:crypto';
import { CancelTaskExecutionCommand, DataSyncClient, DescribeTaskCommand, DescribeTaskExecutionCommand } from '@aws-sdk/client-datasync';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowId } from '../../shared/names.js';
import type { StorageCopyResult } from '../../workflows/storage-copy.js';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { depsOn } from '../support/deps.js';
import { leftovers } from '../support/inspect.js';
import { ensureSharedSecrets } from '../support/shared-secrets.js';
import { testSettings } from '../support/settings.js';
import { blockAction, signedHeaders, slashCommand, SlackRecorder, startEnvbot, until, type EnvbotProcess, type RecordedCall } from '../support/slack.js';

const PM = { id: 'U0PM0000001' }; // group pm: may create and refresh projb (examples/envbot.yaml)
const NOBODY = { id: 'U0NOBODY001' }; // in no group: may read projb, not refresh it
const CHANNEL = 'C0PROJB0001';
/** projb's media volume is filled from s3://envbot-media/projb/ (examples/envbot.yaml). */
const MEDIA = { 'projb/logo.png': 1200, 'projb/products/mug-001.jpg': 34_000 };

type Block = { type: string; elements?: { action_id?: string; value?: string; text?: { text?: string } }[] };
const buttons = (call: RecordedCall) => ((call.body.blocks ?? []) as Block[]).flatMap((b) => (b.type === 'actions' ? b.elements ?? [] : []));

describe('Slack, end to end: storage buttons', () => {
  const recorder = new SlackRecorder();
  let storeDb: ScratchDatabase;
  let envbot: EnvbotProcess;
  let deps: ReturnType<typeof depsOn>;
  let dataSync: DataSyncClient;
  let connection: Connection;
  let client: Client;
  const taskQueue = `slack-storage-${randomUUID()}`;
  const suffix = randomBytes(3).toString('hex');
  const env = `projb-qa-${suffix}`;
  const ref = { environment: env, project: 'projb', stage: 'qa', suffix };

  const post = async (body: string) => (await fetch(`${envbot.base}/slack/events`, { method: 'POST', headers: signedHeaders(body), body })).status;
  const click = (actionId: string, value: string, user: { id: string }) => post(blockAction(actionId, value, user, CHANNEL, `${recorder.url}response`));
  const copyHandle = () => client.workflow.getHandle<(i: unknown) => Promise<StorageCopyResult>>(workflowId('storage-copy', env));
  const task = async () => (await deps.store.liveResources(env)).find((e) => e.kind === 'datasync-arn' && e.details?.object === `${env}/media/task`)!.name;
  /** The copy's result, once it exists (the create starts its first copy just after the ready card). */
  const copyResult = async () => {
    await until('the storage copy workflow', () => copyHandle().describe().then(() => true, () => undefined));
    return copyHandle().result();
  };
  const currentExecution = async () => (await dataSync.send(new DescribeTaskCommand({ TaskArn: await task() }))).CurrentTaskExecutionArn;
  /** The copy's own messages in the channel (posted once, then edited), from the recorder's call `from` on. */
  const copyMessages = (from: number) =>
    recorder.calls.slice(from).filter((c) => ['chat.postMessage', 'chat.update'].includes(c.method) && c.body.channel === CHANNEL && new RegExp(`^${env}: (refreshing storage|storage refreshed|storage refresh failed)`).test(String(c.body.text)));

  beforeAll(async () => {
    await recorder.start();
    storeDb = await scratchPostgres('store_slack_storage', { migrate: true });
    deps = depsOn(storeDb.url, 'slack-storage-test');
    await ensureSharedSecrets(deps.deps);
    dataSync = new DataSyncClient(deps.deps.aws);
    const s3 = new S3Client(deps.deps.aws);
    await s3.send(new CreateBucketCommand({ Bucket: 'envbot-media' })).catch((err: unknown) => {
      if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes((err as Error).name)) throw err;
    });
    for (const [key, size] of Object.entries(MEDIA)) await s3.send(new PutObjectCommand({ Bucket: 'envbot-media', Key: key, Body: Buffer.alloc(size, 7) }));
    s3.destroy();
    connection = await Connection.connect({ address: testSettings().temporal.address });
    client = new Client({ connection, namespace: testSettings().temporal.namespace });
    // Copies look at DataSync every 2 s (moto moves an execution one status on per look).
    envbot = await startEnvbot({ databaseUrl: storeDb.url, taskQueue, slackApiUrl: recorder.url, env: { ENVBOT_STORAGE_COPY_POLL_SECONDS: '2' } });
  }, 120_000);

  afterAll(async () => {
    if (envbot && client) {
      if (await deps.store.getEnvironment(env)) {
        const destroyed = await client.workflow.start('destroyEnvironment', {
          taskQueue, workflowId: workflowId('destroy', env), args: [{ ref, requester: { id: 'cli:test', platform: 'cli' } }],
        });
        await destroyed.result();
        expect(await leftovers(deps, ref)).toEqual([]);
      }
    }
    await envbot?.stop(); // which ends any workflow left on its task queue
    await connection?.close();
    dataSync?.destroy();
    await deps?.store.close();
    await storeDb?.drop();
    await recorder.stop();
  }, 180_000);

  it('the card of an environment with a storage volume has "Refresh storage"', async () => {
    expect(await post(slashCommand(`create projb qa ${suffix}`, PM, CHANNEL, `${recorder.url}response`))).toBe(200);
    const card = await until('the ready card', () =>
      recorder.of('chat.update', CHANNEL).find((c) => JSON.stringify(c.body).includes(`https://service1.${env}.example.com`)), 120_000);
    const refresh = buttons(card).find((b) => b.action_id === 'env_refresh');
    expect(refresh).toMatchObject({ value: env, text: { text: 'Refresh storage' } });
    // The create's own first copy runs to its end (and edits the card) before the clicks below.
    expect((await copyResult()).volumes).toMatchObject([{ volume: 'media', state: 'copied' }]);
  }, 180_000);

  it('refuses a click by someone without the refresh permission, to them alone, and starts nothing', async () => {
    const before = await currentExecution();
    const runId = (await copyHandle().describe()).runId;
    const from = recorder.calls.length;
    expect(await click('env_refresh', env, NOBODY)).toBe(200);
    const refusal = await until('the refusal', () => recorder.calls.slice(from).find((c) => c.body.user === NOBODY.id && /may not refresh the storage of projb/.test(String(c.body.text))));
    // Said to the one who clicked, not in the channel.
    expect(refusal.method).toBe('chat.postEphemeral');
    await new Promise((r) => setTimeout(r, 3000));
    expect(copyMessages(from)).toEqual([]);
    expect(await currentExecution()).toBe(before);
    expect((await copyHandle().describe()).runId).toBe(runId);
  }, 60_000);

  it('a click by someone allowed starts a new DataSync execution and the channel gets the copy\'s message, edited to the end', async () => {
    const before = await currentExecution();
    const from = recorder.calls.length;
    expect(await click('env_refresh', env, PM)).toBe(200);
    const started = await until('a new DataSync execution', async () => {
      const now = await currentExecution();
      return now && now !== before ? now : undefined;
    });
    const first = await until('the copy\'s message', () => copyMessages(from).find((c) => c.method === 'chat.postMessage'));
    expect(String(first.body.text)).toMatch(new RegExp(`^${env}: refreshing storage \\(asked by <@${PM.id}>\\): media: copying`));
    const done = await until('the copy\'s end', () => copyMessages(from).find((c) => c.method === 'chat.update' && String(c.body.text).startsWith(`${env}: storage refreshed`)), 60_000);
    expect(done.body.ts).toBeDefined();
    expect(copyMessages(from).filter((c) => c.method === 'chat.postMessage')).toHaveLength(1);
    expect(await dataSync.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: started }))).toMatchObject({ Status: 'SUCCESS' });
    expect(JSON.stringify(recorder.calls.slice(from))).toContain(`<@${PM.id}>`);
  }, 90_000);

  it('a failed copy\'s notice has a Retry button: refused for someone without the permission, and it copies the volume again for someone with it', async () => {
    await copyResult(); // the previous copy has ended: one runs at a time
    const from = recorder.calls.length;
    const previous = await currentExecution();
    expect(await click('env_refresh', env, PM)).toBe(200);
    // DataSync stops the copy while it runs (moto: a cancelled execution is ERROR).
    const running = await until('the copy to run', async () => {
      const arn = await currentExecution();
      if (!arn || arn === previous) return undefined;
      const d = await dataSync.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: arn }));
      return d.Status !== 'SUCCESS' && d.Status !== 'ERROR' ? arn : undefined;
    });
    await dataSync.send(new CancelTaskExecutionCommand({ TaskExecutionArn: running }));
    const notice = await until('the failure notice', () =>
      recorder.calls.slice(from).find((c) => c.method === 'chat.postMessage' && c.body.channel === CHANNEL && buttons(c).some((b) => b.action_id === 'env_retry_copy')), 60_000);
    expect(String(notice.body.text)).toContain(`${env}: the copy of volume media from s3://envbot-media/projb/ failed`);
    const retry = buttons(notice).find((b) => b.action_id === 'env_retry_copy')!;
    expect(JSON.parse(retry.value!)).toEqual({ environment: env, volume: 'media' });

    const refusedFrom = recorder.calls.length;
    expect(await click('env_retry_copy', retry.value!, NOBODY)).toBe(200);
    await until('the Retry refusal', () => recorder.calls.slice(refusedFrom).find((c) => c.method === 'chat.postEphemeral' && c.body.user === NOBODY.id && /may not refresh/.test(String(c.body.text))));
    await new Promise((r) => setTimeout(r, 3000));
    // No new execution (moto forgets a task's current execution once it is cancelled).
    expect([undefined, running]).toContain(await currentExecution());

    const retryFrom = recorder.calls.length;
    expect(await click('env_retry_copy', retry.value!, PM)).toBe(200);
    const again = await until('a new DataSync execution', async () => {
      const now = await currentExecution();
      return now && now !== running ? now : undefined;
    });
    await until('the retried copy\'s end', () => copyMessages(retryFrom).find((c) => c.method === 'chat.update' && String(c.body.text).startsWith(`${env}: storage refreshed`)), 60_000);
    expect(await dataSync.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: again }))).toMatchObject({ Status: 'SUCCESS' });
    expect((await copyHandle().result()).volumes).toMatchObject([{ volume: 'media', state: 'copied' }]);
  }, 120_000);
});
