// A create from the rows-by-need patch on starts each row once the rows it needs are built: the
// services do not wait for the ways in (DNS here), and a failure of a row still running after the
// services were applied undoes everything. The DNS step is held by the test (the real activity runs
// once released), so what runs beside it is seen in the real cluster and in the progress query.
import { ApplicationFailure } from '@temporalio/common';
import { AppsV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Requester } from '../../shared/model.js';
import { progressQuery } from '../../shared/resources.js';
import { uniqueEnv } from '../support/deps.js';
import { leftovers } from '../support/inspect.js';
import { provisioningHarness, type Harness } from '../support/provisioning.js';

const requester: Requester = { id: 'cli:test', platform: 'cli' };

describe('a create by need', () => {
  let h: Harness;
  /** What the held DNS step does once the test lets it go: run, or fail for good. */
  let release: (how: 'run' | 'fail') => void = () => undefined;
  let held: Promise<'run' | 'fail'> = Promise.resolve('run');

  beforeAll(async () => {
    h = await provisioningHarness('create-by-need', {
      wrap: (real) => ({
        ...real,
        createDnsRecords: async (input: Parameters<typeof real.createDnsRecords>[0]) => {
          if ((await held) === 'fail') throw ApplicationFailure.nonRetryable('Route 53 refused the change (test)', 'TestRefusal');
          return real.createDnsRecords(input);
        },
      }),
    });
  }, 120_000);

  afterAll(async () => {
    await h?.stop();
  });

  const hold = () => {
    held = new Promise((resolve) => (release = resolve));
  };

  /** Waits until `done` holds, asking every 100 ms for up to 60 s. */
  const until = async (what: string, done: () => Promise<boolean>) => {
    for (const t0 = Date.now(); !(await done()); ) {
      if (Date.now() - t0 > 60_000) throw new Error(`not seen within 60 s: ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  /** Starts a create of projb-qa with DNS held, and waits until its services are applied. */
  const createUntilServicesApplied = async () => {
    hold();
    const ref = uniqueEnv('projb', 'qa');
    const started = await h.core.create({ project: ref.project, stage: ref.stage, suffix: ref.suffix!, requester });
    const step = async (id: string) => (await started.handle.query(progressQuery)).steps.find((s) => s.id === id)?.status;
    await until('the services applied', async () => (await step('manifests')) === 'done');
    return { ref, started, step };
  };

  const deployments = async (namespace: string) => (await h.deps.kube.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace }).catch(() => ({ items: [] }))).items.length;

  it('applies the services while the DNS step still runs, and is ready once it ends', async () => {
    const { ref, started, step } = await createUntilServicesApplied();
    expect(await deployments(ref.environment)).toBeGreaterThan(0);
    // The Secret and the storage came before the services; DNS is still held.
    expect(await step('credentials')).toBe('done');
    expect(await step('storage')).toBe('done');
    expect(await step('dns')).toBe('running');
    expect(await step('ready')).toBe('pending');
    release('run');
    const result = await started.handle.result();
    expect(result.status).toBe('ready');
    expect(result.urls.length).toBeGreaterThan(0);
    const destroyed = await h.core.destroy({ environment: ref.environment, requester });
    await destroyed.handle.result();
    expect(await leftovers(h, ref)).toEqual([]);
  }, 180_000);

  it('undoes everything, the services too, when a row still running after them fails', async () => {
    const { ref, started } = await createUntilServicesApplied();
    release('fail');
    const failure = await started.handle.result().then(
      () => undefined,
      (err: { cause?: { details?: unknown[] } }) => err.cause?.details?.[0] as { status: string; failedStep?: string; error?: string; rolledBack: string[]; undoFailed: string[] },
    );
    expect(failure?.status).toBe('failed');
    expect(failure?.failedStep).toBe('dns');
    expect(failure?.error).toContain('Route 53 refused the change');
    expect(failure?.rolledBack).toEqual(expect.arrayContaining(['manifests', 'credentials', 'storage', 'namespace', 'secrets', 'dns']));
    expect(failure?.undoFailed).toEqual([]);
    // Only DNS failed (and was undone, as every row was): the wait for the services ended (done) or
    // was stopped by the failure (skipped), never shown as a failure of its own.
    const steps = (await started.handle.query(progressQuery)).steps;
    expect(steps.filter((s) => s.status === 'failed' || s.status === 'undo-failed').map((s) => s.id)).toEqual([]);
    expect(['done', 'skipped']).toContain(steps.find((s) => s.id === 'rollout')?.status);
    expect(steps.find((s) => s.id === 'dns')?.status).toBe('undone');
    expect(await leftovers(h, ref)).toEqual([]);
  }, 180_000);
});
