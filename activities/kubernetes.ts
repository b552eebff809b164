// kubernetes: the environment's namespace, its credentials Secret and the objects rendered from the
// project's templates. Everything is labelled, server-side applied under one field manager
// ("envbot") and written to the ledger before it is made, so destroy and compensation find it.
// Secret values never leave this module: results and logs carry key names only.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { heartbeat } from '@temporalio/activity';
import {
  ApiException,
  CoreV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
  type V1Namespace,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { templateAt, trackedSource } from '../shared/catalogue/tracked.js';
import { CatalogueError, ConflictError, EnvbotError, NotFoundError, type CatalogueProblem } from '../shared/errors.js';
import type { DeploymentWhy } from '../shared/store/store.js';
import { environmentName, namesFor } from '../shared/names.js';
import type { EnvRef } from '../shared/model.js';
import type { ServiceRun } from '../shared/chat.js';
import { environmentCredentials } from './credentials.js';
import type { ActivityDeps } from './deps.js';
import { resolveEnv, type ResolvedEnv } from './environment.js';
import { createBranches, sourcePath, sourcesOf, withSourceNames } from './sources/index.js';
import { render, serviceVars } from './render.js';

export interface KubernetesInput {
  ref: EnvRef;
}

export interface NamespaceResult {
  namespace: string;
}

export interface CredentialsResult {
  /** The Secret's name. */
  secret: string;
  /** Key names in the Secret, never their values. */
  keys: string[];
}

export interface ManifestsResult {
  /** `Kind/name` of each object applied. */
  objects: string[];
  /** What each service follows and runs now, for the card. */
  runs?: ServiceRun[];
}

export interface ApplyTrackedServiceInput {
  ref: EnvRef;
  service: string;
  /** The branch the service must still follow (else nothing is applied). */
  branch: string;
  /** The commit to render from. */
  commit: string;
  why: DeploymentWhy;
  /** Who made the change (the pusher), as history shows it. */
  who: string;
}

/** `/env track`: moves one service of a ready environment to another branch and applies its head. */
export interface TrackServiceInput {
  ref: EnvRef;
  service: string;
  /** The branch to follow; null: the service's default branch (the ref in its template location). */
  branch: string | null;
  /** Who asked, as history shows it. */
  who: string;
}

export interface TrackServiceResult {
  environment: string;
  service: string;
  branch: string;
  commit: string;
  image: string | null;
  /** What it followed and ran before. */
  before: { branch: string | null; commit: string | null };
}

export type ApplyTrackedServiceResult =
  | { environment: string; service: string; commit: string; objects: string[]; image?: string }
  | { environment: string; service: string; skipped: string };

export interface DeletedResult {
  /** `Kind/name` of each object deleted (or found already gone). */
  deleted: string[];
}

export interface DeleteCredentialsResult {
  /** The Secrets deleted (or found already gone); none when the ledger holds none. */
  secrets: string[];
}

export interface DeleteNamespaceResult {
  namespace: string;
  /**
   * `gone` when the API server no longer has it; `Terminating` while its finalizer runs;
   * `not-managed` when a namespace of that name exists but is not envbot's (left untouched).
   */
  phase: 'gone' | 'Terminating' | 'not-managed';
}

/** How long a namespace delete waits for the namespace controller to finish (it takes seconds when nothing holds it). */
const NAMESPACE_GONE_WAIT_MS = 120_000;

/** The one field manager of everything envbot applies. */
export const FIELD_MANAGER = 'envbot';
export const ENV_LABEL = 'envbot.io/environment';
/** On each applied object: the catalogue service whose template made it (the rollout wait groups by it). */
export const SERVICE_LABEL = 'envbot.io/service';
const NAMESPACE_LOCATION = 'kubernetes';

export const objectLocation = (namespace: string) => `kubernetes/${namespace}`;

/** Ledger name of an applied object: `apiVersion|kind|name` (none of the three holds a '|'). */
export function objectLedgerName(apiVersion: string, kind: string, name: string): string {
  return `${apiVersion}|${kind}|${name}`;
}

export function parseObjectLedgerName(text: string): { apiVersion: string; kind: string; name: string } {
  const [apiVersion, kind, name, ...rest] = text.split('|');
  if (!apiVersion || !kind || !name || rest.length) throw new Error(`ledger entry "${text}" is not apiVersion|kind|name`);
  return { apiVersion, kind, name };
}

/** A Kubernetes API call that failed in a way retrying may fix (5xx, connection, conflict). */
export class KubernetesApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'KubernetesApiError';
  }
}

