// Storage volumes, against moto (EFS, DataSync, S3) and the API server: projb-qa's media volume gets
// its access point, PersistentVolume and claim and is filled from S3 by a DataSync copy that runs on
// its own, after the environment is ready, editing the card as it goes; a failed copy is said in the
// channel and leaves the environment alone; destroy leaves nothing (and compensation.test.ts fails
// each new step, also half-way through).
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CancelTaskExecutionCommand,
  CreateLocationS3Command,
  DataSyncClient,
  DescribeLocationEfsCommand,
  DescribeLocationS3Command,
  DescribeTaskCommand,
  DescribeTaskExecutionCommand,
  ListLocationsCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-datasync';
import { CreateAccessPointCommand, DescribeAccessPointsCommand, EFSClient, type AccessPointDescription } from '@aws-sdk/client-efs';
import { BatchV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { WorkflowFailedError } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { awsClients } from '../../activities/deps.js';
import { resolveEnv } from '../../activities/environment.js';
import { createKubernetesActivities } from '../../activities/kubernetes.js';
import { createStorageActivities } from '../../activities/storage.js';
import { EnvbotCore } from '../../bot/core/core.js';
import type { LoadedCatalogue } from '../../shared/catalogue/load.js';
import type { EnvironmentCard } from '../../shared/chat.js';
import type { ChatTarget, EnvRef, Requester } from '../../shared/model.js';
import { workflowId } from '../../shared/names.js';
import type { CreateEnvironmentResult } from '../../workflows/create-environment.js';
import type { StorageCopyResult } from '../../workflows/storage-copy.js';
import { uniqueEnv } from '../support/deps.js';
import { recordHistory } from '../support/histories.js';
import { leftovers } from '../support/inspect.js';
import { provisioningHarness, type Harness } from '../support/provisioning.js';

const requester: Requester = { id: 'cli:test', platform: 'cli' };
/** What the test puts under projb's media source, s3://envbot-media/projb/. */
const MEDIA = { 'projb/logo.png': 1200, 'projb/products/mug-001.jpg': 34_000, 'projb/products/pot-200.jpg': 56_789 };
const MEDIA_BYTES = Object.values(MEDIA).reduce((a, b) => a + b, 0);

/** The first value `look` gives that is not undefined, looking every 200 ms for up to 30 s. */
async function until<T>(look: () => Promise<T | undefined>): Promise<T> {
  for (const deadline = Date.now() + 30_000; ; ) {
    const value = await look();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('gave up waiting after 30 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const run = <I, O>(fn: (input: I) => Promise<O>, input: I): Promise<O> =>
  new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') }).run(fn, input);

describe('storage volumes', () => {
  let h: Harness;
  let efs: EFSClient;
  let dataSync: DataSyncClient;
  let core: CoreV1Api;
  /** The core with copies looked at every `poll` (moto moves a copy one status on per look: five looks). */
  const coreWith = (poll: Duration) => new EnvbotCore({ client: h.client, store: h.deps.store, catalogue: h.deps.catalogue.catalogue, taskQueue: h.taskQueue, storageCopyPoll: poll });
  const target = (): ChatTarget => ({ platform: 'console', channel: 'C0PROJB0001' });
  const cards = (env: string): { ref: string; card: EnvironmentCard }[] =>
    h.chat.sent.flatMap((m) => (m.message.kind === 'card' && m.message.card.environment === env ? [{ ref: m.ref, card: m.message.card }] : []));
  const fileSystemId = () => h.deps.catalogue.catalogue.storage!.fileSystemId;
  const accessPointOf = async (ref: EnvRef): Promise<AccessPointDescription | undefined> =>
    (await efs.send(new DescribeAccessPointsCommand({ FileSystemId: fileSystemId() }))).AccessPoints?.find((a) => a.RootDirectory?.Path === `/envbot/${ref.environment}/media`);
  const taskOf = async (ref: EnvRef): Promise<string> =>
    (await h.deps.store.liveResources(ref.environment)).find((e) => e.kind === 'datasync-arn' && e.details?.object === `${ref.environment}/media/task`)!.name;
  const destroy = async (ref: EnvRef) => (await h.core.destroy({ environment: ref.environment, requester })).handle.result();

  beforeAll(async () => {
    h = await provisioningHarness('storage');
    efs = new EFSClient(h.deps.aws);
    dataSync = new DataSyncClient(h.deps.aws);
    core = h.deps.kube.makeApiClient(CoreV1Api);
    const s3 = new S3Client(h.deps.aws);
    await s3.send(new CreateBucketCommand({ Bucket: 'envbot-media' })).catch((err: unknown) => {
      if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes((err as Error).name)) throw err;
    });
    for (const [key, size] of Object.entries(MEDIA)) await s3.send(new PutObjectCommand({ Bucket: 'envbot-media', Key: key, Body: Buffer.alloc(size, 7) }));
    s3.destroy();
  });

  afterAll(async () => {
    efs?.destroy();
    dataSync?.destroy();
    await h?.stop();
  });

  it('projb-qa gets the access point, both locations, the task, the PV and claim; it is ready before a slow copy ends, whose counts then edit the card; destroy leaves nothing', async () => {
    const ref = uniqueEnv('projb', 'qa');
    const started = await coreWith('2 seconds').create({ project: 'projb', stage: 'qa', suffix: ref.suffix!, requester, target: target() });
    const result: CreateEnvironmentResult = await started.handle.result();
    const readyAt = Date.now();
    expect(result).toMatchObject({ status: 'ready', storage: [{ volume: 'media', state: 'copying', source: 's3://envbot-media/projb/' }] });
    expect(result.built).toEqual(expect.arrayContaining(['storage', 'storage-copy']));

    // Ready, and the copy still running on its own; the card says so.
    const copy = h.client.workflow.getHandle(workflowId('storage-copy', ref.environment));
    expect((await copy.describe()).status.name).toBe('RUNNING');
    const readyCard = cards(ref.environment).at(-1)!;
    expect(readyCard.card).toMatchObject({ status: 'ready', storage: [{ volume: 'media', state: 'copying' }] });

    // The access point: its root directory, made owned by the volume's user, which every access acts as.
    const ap = (await accessPointOf(ref))!;
    expect(ap).toMatchObject({
      FileSystemId: fileSystemId(),
      PosixUser: { Uid: 1000, Gid: 1000 },
      RootDirectory: { Path: `/envbot/${ref.environment}/media`, CreationInfo: { OwnerUid: 1000, OwnerGid: 1000, Permissions: '0775' } },
    });
    expect(ap.Tags).toEqual(expect.arrayContaining([{ Key: 'envbot.io/environment', Value: ref.environment }]));

    // The task, from the S3 source (bucket, prefix, the catalogue's role) to the access point's directory.
    const task = await dataSync.send(new DescribeTaskCommand({ TaskArn: await taskOf(ref) }));
    expect(task.Name).toBe(`envbot-${ref.environment}-media`);
    const source = await dataSync.send(new DescribeLocationS3Command({ LocationArn: task.SourceLocationArn }));
    expect(source.LocationUri).toMatch(/^s3:\/\/envbot-media\/+projb\/$/);
    expect(source.S3Config).toEqual({ BucketAccessRoleArn: h.deps.catalogue.catalogue.storage!.dataSyncRoleArn });
    const destination = await dataSync.send(new DescribeLocationEfsCommand({ LocationArn: task.DestinationLocationArn }));
    expect(destination).toMatchObject({ AccessPointArn: ap.AccessPointArn, InTransitEncryption: 'TLS1_2', LocationUri: expect.stringContaining(fileSystemId()) });

    // The PersistentVolume on the access point, and the claim bound to it by name.
    const claimName = `vol-media-${ref.environment}`;
    const pv = await core.readPersistentVolume({ name: claimName });
    expect(pv.metadata?.labels).toMatchObject({ 'envbot.io/environment': ref.environment, 'app.kubernetes.io/managed-by': 'envbot' });
    expect(pv.spec).toMatchObject({
      csi: { driver: 'efs.csi.aws.com', volumeHandle: `${fileSystemId()}::${ap.AccessPointId}` },
      accessModes: ['ReadWriteMany'],
      persistentVolumeReclaimPolicy: 'Retain',
      capacity: { storage: '5Gi' },
      claimRef: { namespace: ref.environment, name: claimName },
    });
    const pvc = await core.readNamespacedPersistentVolumeClaim({ namespace: ref.environment, name: claimName });
    expect(pvc.spec).toMatchObject({ volumeName: claimName, storageClassName: '', accessModes: ['ReadWriteMany'] });

    // The copy ends (five looks, two seconds apart) well after the environment was ready, and edits the card.
    const copied: StorageCopyResult = await copy.result();
    const copiedAt = Date.now();
    await recordHistory(h.client, workflowId('create', ref.environment), 'create-projb-qa-storage');
    await recordHistory(h.client, workflowId('storage-copy', ref.environment), 'storage-copy-projb-qa');
    expect(copiedAt - readyAt).toBeGreaterThan(4000);
    const counts = { files: Object.keys(MEDIA).length, bytes: MEDIA_BYTES, totalFiles: Object.keys(MEDIA).length, totalBytes: MEDIA_BYTES };
    expect(copied.volumes).toEqual([{ volume: 'media', source: 's3://envbot-media/projb/', state: 'copied', ...counts }]);
    const last = cards(ref.environment).at(-1)!;
    expect(last.ref).toBe(readyCard.ref);
    expect(last.card).toMatchObject({ status: 'ready', urls: readyCard.card.urls, storage: [{ volume: 'media', state: 'copied', ...counts }] });
    // On the way it said how far it was (moto reports half the bytes while transferring).
    expect(cards(ref.environment).some((c) => c.card.storage?.[0]?.state === 'copying' && c.card.storage[0].bytes === Math.floor(MEDIA_BYTES / 2))).toBe(true);
    const execution = (await dataSync.send(new DescribeTaskCommand({ TaskArn: task.TaskArn }))).CurrentTaskExecutionArn!;
    expect(await dataSync.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: execution }))).toMatchObject({ Status: 'SUCCESS', FilesTransferred: 3, BytesTransferred: MEDIA_BYTES });

    await destroy(ref);
    expect(await leftovers(h, ref)).toEqual([]);
  }, 120_000);

  it('a failed copy is said in the channel and leaves the environment ready', async () => {
    const ref = uniqueEnv('projb', 'qa');
    const started = await coreWith('2 seconds').create({ project: 'projb', stage: 'qa', suffix: ref.suffix!, requester, target: target() });
    expect(await started.handle.result()).toMatchObject({ status: 'ready' });
    // DataSync stops the copy (moto: a cancelled execution is ERROR).
    const taskArn = await taskOf(ref);
    const execution = await until(async () => (await dataSync.send(new DescribeTaskCommand({ TaskArn: taskArn }))).CurrentTaskExecutionArn ?? undefined);
    await dataSync.send(new CancelTaskExecutionCommand({ TaskExecutionArn: execution }));

    const err = await h.client.workflow.getHandle(workflowId('storage-copy', ref.environment)).result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const card = cards(ref.environment).at(-1)!.card;
    expect(card).toMatchObject({ status: 'ready', storage: [{ volume: 'media', state: 'failed', error: expect.stringContaining('cancelled') }] });
    const notice = h.chat.sent.find((m) => m.message.kind === 'notice' && m.message.environment === ref.environment)!;
    expect(notice.target.messageRef).toBeUndefined();
    expect(notice.message).toMatchObject({ text: expect.stringMatching(new RegExp(`${ref.environment}: the copy of volume media from s3://envbot-media/projb/ failed: .*cancelled.*The environment is usable`)) });
    expect((await h.deps.store.getEnvironment(ref.environment))?.state).toBe('ready');
    expect(await core.readNamespacedPersistentVolumeClaim({ namespace: ref.environment, name: `vol-media-${ref.environment}` })).toBeTruthy();
    expect(await accessPointOf(ref)).toBeDefined();

    await destroy(ref);
    expect(await leftovers(h, ref)).toEqual([]);
  }, 120_000);

  describe('made by activities alone', () => {
    // Each test its own environment: a deleted PersistentVolume is Terminating until the controller
    // manager lifts its pv-protection finalizer, so its name cannot be made again at once.
    let ref: EnvRef;
    let k8s: ReturnType<typeof createKubernetesActivities>;

    beforeEach(async () => {
      ref = uniqueEnv('projb', 'qa');
      k8s = createKubernetesActivities(h.deps);
      await run(k8s.createNamespace, { ref });
    });

    afterEach(async () => {
      await run(k8s.deleteNamespace, { ref });
    });

    /** The media claim made before its volume, left Pending by the controller ("volume not found"); its name. */
    async function passedOverClaim(): Promise<string> {
      const name = `vol-media-${ref.environment}`;
      const labels = { ...resolveEnv(h.deps.catalogue, ref).names.labels, 'envbot.io/volume': 'media' };
      await core.createNamespacedPersistentVolumeClaim({
        namespace: ref.environment,
        body: { metadata: { name, labels }, spec: { accessModes: ['ReadWriteMany'], storageClassName: '', volumeName: name, resources: { requests: { storage: '5Gi' } } } },
      });
      await new Promise((r) => setTimeout(r, 500)); // the controller has handled the claim, with no volume
      expect((await core.readNamespacedPersistentVolumeClaim({ name, namespace: ref.environment })).status?.phase).toBe('Pending');
      return name;
    }

    it('createStorage returns once the claim is bound, so the scheduler never meets the services with an unbound claim', async () => {
      const s = createStorageActivities(h.deps);
      await run(s.createStorage, { ref });
      const claim = await core.readNamespacedPersistentVolumeClaim({ name: `vol-media-${ref.environment}`, namespace: ref.environment });
      expect(claim.status?.phase).toBe('Bound');
      await run(s.deleteStorage, { ref });
    });

    it('a claim the controller passed over (its volume not seen yet) is bound at once, not at the controller\'s next 15 s pass', async () => {
      // The claim is there before its volume, as when the controller handles a claim before the volume
      // made just before it: the controller leaves it Pending ("volume not found") until its periodic
      // pass. createStorage annotates a claim still pending, an update the controller handles at once.
      const name = await passedOverClaim();
      const s = createStorageActivities(h.deps);
      const t0 = Date.now();
      await run(s.createStorage, { ref });
      const took = Date.now() - t0;
      const claim = await core.readNamespacedPersistentVolumeClaim({ name, namespace: ref.environment });
      expect(claim.status?.phase).toBe('Bound');
      expect(took).toBeLessThan(5000);
      // Touched because it was still pending; unless the controller's own pass came within the first
      // second and bound it before the touch (about 1 run in 15), which the test cannot prevent.
      if (took >= 1000) expect(claim.metadata?.annotations?.['envbot.io/bind-requested']).toBeDefined();
      await run(s.deleteStorage, { ref });
    });

    it('with a role that may not patch claims, a passed-over claim is said once (with what the role needs) and still waited for until bound', async () => {
      // A ServiceAccount with what createStorage needs but patch on claims (a chart older than the annotation).
      const rbac = h.deps.kube.makeApiClient(RbacAuthorizationV1Api);
      const sa = `nopatch-${ref.suffix}`;
      await core.createNamespacedServiceAccount({ namespace: ref.environment, body: { metadata: { name: sa } } });
      await rbac.createClusterRole({ body: { metadata: { name: sa }, rules: [{ apiGroups: [''], resources: ['persistentvolumes', 'persistentvolumeclaims'], verbs: ['get', 'create', 'delete'] }] } });
      await rbac.createClusterRoleBinding({ body: { metadata: { name: sa }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: sa }, subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ref.environment }] } });
      try {
        const { status } = await core.createNamespacedServiceAccountToken({ name: sa, namespace: ref.environment, body: { spec: { audiences: [], expirationSeconds: 600 } } });
        const cluster = h.deps.kube.getCurrentCluster()!;
        const limited = new KubeConfig();
        limited.loadFromOptions({ clusters: [cluster], users: [{ name: sa, token: status!.token }], contexts: [{ name: sa, cluster: cluster.name, user: sa }], currentContext: sa });
        const name = await passedOverClaim();
        const logsFrom = h.logs.length;
        const s = createStorageActivities({ ...h.deps, kube: limited });
        const t0 = Date.now();
        await run(s.createStorage, { ref });
        const took = Date.now() - t0;
        const claim = await core.readNamespacedPersistentVolumeClaim({ name, namespace: ref.environment });
        expect(claim.status?.phase).toBe('Bound');
        expect(claim.metadata?.annotations?.['envbot.io/bind-requested']).toBeUndefined();
        const said = h.logs.slice(logsFrom).filter((l) => l.includes('could not annotate a pending claim'));
        // Said once when the claim was still pending at the touch; not at all when the controller's own pass came first.
        if (took >= 1000) {
          expect(said).toHaveLength(1);
          expect(said[0]).toContain("envbot's role needs patch on persistentvolumeclaims");
          expect(said[0]).toContain(name);
        }
        await run(createStorageActivities(h.deps).deleteStorage, { ref });
      } finally {
        await rbac.deleteClusterRoleBinding({ name: sa });
        await rbac.deleteClusterRole({ name: sa });
      }
    }, 60_000);

    it('finds its access point through the ledger: a create, its copy and their deletes never list the file system\'s access points', async () => {
      // A list of every access point of the file system grows with its environments; the PersistentVolume's entry names the one.
      const s = createStorageActivities(h.deps);
      const sent: string[] = [];
      const counter = `efs-calls-${ref.suffix}`;
      const client = awsClients(h.deps).efs();
      client.middlewareStack.add((next, context) => (args) => {
        sent.push(String(context.commandName));
        return next(args);
      }, { step: 'initialize', name: counter });
      try {
        const made = await run(s.createStorage, { ref });
        await run(s.createStorageCopy, { ref });
        const destination = (await h.deps.store.liveResources(ref.environment)).find((e) => e.kind === 'datasync-arn' && e.details?.object === `${ref.environment}/media/destination`)!.name;
        expect((await dataSync.send(new DescribeLocationEfsCommand({ LocationArn: destination }))).AccessPointArn).toBe((await accessPointOf(ref))!.AccessPointArn);
        expect(made.volumes[0]!.accessPoint).toBe((await accessPointOf(ref))!.AccessPointId);
        await run(s.deleteStorageCopy, { ref });
        await run(s.deleteStorage, { ref });
      } finally {
        client.middlewareStack.remove(counter);
      }
      expect(sent).toEqual(['CreateAccessPointCommand', 'DeleteAccessPointCommand']);
      expect(await accessPointOf(ref)).toBeUndefined();
    });

    it('an access point an attempt made but did not record is deleted by the undo, and adopted (not made twice) by a retry', async () => {
      const s = createStorageActivities(h.deps);
      const r = resolveEnv(h.deps.catalogue, ref);
      const v = r.project.storage.media!;
      const directory = r.names.storageDirectory('media');
      /** What the first attempt did before it died: the access point recorded and made, the PersistentVolume's entry (naming it) not written. */
      const halfDone = async (): Promise<string> => {
        await h.deps.store.recordResource({
          environment: ref.environment,
          kind: 'efs-access-point',
          name: directory,
          location: `efs/${fileSystemId()}`,
          details: { volume: 'media', claim: r.names.volume('media'), cleanupJob: r.names.storageCleanupJob('media'), namespace: r.names.namespace, uid: v.uid, gid: v.gid, onDestroy: v.onDestroy },
        });
        const made = await efs.send(new CreateAccessPointCommand({
          FileSystemId: fileSystemId(),
          PosixUser: { Uid: v.uid, Gid: v.gid },
          RootDirectory: { Path: directory, CreationInfo: { OwnerUid: v.uid, OwnerGid: v.gid, Permissions: '0775' } },
          Tags: [{ Key: 'envbot.io/environment', Value: ref.environment }, { Key: 'envbot.io/object', Value: 'media' }],
        }));
        return made.AccessPointId!;
      };
      const onDirectory = async () => (await efs.send(new DescribeAccessPointsCommand({ FileSystemId: fileSystemId() }))).AccessPoints!.filter((a) => a.RootDirectory?.Path === directory).map((a) => a.AccessPointId);

      const undone = await halfDone();
      await run(s.deleteStorage, { ref });
      expect(await onDirectory()).not.toContain(undone);

      const adopted = await halfDone();
      const made = await run(s.createStorage, { ref });
      expect(await onDirectory()).toEqual([adopted]);
      expect(made.volumes[0]!.accessPoint).toBe(adopted);
      const pv = await core.readPersistentVolume({ name: r.names.volume('media') });
      expect(pv.spec?.csi?.volumeHandle).toBe(`${fileSystemId()}::${adopted}`);
      await run(s.deleteStorage, { ref });
      expect(await onDirectory()).toEqual([]);
      expect((await leftovers(h, ref)).filter((x) => !x.startsWith('kubernetes namespace') && !x.startsWith('ledger k8s-namespace'))).toEqual([]);
    });

    it('adopts a DataSync location that a crashed attempt made but did not record, and destroy removes it', async () => {
      const s = createStorageActivities(h.deps);
      await run(s.createStorage, { ref });
      // The first attempt recorded its intent and made the source location, then died before recording the ARN.
      await h.deps.store.recordResource({ environment: ref.environment, kind: 'datasync-location', name: `${ref.environment}/media/source`, location: `datasync/${h.deps.aws.region}` });
      const orphan = await dataSync.send(new CreateLocationS3Command({
        S3BucketArn: 'arn:aws:s3:::envbot-media',
        Subdirectory: '/projb/',
        S3Config: { BucketAccessRoleArn: h.deps.catalogue.catalogue.storage!.dataSyncRoleArn },
        Tags: [{ Key: 'envbot.io/environment', Value: ref.environment }, { Key: 'envbot.io/object', Value: `${ref.environment}/media/source` }],
      }));
      // moto needs scripts/services/moto_launcher.py's ListTagsForResource: an older moto answers 500 here.
      expect((await dataSync.send(new ListTagsForResourceCommand({ ResourceArn: orphan.LocationArn }))).Tags).toHaveLength(2);
      const before = (await dataSync.send(new ListLocationsCommand({}))).Locations!.length;
      await run(s.createStorageCopy, { ref });
      // The retry made the destination only, and took the orphan as its source.
      expect((await dataSync.send(new ListLocationsCommand({}))).Locations!.length).toBe(before + 1);
      const task = await dataSync.send(new DescribeTaskCommand({ TaskArn: await taskOf(ref) }));
      expect(task.SourceLocationArn).toBe(orphan.LocationArn);

      await run(s.deleteStorageCopy, { ref });
      await run(s.deleteStorage, { ref });
      expect((await dataSync.send(new ListLocationsCommand({}))).Locations!.map((l) => l.LocationArn)).not.toContain(orphan.LocationArn);
      expect((await leftovers(h, ref)).filter((x) => !x.startsWith('kubernetes namespace') && !x.startsWith('ledger k8s-namespace'))).toEqual([]);
    });

    it('with onDestroy: delete-data, a Job in the namespace deletes the files through the claim before it goes', async () => {
      const loaded = h.deps.catalogue;
      const projb = loaded.catalogue.projects.projb!;
      const catalogue: LoadedCatalogue = {
        ...loaded,
        catalogue: { ...loaded.catalogue, projects: { ...loaded.catalogue.projects, projb: { ...projb, storage: { media: { ...projb.storage.media!, uid: 2001, gid: 2002, onDestroy: 'delete-data' } } } } },
      };
      const s = createStorageActivities({ ...h.deps, catalogue });
      await run(s.createStorage, { ref });
      // The catalogue changes afterwards: destroy goes by what the ledger recorded.
      const deleting = run(createStorageActivities(h.deps).deleteStorage, { ref });
      // The Job controller makes its Pod and kwok (its pod-complete stage) runs it to success; the test
      // only looks at the Job while it is there.
      const batch = h.deps.kube.makeApiClient(BatchV1Api);
      const name = resolveEnv(h.deps.catalogue, ref).names.storageCleanupJob('media');
      const job = await until(() => batch.readNamespacedJob({ name, namespace: ref.environment }).catch(() => undefined));
      const pod = job.spec!.template.spec!;
      expect(pod.securityContext).toMatchObject({ runAsUser: 2001, runAsGroup: 2002 });
      expect(pod.volumes).toEqual([expect.objectContaining({ name: 'data', persistentVolumeClaim: { claimName: `vol-media-${ref.environment}` } })]);
      expect(pod.containers[0]!.command).toEqual(['sh', '-c', 'find /data -mindepth 1 -delete']);
      expect((await deleting).deleted).toEqual([`PersistentVolumeClaim vol-media-${ref.environment}`, `PersistentVolume vol-media-${ref.environment}`, `access point /envbot/${ref.environment}/media`]);
      expect((await leftovers(h, ref)).filter((x) => !x.startsWith('kubernetes namespace') && !x.startsWith('ledger k8s-namespace'))).toEqual([]);
    });
  });
});
