// A failure injected at each step of createEnvironment in turn leaves nothing behind: no
// namespace objects, databases, users, records or secrets, the Redis index free, and the ledger
// agrees. (The fault is injected: no real server can be asked to fail at one chosen step.)
import { WorkflowFailedError } from '@temporalio/client';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Requester } from '../../shared/model.js';
import type { CreateEnvironmentResult } from '../../workflows/create-environment.js';
import { ensureExampleLoadBalancer } from '../../scripts/services/lib/example-load-balancer.js';
import { uniqueEnv } from '../support/deps.js';
import { recordHistory } from '../support/histories.js';
import { leftovers } from '../support/inspect.js';
import { provisioningHarness, type Harness } from '../support/provisioning.js';

const requester: Requester = { id: 'cli:test', platform: 'cli' };

describe('compensation', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await provisioningHarness('compensation');
    await ensureExampleLoadBalancer(h.deps.aws.endpoint!);
  });

  afterAll(async () => {
    await h?.stop();
  });

  it.each([
    ['createSecrets', 'secrets'],
    ['createMongo', 'mongo'],
    ['seedMongo', 'mongo'],
    // Both SQL engines run in parallel through the same activities: either may meet the fault first.
    ['createSql', 'mysql|postgres'],
    ['seedSql', 'mysql|postgres'],
    ['createRedis', 'redis'],
    ['seedRedis', 'redis'],
    ['createDnsRecords', 'dns'],
    ['createLoadBalancerRules', 'load-balancer'],
    // Half-way: the first service's target group is made, its rule is not.
    ['createLoadBalancerRules:rule', 'load-balancer'],
    ['createNamespace', 'namespace'],
    ['applyCredentials', 'credentials'],
    ['createStorage', 'storage'],
    // Half-way through a step: the access point and PersistentVolume are made, the claim is not;
    ['createStorage:claim', 'storage'],
    ['createStorageCopy', 'storage-copy'],
    // both DataSync locations are made, the task is not.
    ['createStorageCopy:task', 'storage-copy'],
    ['applyManifests', 'manifests'],
    ['createMonitoring', 'monitoring'],
    // Half-way: the ServiceMonitor is applied, the PrometheusRule and the dashboard are not.
    ['createMonitoring:rule', 'monitoring'],
    ['environmentServices', 'rollout'],
    ['finishOperation', 'ready'],
  ])('a failure at %s rolls everything back', async (activity, step) => {
    const ref = uniqueEnv('projb', 'qa');
    h.faults.clear();
    h.faults.failAt(activity, { times: 1 });
    const started = await h.core.create({ project: 'projb', stage: 'qa', suffix: ref.suffix!, requester });
    const err = await started.handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const result = ((err as WorkflowFailedError).cause as { details?: CreateEnvironmentResult[] }).details?.[0];
    expect(result).toMatchObject({ status: 'failed', failedStep: expect.stringMatching(new RegExp(`^(${step})$`)), undoFailed: [] });
    expect(result!.error).toMatch(new RegExp(`injected fault at step "${activity}"`));
    expect(result!.rolledBack).toContain('claim');
    expect(await leftovers(h, ref)).toEqual([]);
    expect((await h.deps.store.getEnvironment(ref.environment))?.state).toBe('failed');
    if (activity === 'applyManifests') await recordHistory(h.client, started.workflowId, 'create-failed-at-manifests');
  });

  it('creating more environments than there are free Redis databases fails cleanly for the extra one', async () => {
    h.faults.clear();
    const redis = new Redis(h.deps.catalogue.catalogue.servers.redis.main!.url);
    const [, count] = (await redis.config('GET', 'databases')) as [string, string];
    redis.disconnect();
    const databases = Number(count);
    // Every index envbot hands out (1 and up: 0 is never handed out) but the last is taken by
    // (pretend) environments in this store: claims as if the server had one database fewer.
    for (let i = 1; i < databases - 1; i++) {
      expect(await h.deps.store.claimRedisIndex('main', `taken-${i}`, databases - 1)).toBe(i);
    }
    const refs = [uniqueEnv('proja', 'dev'), uniqueEnv('proja', 'dev')];
    const outcomes = await Promise.allSettled(
      refs.map(async (ref) => (await h.core.create({ project: 'proja', stage: 'dev', suffix: ref.suffix!, requester })).handle.result()),
    );
    const ok = outcomes.findIndex((o) => o.status === 'fulfilled');
    const failed = outcomes.findIndex((o) => o.status === 'rejected');
    expect(ok).toBeGreaterThanOrEqual(0);
    expect(failed).toBeGreaterThanOrEqual(0);
    const result = (((outcomes[failed] as PromiseRejectedResult).reason as WorkflowFailedError).cause as { details?: CreateEnvironmentResult[] }).details?.[0];
    expect(result).toMatchObject({ failedStep: 'redis', error: expect.stringMatching(/all \d+ Redis databases on main that envbot hands out \(1 to \d+; 0 is kept for clients that select none\) are taken; destroy an environment/) });
    expect(await leftovers(h, refs[failed]!)).toEqual([]);
    expect(await h.deps.store.redisIndexOf('main', refs[ok]!.environment)).toBe(databases - 1);
    const destroyed = await h.core.destroy({ environment: refs[ok]!.environment, requester });
    await destroyed.handle.result();
    expect(await leftovers(h, refs[ok]!)).toEqual([]);
    for (let i = 1; i < databases - 1; i++) await h.deps.store.releaseRedisIndex('main', `taken-${i}`);
  });

  it('a transient failure is retried and the environment is built', async () => {
    const ref = uniqueEnv('proja', 'qa');
    h.faults.clear();
    h.faults.failAt('seedSql', { times: 1, retryable: true });
    const started = await h.core.create({ project: 'proja', stage: 'qa', suffix: ref.suffix!, requester });
    expect(await started.handle.result()).toMatchObject({ status: 'ready' });
    const destroyed = await h.core.destroy({ environment: ref.environment, requester });
    await destroyed.handle.result();
    expect(await leftovers(h, ref)).toEqual([]);
  });
});