interface ApiFailure {
  status?: number;
  reason?: string;
  message: string;
}

/** What the API server said, without the headers and raw body ApiException's message carries. */
function failureOf(err: unknown): ApiFailure {
  if (err instanceof ApiException) {
    const status = (err as ApiException<unknown>).code;
    const body: unknown = (err as ApiException<unknown>).body;
    let parsed: { reason?: unknown; message?: unknown } | undefined;
    if (typeof body === 'string') {
      try {
        parsed = JSON.parse(body) as typeof parsed;
      } catch {
        parsed = { message: body.slice(0, 500) };
      }
    } else if (body && typeof body === 'object') {
      parsed = body as typeof parsed;
    }
    return {
      status,
      ...(typeof parsed?.reason === 'string' ? { reason: parsed.reason } : {}),
      message: typeof parsed?.message === 'string' ? parsed.message : `HTTP ${status}`,
    };
  }
  const e = err as { message?: unknown; cause?: { code?: unknown; message?: unknown } };
  const cause = e.cause ? ` (${String(e.cause.code ?? e.cause.message ?? '')})` : '';
  return { message: `${String(e.message ?? err)}${cause}` };
}

export function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? (err as ApiException<unknown>).code : undefined;
}

/** Replaces every secret value (and its base64 form) in `text`, so an error never carries one. */
function redact(text: string, values: readonly string[]): string {
  let out = text;
  for (const v of values) {
    if (v.length < 4) continue;
    for (const form of [v, Buffer.from(v).toString('base64')]) out = out.split(form).join('[redacted]');
  }
  return out;
}

/** Rethrows with HTTP context: what was being done, the status code and the server's reason. */
export function apiError(err: unknown, what: string, secrets: readonly string[] = []): Error {
  if (err instanceof EnvbotError) return err;
  const f = failureOf(err);
  const status = f.status === undefined ? '' : ` (HTTP ${f.status}${f.reason ? ` ${f.reason}` : ''})`;
  return new KubernetesApiError(redact(`${what} failed${status}: ${f.message}`, secrets), f.status);
}

/** KubernetesObjectApi that also says whether a kind is namespaced (templates may hold only those). */
export class ObjectApi extends KubernetesObjectApi {
  async namespaced(apiVersion: string, kind: string): Promise<boolean | undefined> {
    try {
      return (await this.resource(apiVersion, kind))?.namespaced;
    } catch (err) {
      if (statusOf(err) === 404) return undefined; // no such API group/version on this cluster
      throw err;
    }
  }
}

interface RenderedObject {
  file: string;
  service: string;
  object: KubernetesObject & { apiVersion: string; kind: string; metadata: { name: string } };
}

/** The first container image of the first workload among `objects` (what a service runs), if any. */
export function workloadImage(objects: readonly KubernetesObject[]): string | null {
  for (const o of objects) {
    const spec = (o as { spec?: { template?: { spec?: { containers?: { image?: unknown }[] } }; jobTemplate?: { spec?: { template?: { spec?: { containers?: { image?: unknown }[] } } } } } }).spec;
    const containers = spec?.template?.spec?.containers ?? spec?.jobTemplate?.spec?.template?.spec?.containers;
    const image = containers?.find((c) => typeof c.image === 'string')?.image;
    if (typeof image === 'string') return image;
  }
  return null;
}

