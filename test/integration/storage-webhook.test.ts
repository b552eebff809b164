// S3 changes re-run the storage copies (issue 9, item 4), through envbot's real HTTP route, a real
// worker and Temporal, moto (S3, EFS, DataSync) and the API server. Messages are signed as SNS signs
// them, with a key and certificate the test makes; the certificate and the subscription confirmation
// are served by a local server that ENVBOT_SNS_TEST_ORIGIN's setting (testOrigin) lets through.
// Ten real environments (two of projb, eight of a light project without databases, both filled from
// s3://envbot-webhook/projb/, a bucket of the test's own) are refreshed by one debounced run, four copies at a time, with one
// summary per project channel; every forged, stale, misdirected, oversized or replayed message is
// refused and starts nothing.
import type { Server } from 'node:http';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DataSyncClient, DescribeTaskCommand, DescribeTaskExecutionCommand } from '@aws-sdk/client-datasync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvbotCore } from '../../bot/core/core.js';
import { createHttpApp, listen } from '../../bot/http.js';
import { SnsVerifier } from '../../bot/webhooks/sns-signature.js';
import { snsWebhookRouter } from '../../bot/webhooks/sns.js';
import type { LoadedCatalogue } from '../../shared/catalogue/load.js';
import { loadCatalogue } from '../../shared/catalogue/load.js';
import type { EnvRef, Requester } from '../../shared/model.js';
import { sourceRefreshWorkflowId, workflowId } from '../../shared/names.js';
import type { StorageRefreshResult } from '../../workflows/storage-refresh.js';
import { uniqueEnv } from '../support/deps.js';
import { leftovers } from '../support/inspect.js';
import { provisioningHarness, type Harness } from '../support/provisioning.js';
import { repoRoot, testSettings } from '../support/settings.js';
import { notification, s3EventMessage, sign, signingKey, snsHost, TOPIC, type FakeSnsHost } from '../support/sns.js';
import { join } from 'node:path';

const requester: Requester = { id: 'cli:test', platform: 'cli' };
/** A bucket of this test's own: the shared moto's envbot-media is other tests' (their byte counts). */
const BUCKET = 'envbot-webhook';
const SOURCE = `s3://${BUCKET}/projb/`;
const LITE_CHANNEL = 'C0LITE00001';

/** The example catalogue with projb's media from SOURCE, plus `lite`: one service, no databases, the same volume. */
function catalogueWithLite(): LoadedCatalogue {
  const loaded = loadCatalogue(join(repoRoot, 'examples', 'envbot.yaml'), testSettings().env);
  const { proja } = loaded.catalogue.projects;
  const original = loaded.catalogue.projects.projb!;
  const projb = { ...original, storage: { media: { ...original.storage.media!, source: { kind: 's3' as const, bucket: BUCKET, prefix: 'projb/', raw: SOURCE } } } };
  const lite = {
    ...projb,
    description: 'projb media without databases',
    channels: { slack: [LITE_CHANNEL], teams: [] },
    ttl: undefined,
    services: { web: proja!.services.web! },
    databases: {},
    redis: undefined,
    secrets: { generated: {}, shared: {} },
  };
  return { ...loaded, catalogue: { ...loaded.catalogue, projects: { ...loaded.catalogue.projects, projb, lite } } };
}

/** The largest number of intervals open at one moment. */
function maxOverlap(intervals: { start: number; end: number }[]): number {
  const points = intervals.flatMap((i) => [{ t: i.start, d: 1 }, { t: i.end, d: -1 }]).sort((a, b) => a.t - b.t || a.d - b.d);
  let open = 0;
  let max = 0;
  for (const p of points) max = Math.max(max, (open += p.d));
  return max;
}

