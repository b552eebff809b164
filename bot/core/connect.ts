// The engine's client side, made once per process: a Temporal connection and the core over it.
// main.ts and the CLI both use it; tests and the bench build their own core on a task queue of theirs.
import { Client, Connection } from '@temporalio/client';
import type { Catalogue } from '../../shared/catalogue/schema.js';
import type { Settings } from '../../shared/settings.js';
import type { Store } from '../../shared/store/store.js';
import { EnvbotCore } from './core.js';

export async function connectCore(settings: Settings, catalogue: Catalogue, store: Store): Promise<{ core: EnvbotCore; connection: Connection; client: Client }> {
  const connection = await Connection.connect({ address: settings.temporal.address });
  const client = new Client({ connection, namespace: settings.temporal.namespace });
  const core = new EnvbotCore({
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
