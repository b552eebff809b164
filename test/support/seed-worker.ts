// envbot's worker in its own process, running only seedOnly (seed-workflow.ts) over the real seed
// activities, with the catalogue the test wrote (CATALOGUE), on the test's store (STORE_URL). A test
// reads this process's memory from /proc and the activities' starts and ends from stdout ("event"
// lines, JSON). Usage: node --import tsx seed-worker.ts
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities/index.js';
import { heartbeatOptions } from '../../bot/worker.js';
import { loadCatalogue } from '../../shared/catalogue/load.js';
import { closeActivityDeps } from '../../activities/deps.js';
import { depsOn } from './deps.js';
import { testSettings } from './settings.js';

const { TASK_QUEUE, STORE_URL, CATALOGUE } = process.env;
if (!TASK_QUEUE || !STORE_URL || !CATALOGUE) throw new Error('TASK_QUEUE, STORE_URL and CATALOGUE are required');

const settings = testSettings();
const { deps } = depsOn(STORE_URL, 'seed-worker');
deps.catalogue = loadCatalogue(CATALOGUE, settings.env);
const real = createActivities(deps);

const event = (e: Record<string, unknown>) => process.stdout.write(`event ${JSON.stringify({ ...e, at: Date.now() })}\n`);
function watched<I>(name: string, fn: (input: I) => Promise<unknown>) {
  return async (input: I) => {
    event({ activity: name, event: 'start' });
    try {
      const result = await fn(input);
      event({ activity: name, event: 'end', outcome: 'completed', result });
      return result;
    } catch (err) {
      event({ activity: name, event: 'end', outcome: (err as Error).name, message: (err as Error).message });
      throw err;
    }
  };
}

const connection = await NativeConnection.connect({ address: settings.temporal.address });
const worker = await Worker.create({
  connection,
  namespace: settings.temporal.namespace,
  taskQueue: TASK_QUEUE,
  // envbot's own: how often a heartbeat (and so a cancellation) gets through.
  ...heartbeatOptions,
  workflowsPath: fileURLToPath(new URL('./seed-workflow.ts', import.meta.url)),
  activities: { seedMongo: watched('seedMongo', real.seedMongo), seedSql: watched('seedSql', real.seedSql), seedRedis: watched('seedRedis', real.seedRedis) },
});
process.stdout.write('worker ready\n');
await worker.run();
await connection.close();
await closeActivityDeps(deps);
