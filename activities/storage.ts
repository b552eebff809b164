// storage: per environment and volume, a directory on the catalogue's EFS file system behind an access
// point (`/envbot/<env>/<volume>`, owned by the volume's uid/gid), a PersistentVolume for the EFS CSI
// driver and the claim `vol-<volume>-<env>` bound to it (createStorage / deleteStorage); the DataSync
// locations and task that fill the directory from S3 (createStorageCopy / deleteStorageCopy); and, for
// the storage-copy workflow, starting one copy and reading how far it is (startStorageCopy,
// storageCopyStatus). Everything is recorded in the ledger before it is made; deletes read only the
// ledger, never the catalogue.
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { activityInfo, heartbeat } from '@temporalio/activity';
import {
  CancelTaskExecutionCommand,
  CreateLocationEfsCommand,
  CreateLocationS3Command,
  CreateTaskCommand,
  DeleteLocationCommand,
  DeleteTaskCommand,
  DescribeTaskCommand,
  DescribeTaskExecutionCommand,
  ListLocationsCommand,
  ListTagsForResourceCommand,
  ListTasksCommand,
  StartTaskExecutionCommand,
  type TagListEntry,
} from '@aws-sdk/client-datasync';
import { CreateAccessPointCommand, DeleteAccessPointCommand, DescribeAccessPointsCommand, type AccessPointDescription } from '@aws-sdk/client-efs';
import { KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import type { VolumeCopy } from '../shared/chat.js';
import type { ChatTarget } from '../shared/model.js';
import { volumesUsing, type StorageSource } from '../shared/storage-sources.js';
import { awsError, awsErrorName } from '../shared/clients/aws.js';
import { ConflictError } from '../shared/errors.js';
import type { EnvRef } from '../shared/model.js';
import type { LedgerEntry } from '../shared/store/store.js';
import { awsClients, type ActivityDeps } from './deps.js';
import { resolveEnv, type ResolvedEnv } from './environment.js';
import { projectTargets } from './notify.js';
import { apiError, ENV_LABEL, FIELD_MANAGER, objectLedgerName, objectLocation, statusOf } from './kubernetes.js';

export interface StorageInput {
  ref: EnvRef;
}

/** One volume's copy: `execution` once startStorageCopy has started it. */
export interface StorageCopyInput extends StorageInput {
  volume: string;
  execution?: string;
}

export interface StorageResult {
  volumes: { volume: string; directory: string; accessPoint: string; persistentVolume: string; claim: string }[];
}

export interface StorageCopyResult {
  /** Each volume's copy as the card first shows it (not started yet). */
  volumes: VolumeCopy[];
}

export interface DeleteStorageResult {
  /** What was removed (or found already gone), as `kind name`. */
  deleted: string[];
}

export interface StartCopyResult {
  /** The task execution's ARN; absent when the volume's task is gone (the environment was destroyed). */
  execution?: string;
}

/** An environment whose volumes are filled from a source, and which of them. */
export interface SourceUser {
  ref: EnvRef;
  volumes: string[];
}

export interface SourceUsersResult {
  /** Ready environments with a copy task for a volume filled from the source. */
  users: SourceUser[];
  /** Where each of their projects' summary goes: its channels (the catalogue's) and the channels subscribed to it, each once. */
  channels: Record<string, ChatTarget[]>;
}

export interface CopyStatusResult extends VolumeCopy {
  /** DataSync's own status (INITIALIZING … SUCCESS, ERROR); `gone` when the environment's task no longer exists. */
  status: string;
}

const KIND = {
  accessPoint: 'efs-access-point',
  persistentVolume: 'k8s-persistent-volume',
  claim: 'k8s-persistent-volume-claim',
  /** A DataSync location or task, recorded before it is made under `<env>/<volume>/source|destination|task`. */
  location: 'datasync-location',
  task: 'datasync-task',
  /** The ARN of one of those, recorded as soon as it exists (details.object names which). */
  arn: 'datasync-arn',
} as const;

/** Cluster-scoped objects (the PersistentVolumes) are recorded at this location. */
const CLUSTER_LOCATION = 'kubernetes';
const OBJECT_TAG = 'envbot.io/object';
const CSI_DRIVER = 'efs.csi.aws.com';
/** The directory's mode: the owner and its group may write. */
const DIRECTORY_MODE = '0775';
/** What deletes a volume's files when the catalogue asks for it (`onDestroy: delete-data`). */
export const CLEANUP_IMAGE = 'public.ecr.aws/docker/library/busybox:1.37';
/** How long one attempt of a delete waits for that Job (the `undo` preset gives an attempt 5 minutes). */
const CLEANUP_WAIT_MS = 4 * 60_000;
/** How long createStorage waits for its claims to be bound (the `quick` preset gives an attempt a minute). */
const CLAIM_BIND_WAIT_MS = 30_000;
/** A claim still pending this long is touched (and again at this interval) so the controller looks at it again. */
const CLAIM_NUDGE_MS = 300;
/** The annotation a claim is touched with: when envbot last asked for it to be bound. */
const BIND_REQUESTED = 'envbot.io/bind-requested';

const efsLocation = (fileSystemId: string) => `efs/${fileSystemId}`;
const fileSystemOf = (location: string) => location.slice('efs/'.length);
/** A DataSync object's name in the ledger and its tags: `projb-qa/media/source` (one environment's, so no other holds it). */
const objectName = (environment: string, volume: string, part: 'source' | 'destination' | 'task') => `${environment}/${volume}/${part}`;

/** Fields of an access point's ledger entry: what its delete needs, so it never reads the catalogue. */
interface AccessPointDetails {
  volume: string;
  claim: string;
  cleanupJob: string;
  namespace: string;
  uid: number;
  gid: number;
  onDestroy: 'keep-data' | 'delete-data';
}

/**
 * Fields of a PersistentVolume's ledger entry: the access point it mounts, so later steps (the copy's
 * destination, the delete) need not look for it among every access point of the file system. Entries
 * made before envbot recorded it have none; those steps then look for it as before.
 */
interface VolumeDetails {
  accessPointId?: string;
  accessPointArn?: string;
}

/**
 * An idempotency token from this activity's workflow run and step (a retry sends the same one, a new
 * create another), at most 64 characters as EFS asks.
 */
function idempotencyToken(step: string): string {
  let run: string;
  try {
    const { workflowExecution: w } = activityInfo();
    run = w ? `${w.workflowId}/${w.runId}` : randomUUID();
  } catch {
    run = randomUUID(); // called outside an activity (a test): no retry to match
  }
  return createHash('sha256').update(`${run}/${step}`).digest('hex').slice(0, 64);
}

/** A Kubernetes object as envbot writes it: kind and name always set. */
type NamedObject = KubernetesObject & { kind: string; metadata: { name: string } };

function tagValue(tags: { Key?: string; Value?: string }[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.Key === key)?.Value;
}

export function createStorageActivities(deps: ActivityDeps) {
  const efs = () => awsClients(deps).efs();
  const dataSync = () => awsClients(deps).dataSync();
  const objects = deps.kube.makeApiClient(KubernetesObjectApi);
  const dataSyncLocation = `datasync/${deps.aws.region}`;

  /** The catalogue's storage settings; the loader refuses a project with volumes and none of these. */
  function storageOf(r: ResolvedEnv) {
    const s = r.catalogue.catalogue.storage;
    if (!s) throw new Error(`the catalogue has no top-level "storage", but project ${r.env.project} has volumes`);
    return s;
  }

  /** The environment's access point rooted at `directory`, found by its root directory and tags. */
  async function findAccessPoint(fileSystemId: string, directory: string, environment: string): Promise<AccessPointDescription | undefined> {
    let token: string | undefined;
    try {
      do {
        const page = await efs().send(new DescribeAccessPointsCommand({ FileSystemId: fileSystemId, ...(token ? { NextToken: token } : {}) }));
        const found = page.AccessPoints?.find((a) => a.RootDirectory?.Path === directory && tagValue(a.Tags, ENV_LABEL) === environment && a.LifeCycleState !== 'deleting');
        if (found) return found;
        token = page.NextToken;
      } while (token);
    } catch (err) {
      if (awsErrorName(err) === 'FileSystemNotFound') return undefined;
      throw awsError(err, `listing the access points of EFS file system ${fileSystemId}`);
    }
    return undefined;
  }

  /** The access point the volume's PersistentVolume entry names, else the one found on the file system. */
  async function accessPointOf(live: LedgerEntry[], claim: string, fileSystemId: string, directory: string, environment: string): Promise<{ id: string; arn: string } | undefined> {
    const d = live.find((e) => e.kind === KIND.persistentVolume && e.name === claim)?.details as VolumeDetails | undefined;
    if (d?.accessPointId && d.accessPointArn) return { id: d.accessPointId, arn: d.accessPointArn };
    const found = await findAccessPoint(fileSystemId, directory, environment);
    return found?.AccessPointId && found.AccessPointArn ? { id: found.AccessPointId, arn: found.AccessPointArn } : undefined;
  }

  /**
   * Creates `object`, or accepts the one there when it carries the environment's label; one of another
   * environment (or nobody's) is a ConflictError, and `entry` is taken off the ledger so no delete touches it.
   */
  async function createObject(environment: string, object: NamedObject, entry: LedgerEntry): Promise<void> {
    const what = `${object.kind}/${object.metadata.name}${object.metadata.namespace ? ` in namespace ${object.metadata.namespace}` : ''}`;
    try {
      await objects.create(object);
      return;
    } catch (err) {
      if (statusOf(err) !== 409) throw apiError(err, `creating ${what}`);
    }
    let existing: KubernetesObject;
    try {
      existing = await objects.read({ apiVersion: object.apiVersion!, kind: object.kind, metadata: { name: object.metadata.name, ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}) } });
    } catch (err) {
      throw apiError(err, `reading ${what}, reported to exist`);
    }
    const holder = existing.metadata?.labels?.[ENV_LABEL];
    if (holder === environment) {
      if (!existing.metadata?.deletionTimestamp) return;
      // The environment's previous life is still going (a claim being released): retried until it is gone.
      throw new Error(`${what} of ${environment} is still being deleted; trying again`);
    }
    await deps.store.markResourceDeleted(entry);
    throw new ConflictError(
      `${what} exists and ${holder ? `belongs to environment ${holder}` : 'was not made by envbot'}, so ${environment} leaves it alone and stops; ` +
        (holder ? `destroy ${holder} first, or remove it` : 'remove it'),
    );
  }

  /**
   * Waits until the controller manager has bound each claim to its volume. A Pod that the scheduler
   * meets before that is set aside as unschedulable ("unbound immediate PersistentVolumeClaims") and
   * may not be tried again for up to five minutes, so the services come after the binding. Still
   * unbound after CLAIM_BIND_WAIT_MS: a retryable error (running the step again changes nothing).
   *
   * The controller binds a claim naming its volume when it handles the claim, if it has handled the
   * volume by then; if not, the claim waits for the controller's periodic pass (every 15 s by
   * default). Measured on the local cluster: 5 of 8 claims created right after their volume waited
   * 14-15 s. A claim still pending after CLAIM_NUDGE_MS is annotated, an update the controller
   * handles at once (the same 8: all bound within 0.7 s).
   */
  async function claimsBound(namespace: string, claims: string[]): Promise<void> {
    const started = Date.now();
    const deadline = started + CLAIM_BIND_WAIT_MS;
    for (const name of claims) {
      const header = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace } };
      let nudgeAt = started + CLAIM_NUDGE_MS;
      for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
        let phase: string | undefined;
        try {
          const claim = await objects.read(header);
          phase = (claim as { status?: { phase?: string } }).status?.phase;
        } catch (err) {
          throw apiError(err, `reading PersistentVolumeClaim/${name} in namespace ${namespace}`);
        }
        if (phase === 'Bound') break;
        const now = Date.now();
        if (now > deadline) {
          throw new Error(`PersistentVolumeClaim/${name} in namespace ${namespace} is not bound to its volume after ${CLAIM_BIND_WAIT_MS / 1000} s (phase ${phase ?? 'unknown'}); is the cluster's controller manager running?`);
        }
        if (now >= nudgeAt) {
          nudgeAt = now + Math.max(CLAIM_NUDGE_MS, delay);
          await objects
            .patch({ ...header, metadata: { ...header.metadata, annotations: { [BIND_REQUESTED]: new Date(now).toISOString() } } }, undefined, undefined, FIELD_MANAGER, undefined, PatchStrategy.MergePatch)
            .catch((err: unknown) => {
              // Said once per claim: a role without patch on claims (a chart older than this) only waits longer.
              nudgeAt = Infinity;
              deps.log.warn(
                { err: apiError(err, `annotating PersistentVolumeClaim/${name} in namespace ${namespace}`) },
                "could not annotate a pending claim (envbot's role needs patch on persistentvolumeclaims); waiting for the controller's periodic pass instead",
              );
            });
        }
        await sleep(delay);
      }
    }
  }

  /** Deletes the object an entry names when it carries the environment's label; gone is done. */
  async function deleteObject(environment: string, header: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }): Promise<void> {
    const what = `${header.kind}/${header.metadata.name}`;
    try {
      const existing = await objects.read(header);
      if (existing.metadata?.labels?.[ENV_LABEL] !== environment) {
        deps.log.warn({ environment, object: what }, 'not made for this environment: left alone');
        return;
      }
      // The uid precondition: delete exactly the object read, never one made since by someone else.
      await objects.delete(header, undefined, undefined, undefined, undefined, 'Background', { preconditions: { uid: existing.metadata.uid } });
    } catch (err) {
      if (statusOf(err) !== 404) throw apiError(err, `deleting ${what}`);
    }
  }

  /**
   * Empties a volume's directory before it is removed (`onDestroy: delete-data`): EFS has no call that
   * deletes files, so a Job in the environment's namespace mounts the claim and deletes what is in it.
   * It waits for the Job (heartbeating) for a few minutes at a time, within the delete's timeout: a
   * retry goes on waiting for the same Job. A Job that failed is deleted and the error rethrown, so a
   * retry starts a new one.
   */
  async function cleanVolume(environment: string, d: AccessPointDetails): Promise<void> {
    const name = d.cleanupJob;
    const header = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: d.namespace } };
    const entry = { environment, kind: 'k8s-object', name: objectLedgerName('batch/v1', 'Job', name), location: objectLocation(d.namespace) };
    await deps.store.recordResource(entry);
    await createObject(environment, {
      ...header,
      metadata: { ...header.metadata, labels: { 'app.kubernetes.io/managed-by': 'envbot', [ENV_LABEL]: environment } },
      spec: {
        backoffLimit: 2,
        template: {
          metadata: { labels: { [ENV_LABEL]: environment } },
          spec: {
            restartPolicy: 'Never',
            securityContext: { runAsUser: d.uid, runAsGroup: d.gid },
            containers: [{ name: 'delete-files', image: CLEANUP_IMAGE, command: ['sh', '-c', 'find /data -mindepth 1 -delete'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
            volumes: [{ name: 'data', persistentVolumeClaim: { claimName: d.claim } }],
          },
        },
      },
    } as NamedObject, entry);
    const until = Date.now() + CLEANUP_WAIT_MS;
    for (;;) {
      let job: KubernetesObject & { status?: { conditions?: { type?: string; status?: string; message?: string }[] } };
      try {
        job = await objects.read(header);
      } catch (err) {
        throw apiError(err, `reading Job ${name} in namespace ${d.namespace}`);
      }
      const condition = (type: string) => job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
      if (condition('Complete')) break;
      const failed = condition('Failed');
      if (failed) {
        await deleteObject(environment, header);
        throw new Error(`the Job deleting the files of ${d.claim} failed (${failed.message ?? 'no message'}); a new one is started`);
      }
      if (Date.now() > until) throw new Error(`the Job deleting the files of ${d.claim} is still running; waiting on`);
      heartbeat(`waiting for Job ${name}`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    await deleteObject(environment, header);
    await deps.store.markResourceDeleted(entry);
    deps.log.info({ environment, claim: d.claim }, 'volume files deleted');
  }

  // --- DataSync -----------------------------------------------------------------------------------

  /** The location or task tagged as `object` of `environment`, when a crash kept its ARN out of the ledger. */
  async function findTagged(kind: 'location' | 'task', environment: string, object: string): Promise<string | undefined> {
    const arns: string[] = [];
    let token: string | undefined;
    do {
      if (kind === 'task') {
        const page = await dataSync().send(new ListTasksCommand({ ...(token ? { NextToken: token } : {}) }));
        arns.push(...(page.Tasks ?? []).map((t) => t.TaskArn!));
        token = page.NextToken;
      } else {
        const page = await dataSync().send(new ListLocationsCommand({ ...(token ? { NextToken: token } : {}) }));
        arns.push(...(page.Locations ?? []).map((l) => l.LocationArn!));
        token = page.NextToken;
      }
    } while (token);
    for (const arn of arns) {
      const { Tags } = await dataSync().send(new ListTagsForResourceCommand({ ResourceArn: arn }));
      if (tagValue(Tags, ENV_LABEL) === environment && tagValue(Tags, OBJECT_TAG) === object) return arn;
    }
    return undefined;
  }

  /**
   * One DataSync object of the environment, made once. DataSync takes no idempotency token, so the
   * object is recorded in the ledger before it is made, is made with tags naming the environment and
   * the object, and its ARN is recorded as soon as it exists. A retry finds the ARN in the ledger; only
   * when a crash came between the make and that record is the object looked for by its tags.
   * `make` gets the tags and returns the new ARN; `name` is the Name tag, `what` says it in errors;
   * `live` is the environment's ledger as read when the activity began (this object's entries are
   * written only here, so a read of it before the activity's other objects were made still holds).
   */
  async function dataSyncObject(
    o: { environment: string; volume: string; part: 'source' | 'destination' | 'task'; name: string; what: string; live: LedgerEntry[] },
    make: (tags: TagListEntry[]) => Promise<string | undefined>,
  ): Promise<string> {
    const { environment, live } = o;
    const kind = o.part === 'task' ? 'task' : 'location';
    const object = objectName(environment, o.volume, o.part);
    const made = live.find((e) => e.kind === KIND.arn && e.details?.object === object);
    if (made) return made.name;
    const intent = { environment, kind: KIND[kind], name: object, location: dataSyncLocation };
    let arn: string | undefined;
    if (live.some((e) => e.kind === intent.kind && e.name === object)) arn = await findTagged(kind, environment, object);
    else await deps.store.recordResource(intent);
    try {
      arn ??= await make([{ Key: 'Name', Value: o.name }, { Key: ENV_LABEL, Value: environment }, { Key: OBJECT_TAG, Value: object }]);
    } catch (err) {
      throw awsError(err, `creating ${o.what}`);
    }
    if (!arn) throw new Error(`DataSync made ${o.what} but returned no ARN`);
    await deps.store.recordResource({ environment, kind: KIND.arn, name: arn, location: dataSyncLocation, details: { object, kind } });
    return arn;
  }

  /** Deletes a DataSync task (stopping its running copy) or location; gone is done. */
  async function deleteDataSyncObject(kind: 'location' | 'task', arn: string): Promise<void> {
    const client = dataSync();
    try {
      if (kind === 'task') {
        const task = await client.send(new DescribeTaskCommand({ TaskArn: arn }));
        if (task.CurrentTaskExecutionArn && (task.Status === 'RUNNING' || task.Status === 'QUEUED')) {
          await client.send(new CancelTaskExecutionCommand({ TaskExecutionArn: task.CurrentTaskExecutionArn })).catch((err: unknown) => {
            // Ended meanwhile: nothing to stop.
            if (awsErrorName(err) !== 'InvalidRequestException') throw err;
          });
        }
        await client.send(new DeleteTaskCommand({ TaskArn: arn }));
      } else {
        await client.send(new DeleteLocationCommand({ LocationArn: arn }));
      }
    } catch (err) {
      if (!isNotFound(err)) throw awsError(err, `deleting DataSync ${kind} ${arn}`);
    }
  }

  /** DataSync says "not found" as an InvalidRequestException (moto: "The request is not valid."). */
  function isNotFound(err: unknown): boolean {
    return awsErrorName(err) === 'InvalidRequestException' && /not found|unable to find|does not exist|request is not valid/i.test((err as { message?: string }).message ?? '');
  }

  /** The ARN of a volume's task in the ledger, when it is there. */
  async function taskOf(environment: string, volume: string): Promise<string | undefined> {
    const live = await deps.store.liveResources(environment);
    return live.find((e) => e.kind === KIND.arn && e.details?.object === objectName(environment, volume, 'task'))?.name;
  }

  return {
    /**
     * Per volume: the access point (its root directory made with the volume's owner and mode), the
     * PersistentVolume on it (ReadWriteMany, Retain, pre-bound to the claim) and the claim, bound to it
     * by name. Each is recorded in the ledger first; running it again changes nothing.
     */
    async createStorage({ ref }: StorageInput): Promise<StorageResult> {
      deps.faults?.check('createStorage');
      const r = resolveEnv(deps.catalogue, ref);
      const storage = storageOf(r);
      const environment = r.env.name;
      const namespace = r.names.namespace;
      const out: StorageResult['volumes'] = [];
      for (const [volume, v] of Object.entries(r.project.storage)) {
        const directory = r.names.storageDirectory(volume);
        const claim = r.names.volume(volume);
        const details: AccessPointDetails = { volume, claim, cleanupJob: r.names.storageCleanupJob(volume), namespace, uid: v.uid, gid: v.gid, onDestroy: v.onDestroy };
        const fresh = await deps.store.recordResource({ environment, kind: KIND.accessPoint, name: directory, location: efsLocation(storage.fileSystemId), details: { ...details } });
        // Recorded just now: no attempt has made it, so there is nothing to look for (among every
        // access point of the file system, a list that grows with its environments). A retry looks.
        let accessPoint = fresh ? undefined : await findAccessPoint(storage.fileSystemId, directory, environment);
        if (!accessPoint) {
          try {
            accessPoint = await efs().send(new CreateAccessPointCommand({
              FileSystemId: storage.fileSystemId,
              ClientToken: idempotencyToken(`access-point/${volume}`),
              PosixUser: { Uid: v.uid, Gid: v.gid },
              RootDirectory: { Path: directory, CreationInfo: { OwnerUid: v.uid, OwnerGid: v.gid, Permissions: DIRECTORY_MODE } },
              Tags: [{ Key: 'Name', Value: claim }, { Key: ENV_LABEL, Value: environment }, { Key: OBJECT_TAG, Value: volume }],
            }));
          } catch (err) {
            throw awsError(err, `creating the EFS access point for ${directory} on ${storage.fileSystemId}`);
          }
        }
        const labels = { ...r.names.labels, 'envbot.io/volume': volume };
        const mounts: VolumeDetails = { accessPointId: accessPoint.AccessPointId!, accessPointArn: accessPoint.AccessPointArn! };
        const pvEntry = { environment, kind: KIND.persistentVolume, name: claim, location: CLUSTER_LOCATION, details: { ...mounts } };
        await deps.store.recordResource(pvEntry);
        await createObject(environment, {
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: { name: claim, labels },
          spec: {
            capacity: { storage: v.size },
            volumeMode: 'Filesystem',
            accessModes: ['ReadWriteMany'],
            persistentVolumeReclaimPolicy: 'Retain',
            // The access point's directory, mounted over TLS as the EFS CSI driver requires for access points.
            mountOptions: ['tls'],
            csi: { driver: CSI_DRIVER, volumeHandle: `${storage.fileSystemId}::${accessPoint.AccessPointId!}` },
            // Pre-bound: no other claim can take it.
            claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name: claim },
          },
        } as NamedObject, pvEntry);
        deps.faults?.check('createStorage:claim');
        const claimEntry = { environment, kind: KIND.claim, name: claim, location: objectLocation(namespace) };
        await deps.store.recordResource(claimEntry);
        await createObject(environment, {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: claim, namespace, labels },
          spec: { accessModes: ['ReadWriteMany'], storageClassName: '', volumeName: claim, resources: { requests: { storage: v.size } } },
        } as NamedObject, claimEntry);
        out.push({ volume, directory, accessPoint: accessPoint.AccessPointId!, persistentVolume: claim, claim });
      }
      await claimsBound(namespace, out.map((v) => v.claim));
      deps.log.info({ environment, volumes: out }, 'storage volumes created');
      return { volumes: out };
    },

    /**
     * Per volume the ledger holds: the claim (after deleting its files when the volume asked for it),
     * the PersistentVolume, then the access point. Needs no catalogue.
     */
    async deleteStorage({ ref }: StorageInput): Promise<DeleteStorageResult> {
      const environment = ref.environment;
      const live = await deps.store.liveResources(environment);
      const deleted: string[] = [];
      for (const ap of live.filter((e) => e.kind === KIND.accessPoint)) {
        const d = ap.details as unknown as AccessPointDetails;
        const claim = live.find((e) => e.kind === KIND.claim && e.name === d.claim);
        if (claim && d.onDestroy === 'delete-data') await cleanVolume(environment, d);
        if (claim) {
          await deleteObject(environment, { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: claim.name, namespace: d.namespace } });
          await deps.store.markResourceDeleted(claim);
          deleted.push(`PersistentVolumeClaim ${claim.name}`);
        }
        // Read before the PersistentVolume's entry is closed: it names the access point.
        const found = await accessPointOf(live, d.claim, fileSystemOf(ap.location), ap.name, environment);
        const pv = live.find((e) => e.kind === KIND.persistentVolume && e.name === d.claim);
        if (pv) {
          await deleteObject(environment, { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: pv.name } });
          await deps.store.markResourceDeleted(pv);
          deleted.push(`PersistentVolume ${pv.name}`);
        }
        if (found) {
          try {
            await efs().send(new DeleteAccessPointCommand({ AccessPointId: found.id }));
          } catch (err) {
            if (awsErrorName(err) !== 'AccessPointNotFound') throw awsError(err, `deleting EFS access point ${found.id} (${ap.name})`);
          }
        }
        await deps.store.markResourceDeleted(ap);
        deleted.push(`access point ${ap.name}`);
      }
      deps.log.info({ environment, deleted }, 'storage volumes deleted');
      return { deleted };
    },

    /**
     * Per volume: the S3 source location (bucket, prefix, the catalogue's DataSync role), the EFS
     * destination location on the volume's access point, and the task copying one to the other. The
     * copy is started by the storage-copy workflow once the environment is ready.
     */
    async createStorageCopy({ ref }: StorageInput): Promise<StorageCopyResult> {
      deps.faults?.check('createStorageCopy');
      const r = resolveEnv(deps.catalogue, ref);
      const storage = storageOf(r);
      const environment = r.env.name;
      const live = await deps.store.liveResources(environment);
      const out: VolumeCopy[] = [];
      for (const [volume, v] of Object.entries(r.project.storage)) {
        if (v.source.kind !== 's3') throw new Error(`volume ${volume}: ${v.source.raw} is not an S3 location`);
        const { bucket, prefix } = v.source;
        const directory = r.names.storageDirectory(volume);
        const accessPoint = await accessPointOf(live, r.names.volume(volume), storage.fileSystemId, directory, environment);
        if (!accessPoint) throw new Error(`the access point of ${directory} is missing; the "Storage volumes" step makes it`);
        const partition = accessPoint.arn.split(':')[1] ?? 'aws';
        // The file system the access point was made on (its ledger entry says), whatever the catalogue says now.
        const fileSystemId = fileSystemOf(live.find((e) => e.kind === KIND.accessPoint && e.name === directory)?.location ?? efsLocation(storage.fileSystemId));
        const name = r.names.storageCopyTask(volume);
        const one = (part: 'source' | 'destination' | 'task', what: string) => ({ environment, volume, part, name, what, live });
        const source = await dataSyncObject(one('source', `the DataSync location for ${v.source.raw}`), async (Tags) =>
          (await dataSync().send(new CreateLocationS3Command({
            S3BucketArn: `arn:${partition}:s3:::${bucket}`,
            Subdirectory: `/${prefix}`,
            S3Config: { BucketAccessRoleArn: storage.dataSyncRoleArn },
            Tags,
          }))).LocationArn);
        const destination = await dataSyncObject(one('destination', `the DataSync location for ${directory}`), async (Tags) =>
          (await dataSync().send(new CreateLocationEfsCommand({
            EfsFilesystemArn: accessPoint.arn.replace(/:access-point\/[^:]+$/, `:file-system/${fileSystemId}`),
            AccessPointArn: accessPoint.arn,
            // The access point's root directory: DataSync writes as its user, like the Pods do.
            Subdirectory: '/',
            InTransitEncryption: 'TLS1_2',
            Ec2Config: { SubnetArn: storage.subnetArn, SecurityGroupArns: storage.securityGroupArns },
            Tags,
          }))).LocationArn);
        deps.faults?.check('createStorageCopy:task');
        await dataSyncObject(one('task', `the DataSync task ${name}`), async (Tags) =>
          (await dataSync().send(new CreateTaskCommand({
            Name: name,
            SourceLocationArn: source,
            DestinationLocationArn: destination,
            // Changed files only, and never delete what the environment wrote since; owners come from the access point.
            Options: { TransferMode: 'CHANGED', OverwriteMode: 'ALWAYS', PreserveDeletedFiles: 'PRESERVE', VerifyMode: 'ONLY_FILES_TRANSFERRED', Uid: 'NONE', Gid: 'NONE', PosixPermissions: 'NONE' },
            Tags,
          }))).TaskArn);
        out.push({ volume, source: v.source.raw, state: 'copying' });
      }
      deps.log.info({ environment, volumes: out.map((c) => c.volume) }, 'storage copy tasks created');
      return { volumes: out };
    },

    /** Stops a running copy and deletes every DataSync task and location the ledger holds, newest first. Needs no catalogue. */
    async deleteStorageCopy({ ref }: StorageInput): Promise<DeleteStorageResult> {
      const environment = ref.environment;
      const live = await deps.store.liveResources(environment);
      const made = live.filter((e) => e.kind === KIND.arn);
      const deleted: string[] = [];
      for (const e of [...made].reverse()) {
        const kind = e.details?.kind === 'task' ? 'task' : 'location';
        await deleteDataSyncObject(kind, e.name);
        await deps.store.markResourceDeleted(e);
        deleted.push(`datasync ${kind} ${String(e.details?.object)}`);
      }
      for (const intent of live.filter((e) => e.kind === KIND.location || e.kind === KIND.task)) {
        // Recorded, and maybe made, but its ARN never reached the ledger: look for it by its tags.
        if (!made.some((m) => m.details?.object === intent.name)) {
          const kind = intent.kind === KIND.task ? 'task' : 'location';
          const arn = await findTagged(kind, environment, intent.name).catch((err: unknown) => {
            throw awsError(err, `looking for the DataSync ${kind} ${intent.name} of ${environment} by its tags`);
          });
          if (arn) await deleteDataSyncObject(kind, arn);
        }
        await deps.store.markResourceDeleted(intent);
      }
      deps.log.info({ environment, deleted }, 'storage copy tasks deleted');
      return { deleted };
    },

    /** Starts the volume's copy, or returns the one running (a retried start runs one copy, not two). */
    async startStorageCopy({ ref, volume }: StorageCopyInput): Promise<StartCopyResult> {
      deps.faults?.check('startStorageCopy');
      const task = await taskOf(ref.environment, volume);
      if (!task) return {};
      try {
        const current = await dataSync().send(new DescribeTaskCommand({ TaskArn: task }));
        if (current.CurrentTaskExecutionArn && (current.Status === 'RUNNING' || current.Status === 'QUEUED')) return { execution: current.CurrentTaskExecutionArn };
        const started = await dataSync().send(new StartTaskExecutionCommand({ TaskArn: task }));
        deps.log.info({ environment: ref.environment, volume, execution: started.TaskExecutionArn }, 'storage copy started');
        return { execution: started.TaskExecutionArn! };
      } catch (err) {
        // A destroy deleted the task between the ledger read and the start: the copy is over.
        if (isNotFound(err)) return {};
        throw awsError(err, `starting the copy of volume ${volume} of ${ref.environment}`);
      }
    },

    /**
     * The ready environments whose volumes are filled from `source` (the catalogue says which volumes
     * of which projects; the store which environments are ready; the ledger that each has the volume's
     * copy task), and where their projects talk.
     */
    async storageSourceUsers({ source }: { source: StorageSource }): Promise<SourceUsersResult> {
      const { catalogue } = deps.catalogue;
      const users: SourceUser[] = [];
      const channels: Record<string, ChatTarget[]> = {};
      for (const [name, project] of Object.entries(catalogue.projects)) {
        const volumes = volumesUsing(project, source);
        if (!volumes.length) continue;
        for (const record of await deps.store.listEnvironments(name)) {
          if (record.state !== 'ready') continue;
          const live = await deps.store.liveResources(record.name);
          const withTask = volumes.filter((volume) => live.some((e) => e.kind === KIND.arn && e.details?.object === objectName(record.name, volume, 'task')));
          if (!withTask.length) continue;
          users.push({ ref: { environment: record.name, project: name, stage: record.stage, ...(record.suffix ? { suffix: record.suffix } : {}) }, volumes: withTask });
        }
        // The summary goes where the project's other news goes: its channels and its subscribers, each once.
        if (users.some((u) => u.ref.project === name)) channels[name] = await projectTargets(deps, name);
      }
      deps.log.info({ source: source.raw, environments: users.map((u) => u.ref.environment) }, 'environments using a changed S3 source');
      return { users, channels };
    },

    /** How far the volume's copy is: DataSync's status and the files and bytes moved so far. */
    async storageCopyStatus({ ref, volume, execution }: StorageCopyInput): Promise<CopyStatusResult> {
      const task = await taskOf(ref.environment, volume);
      // The environment was destroyed (and maybe made again, with another task): this copy is over.
      if (!task || !execution?.startsWith(`${task}/`)) return { volume, state: 'failed', status: 'gone', error: 'the environment was destroyed' };
      let d;
      try {
        d = await dataSync().send(new DescribeTaskExecutionCommand({ TaskExecutionArn: execution }));
      } catch (err) {
        throw awsError(err, `reading the copy of volume ${volume} of ${ref.environment}`);
      }
      const status = d.Status ?? 'UNKNOWN';
      const counts = {
        ...(d.FilesTransferred !== undefined ? { files: d.FilesTransferred } : {}),
        ...(d.BytesTransferred !== undefined ? { bytes: d.BytesTransferred } : {}),
        ...(d.EstimatedFilesToTransfer !== undefined ? { totalFiles: d.EstimatedFilesToTransfer } : {}),
        ...(d.EstimatedBytesToTransfer !== undefined ? { totalBytes: d.EstimatedBytesToTransfer } : {}),
      };
      // The copy's duration, once, when this look finds it ended (the workflow stops looking then).
      const took = () => (d.StartTime ? (Date.now() - d.StartTime.getTime()) / 1000 : undefined);
      if (status === 'SUCCESS') {
        const s = took();
        if (s !== undefined) deps.metrics?.copyDuration.observe({ result: 'success' }, s);
        return { volume, state: 'copied', status, ...counts };
      }
      if (status === 'ERROR') {
        // A destroy cancels the running copy before it deletes the task: that is not a failed copy.
        const state = (await deps.store.getEnvironment(ref.environment))?.state;
        if (state === 'destroying' || state === 'destroyed') return { volume, state: 'failed', status: 'gone', error: 'the environment was destroyed' };
        const error = [d.Result?.ErrorCode, d.Result?.ErrorDetail].filter(Boolean).join(': ') || 'DataSync reported an error';
        const s = took();
        if (s !== undefined) deps.metrics?.copyDuration.observe({ result: 'error' }, s);
        return { volume, state: 'failed', status, ...counts, error };
      }
      return { volume, state: 'copying', status, ...counts };
    },
  };
}

export type StorageActivities = ReturnType<typeof createStorageActivities>;
