// A real worker (real activities on the local servers) and the core, on a task queue of the test's own.
import { randomUUID } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { createActivities, type Activities } from '../../activities/index.js';
import { EnvbotCore } from '../../bot/core/core.js';
import type { LoadedCatalogue } from '../../shared/catalogue/load.js';
import type { Metrics } from '../../shared/metrics.js';
import { createWorker } from '../../bot/worker.js';
import { testDeps, type TestDeps } from './deps.js';
import { endWorkflowsOn } from './leftover-workflows.js';
import { ensureSharedSecrets } from './shared-secrets.js';
import { testSettings } from './settings.js';

export interface Harness extends TestDeps {
  core: EnvbotCore;
  /** A core whose client shares the worker's NativeConnection and asks for eager start, as bot/main.ts runs it. */
  eagerCore: EnvbotCore;
  client: Client;
  taskQueue: string;
  worker: Worker;
  stop(): Promise<void>;
}

/** The harness over the example catalogue, or over `opts.catalogue` (built by the test, so it may be one the loader refuses). */
export async function provisioningHarness(
  name: string,
  opts: { runWorker?: boolean; catalogue?: LoadedCatalogue; metrics?: Metrics; kube?: KubeConfig; wrap?: (activities: Activities) => Activities } = {},
): Promise<Harness> {
  const settings = testSettings();
  const t = await testDeps(name, opts.catalogue);
  if (opts.metrics) t.deps.metrics = opts.metrics;
  // Another identity in the cluster (the Helm chart's ServiceAccount, in its test).
  if (opts.kube) t.deps.kube = opts.kube;
  await ensureSharedSecrets(t.deps);
  const taskQueue = `${name}-${randomUUID()}`;
  // `wrap`: the real activities, some held or watched by the test.
  const { worker, connection: native } = await createWorker({ settings, deps: t.deps, taskQueue, ...(opts.wrap ? { activities: opts.wrap(createActivities(t.deps)) } : {}) });
  const running = opts.runWorker === false ? undefined : worker.run();
  const connection = await Connection.connect({ address: settings.temporal.address });
  const client = new Client({ connection, namespace: settings.temporal.namespace });
  const core = new EnvbotCore({ client, store: t.deps.store, catalogue: t.deps.catalogue.catalogue, taskQueue });
  const eagerCore = new EnvbotCore({ client: new Client({ connection: native, namespace: settings.temporal.namespace }), store: t.deps.store, catalogue: t.deps.catalogue.catalogue, taskQueue, eagerStart: true });
  return {
    ...t,
    core,
    eagerCore,
    client,
    taskQueue,
    worker,
    async stop() {
      // Copies a create started and nobody waited for would otherwise poll a task queue no worker serves, for good.
      await endWorkflowsOn(client, taskQueue, { workerRunning: running !== undefined });
      if (running) {
        worker.shutdown();
        await running;
      }
      await native.close();
      await connection.close();
      await t.close();
    },
  };
}
