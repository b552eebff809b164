// The engine's client side, made once per process: a Temporal connection and the core over it.
// main.ts and the CLI both use it; tests and the bench build their own core on a task queue of theirs.
import { Client, Connection, type ConnectionLike } from '@temporalio/client';
import { temporalTls } from '../../shared/clients/temporal.js';
import type { Catalogue } from '../../shared/catalogue/schema.js';
import type { Settings } from '../../shared/settings.js';
import type { Store } from '../../shared/store/store.js';
import { EnvbotCore } from './core.js';

/**
 * `shared` is the worker's NativeConnection when a worker runs in this process (bot/main.ts): the
 * client then shares it, and creates start eagerly on that worker. Without it (the CLI) the client
 * makes its own connection.
 */
export async function connectCore(settings: Settings, catalogue: Catalogue, store: Store, shared?: ConnectionLike & { close(): Promise<void> }): Promise<{ core: EnvbotCore; connection: ConnectionLike & { close(): Promise<void> }; client: Client }> {
  const tls = temporalTls(settings);
  const connection = shared ?? (await Connection.connect({ address: settings.temporal.address, ...(tls ? { tls } : {}) }));
  const client = new Client({ connection, namespace: settings.temporal.namespace });
  const core = new EnvbotCore({
    eagerStart: shared !== undefined,
    client,
    store,
    catalogue,
    taskQueue: settings.temporal.taskQueue,
    sourceRefresh: { debounce: `${settings.s3Webhook.debounceSeconds} seconds`, concurrency: settings.s3Webhook.concurrency },
    storageCopyPoll: `${settings.storageCopy.pollSeconds} seconds`,
    gitPushConcurrency: settings.gitWebhook.concurrency,
    ...(settings.temporal.uiUrl ? { temporalUiUrl: settings.temporal.uiUrl } : {}),
  });
  return { core, connection, client };
}
