// A worker in its own process, so a test can SIGKILL it mid-activity. Real activities over the
// test's store database; SEED_PAUSE_MS holds seedSql open (heartbeating) after its rows are
// written, so the kill lands in the middle of seeding. Usage: node --import tsx worker-process.ts
import { heartbeat, sleep } from '@temporalio/activity';
import { createActivities } from '../../activities/index.js';
import { createWorker } from '../../bot/worker.js';
import { depsOn } from './deps.js';
import { testSettings } from './settings.js';

const { TASK_QUEUE, STORE_URL, SEED_PAUSE_MS } = process.env;
if (!TASK_QUEUE || !STORE_URL) throw new Error('TASK_QUEUE and STORE_URL are required');

const { deps } = depsOn(STORE_URL, 'worker-process');
const real = createActivities(deps);
const pause = Number(SEED_PAUSE_MS ?? 0);
const { worker } = await createWorker({
  settings: testSettings(),
  deps,
  taskQueue: TASK_QUEUE,
  activities: {
    ...real,
    async seedSql(input: Parameters<typeof real.seedSql>[0]) {
      const result = await real.seedSql(input);
      process.stdout.write(`seeded ${input.engine}\n`);
      for (let waited = 0; waited < pause; waited += 500) {
        heartbeat({ pausedMs: waited });
        await sleep(500);
      }
      return result;
    },
  },
});
process.stdout.write('worker ready\n');
await worker.run();
