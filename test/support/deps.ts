// Real activity dependencies for tests: the example catalogue on the local servers, a scratch
// store database, a logger and chat port that keep what they were given, so tests can assert on them.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { pino } from 'pino';
import { closeActivityDeps, type ActivityDeps } from '../../activities/deps.js';
import { Faults } from '../../activities/faults.js';
import { loadCatalogue, type LoadedCatalogue } from '../../shared/catalogue/load.js';
import type { ChatMessage, ChatPort } from '../../shared/chat.js';
import { awsClientConfig } from '../../shared/clients/aws.js';
import { kubeConfig } from '../../shared/clients/kubernetes.js';
import type { ChatTarget, EnvRef } from '../../shared/model.js';
import { environmentName } from '../../shared/names.js';
import { Store } from '../../shared/store/store.js';
import { scratchPostgres, type ScratchDatabase } from './databases.js';
import { repoRoot, testSettings } from './settings.js';

export class RecordingChat implements ChatPort {
  readonly sent: { target: ChatTarget; message: ChatMessage; ref: string }[] = [];
  async send(target: ChatTarget, message: ChatMessage): Promise<string> {
    const ref = target.messageRef ?? `msg-${this.sent.length + 1}`;
    this.sent.push({ target, message, ref });
    return ref;
  }
}

export interface TestDeps {
  deps: ActivityDeps;
  chat: RecordingChat;
  faults: Faults;
  /** Every log line written, as text. */
  logs: string[];
  storeDb: ScratchDatabase;
  close(): Promise<void>;
}

/**
 * Activity dependencies over an existing store database (a worker in another process shares the test's),
 * with the example catalogue unless the test brings its own.
 */
export function depsOn(storeUrl: string, name: string, catalogue?: LoadedCatalogue): Omit<TestDeps, 'storeDb' | 'close'> & { store: Store } {
  const settings = testSettings();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString());
      cb();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  const chat = new RecordingChat();
  const faults = new Faults();
  // The local stack's key, so every process of a test opens the same secrets.
  const store = new Store(storeUrl, settings.secretKeys.length ? settings.secretKeys : [{ id: 'test', key: randomBytes(32) }]);
  const deps: ActivityDeps = {
    workerId: `test-${name}`,
    catalogue: catalogue ?? loadCatalogue(join(repoRoot, 'examples', 'envbot.yaml'), settings.env),
    store,
    log,
    kube: kubeConfig(settings),
    aws: awsClientConfig(settings),
    sourceCache: settings.sourceCache,
    chat,
    faults,
  };
  return { deps, chat, faults, logs, store };
}

export async function testDeps(name = 'deps', catalogue?: LoadedCatalogue): Promise<TestDeps> {
  const storeDb = await scratchPostgres(`store_${name.replace(/[^a-z0-9]/g, '_')}`, { migrate: true });
  const d = depsOn(storeDb.url, name, catalogue);
  return {
    deps: d.deps,
    chat: d.chat,
    faults: d.faults,
    logs: d.logs,
    storeDb,
    async close() {
      await closeActivityDeps(d.deps);
      await d.store.close();
      await storeDb.drop();
    },
  };
}

/** A unique environment of `project`/`stage` for one test: the suffix keeps tests apart. */
export function uniqueEnv(project: string, stage: string): EnvRef {
  const suffix = randomBytes(3).toString('hex');
  const env = environmentName(project, stage, suffix);
  return { environment: env.name, project, stage, suffix };
}
