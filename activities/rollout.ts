// rollout: whether the environment's services are up. Reads the Deployments and StatefulSets envbot
// applied in the environment's namespace and says, per service, how many replicas are ready; for
// one that is not, what its Pods and their events say (image pull, crash loop, unschedulable). It
// makes nothing, so it has no delete: the create workflow asks it until every service is available
// or the project's readyTimeout has passed.
import { AppsV1Api, CoreV1Api, type CoreV1Event, type V1Deployment, type V1Pod, type V1StatefulSet } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceHealth } from '../shared/chat.js';
import type { EnvRef } from '../shared/model.js';
import { routeUrl } from '../shared/names.js';
import type { ActivityDeps } from './deps.js';
import { resolveEnv } from './environment.js';
import { apiError, ENV_LABEL, SERVICE_LABEL } from './kubernetes.js';

export interface ServicesInput {
  ref: EnvRef;
  /** The summary the caller has: wait (up to `waitSeconds`) until it changes or every service is available. */
  previous?: string;
  waitSeconds?: number;
}

export interface ServicesResult {
  /** Every Deployment and StatefulSet of the environment is available. */
  ready: boolean;
  services: ServiceHealth[];
  /** `service1 2/2 ready, service2 0/1 ready`. */
  summary: string;
  /** For services not ready: what their Pods and events say, one line each. */
  problems: string[];
}

type Workload = (V1Deployment | V1StatefulSet) & { kind: 'Deployment' | 'StatefulSet' };

/** How long environmentServices waits before it answers with a change (every service available: at once). */
export const SETTLE_MS = 3000;

/** At most this many lines of Pod trouble per service in a failed create's message. */
const PROBLEMS_PER_SERVICE = 4;

/** A workload's ready replicas and whether its rollout is complete (as `kubectl rollout status` judges). */
export function workloadState(w: Workload): { ready: number; desired: number; available: boolean } {
  const desired = w.spec?.replicas ?? 1;
  const s = w.status;
  const ready = s?.readyReplicas ?? 0;
  const observed = (s?.observedGeneration ?? 0) >= (w.metadata?.generation ?? 0);
  const updated = (s?.updatedReplicas ?? 0) >= desired;
  const available = w.kind === 'Deployment' ? ((s as V1Deployment['status'])?.availableReplicas ?? 0) >= desired : ready >= desired;
  // Scaled to zero: nothing to wait for once the controller has seen it.
  if (desired === 0) return { ready, desired, available: observed };
  return { ready, desired, available: observed && updated && available && ready >= desired && (s?.replicas ?? 0) <= desired };
}

/** One thing wrong, and what it is wrong with (`Pod api-6fd-h74nq`). */
export interface Trouble {
  subject: string;
  text: string;
}

/** What a Pod's status says is wrong: unschedulable, a container waiting (image pull, crash loop) or failed. */
export function podTrouble(pod: V1Pod): Trouble[] {
  const subject = `Pod ${pod.metadata?.name ?? '?'}`;
  const out: Trouble[] = [];
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') out.push({ subject, text: `${scheduled.reason ?? 'not scheduled'}: ${scheduled.message ?? 'no node fits'}` });
  for (const c of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = c.state?.waiting;
    if (waiting?.reason && !['ContainerCreating', 'PodInitializing'].includes(waiting.reason)) {
      out.push({ subject, text: `container ${c.name} ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` });
    }
    const ended = c.state?.terminated;
    if (ended && ended.exitCode !== 0) {
      out.push({ subject, text: `container ${c.name} exited with code ${ended.exitCode}${ended.reason ? ` (${ended.reason})` : ''}${ended.message ? `: ${ended.message}` : ''}` });
    }
  }
  return out;
}

/** The same trouble of several Pods said once: `Pods a, b: container api ErrImagePull: …`. */
export function troubleLines(troubles: Trouble[]): string[] {
  const byText = new Map<string, string[]>();
  for (const t of troubles) byText.set(t.text, [...new Set([...(byText.get(t.text) ?? []), t.subject])]);
  return [...byText].map(([text, subjects]) => {
    const [kind] = subjects[0]!.split(' ');
    const same = subjects.every((s) => s.startsWith(`${kind} `));
    const who = subjects.length > 1 && same ? `${kind}s ${subjects.map((s) => s.slice(kind!.length + 1)).join(', ')}` : subjects.join(', ');
    return `${who}: ${text}`;
  });
}

function selectorOf(w: Workload): string | undefined {
  const labels = w.spec?.selector?.matchLabels;
  if (!labels || Object.keys(labels).length === 0) return undefined;
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
}

export const summaryOf = (services: ServiceHealth[]): string => services.map((s) => `${s.service} ${s.ready}/${s.desired} ready`).join(', ');

/** A look at the services: the answer, and each service not yet available with its workloads that are not. */
interface Look {
  result: ServicesResult;
  namespace: string;
  waiting: { health: ServiceHealth; workloads: Workload[] }[];
}

