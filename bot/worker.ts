// The Temporal worker: envbot's workflows bundle plus activities built from injected dependencies.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type Logger as TemporalLogger, Runtime, DefaultLogger } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import { HEARTBEAT_MS } from '../activities/heartbeat.js';
import { temporalTls } from '../shared/clients/temporal.js';
import type { Settings } from '../shared/settings.js';

// Sources under tsx, compiled JavaScript under dist/.
const source = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
const compiled = !existsSync(source);
export const WORKFLOWS_PATH = compiled ? fileURLToPath(new URL('../workflows/index.js', import.meta.url)) : source;
/**
 * The workflows bundled by `npm run build` (bot/bundle-workflows.ts), beside the compiled workflows
 * they were made from. A compiled worker loads it instead of bundling at start, which takes webpack
 * tens of seconds and leaves about 100 MB more in the process; under tsx the sources are bundled.
 */
export const WORKFLOW_BUNDLE_PATH = fileURLToPath(new URL('../workflows/bundle.js', import.meta.url));

/** Where the worker's workflow code comes from: the prebuilt bundle when compiled, else the sources. */
export function workflowCode(): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  return compiled && existsSync(WORKFLOW_BUNDLE_PATH) ? { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } } : { workflowsPath: WORKFLOWS_PATH };
}

export interface WorkerOptions {
  settings: Settings;
  deps: ActivityDeps;
  taskQueue?: string;
  logger?: TemporalLogger;
  /** Activities to register instead of createActivities(deps) (tests wrap the real ones). */
  activities?: object;
  /** The connection to use (bot/main.ts shares one with its client, for eager start); else one is made. */
  connection?: NativeConnection;
}

let runtimeInstalled = false;

/**
 * Gives Temporal's runtime envbot's logger, once. It must come before the first NativeConnection:
 * connecting makes the runtime with the default logger, after which install throws.
 */
export function installRuntime(logger: TemporalLogger): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger });
  runtimeInstalled = true;
}

/**
 * A cancellation reaches an activity only in the answer to a heartbeat the SDK sends; by default it
 * sends at most one per 0.8 x the heartbeat timeout (16 s for seeds), so a cancelled seed went on
 * writing about 15 s. Seeds heartbeat every HEARTBEAT_MS: the SDK sends them as often.
 */
export const heartbeatOptions = { maxHeartbeatThrottleInterval: HEARTBEAT_MS } as const;

/** Builds (but does not run) a worker connected to the configured Temporal server. */
export async function createWorker(opts: WorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  if (opts.logger) installRuntime(opts.logger);
  const tls = temporalTls(opts.settings);
  const connection = opts.connection ?? (await NativeConnection.connect({ address: opts.settings.temporal.address, ...(tls ? { tls } : {}) }));
  const worker = await Worker.create({
    connection,
    namespace: opts.settings.temporal.namespace,
    taskQueue: opts.taskQueue ?? opts.settings.temporal.taskQueue,
    ...workflowCode(),
    // The SDK sizes its cache from the heap limit: 10 under bin/envbot-server's bounded heap, fewer
    // than the environments one busy worker follows at once (every eviction replays a history).
    maxCachedWorkflows: 100,
    ...heartbeatOptions,
    activities: opts.activities ?? createActivities(opts.deps),
    ...(opts.deps.metrics ? { interceptors: { activity: [opts.deps.metrics.activityInterceptors()] } } : {}),
  });
  return { worker, connection };
}

export { DefaultLogger, NativeConnection };
