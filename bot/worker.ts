// The Temporal worker: envbot's workflows bundle plus activities built from injected dependencies.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type Logger as TemporalLogger, Runtime, DefaultLogger } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import type { Settings } from '../shared/settings.js';

// Sources under tsx, compiled JavaScript under dist/.
const source = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
export const WORKFLOWS_PATH = existsSync(source) ? source : fileURLToPath(new URL('../workflows/index.js', import.meta.url));

export interface WorkerOptions {
  settings: Settings;
  deps: ActivityDeps;
  taskQueue?: string;
  logger?: TemporalLogger;
  /** Activities to register instead of createActivities(deps) (tests wrap the real ones). */
  activities?: object;
}

let runtimeInstalled = false;

/** Builds (but does not run) a worker connected to the configured Temporal server. */
export async function createWorker(opts: WorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  if (opts.logger && !runtimeInstalled) {
    Runtime.install({ logger: opts.logger });
    runtimeInstalled = true;
  }
  const connection = await NativeConnection.connect({ address: opts.settings.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: opts.settings.temporal.namespace,
    taskQueue: opts.taskQueue ?? opts.settings.temporal.taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: opts.activities ?? createActivities(opts.deps),
  });
  return { worker, connection };
}

export { DefaultLogger };