export function createRolloutActivities(deps: ActivityDeps) {
  const apps = deps.kube.makeApiClient(AppsV1Api);
  const core = deps.kube.makeApiClient(CoreV1Api);

  /** The environment's services as their Deployments and StatefulSets say. */
  async function look(ref: EnvRef): Promise<Look> {
    const r = resolveEnv(deps.catalogue, ref);
    const namespace = r.names.namespace;
    const labelSelector = `${ENV_LABEL}=${r.env.name}`;
    let workloads: Workload[];
    try {
      const [d, s] = await Promise.all([apps.listNamespacedDeployment({ namespace, labelSelector }), apps.listNamespacedStatefulSet({ namespace, labelSelector })]);
      workloads = [...d.items.map((x) => ({ ...x, kind: 'Deployment' as const })), ...s.items.map((x) => ({ ...x, kind: 'StatefulSet' as const }))];
    } catch (err) {
      throw apiError(err, `listing the Deployments and StatefulSets in namespace ${namespace}`);
    }
    const byService = new Map<string, Workload[]>();
    for (const w of workloads) {
      // Objects applied before the service label: the workload's own name stands for the service.
      const service = w.metadata?.labels?.[SERVICE_LABEL] ?? w.metadata?.name ?? '?';
      byService.set(service, [...(byService.get(service) ?? []), w]);
    }
    const services: ServiceHealth[] = [];
    const waiting: Look['waiting'] = [];
    for (const [service, list] of [...byService].sort(([a], [b]) => a.localeCompare(b))) {
      const states = list.map(workloadState);
      const health: ServiceHealth = {
        service,
        ready: states.reduce((n, s) => n + s.ready, 0),
        desired: states.reduce((n, s) => n + s.desired, 0),
        available: states.every((s) => s.available),
        // As the DNS records and listener rules address it (host or path style).
        urls: (r.project.services[service]?.hosts ?? []).map((h) => routeUrl(r.names.route(h, r.project.addressing))),
      };
      services.push(health);
      if (!health.available) waiting.push({ health, workloads: list.filter((_, i) => !states[i]!.available) });
    }
    return { result: { ready: services.every((s) => s.available), services, summary: summaryOf(services), problems: [] }, namespace, waiting };
  }

  /**
   * What the Pods and events of each service not yet available say (two more lists, so only for
   * the answer the caller gets, not for every look while waiting).
   */
  async function explain({ result, namespace, waiting }: Look): Promise<ServicesResult> {
    let events: CoreV1Event[] | undefined;
    const problems: string[] = [];
    for (const { health, workloads } of waiting) {
      const { service } = health;
      const troubles: Trouble[] = [];
      for (const w of workloads) {
        const name = w.metadata?.name ?? '';
        const selector = selectorOf(w);
        try {
          const pods = selector ? (await core.listNamespacedPod({ namespace, labelSelector: selector })).items : [];
          troubles.push(...pods.flatMap(podTrouble));
          events ??= (await core.listNamespacedEvent({ namespace })).items;
        } catch (err) {
          throw apiError(err, `reading the Pods and events of ${w.kind}/${name} in namespace ${namespace}`);
        }
        // Its own events, its ReplicaSets' and its Pods' (all named after it): FailedCreate, FailedScheduling, Failed, BackOff.
        for (const e of events.filter((x) => x.type === 'Warning' && (x.involvedObject.name === name || x.involvedObject.name?.startsWith(`${name}-`)))) {
          troubles.push({ subject: `${e.involvedObject.kind} ${e.involvedObject.name}`, text: `${e.reason ?? 'Warning'}: ${e.message ?? ''}`.trim() });
        }
      }
      const unique = troubleLines(troubles);
      problems.push(...unique.slice(0, PROBLEMS_PER_SERVICE).map((l) => `${service}: ${l}`));
      if (unique.length === 0) problems.push(`${service}: ${health.ready} of ${health.desired} replicas ready, no Pod reports a problem yet`);
    }
    return { ...result, problems };
  }

  return {
    /**
     * How the environment's services are doing. Waits up to `waitSeconds` (10 by default) for every
     * service to be available, answering earlier when the summary is no longer `previous` (none
     * yet: any) and at least SETTLE_MS have passed, so the workflow's loop asks every few seconds
     * while replicas come up, not once per replica. What the Pods and events say (two more lists per
     * service) is read only for an answer given as the wait runs out: the one a failed create reports.
     */
    async environmentServices({ ref, previous, waitSeconds = 10 }: ServicesInput): Promise<ServicesResult> {
      deps.faults?.check('environmentServices');
      const started = Date.now();
      const until = started + waitSeconds * 1000;
      for (;;) {
        const now = await look(ref);
        if (now.result.ready) return now.result;
        const t = Date.now();
        if (t >= until) return explain(now);
        // Near the end of the wait, the caller's deadline may be passing too: the answer says why.
        if (now.result.summary !== previous && t >= started + SETTLE_MS) return t >= until - 1000 ? explain(now) : now.result;
        await sleep(1000);
      }
    },
  };
}

export type RolloutActivities = ReturnType<typeof createRolloutActivities>;
