// Refreshing storage, against moto (EFS, DataSync, S3), the API server and Temporal: `/env refresh`
// (through the chat core, as Slack's command, card button and Retry button call it) re-runs the
// DataSync copy of one volume or all of a ready environment, with its own message edited as it goes;
// it is refused for an unknown volume, an environment without storage or not ready, while a copy of
// the environment runs, and for someone without the `refresh` permission; a failed copy's notice
// offers a Retry that copies that volume again; a destroy during a refresh stops it and leaves nothing.
// A change under an S3 source refreshes the environments filled from it, and its summary reaches the
// project's channels and the channels subscribed to the project (Slack and Teams), once each.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CancelTaskExecutionCommand, DataSyncClient, DescribeTaskCommand, DescribeTaskExecutionCommand } from '@aws-sdk/client-datasync';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Duration } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatCore } from '../../bot/core/chat-core.js';
import { EnvbotCore } from '../../bot/core/core.js';
import type { Actor, Reply } from '../../bot/core/model.js';
import { loadCatalogue, type LoadedCatalogue } from '../../shared/catalogue/load.js';
import type { ChatMessage, VolumeCopy } from '../../shared/chat.js';
import type { ChatTarget, EnvRef } from '../../shared/model.js';
import { sourceRefreshWorkflowId, workflowId } from '../../shared/names.js';
import type { StorageCopyResult } from '../../workflows/storage-copy.js';
import type { StorageRefreshResult } from '../../workflows/storage-refresh.js';
import { storageSources } from '../../shared/storage-sources.js';
import { uniqueEnv } from '../support/deps.js';
import { recordHistory } from '../support/histories.js';
import { leftovers } from '../support/inspect.js';
import { provisioningHarness, type Harness } from '../support/provisioning.js';
import { repoRoot, testSettings } from '../support/settings.js';

const CHANNEL = 'C0PROJB0001';
const PM: Actor = { platform: 'slack', userId: 'U0PM0000002', groups: [], channel: CHANNEL }; // group pm: may refresh projb
const EXTENDER: Actor = { platform: 'slack', userId: 'U0EXTEND001', groups: [], channel: CHANNEL }; // only extend, added below
/** A bucket of this run's own: other tests on the same moto write envbot-media. */
const BUCKET = `envbot-refresh-${randomBytes(4).toString('hex')}`;
const MEDIA = { 'projb/logo.png': 1200, 'projb/products/mug-001.jpg': 34_000, 'projb/products/pot-200.jpg': 56_789 };
const DOCS = { 'projb-docs/guide.pdf': 4321 };
const bytes = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

/** The example catalogue with a second volume on projb (docs) and someone who may only extend. */
function catalogueWithDocs(): LoadedCatalogue {
  const loaded = loadCatalogue(join(repoRoot, 'examples', 'envbot.yaml'), testSettings().env);
  const projb = loaded.catalogue.projects.projb!;
  const media = { ...projb.storage.media!, source: { kind: 's3' as const, bucket: BUCKET, prefix: 'projb/', raw: `s3://${BUCKET}/projb/` } };
  const docs = { ...media, source: { kind: 's3' as const, bucket: BUCKET, prefix: 'projb-docs/', raw: `s3://${BUCKET}/projb-docs/` }, mountPath: '/var/docs' };
  return {
    ...loaded,
    catalogue: {
      ...loaded.catalogue,
      projects: {
        ...loaded.catalogue.projects,
        projb: { ...projb, storage: { media, docs }, permissions: { ...projb.permissions, extend: [...(projb.permissions.extend ?? []), 'slack:U0EXTEND001'] } },
      },
    },
  };
}