export function createKubernetesActivities(deps: ActivityDeps) {
  const core = deps.kube.makeApiClient(CoreV1Api);
  const objects = deps.kube.makeApiClient(ObjectApi);

  /** Where a service's template is read from in `r`, at which commit, following which branch (none: not tracked). */
  async function templateOf(r: ResolvedEnv, service: string, branch: string | undefined, commit?: string): Promise<{ file: string; commit: string | null }> {
    const svc = r.project.services[service]!;
    const where = `projects.${r.env.project}.services.${service}.template`;
    const loc = templateAt(svc, branch ?? (svc.template.kind === 'git' ? svc.template.ref : ''));
    if (loc.kind !== 'git') return { file: await sourcePath(deps, r, loc, where), commit: null };
    const sources = sourcesOf(deps);
    const version = commit ?? (await deps.store.getEnvironment(r.env.name))?.sources[loc.raw]?.version ?? (await sources.resolve(loc, where));
    return { file: await sources.path(loc, version, where), commit: version };
  }

  /** Renders and parses one service's template file; `seen` catches an object two templates define. */
  async function renderService(r: ResolvedEnv, service: string, file: string, seen = new Map<string, string>()): Promise<RenderedObject[]> {
    const out: RenderedObject[] = [];
    const text = render(r, await readFile(file, 'utf8'), serviceVars(r, service), file);
    const docs = parseAllDocuments(text);
    if (!Array.isArray(docs)) return out; // an empty file: nothing to apply
    for (const [i, doc] of docs.entries()) {
      if (doc.errors.length) {
        throw new CatalogueError(
          file,
          doc.errors.map((e) => ({ path: `document ${i + 1}`, problem: `not valid YAML once rendered: ${e.message.split('\n')[0]}`, ...(e.linePos ? { line: e.linePos[0].line } : {}) })),
        );
      }
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) continue; // a comment-only document
      const problems: CatalogueProblem[] = [];
      const o = value as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } };
      if (typeof value !== 'object' || Array.isArray(value)) problems.push({ path: `document ${i + 1}`, problem: 'is not a Kubernetes object (a mapping with apiVersion, kind and metadata.name)' });
      else {
        if (typeof o.apiVersion !== 'string' || o.apiVersion.includes('|')) problems.push({ path: `document ${i + 1}.apiVersion`, problem: 'is missing; write e.g. "apps/v1"' });
        if (typeof o.kind !== 'string' || o.kind.includes('|')) problems.push({ path: `document ${i + 1}.kind`, problem: 'is missing; write e.g. "Deployment"' });
        if (typeof o.metadata?.name !== 'string' || o.metadata.name.includes('|')) problems.push({ path: `document ${i + 1}.metadata.name`, problem: 'is missing' });
      }
      if (problems.length) throw new CatalogueError(file, problems);
      const object = value as RenderedObject['object'];
      const id = `${object.kind}/${object.metadata.name}`;
      const other = seen.get(`${object.apiVersion}|${id}`);
      if (other) throw new CatalogueError(file, [{ path: id, problem: `is also defined in ${other}; each object must come from one template` }]);
      seen.set(`${object.apiVersion}|${id}`, file);
      out.push({ file, service, object });
    }
    return out;
  }

  /** What each service of a new environment follows and was rendered from, by service. */
  type Renderings = Map<string, { branch: string | null; commit: string | null }>;

  /**
   * Renders and parses every service template (a service that follows a branch: from the branch the
   * create asked for, or its default); nothing is applied until all of them are valid.
   */
  async function renderTemplates(r: ResolvedEnv, renderings: Renderings): Promise<RenderedObject[]> {
    const out: RenderedObject[] = [];
    const seen = new Map<string, string>();
    const branches = createBranches((await deps.store.getEnvironment(r.env.name))?.spec);
    for (const [service, svc] of Object.entries(r.project.services)) {
      const tracked = trackedSource(svc);
      const branch = tracked ? (branches[service] ?? tracked.defaultBranch) : null;
      const { file, commit } = await templateOf(r, service, branch ?? undefined);
      renderings.set(service, { branch, commit });
      out.push(...(await renderService(r, service, file, seen)));
    }
    return out;
  }

  /** Checks, records in the ledger, then server-side applies `rendered` in the environment's namespace. */
  async function applyRendered(r: ResolvedEnv, rendered: RenderedObject[]): Promise<string[]> {
    const namespace = r.names.namespace;
    for (const { file, object } of rendered) {
      let namespaced: boolean | undefined;
      try {
        namespaced = await objects.namespaced(object.apiVersion, object.kind);
      } catch (err) {
        throw apiError(err, `looking up ${object.apiVersion} ${object.kind}`);
      }
      const id = `${object.kind}/${object.metadata.name}`;
      if (namespaced === undefined) throw new CatalogueError(file, [{ path: id, problem: `the cluster has no kind ${object.kind} in ${object.apiVersion}` }]);
      if (!namespaced) {
        throw new CatalogueError(file, [{ path: id, problem: `${object.kind} is cluster-scoped; templates may hold only objects that live in the environment's namespace` }]);
      }
    }
    // Every object is checked, then recorded, before any is applied: one of another environment stops the create with nothing touched.
    for (const { object: o } of rendered) await refuseOthers(r, { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace });
    await deps.store.recordResources(rendered.map(({ object: o }) => ({ environment: r.env.name, kind: 'k8s-object', name: objectLedgerName(o.apiVersion, o.kind, o.metadata.name), location: objectLocation(namespace) })));
    const applied: string[] = [];
    for (const { file, service, object } of rendered) {
      const id = `${object.kind}/${object.metadata.name}`;
      object.metadata.namespace = namespace;
      object.metadata.labels = { ...(object.metadata.labels ?? {}), ...r.names.labels, [SERVICE_LABEL]: service };
      try {
        await objects.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
      } catch (err) {
        const status = statusOf(err);
        if (status === 400 || status === 422) {
          // The template made an object the API server refuses: fix the template, retrying cannot help.
          throw new CatalogueError(file, [{ path: id, problem: `rejected by the Kubernetes API (HTTP ${status}): ${failureOf(err).message}` }]);
        }
        throw apiError(err, `applying ${id} (from ${file}) in namespace ${namespace}`);
      }
      applied.push(id);
      heartbeat(id);
    }
    return applied;
  }

  async function readNamespace(name: string): Promise<V1Namespace | undefined> {
    try {
      return await core.readNamespace({ name });
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw apiError(err, `reading Namespace ${name}`);
    }
  }

  /**
   * A forced server-side apply takes over whatever has the object's name: one that carries another
   * environment's label is a ConflictError. (An unlabelled one in the environment's own namespace,
   * such as the `default` ServiceAccount, may be applied over.)
   */
  async function refuseOthers(r: ResolvedEnv, o: { apiVersion: string; kind: string; name: string; namespace: string }): Promise<void> {
    let existing: KubernetesObject | undefined;
    try {
      existing = await objects.read({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.name, namespace: o.namespace } });
    } catch (err) {
      if (statusOf(err) !== 404) throw apiError(err, `reading ${o.kind}/${o.name} in namespace ${o.namespace}`);
    }
    const holder = existing?.metadata?.labels?.[ENV_LABEL];
    if (holder !== undefined && holder !== r.env.name) {
      throw new ConflictError(
        `${o.kind}/${o.name} in namespace ${o.namespace} belongs to environment ${holder} (label ${ENV_LABEL}), so ${r.env.name} leaves it alone and stops; remove it or rename it in the template.`,
      );
    }
  }

  /** The namespace of a ledger entry's location (`kubernetes/<namespace>`). */
  const namespaceOf = (location: string) => location.slice(objectLocation('').length);

  /** Deletes every object the ledger holds for `environment` (in `namespace` only, when given), newest first. */
  async function deleteManifests(environment: string, namespace?: string): Promise<DeletedResult> {
    const live = (await deps.store.liveResources(environment)).filter((e) => e.kind === 'k8s-object' && (!namespace || e.location === objectLocation(namespace)));
    const deleted: string[] = [];
    // Newest first: the reverse of the order they were applied in.
    for (const entry of [...live].reverse()) {
      const { apiVersion, kind, name } = parseObjectLedgerName(entry.name);
      const ns = namespaceOf(entry.location);
      try {
        await objects.delete({ apiVersion, kind, metadata: { name, namespace: ns } }, undefined, undefined, undefined, undefined, 'Background');
      } catch (err) {
        const unknownKind = err instanceof Error && err.message.startsWith('Unrecognized API version and kind');
        // 404: already gone. An unknown kind (its CRD was removed) means its objects went with it.
        if (statusOf(err) !== 404 && !unknownKind) throw apiError(err, `deleting ${kind}/${name} in namespace ${ns}`);
      }
      await deps.store.markResourceDeleted(entry);
      deleted.push(`${kind}/${name}`);
      heartbeat(`${kind}/${name}`);
    }
    deps.log.info({ environment, objects: deleted }, 'kubernetes objects deleted');
    return { deleted };
  }

  /** Deletes the credentials Secret(s) the ledger holds for `environment` (in `namespace` only, when given). */
  async function deleteCredentials(environment: string, namespace?: string): Promise<DeleteCredentialsResult> {
    const live = (await deps.store.liveResources(environment)).filter((e) => e.kind === 'k8s-secret' && (!namespace || e.location === objectLocation(namespace)));
    for (const entry of live) {
      const secret = entry.name;
      const ns = namespaceOf(entry.location);
      try {
        const current = await core.readNamespacedSecret({ name: secret, namespace: ns });
        if (current.metadata?.labels?.[ENV_LABEL] === environment) {
          // The uid precondition: delete exactly the Secret read, never one made since by someone else.
          await core.deleteNamespacedSecret({ name: secret, namespace: ns, body: { preconditions: { uid: current.metadata.uid } } });
        } else {
          deps.log.warn({ environment, namespace: ns, secret }, 'secret is not managed by envbot: left alone');
        }
      } catch (err) {
        if (statusOf(err) !== 404) throw apiError(err, `deleting Secret ${secret} in namespace ${ns}`);
      }
      await deps.store.markResourceDeleted(entry);
    }
    deps.log.info({ environment, secrets: live.map((e) => e.name) }, 'kubernetes secret deleted');
    return { secrets: live.map((e) => e.name) };
  }

  /** Whether the namespace is gone, looking once a second for up to NAMESPACE_GONE_WAIT_MS. */
  async function namespaceGone(namespace: string): Promise<boolean> {
    const until = Date.now() + NAMESPACE_GONE_WAIT_MS;
    for (;;) {
      if (!(await readNamespace(namespace))) return true;
      if (Date.now() >= until) return false;
      heartbeat(`waiting for namespace ${namespace} to be gone`);
      await sleep(1000);
    }
  }

  return {
    /** The environment's namespace, labelled as envbot's; one that exists already must be ours. */
    async createNamespace({ ref }: KubernetesInput): Promise<NamespaceResult> {
      deps.faults?.check('createNamespace');
      const r = resolveEnv(deps.catalogue, ref);
      const namespace = r.names.namespace;
      const entry = { environment: r.env.name, kind: 'k8s-namespace', name: namespace, location: NAMESPACE_LOCATION };
      await deps.store.recordResource(entry);
      const labels = { ...r.names.labels, 'envbot.io/project': r.env.project, 'envbot.io/stage': r.env.stage };
      try {
        await core.createNamespace({ body: { metadata: { name: namespace, labels } }, fieldManager: FIELD_MANAGER });
        deps.log.info({ environment: r.env.name, namespace }, 'namespace created');
        return { namespace };
      } catch (err) {
        if (statusOf(err) !== 409) throw apiError(err, `creating Namespace ${namespace}`);
      }
      const existing = await readNamespace(namespace);
      if (!existing) throw new KubernetesApiError(`Namespace ${namespace} was reported to exist but is gone; retrying`);
      const ours = existing.metadata?.labels?.[ENV_LABEL] === r.env.name;
      // Not ours: the ledger must not lead a later destroy to delete it.
      if (!ours) await deps.store.markResourceDeleted(entry);
      if (existing.status?.phase === 'Terminating' || existing.metadata?.deletionTimestamp) {
        throw new ConflictError(`namespace ${namespace} is still being deleted (Terminating); wait until it is gone, or use another suffix`);
      }
      if (!ours) {
        throw new ConflictError(
          `namespace ${namespace} exists and is not managed by envbot (it has no ${ENV_LABEL}=${r.env.name} label); delete or rename it, or use another suffix`,
        );
      }
      deps.log.info({ environment: r.env.name, namespace }, 'namespace already exists');
      return { namespace };
    },

    /** The Secret with every credential of the environment, server-side applied (keys no longer made are removed). */
    async applyCredentials({ ref }: KubernetesInput): Promise<CredentialsResult> {
      deps.faults?.check('applyCredentials');
      const r = resolveEnv(deps.catalogue, ref);
      const secret = r.names.kubernetesSecret;
      const namespace = r.names.namespace;
      const data = await environmentCredentials(deps, r);
      const keys = [...data.keys()].sort();
      const values = [...data.values()];
      await refuseOthers(r, { apiVersion: 'v1', kind: 'Secret', name: secret, namespace });
      await deps.store.recordResource({ environment: r.env.name, kind: 'k8s-secret', name: secret, location: objectLocation(namespace) });
      const body = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: secret, namespace, labels: { ...r.names.labels } },
        type: 'Opaque',
        data: Object.fromEntries(keys.map((k) => [k, Buffer.from(data.get(k)!).toString('base64')])),
      };
      try {
        await objects.patch(body, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
      } catch (err) {
        throw apiError(err, `applying Secret ${secret} in namespace ${namespace}`, values);
      }
      deps.log.info({ environment: r.env.name, namespace, secret, keys }, 'credentials secret applied');
      return { secret, keys };
    },

    /**
     * Renders each service's template (a service that follows a branch: from the branch the create
     * asked for, or its default) and server-side applies its objects in the namespace; records what
     * each service follows and runs, and a deployment (why: create).
     */
    async applyManifests({ ref }: KubernetesInput): Promise<ManifestsResult> {
      deps.faults?.check('applyManifests');
      const r = resolveEnv(deps.catalogue, ref);
      const renderings: Renderings = new Map();
      const rendered = await withSourceNames(deps, () => renderTemplates(r, renderings));
      const applied = await applyRendered(r, rendered);
      const who = (await deps.store.getEnvironment(r.env.name))?.createdBy ?? 'envbot';
      const runs: ServiceRun[] = [];
      for (const [service, { branch, commit }] of renderings) {
        const image = workloadImage(rendered.filter((o) => o.service === service).map((o) => o.object));
        const tracked = trackedSource(r.project.services[service]!);
        runs.push({ service, branch, commit, image, ...(tracked ? { defaultBranch: tracked.defaultBranch } : {}) });
      }
      await deps.store.deployments.record(...runs.map(({ service, branch, commit, image }) => ({ environment: r.env.name, service, branch, commit, image, why: 'create' as const, who })));
      deps.log.info({ environment: r.env.name, namespace: r.names.namespace, objects: applied }, 'kubernetes objects applied');
      return { objects: applied, runs };
    },

    /**
     * Renders one service that follows `branch` from `commit` and server-side applies it (a push):
     * records the deployment. Skipped when the environment is not ready or the service follows
     * another branch now (moved since the push was matched).
     */
    async applyTrackedService(input: ApplyTrackedServiceInput): Promise<ApplyTrackedServiceResult> {
      deps.faults?.check('applyTrackedService');
      const { ref, service, branch, commit, why, who } = input;
      const r = resolveEnv(deps.catalogue, ref);
      const svc = r.project.services[service];
      if (!svc || !trackedSource(svc)) throw new NotFoundError(`service "${service}" of project ${r.env.project} does not follow a branch (its template is not in git)`);
      const record = await deps.store.getEnvironment(r.env.name);
      const now = (await deps.store.deployments.of(r.env.name)).find((d) => d.service === service);
      if (record?.state !== 'ready') return { environment: r.env.name, service, skipped: `the environment is ${record?.state ?? 'gone'}` };
      if (now?.branch !== branch) return { environment: r.env.name, service, skipped: `${service} follows ${now?.branch ?? 'no branch'} now` };
      if (now.commit === commit) return { environment: r.env.name, service, skipped: `already at ${commit.slice(0, 7)}` };
      const rendered = await withSourceNames(deps, async () => renderService(r, service, (await templateOf(r, service, branch, commit)).file));
      const applied = await applyRendered(r, rendered);
      const image = workloadImage(rendered.map((o) => o.object));
      await deps.store.deployments.record({ environment: r.env.name, service, branch, commit, image, why, who });
      deps.log.info({ environment: r.env.name, service, branch, commit, objects: applied }, 'service applied from its branch');
      return { environment: r.env.name, service, commit, objects: applied, ...(image ? { image } : {}) };
    },

    /**
     * `/env track`: renders one service from the head of another branch (null: its default one),
     * server-side applies it, and records that it follows that branch now (why: manual). A branch
     * that does not exist fails before anything is applied, and the service keeps what it followed.
     */
    async trackService({ ref, service, branch, who }: TrackServiceInput): Promise<TrackServiceResult> {
      deps.faults?.check('trackService');
      const r = resolveEnv(deps.catalogue, ref);
      const svc = r.project.services[service];
      const source = svc ? trackedSource(svc) : undefined;
      if (!svc || !source) throw new NotFoundError(`service "${service}" of project ${r.env.project} does not follow a branch (its template is not in git)`);
      const record = await deps.store.getEnvironment(r.env.name);
      if (record?.state !== 'ready') throw new ConflictError(`${r.env.name} is ${record?.state ?? 'gone'}; a service can move to another branch when the environment is ready.`);
      const target = branch ?? source.defaultBranch;
      const before = (await deps.store.deployments.of(r.env.name)).find((d) => d.service === service);
      const loc = templateAt(svc, target);
      if (loc.kind !== 'git') throw new NotFoundError(`service "${service}" does not follow a branch`);
      const where = `projects.${r.env.project}.services.${service}.template`;
      const commit = await sourcesOf(deps).resolve(loc, where);
      const rendered = await withSourceNames(deps, async () => renderService(r, service, (await templateOf(r, service, target, commit)).file));
      await applyRendered(r, rendered);
      const image = workloadImage(rendered.map((o) => o.object));
      await deps.store.deployments.record({ environment: r.env.name, service, branch: target, commit, image, why: 'manual', who });
      deps.log.info({ environment: r.env.name, service, branch: target, commit, who }, 'service moved to a branch');
      return { environment: r.env.name, service, branch: target, commit, image, before: { branch: before?.branch ?? null, commit: before?.commit ?? null } };
    },

    /** Deletes every object the ledger says envbot applied (already gone is fine); needs no catalogue. */
    async deleteManifests({ ref }: KubernetesInput): Promise<DeletedResult> {
      return deleteManifests(ref.environment);
    },

    async deleteCredentials({ ref }: KubernetesInput): Promise<DeleteCredentialsResult> {
      return deleteCredentials(ref.environment);
    },

    /**
     * Deletes what envbot applied, then the namespace, and waits (up to NAMESPACE_GONE_WAIT_MS) until
     * the namespace controller has emptied and removed it, so the name can be made again at once.
     * The objects go first, in the ledger's order, so a namespace whose controller is slow still loses
     * what envbot made. `Terminating` when it was still being deleted at the end of the wait (a
     * finalizer of another controller holds it).
     */
    async deleteNamespace({ ref }: KubernetesInput): Promise<DeleteNamespaceResult> {
      const environment = ref.environment;
      const entries = (await deps.store.liveResources(environment)).filter((e) => e.kind === 'k8s-namespace' && e.location === NAMESPACE_LOCATION);
      let phase: DeleteNamespaceResult['phase'] = 'gone';
      for (const entry of entries) {
        const namespace = entry.name;
        const existing = await readNamespace(namespace);
        if (existing && existing.metadata?.labels?.[ENV_LABEL] !== environment) {
          // Someone else's namespace of the same name (createNamespace refused it, and this runs as its
          // undo): envbot made nothing in it and leaves it alone.
          await deps.store.markResourceDeleted(entry);
          deps.log.warn({ environment, namespace }, 'namespace is not managed by envbot: left alone');
          phase = 'not-managed';
          continue;
        }
        await deleteManifests(environment, namespace);
        await deleteCredentials(environment, namespace);
        if (existing) {
          try {
            await core.deleteNamespace({ name: namespace, propagationPolicy: 'Background' });
          } catch (err) {
            // 404: gone already; 409: already being deleted.
            if (statusOf(err) !== 404 && statusOf(err) !== 409) throw apiError(err, `deleting Namespace ${namespace}`);
          }
        }
        await deps.store.markResourceDeleted(entry);
        phase = (await namespaceGone(namespace)) ? 'gone' : 'Terminating';
        deps.log.info({ environment, namespace, phase }, 'namespace deleted');
      }
      if (entries.length === 0) {
        // Nothing of ours to delete; say what is there under the environment's name, touching nothing.
        const namespace = namesFor(environmentName(ref.project, ref.stage, ref.suffix), deps.catalogue.catalogue.baseDomain).namespace;
        const existing = await readNamespace(namespace);
        return { namespace, phase: !existing ? 'gone' : existing.metadata?.labels?.[ENV_LABEL] !== environment ? 'not-managed' : 'Terminating' };
      }
      return { namespace: entries[0]!.name, phase };
    },
  };
}

export type KubernetesActivities = ReturnType<typeof createKubernetesActivities>;
