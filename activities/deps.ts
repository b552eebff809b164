// What every activity module is built from. main.ts makes the real ones; tests may hand in others.
import type { KubeConfig } from '@kubernetes/client-node';
import type { LoadedCatalogue } from '../shared/catalogue/load.js';
import { AwsClients, type AwsClientConfig } from '../shared/clients/aws.js';
import { DatabaseClients } from '../shared/clients/databases.js';
import type { ChatPort } from '../shared/chat.js';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import type { Store } from '../shared/store/store.js';
import type { Faults } from './faults.js';
import type { Outbox } from './outbox.js';
import type { Sources } from './sources/index.js';

export interface ActivityDeps {
  workerId: string;
  catalogue: LoadedCatalogue;
  store: Store;
  log: Logger;
  kube: KubeConfig;
  aws: AwsClientConfig;
  /** The AWS clients built from `aws`, one per service (made on first use when not handed in). */
  awsClients?: AwsClients;
  /** The admin clients of the database servers, one per server (made on first use when not handed in). */
  databases?: DatabaseClients;
  chat: ChatPort;
  /** The chat outbox every keyed message goes through (one per worker: made with Slack's limits when not handed in). */
  outbox?: Outbox;
  /** Where S3 and git seeds and templates are fetched to (settings.sourceCache; the OS temp folder when absent). */
  sourceCache?: string;
  /** The fetcher of S3 and git locations (made on first use from `sourceCache` and the AWS clients when not handed in). */
  sources?: Sources;
  /** envbot's metrics registry (made once in main.ts); absent: nothing is recorded. */
  metrics?: Metrics;
  /** Test-only fault injection (see faults.ts); absent in production. */
  faults?: Faults;
}

/** The worker's AWS clients: the ones handed in, or made once from `deps.aws` and kept. */
export function awsClients(deps: ActivityDeps): AwsClients {
  return (deps.awsClients ??= new AwsClients(deps.aws));
}

/** The worker's database server clients: the ones handed in, or made once and kept. */
export function databaseClients(deps: ActivityDeps): DatabaseClients {
  return (deps.databases ??= new DatabaseClients(deps.log, `envbot ${deps.workerId}`));
}

/** How long a stopping worker gives its outbox to send what is still queued (cards a rate limit held back). */
export const OUTBOX_DRAIN_MS = 10_000;

/**
 * Closes the clients the worker made for its activities (on shutdown, after the worker stopped),
 * once its outbox has sent what it holds (for at most OUTBOX_DRAIN_MS; what is left is said).
 */
export async function closeActivityDeps(deps: ActivityDeps): Promise<void> {
  const left = await deps.outbox?.drain(OUTBOX_DRAIN_MS);
  if (left) deps.log.warn({ messages: left }, `chat: ${left} message(s) still queued after ${OUTBOX_DRAIN_MS / 1000} s of stopping (rate limited); they are not sent`);
  deps.outbox?.close();
  deps.awsClients?.destroy();
  (deps.kube as Partial<{ destroy(): void }>).destroy?.();
  await deps.databases?.close();
}