describe('S3 change notifications', () => {
  let h: Harness;
  let core: EnvbotCore;
  let server: Server;
  let url: string;
  let host: FakeSnsHost;
  let dataSync: DataSyncClient;
  const key = signingKey();
  const attacker = signingKey();
  const envs: EnvRef[] = [];
  /** A message accepted in the first test, posted again later. */
  let accepted: string;

  const post = async (body: string | object, headers: Record<string, string> = {}) => {
    const res = await fetch(url, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'text/plain; charset=UTF-8', ...headers } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const refreshHandle = () => h.client.workflow.getHandle(sourceRefreshWorkflowId(SOURCE));
  const taskOf = async (ref: EnvRef) => (await h.deps.store.liveResources(ref.environment)).find((e) => e.kind === 'datasync-arn' && e.details?.object === `${ref.environment}/media/task`)!.name;
  const currentExecution = async (ref: EnvRef) => (await dataSync.send(new DescribeTaskCommand({ TaskArn: await taskOf(ref) }))).CurrentTaskExecutionArn!;
  const summaries = () => h.chat.sent.filter((m) => m.message.kind === 'notice' && m.message.environment === SOURCE);

  beforeAll(async () => {
    h = await provisioningHarness('webhook', { catalogue: catalogueWithLite() });
    core = new EnvbotCore({ client: h.client, store: h.deps.store, catalogue: h.deps.catalogue.catalogue, taskQueue: h.taskQueue, storageCopyPoll: '1 second', sourceRefresh: { debounce: '4 seconds', concurrency: 4 } });
    dataSync = new DataSyncClient(h.deps.aws);
    const s3 = new S3Client(h.deps.aws);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET })).catch((err: unknown) => {
      if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes((err as Error).name)) throw err;
    });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'projb/logo.png', Body: Buffer.alloc(1000, 1) }));
    s3.destroy();
    host = await snsHost(key.certificate);
    const app = createHttpApp({
      checks: {},
      routers: [snsWebhookRouter({ verifier: new SnsVerifier({ topicArns: [TOPIC], testOrigin: host.origin }), catalogue: h.deps.catalogue.catalogue, core, store: h.deps.store, log: h.deps.log, testOrigin: host.origin })],
    });
    server = await listen(app, 0);
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/webhooks/s3`;
  }, 60_000);

  afterAll(async () => {
    // Every environment made is destroyed, and leaves nothing.
    const results = await Promise.allSettled(envs.map(async (ref) => {
      await (await h.core.destroy({ environment: ref.environment, requester })).handle.result();
      return leftovers(h, ref);
    }));
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await host?.close();
    dataSync?.destroy();
    await h?.stop();
    for (const r of results) {
      if (r.status === 'rejected') throw r.reason;
      expect(r.value).toEqual([]);
    }
  }, 300_000);

  it('a signed notification under the source prefix re-runs the copy of all 10 environments using it, one refresh for many uploads, 4 at a time, one summary per channel', async () => {
    // Ten real environments, five at a time; each ready with its first copy done.
    const wanted = [...Array.from({ length: 2 }, () => uniqueEnv('projb', 'qa')), ...Array.from({ length: 8 }, () => uniqueEnv('lite', 'qa'))];
    for (let i = 0; i < wanted.length; i += 5) {
      await Promise.all(wanted.slice(i, i + 5).map(async (ref) => {
        const started = await core.create({ project: ref.project, stage: ref.stage, suffix: ref.suffix!, requester, target: { platform: 'console', channel: 'C0CREATE001' } });
        envs.push(ref);
        expect(await started.handle.result()).toMatchObject({ status: 'ready' });
        await h.client.workflow.getHandle(workflowId('storage-copy', ref.environment)).result();
      }));
    }
    const before = new Map(await Promise.all(envs.map(async (ref) => [ref.environment, await currentExecution(ref)] as const)));

    // Five uploads in a few seconds (one of them a delete, one with two records), and one outside the prefix.
    const t0 = Date.now();
    const messages = [
      sign(notification(s3EventMessage(BUCKET, ['projb/products/mug 001.jpg'])), key.key, host.certUrl, '1'),
      sign(notification(s3EventMessage(BUCKET, ['projb/a.png', 'projb/b.png'])), key.key, host.certUrl),
      sign(notification(s3EventMessage(BUCKET, ['projb/old.png'], 'ObjectRemoved:Delete')), key.key, host.certUrl),
      sign(notification(s3EventMessage(BUCKET, ['projb/c.png'])), key.key, host.certUrl),
    ];
    const answers = [];
    for (const m of messages) answers.push(await post(m, { 'x-amz-sns-message-type': 'Notification' }));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(answers[0]!.body).toEqual({ handled: 'notification', refreshing: [SOURCE], ignored: 0 });
    // The same message again (SNS delivers at least once): handled once.
    expect(await post(messages[1]!)).toEqual({ status: 200, body: { handled: 'replay', messageId: messages[1]!.MessageId } });
    expect(await post(sign(notification(s3EventMessage(BUCKET, ['projc/unrelated.png'])), key.key, host.certUrl))).toEqual({ status: 200, body: { handled: 'notification', refreshing: [], ignored: 1 } });
    accepted = JSON.stringify(messages[0]);
    const runId = (await refreshHandle().describe()).runId;

    const result: StorageRefreshResult = await refreshHandle().result();
    const elapsed = Date.now() - t0;
    // One run (not continued as new) handled every change: 5 object changes, the replay not counted.
    expect((await refreshHandle().describe()).runId).toBe(runId);
    expect(result.changes).toBe(5);
    expect(result.environments.map((e) => e.environment).sort()).toEqual(envs.map((e) => e.environment).sort());
    expect(result.environments.every((e) => e.state === 'refreshed' && e.volumes[0]?.state === 'copied')).toBe(true);

    // A new DataSync execution for every environment, ended SUCCESS.
    for (const ref of envs) {
      const now = await currentExecution(ref);
      expect(now).not.toBe(before.get(ref.environment));
      expect((await dataSync.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: now }))).Status).toBe('SUCCESS');
    }
    // Each environment's copy ran once in this refresh; never more than four at a time, and four did.
    const runs = await Promise.all(envs.map(async (ref) => {
      const d = await h.client.workflow.getHandle(workflowId('storage-copy', ref.environment)).describe();
      expect(d.status.name).toBe('COMPLETED');
      return { start: d.startTime.getTime(), end: d.closeTime!.getTime() };
    }));
    expect(runs.every((r) => r.start >= t0)).toBe(true);
    const concurrent = maxOverlap(runs);
    expect(concurrent).toBe(4);

    // One summary per project channel: projb's two channels name its two environments, lite's its eight.
    const sent = summaries();
    expect(sent.map((m) => m.target.channel).sort()).toEqual([LITE_CHANNEL, 'C0PROJB0001', 'C0PROJB0002']);
    for (const m of sent) {
      const text = m.message.kind === 'notice' ? m.message.text : '';
      const project = m.target.channel === LITE_CHANNEL ? 'lite' : 'projb';
      const mine = envs.filter((e) => e.project === project);
      expect(text).toContain(`${SOURCE} changed (5 object changes): storage refreshed in ${mine.length} of ${mine.length} environments.`);
      for (const e of envs) expect(text.includes(e.environment)).toBe(e.project === project);
    }
    console.log(`refresh: 10 environments, max ${concurrent} copies at a time, ${elapsed} ms from the first notification to the end`);
    // The certificate was fetched once for all these messages.
    expect(host.requests.filter((r) => r.endsWith('.pem'))).toHaveLength(1);
  }, 400_000);

  it('refuses forged, misdirected, stale, wrong-topic, oversized and malformed messages, and replays, starting nothing', async () => {
    const before = await refreshHandle().describe();
    const key2 = key.key;
    const under = () => notification(s3EventMessage(BUCKET, ['projb/forged.png']));
    const cases: [string, string | object, number][] = [
      ['a forged signature (another key, same certificate URL)', sign(under(), attacker.key, host.certUrl), 403],
      ['a changed message', { ...sign(under(), key2, host.certUrl), Message: s3EventMessage(BUCKET, ['projb/other.png']) }, 403],
      ['a look-alike certificate host', sign(under(), key2, 'https://sns.us-east-1.amazonaws.com.evil.com/cert.pem'), 403],
      ['a certificate over http', sign(under(), key2, 'http://sns.us-east-1.amazonaws.com/cert.pem'), 403],
      ['a certificate of another region', sign(under(), key2, 'https://sns.eu-west-1.amazonaws.com/cert.pem'), 403],
      ['a stale timestamp', sign(notification(s3EventMessage(BUCKET, ['projb/x.png']), { timestamp: new Date(Date.now() - 2 * 3600_000).toISOString() }), key2, host.certUrl), 403],
      ['a topic not allowed, signed by its owner', sign(notification(s3EventMessage(BUCKET, ['projb/x.png']), { topic: 'arn:aws:sns:us-east-1:999999999999:attackers' }), attacker.key, host.certUrl), 403],
      ['a body over 1 MB', sign(notification('x'.repeat(1024 * 1024 + 1)), key2, host.certUrl), 413],
      ['not JSON', 'hello', 400],
      ['not an SNS message', { hello: 'world' }, 400],
      ['a signed notification that is not an S3 event', sign(notification('just text'), key2, host.certUrl), 400],
      ['a replay of a handled message', accepted, 200],
    ];
    const got = [];
    for (const [what, body, status] of cases) {
      const res = await post(body);
      got.push([what, res.status, res.body.error ?? res.body.handled]);
      expect([what, res.status]).toEqual([what, status]);
    }
    console.log(got.map((g) => g.join(' → ')).join('\n'));
    // No refresh was started or signalled: the last run is the one of the first test, completed.
    const after = await refreshHandle().describe();
    expect([after.runId, after.status.name]).toEqual([before.runId, 'COMPLETED']);
    expect(host.requests.filter((r) => !r.endsWith('.pem'))).toEqual([]);
  }, 60_000);

  it('confirms a subscription to an allowed topic by fetching its SubscribeURL, and no other', async () => {
    const token = 'token-2336412f37fb687f5d51e6e2425';
    const subscribeUrl = (topic: string, origin = host.origin) => `${origin}/?Action=ConfirmSubscription&TopicArn=${topic}&Token=${token}`;
    const confirmation = (topic: string, subscribe: string) => ({
      Type: 'SubscriptionConfirmation' as const,
      MessageId: crypto.randomUUID(),
      Token: token,
      TopicArn: topic,
      Message: `You have chosen to subscribe to the topic ${topic}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
      SubscribeURL: subscribe,
      Timestamp: new Date().toISOString(),
    });
    // Refused first: a SubscribeURL off the SNS host, a topic not allowed, a forged one; nothing is fetched.
    expect((await post(sign(confirmation(TOPIC, subscribeUrl(TOPIC, 'https://sns.us-east-1.amazonaws.com.evil.com')), key.key, host.certUrl))).status).toBe(403);
    const other = 'arn:aws:sns:us-east-1:999999999999:attackers';
    expect((await post(sign(confirmation(other, subscribeUrl(other)), attacker.key, host.certUrl))).status).toBe(403);
    expect((await post(sign(confirmation(TOPIC, subscribeUrl(TOPIC)), attacker.key, host.certUrl))).status).toBe(403);
    expect(host.requests.filter((r) => r.includes('ConfirmSubscription'))).toEqual([]);

    const ok = sign(confirmation(TOPIC, subscribeUrl(TOPIC)), key.key, host.certUrl);
    expect(await post(ok, { 'x-amz-sns-message-type': 'SubscriptionConfirmation' })).toEqual({ status: 200, body: { handled: 'confirmed', topic: TOPIC } });
    expect(host.requests.filter((r) => r.includes('ConfirmSubscription'))).toEqual([`/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=${token}`]);
  }, 60_000);
});
