// promotion: what production runs, and bringing lower environments up to it (issue 11, item 3).
// Production is read, never written: each service's image comes from the Deployment named as the
// service in the project's production namespace, through the kubeconfig context the catalogue
// names. A lower environment's service follows production when it follows no branch
// (service_deployments.branch is null); it is updated by a server-side apply of the image alone,
// under its own field manager, and the deployment is recorded (why: promotion).
import { AppsV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { ConflictError, NotFoundError } from '../shared/errors.js';
import type { ChatTarget, EnvRef } from '../shared/model.js';
import { environmentName, namesFor } from '../shared/names.js';
import { compareImages, versionOf, type NewerRule } from '../shared/promotion.js';
import type { ActivityDeps } from './deps.js';
import { projectTargets } from './notify.js';

export const PROMOTION_FIELD_MANAGER = 'envbot-promotion';

export interface ProductionImagesInput {
  project: string;
}

export interface ProductionImagesResult {
  /** Each service's image in production; a service production does not run is absent. */
  images: Record<string, string>;
  /** Services whose production workload could not be read, and why. */
  unreadable: Record<string, string>;
}

export interface PromotionPlanInput {
  project: string;
  images: Record<string, string>;
}

export interface PromotionTarget {
  ref: EnvRef;
  /** The image it runs now. */
  from: string | null;
}

export interface ServicePromotion {
  service: string;
  image: string;
  targets: PromotionTarget[];
  skipped: { environment: string; reason: string }[];
}

export interface PromotionPlanResult {
  services: ServicePromotion[];
  /** Where the project's promotions are said: its channels and the channels subscribed to it, once each. */
  channels: ChatTarget[];
}

export interface PromoteImageInput {
  ref: EnvRef;
  service: string;
  image: string;
  /** The image it ran when planned: nothing is changed when it runs something else now. */
  from: string | null;
}

export type PromoteImageResult = { environment: string; image: string } | { environment: string; skipped: string };

const statusOf = (err: unknown): number | undefined => (err as { code?: number }).code;

export function createPromotionActivities(deps: ActivityDeps) {
  /** A client of the production cluster: the injected kubeconfig, switched to the project's context. */
  function productionClient(project: string): { apps: AppsV1Api; namespace: string } {
    const p = deps.catalogue.catalogue.projects[project];
    if (!p) throw new NotFoundError(`there is no project "${project}" in the catalogue`);
    if (!p.production) throw new NotFoundError(`project ${project} names no production (projects.${project}.production: context and namespace)`);
    const contexts = deps.kube.getContexts().map((c) => c.name);
    if (!contexts.includes(p.production.context)) {
      throw new NotFoundError(`projects.${project}.production.context: the kubeconfig has no context "${p.production.context}" (contexts: ${contexts.join(', ') || 'none'})`);
    }
    const kc = new KubeConfig();
    kc.loadFromString(deps.kube.exportConfig());
    kc.setCurrentContext(p.production.context);
    return { apps: kc.makeApiClient(AppsV1Api), namespace: p.production.namespace };
  }

  return {
    /** Reads the image of each service's Deployment in the project's production namespace. */
    async productionImages({ project }: ProductionImagesInput): Promise<ProductionImagesResult> {
      const { apps, namespace } = productionClient(project);
      const images: Record<string, string> = {};
      const unreadable: Record<string, string> = {};
      for (const service of Object.keys(deps.catalogue.catalogue.projects[project]!.services)) {
        try {
          const d = await apps.readNamespacedDeployment({ name: service, namespace });
          const image = d.spec?.template.spec?.containers[0]?.image;
          if (image) images[service] = image;
          else unreadable[service] = `Deployment ${service} in ${namespace} has no container image`;
        } catch (err) {
          if (statusOf(err) === 404) continue; // production does not run this service
          unreadable[service] = `reading Deployment ${service} in ${namespace}: ${(err as Error).message.split('\n')[0]}`;
        }
      }
      deps.log.info({ project, namespace, images, unreadable }, 'production images read');
      return { images, unreadable };
    },

    /**
     * For each service production runs: the ready environments of the project where it follows
     * production and runs something older (to update), and those left alone with why.
     */
    async promotionPlan({ project, images }: PromotionPlanInput): Promise<PromotionPlanResult> {
      const p = deps.catalogue.catalogue.projects[project];
      if (!p) throw new NotFoundError(`there is no project "${project}" in the catalogue`);
      const envs = (await deps.store.listEnvironments(project)).filter((e) => e.state === 'ready');
      const runs = new Map(await Promise.all(envs.map(async (e) => [e.name, await deps.store.deployments.of(e.name)] as const)));
      const services: ServicePromotion[] = [];
      for (const [service, image] of Object.entries(images)) {
        const rule: NewerRule = p.services[service]?.newer ?? 'semver';
        const plan: ServicePromotion = { service, image, targets: [], skipped: [] };
        for (const e of envs) {
          const run = runs.get(e.name)?.find((d) => d.service === service);
          if (!run) continue;
          if (run.branch !== null) {
            plan.skipped.push({ environment: e.name, reason: `tracks ${run.branch}` });
            continue;
          }
          if (run.image === image) continue;
          const ref: EnvRef = { environment: e.name, project: e.project, stage: e.stage, ...(e.suffix ? { suffix: e.suffix } : {}) };
          if (run.image === null) {
            plan.skipped.push({ environment: e.name, reason: 'no image recorded' });
            continue;
          }
          const c = compareImages(image, run.image, rule);
          if (c.newer) plan.targets.push({ ref, from: run.image });
          else plan.skipped.push({ environment: e.name, reason: c.comparable ? `runs ${versionOf(run.image)}, newer` : (c.reason ?? 'not comparable') });
        }
        if (plan.targets.length || plan.skipped.length) services.push(plan);
      }
      const channels = await projectTargets(deps, project);
      return { services, channels };
    },

    /** Sets the service's image in the environment (its Deployment named as the service) and records it. */
    async promoteImage({ ref, service, image, from }: PromoteImageInput): Promise<PromoteImageResult> {
      deps.faults?.check('promoteImage');
      const record = await deps.store.getEnvironment(ref.environment);
      if (record?.state !== 'ready') return { environment: ref.environment, skipped: `it is ${record?.state ?? 'gone'}` };
      const run = (await deps.store.deployments.of(ref.environment)).find((d) => d.service === service);
      if (run?.branch) return { environment: ref.environment, skipped: `tracks ${run.branch}` };
      if (run?.image === image) return { environment: ref.environment, image };
      if (run && run.image !== from) return { environment: ref.environment, skipped: `runs ${run.image ?? 'an unknown image'} now` };
      const namespace = namesFor(environmentName(ref.project, ref.stage, ref.suffix), deps.catalogue.catalogue.baseDomain).namespace;
      const apps = deps.kube.makeApiClient(AppsV1Api);
      let container: string | undefined;
      try {
        container = (await apps.readNamespacedDeployment({ name: service, namespace })).spec?.template.spec?.containers[0]?.name;
      } catch (err) {
        if (statusOf(err) === 404) throw new NotFoundError(`${ref.environment} has no Deployment ${service} in namespace ${namespace}`);
        throw err;
      }
      if (!container) throw new ConflictError(`Deployment ${service} in ${namespace} has no container`);
      const objects = deps.kube.makeApiClient(KubernetesObjectApi);
      await objects.patch(
        { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: service, namespace }, spec: { template: { spec: { containers: [{ name: container, image }] } } } } as never,
        undefined, undefined, PROMOTION_FIELD_MANAGER, true, PatchStrategy.ServerSideApply,
      );
      await deps.store.deployments.record({ environment: ref.environment, service, branch: null, commit: run?.commit ?? null, image, why: 'promotion', who: 'production' });
      deps.log.info({ environment: ref.environment, service, from, image }, 'service promoted to production image');
      return { environment: ref.environment, image };
    },
  };
}
