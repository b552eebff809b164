// Every activity the worker registers, built from injected dependencies (tests hand in their own).
import type { ActivityDeps } from './deps.js';
import { createDnsActivities } from './dns.js';
import { createEnvironmentActivities } from './environments.js';
import { createGitopsActivities } from './gitops.js';
import { createKubernetesActivities } from './kubernetes.js';
import { createLoadBalancerActivities } from './loadbalancer.js';
import { createMongoActivities } from './mongo.js';
import { createMonitoringActivities } from './monitoring.js';
import { createNotifyActivities } from './notify.js';
import { createPromotionActivities } from './promotion.js';
import { createRedisActivities } from './redis.js';
import { createRolloutActivities } from './rollout.js';
import { createSecretsActivities } from './secrets.js';
import { createSelfCheckActivities } from './self-check.js';
import { createSourcesActivities } from './sources/index.js';
import { createSqlActivities } from './sql/index.js';
import { createStorageActivities } from './storage.js';
import { createVpnActivities } from './vpn.js';

export type { ActivityDeps };

export function createActivities(deps: ActivityDeps) {
  return {
    ...createSelfCheckActivities(deps),
    ...createEnvironmentActivities(deps),
    ...createSecretsActivities(deps),
    ...createSourcesActivities(deps),
    ...createMongoActivities(deps),
    ...createSqlActivities(deps),
    ...createRedisActivities(deps),
    ...createDnsActivities(deps),
    ...createLoadBalancerActivities(deps),
    ...createVpnActivities(deps),
    ...createKubernetesActivities(deps),
    ...createGitopsActivities(deps),
    ...createMonitoringActivities(deps),
    ...createPromotionActivities(deps),
    ...createRolloutActivities(deps),
    ...createStorageActivities(deps),
    ...createNotifyActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