async function until<T>(look: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  for (const deadline = Date.now() + ms; ; ) {
    const value = await look();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting after ${ms / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('refreshing storage', () => {
  let h: Harness;
  let dataSync: DataSyncClient;
  let ref: EnvRef;
  const target = (): ChatTarget => ({ platform: 'console', channel: CHANNEL });
  /** The chat core over a core whose copies look at DataSync every `poll` (moto moves a copy one status on per look). */
  const chatWith = (poll: Duration) => {
    const core = new EnvbotCore({ client: h.client, store: h.deps.store, catalogue: h.deps.catalogue.catalogue, taskQueue: h.taskQueue, storageCopyPoll: poll });
    return new ChatCore({ core, store: h.deps.store, catalogue: h.deps.catalogue.catalogue, log: h.deps.log });
  };
  const refresh = (who: Actor, environment: string, volume?: string, poll: Duration = '1 second'): Promise<Reply> =>
    chatWith(poll).handle(who, { name: 'refresh', environment, ...(volume ? { volume } : {}) }, target());
  const copyHandle = (env: string) => h.client.workflow.getHandle<(i: unknown) => Promise<StorageCopyResult>>(workflowId('storage-copy', env));
  const taskOf = async (env: string, volume: string): Promise<string> =>
    (await h.deps.store.liveResources(env)).find((e) => e.kind === 'datasync-arn' && e.details?.object === `${env}/${volume}/task`)!.name;
  const currentExecution = async (env: string, volume: string) => (await dataSync.send(new DescribeTaskCommand({ TaskArn: await taskOf(env, volume) }))).CurrentTaskExecutionArn;
  /** The refresh messages (kind `storage`) sent since `from`, with the message each edited. */
  const storageMessages = (env: string, from = 0) =>
    h.chat.sent.slice(from).flatMap((m) => (m.message.kind === 'storage' && m.message.environment === env ? [{ ref: m.ref, target: m.target, copies: m.message.copies, by: m.message.by }] : []));
  const notices = (env: string, from = 0) =>
    h.chat.sent.slice(from).flatMap((m) => (m.message.kind === 'notice' && m.message.environment === env ? [m.message as Extract<ChatMessage, { kind: 'notice' }>] : []));

  beforeAll(async () => {
    h = await provisioningHarness('storage_refresh', { catalogue: catalogueWithDocs() });
    dataSync = new DataSyncClient(h.deps.aws);
    const s3 = new S3Client(h.deps.aws);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    for (const [key, size] of Object.entries({ ...MEDIA, ...DOCS })) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.alloc(size, 7) }));
    s3.destroy();
    // One environment for the whole file (a create takes tens of seconds); its first copy runs to its end.
    ref = uniqueEnv('projb', 'qa');
    const core = new EnvbotCore({ client: h.client, store: h.deps.store, catalogue: h.deps.catalogue.catalogue, taskQueue: h.taskQueue, storageCopyPoll: '1 second' });
    const started = await core.create({ project: 'projb', stage: 'qa', suffix: ref.suffix!, requester: { id: 'slack:U0PM0000002', platform: 'slack', channel: CHANNEL }, target: target() });
    expect(await started.handle.result()).toMatchObject({ status: 'ready', storage: [{ volume: 'media' }, { volume: 'docs' }] });
    expect((await copyHandle(ref.environment).result()).volumes.map((v) => v.state)).toEqual(['copied', 'copied']);
  }, 180_000);

  afterAll(async () => {
    dataSync?.destroy();
    await h?.stop();
  });

  it('refuses an unknown volume (naming the volumes), an unknown environment, and someone who may only extend (saying who may), also on the Retry path', async () => {
    const before = await currentExecution(ref.environment, 'media');
    expect(await refresh(PM, ref.environment, 'photos')).toEqual({ kind: 'error', ephemeral: true, text: `${ref.environment} has no volume "photos". Its volumes: media, docs.` });
    expect(await refresh(PM, 'projb-qa-nope00')).toMatchObject({ kind: 'error', text: expect.stringContaining('projb-qa-nope00 does not exist') });
    // `extend` is granted, `refresh` is not: the same permission decides the command, the card's button (no volume) and Retry (a volume).
    for (const volume of [undefined, 'media']) {
      const refused = await refresh(EXTENDER, ref.environment, volume);
      expect(refused).toMatchObject({ kind: 'refused', action: 'refresh', project: 'projb', allowed: ['group:pm', 'group:devops'], text: 'You may not refresh the storage of projb environments. Ask: group pm, group devops.' });
    }
    // What they may do still works: the permission is not refused wholesale.
    expect(await chatWith('1 second').handle(EXTENDER, { name: 'extend', environment: ref.environment, duration: '8d' }, target())).toMatchObject({ kind: 'extended' });
    // Nothing was started by any of them.
    expect((await copyHandle(ref.environment).describe()).status.name).toBe('COMPLETED');
    expect(await currentExecution(ref.environment, 'media')).toBe(before);
  });

  it('refuses an environment without storage and one that is not ready', async () => {
    // Records as the create's first step leaves them (the store is the real one): one built before
    // projb had storage, one still being built.
    const bare = uniqueEnv('projb', 'dev');
    const building = uniqueEnv('projb', 'uat');
    const plan = { mongo: true, mysql: true, postgres: true, redis: true, warnBefore: '1d' };
    for (const [r, spec] of [[bare, { plan }], [building, { plan: { ...plan, storage: ['media'] } }]] as const) {
      expect(await h.deps.store.claimEnvironment({ name: r.environment, project: 'projb', stage: r.stage, suffix: r.suffix!, createdBy: 'slack:U0PM0000002', runId: `test/${r.environment}`, spec })).toBe(true);
    }
    await h.deps.store.setEnvironmentState(bare.environment, 'ready');
    expect(await refresh(PM, bare.environment)).toEqual({ kind: 'error', ephemeral: true, text: `${bare.environment} has no storage volumes: there is nothing to refresh.` });
    expect(await refresh(PM, building.environment)).toEqual({ kind: 'error', ephemeral: true, text: `${building.environment} is creating; its storage can be refreshed when it is ready.` });
    for (const r of [bare, building]) {
      const err = await copyHandle(r.environment).describe().catch((e: unknown) => e);
      expect((err as Error).name).toBe('WorkflowNotFoundError');
    }
  });

  it('refresh of all re-runs a DataSync execution per volume, refuses a second refresh meanwhile, and edits one message to the counts', async () => {
    const from = h.chat.sent.length;
    const before = { media: await currentExecution(ref.environment, 'media'), docs: await currentExecution(ref.environment, 'docs') };
    const reply = await refresh(PM, ref.environment);
    expect(reply).toMatchObject({ kind: 'started', operation: 'refresh', environment: ref.environment, workflowId: `envbot/${ref.environment}/storage-copy`, by: 'slack:U0PM0000002' });
    // A second, of all or of one volume, while it runs: refused, saying what runs; no second workflow.
    const runId = (await copyHandle(ref.environment).describe()).runId;
    for (const volume of [undefined, 'media', 'docs']) {
      const second = await refresh(PM, ref.environment, volume);
      expect(second).toMatchObject({ kind: 'error', text: expect.stringMatching(new RegExp(`^A copy of ${ref.environment}'s storage is already running \\(.*media: copying.*\\); one runs at a time`)) });
    }
    const result = await copyHandle(ref.environment).result();
    expect((await copyHandle(ref.environment).describe()).runId).toBe(runId);

    const counts = (o: Record<string, number>) => ({ files: Object.keys(o).length, bytes: bytes(o), totalFiles: Object.keys(o).length, totalBytes: bytes(o) });
    expect(result.volumes).toEqual([
      { volume: 'media', source: `s3://${BUCKET}/projb/`, state: 'copied', ...counts(MEDIA) },
      { volume: 'docs', source: `s3://${BUCKET}/projb-docs/`, state: 'copied', ...counts(DOCS) },
    ]);
    // A new execution for each volume in moto, run to its end with the counts.
    for (const [volume, files] of [['media', MEDIA], ['docs', DOCS]] as const) {
      const now = await currentExecution(ref.environment, volume);
      expect(now).toBeDefined();
      expect(now).not.toBe(before[volume]);
      expect(await dataSync.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: now }))).toMatchObject({ Status: 'SUCCESS', FilesTransferred: Object.keys(files).length, BytesTransferred: bytes(files) });
    }
    // One message of its own in the channel (not the create's card), posted at once and edited to the end.
    const messages = storageMessages(ref.environment, from);
    expect(messages.length).toBeGreaterThan(2);
    expect(new Set(messages.map((m) => m.ref)).size).toBe(1);
    expect(messages[0]!.target.messageRef).toBeUndefined();
    expect(messages[0]!.copies.map((c) => c.state)).toEqual(['copying', 'copying']);
    expect(messages.every((m) => m.by === 'slack:U0PM0000002')).toBe(true);
    expect(messages.some((m) => m.copies[0]!.state === 'copying' && m.copies[0]!.bytes === Math.floor(bytes(MEDIA) / 2))).toBe(true);
    expect(messages.at(-1)!.copies).toEqual(result.volumes);
    expect(notices(ref.environment, from)).toEqual([]);
    await recordHistory(h.client, workflowId('storage-copy', ref.environment), 'storage-copy-refresh-projb-qa');
  }, 120_000);

  it('refresh of one volume copies that volume only', async () => {
    const from = h.chat.sent.length;
    const docsBefore = await currentExecution(ref.environment, 'docs');
    const mediaBefore = await currentExecution(ref.environment, 'media');
    expect(await refresh(PM, ref.environment, 'media')).toMatchObject({ kind: 'started', operation: 'refresh', text: expect.stringContaining(`Refreshing media of ${ref.environment}`) });
    const result = await copyHandle(ref.environment).result();
    expect(result.volumes.map((v) => [v.volume, v.state])).toEqual([['media', 'copied']]);
    expect(await currentExecution(ref.environment, 'media')).not.toBe(mediaBefore);
    expect(await currentExecution(ref.environment, 'docs')).toBe(docsBefore);
    expect(storageMessages(ref.environment, from).at(-1)!.copies.map((c: VolumeCopy) => c.volume)).toEqual(['media']);
  }, 60_000);

  it("a failed copy is said with a Retry for that volume; Retry is authorised like the command and copies it again", async () => {
    const from = h.chat.sent.length;
    expect(await refresh(PM, ref.environment, 'docs', '2 seconds')).toMatchObject({ kind: 'started' });
    const before = await until(async () => {
      const arn = await currentExecution(ref.environment, 'docs');
      const d = arn ? await dataSync.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: arn })) : undefined;
      return d && d.Status !== 'SUCCESS' && d.Status !== 'ERROR' ? arn : undefined;
    });
    // DataSync stops the copy (moto: a cancelled execution is ERROR).
    await dataSync.send(new CancelTaskExecutionCommand({ TaskExecutionArn: before }));
    const err = await copyHandle(ref.environment).result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    await recordHistory(h.client, workflowId('storage-copy', ref.environment), 'storage-copy-failed-projb-qa');
    expect(storageMessages(ref.environment, from).at(-1)!.copies).toMatchObject([{ volume: 'docs', state: 'failed' }]);
    const [notice, ...more] = notices(ref.environment, from);
    expect(more).toEqual([]);
    expect(notice).toMatchObject({ retryCopy: { volume: 'docs' }, text: expect.stringContaining(`${ref.environment}: the copy of volume docs from s3://${BUCKET}/projb-docs/ failed`) });

    // The Retry button runs `refresh <env> <volume>` for whoever clicks it.
    const volume = notice!.retryCopy!.volume;
    const afterCancel = await currentExecution(ref.environment, 'docs');
    expect(await refresh(EXTENDER, ref.environment, volume)).toMatchObject({ kind: 'refused', action: 'refresh' });
    expect(await currentExecution(ref.environment, 'docs')).toBe(afterCancel);
    expect(await refresh(PM, ref.environment, volume)).toMatchObject({ kind: 'started' });
    const result = await copyHandle(ref.environment).result();
    expect(result.volumes).toMatchObject([{ volume: 'docs', state: 'copied', files: 1, bytes: bytes(DOCS) }]);
    expect(await currentExecution(ref.environment, 'docs')).not.toBe(before);
  }, 90_000);

  it('a change under a source re-runs the copy of the volumes filled from it, through one storageRefresh run; its summary reaches the project\'s channels and its subscribers, once each', async () => {
    // Subscribers: a Slack channel, a Teams channel (with the conversation reference Teams posts by),
    // and one of projb's own channels (it must not get the summary twice).
    const teams = { serviceUrl: 'https://smba.trafficmanager.net/emea/', channelId: 'msteams', conversationId: `19:${randomBytes(8).toString('hex')}@thread.tacv2`, conversationType: 'channel' };
    await h.deps.store.subscribe({ platform: 'slack', channel: 'C0SUBSCRIB01', project: 'projb', createdBy: 'slack:U0PM0000002' });
    await h.deps.store.subscribe({ platform: 'teams', channel: teams.conversationId, project: 'projb', createdBy: 'teams:3f2b8c1e-7a4d-4e9b-9c2a-1d5e6f7a8b9c', conversation: teams });
    await h.deps.store.subscribe({ platform: 'slack', channel: CHANNEL, project: 'projb', createdBy: 'slack:U0PM0000002' });
    // A channel subscribed to another project hears nothing of this one.
    await h.deps.store.subscribe({ platform: 'slack', channel: 'C0OTHERPRJ1', project: 'proja', createdBy: 'slack:U0PM0000002' });
    const from = h.chat.sent.length;
    const source = storageSources(h.deps.catalogue.catalogue).find((x) => x.prefix === 'projb-docs/')!;
    const before = { media: await currentExecution(ref.environment, 'media'), docs: await currentExecution(ref.environment, 'docs') };
    const core = new EnvbotCore({
      client: h.client, store: h.deps.store, catalogue: h.deps.catalogue.catalogue, taskQueue: h.taskQueue,
      storageCopyPoll: '1 second', sourceRefresh: { debounce: '2 seconds', concurrency: 2 },
    });
    // Two changes within the window: one refresh.
    const { workflowId: id } = await core.sourceChanged(source, 1);
    expect(id).toBe(sourceRefreshWorkflowId(source.raw));
    await core.sourceChanged(source, 2);
    const result: StorageRefreshResult = await h.client.workflow.getHandle(id).result();
    expect(result).toMatchObject({ source: `s3://${BUCKET}/projb-docs/`, changes: 3, environments: [{ environment: ref.environment, state: 'refreshed', volumes: [{ volume: 'docs', state: 'copied', files: 1, bytes: bytes(DOCS) }] }] });
    // docs copied again, media (another source) not.
    expect(await currentExecution(ref.environment, 'docs')).not.toBe(before.docs);
    expect(await currentExecution(ref.environment, 'media')).toBe(before.media);
    // One summary in each of projb's channels and each channel subscribed to projb: the same text, once each.
    const summaries = h.chat.sent.slice(from).filter((m) => m.message.kind === 'notice' && m.message.environment === source.raw);
    expect(summaries.map((m) => `${m.target.platform}/${m.target.channel}`).sort()).toEqual(['slack/C0PROJB0001', 'slack/C0PROJB0002', 'slack/C0SUBSCRIB01', `teams/${teams.conversationId}`]);
    expect(new Set(summaries.map((m) => (m.message as Extract<ChatMessage, { kind: 'notice' }>).text)).size).toBe(1);
    expect((summaries[0]!.message as Extract<ChatMessage, { kind: 'notice' }>).text).toContain(`${ref.environment}: docs`);
    expect(summaries.find((m) => m.target.platform === 'teams')!.target.conversation).toEqual(teams);
    await recordHistory(h.client, id, 'storage-refresh-projb-docs');
  }, 90_000);

  it('a destroy during a refresh stops it quietly and leaves nothing; the environment then has nothing to refresh', async () => {
    const from = h.chat.sent.length;
    // Slow looks, so the copy is still running when the destroy reaches it.
    expect(await refresh(PM, ref.environment, undefined, '4 seconds')).toMatchObject({ kind: 'started' });
    await until(async () => ((await copyHandle(ref.environment).query<VolumeCopy[]>('storageCopies')).length ? true : undefined));
    await until(async () => (await currentExecution(ref.environment, 'media')) ?? undefined);
    const devops: Actor = { platform: 'slack', userId: 'U0OPS000001', groups: [], channel: CHANNEL };
    expect(await chatWith('1 second').handle(devops, { name: 'destroy', environment: ref.environment }, target(), true)).toMatchObject({ kind: 'started', operation: 'destroy' });
    expect(await h.client.workflow.getHandle(workflowId('destroy', ref.environment)).result()).toMatchObject({ status: 'destroyed' });
    expect((await copyHandle(ref.environment).describe()).status.name).not.toBe('FAILED');
    const result = await copyHandle(ref.environment).result();
    expect(result.stopped).toBe(true);
    // No failure notice, no Retry; the refresh's message says it stopped.
    expect(notices(ref.environment, from).filter((n) => n.retryCopy)).toEqual([]);
    const last = storageMessages(ref.environment, from).at(-1)!;
    expect(last.copies.every((c) => c.state === 'failed' && c.error === 'stopped: the environment was destroyed')).toBe(true);
    expect(await leftovers(h, ref)).toEqual([]);
    expect(await refresh(PM, ref.environment)).toMatchObject({ kind: 'error', text: expect.stringContaining(`${ref.environment} does not exist`) });
  }, 120_000);
});
