// monitoring: the environment's ServiceMonitors, PrometheusRule and Grafana dashboard ConfigMap
// (monitoring-objects.ts renders them), made after the services (the availability alerts name
// their Deployments and StatefulSets). Each object is recorded in the ledger before it is
// server-side applied; the delete reads only the ledger.
import { heartbeat } from '@temporalio/activity';
import { AppsV1Api, PatchStrategy } from '@kubernetes/client-node';
import { CatalogueError } from '../shared/errors.js';
import type { EnvRef } from '../shared/model.js';
import type { ActivityDeps } from './deps.js';
import { resolveEnv } from './environment.js';
import { apiError, ENV_LABEL, ObjectApi, FIELD_MANAGER, objectLedgerName, objectLocation, parseObjectLedgerName, SERVICE_LABEL, statusOf } from './kubernetes.js';
import { MONITORING_API, monitoringObjects, type Workloads } from './monitoring-objects.js';

export interface MonitoringInput {
  ref: EnvRef;
}

export interface MonitoringResult {
  /** `Kind/name` of each object applied. */
  objects: string[];
}

export interface DeleteMonitoringResult {
  /** `Kind/name` of each object deleted (or found already gone). */
  deleted: string[];
}

/** The ledger kind of a monitoring object (name `apiVersion|kind|name`, location `kubernetes/<namespace>`). */
export const MONITORING_KIND = 'k8s-monitoring';

export function createMonitoringActivities(deps: ActivityDeps) {
  const objects = deps.kube.makeApiClient(ObjectApi);
  const apps = deps.kube.makeApiClient(AppsV1Api);

  /** Each service's Deployments and StatefulSets, as the services step applied them. */
  async function workloadsOf(namespace: string, services: string[]): Promise<Workloads> {
    try {
      const [d, s] = await Promise.all([apps.listNamespacedDeployment({ namespace, labelSelector: SERVICE_LABEL }), apps.listNamespacedStatefulSet({ namespace, labelSelector: SERVICE_LABEL })]);
      const out: Workloads = Object.fromEntries(services.map((x) => [x, { deployments: [], statefulSets: [] }]));
      for (const i of d.items) out[i.metadata!.labels![SERVICE_LABEL]!]?.deployments.push(i.metadata!.name!);
      for (const i of s.items) out[i.metadata!.labels![SERVICE_LABEL]!]?.statefulSets.push(i.metadata!.name!);
      return out;
    } catch (err) {
      throw apiError(err, `listing the Deployments and StatefulSets of namespace ${namespace}`);
    }
  }

  /** Refuses, before anything is recorded, a cluster without prometheus-operator's kinds. */
  async function requireKinds(file: string, project: string): Promise<void> {
    for (const kind of ['ServiceMonitor', 'PrometheusRule']) {
      let namespaced: boolean | undefined;
      try {
        namespaced = await objects.namespaced(MONITORING_API, kind);
      } catch (err) {
        throw apiError(err, `looking up ${MONITORING_API} ${kind}`);
      }
      if (namespaced === undefined) {
        throw new CatalogueError(file, [
          { path: `projects.${project}.monitoring`, problem: `the cluster has no ${kind} (${MONITORING_API}): install prometheus-operator's CRDs, or write "enabled: false" to make no monitoring objects` },
        ]);
      }
    }
  }

  return {
    async createMonitoring({ ref }: MonitoringInput): Promise<MonitoringResult> {
      deps.faults?.check('createMonitoring');
      const r = resolveEnv(deps.catalogue, ref);
      const namespace = r.names.namespace;
      const file = r.catalogue.file;
      if (!r.project.monitoring?.enabled) return { objects: [] };
      await requireKinds(file, r.env.project);
      const rendered = monitoringObjects(r, await workloadsOf(namespace, Object.keys(r.project.services)), file);
      await deps.store.recordResources(rendered.map((o) => ({ environment: r.env.name, kind: MONITORING_KIND, name: objectLedgerName(o.apiVersion, o.kind, o.metadata.name), location: objectLocation(namespace) })));
      const applied: string[] = [];
      for (const o of rendered) {
        const id = `${o.kind}/${o.metadata.name}`;
        // Half-way (tests): the ServiceMonitors are applied, the rule and the dashboard are not.
        if (o.kind === 'PrometheusRule') deps.faults?.check('createMonitoring:rule');
        o.metadata.namespace = namespace;
        try {
          await objects.patch(o, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
        } catch (err) {
          const status = statusOf(err);
          if (status === 400 || status === 422) {
            // The catalogue's rules made an object the API server refuses: retrying cannot help.
            throw new CatalogueError(file, [{ path: `projects.${r.env.project}.monitoring`, problem: `${id} was rejected by the Kubernetes API (HTTP ${status}): ${apiError(err, id).message}` }]);
          }
          throw apiError(err, `applying ${id} in namespace ${namespace}`);
        }
        applied.push(id);
        heartbeat(id);
      }
      deps.log.info({ environment: r.env.name, namespace, objects: applied }, 'monitoring objects applied');
      return { objects: applied };
    },

    /** Deletes every monitoring object the ledger holds (already gone, or its kind gone from the cluster, is done). */
    async deleteMonitoring({ ref }: MonitoringInput): Promise<DeleteMonitoringResult> {
      const environment = ref.environment;
      const live = (await deps.store.liveResources(environment)).filter((e) => e.kind === MONITORING_KIND);
      const deleted: string[] = [];
      for (const entry of [...live].reverse()) {
        const { apiVersion, kind, name } = parseObjectLedgerName(entry.name);
        const namespace = entry.location.slice(objectLocation('').length);
        try {
          const existing = await objects.read({ apiVersion, kind, metadata: { name, namespace } });
          if (existing.metadata?.labels?.[ENV_LABEL] === environment) {
            await objects.delete({ apiVersion, kind, metadata: { name, namespace } }, undefined, undefined, undefined, undefined, 'Background');
          } else {
            deps.log.warn({ environment, namespace, object: `${kind}/${name}` }, 'monitoring object is not managed by envbot: left alone');
          }
        } catch (err) {
          const unknownKind = err instanceof Error && err.message.startsWith('Unrecognized API version and kind');
          if (statusOf(err) !== 404 && !unknownKind) throw apiError(err, `deleting ${kind}/${name} in namespace ${namespace}`);
        }
        await deps.store.markResourceDeleted(entry);
        deleted.push(`${kind}/${name}`);
        heartbeat(`${kind}/${name}`);
      }
      deps.log.info({ environment, objects: deleted }, 'monitoring objects deleted');
      return { deleted };
    },
  };
}

export type MonitoringActivities = ReturnType<typeof createMonitoringActivities>;
