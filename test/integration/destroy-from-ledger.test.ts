// Destroy works from the ledger: after projb-qa was built, projb and every database server leave
// the catalogue (envbot.yaml edited, the worker restarted with it); `envbot destroy projb-qa` still
// removes everything, through servers reached with the connections envbot remembered when it
// built them. And a delete whose server can be reached no way at all fails once, with the reason.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { LoadedCatalogue } from '../../shared/catalogue/load.js';
import type { Requester } from '../../shared/model.js';
import { createWorker } from '../../bot/worker.js';
import { EnvbotCore } from '../../bot/core/core.js';
import { uniqueEnv } from '../support/deps.js';
import { leftovers } from '../support/inspect.js';
import { provisioningHarness, type Harness } from '../support/provisioning.js';
import { repoRoot, testSettings } from '../support/settings.js';

const requester: Requester = { id: 'cli:test', platform: 'cli' };

/** The example catalogue without `project` and with no database servers at all. */
function withoutProject(loaded: LoadedCatalogue, project: string): LoadedCatalogue {
  const catalogue = structuredClone(loaded.catalogue);
  delete catalogue.projects[project];
  catalogue.servers = { mongo: {}, mysql: {}, postgres: {}, redis: {} };
  return { ...loaded, catalogue };
}

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(join(repoRoot, 'bin', 'envbot'), args, { env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('destroy from the ledger', () => {
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    h = await provisioningHarness('ledger-destroy');
    // envbot.yaml as edited by its admin: projb gone. Templates and seeds stay where they were.
    dir = mkdtempSync(join(tmpdir(), 'envbot-catalogue-'));
    const yaml = parse(readFileSync(join(repoRoot, 'examples', 'envbot.yaml'), 'utf8')) as { projects: Record<string, unknown> };
    delete yaml.projects.projb;
    writeFileSync(join(dir, 'envbot.yaml'), stringify(yaml));
    for (const sub of ['templates', 'seeds']) symlinkSync(join(repoRoot, 'examples', sub), join(dir, sub));
  });

  afterAll(async () => {
    await h?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('destroys an environment whose project and servers left the catalogue, leaving nothing', async () => {
    const ref = uniqueEnv('projb', 'qa');
    const created = await h.core.create({ project: 'projb', stage: 'qa', suffix: ref.suffix!, requester });
    expect(await created.handle.result()).toMatchObject({ status: 'ready' });

    // The worker restarted with the edited catalogue, on its own task queue; the CLI with the edited file.
    const taskQueue = `ledger-destroy-${randomUUID()}`;
    const { worker, connection } = await createWorker({ settings: testSettings(), deps: { ...h.deps, catalogue: withoutProject(h.deps.catalogue, 'projb') }, taskQueue });
    const running = worker.run();
    try {
      const run = await cli(['destroy', ref.environment, '--json'], { DATABASE_URL: h.storeDb.url, TEMPORAL_TASK_QUEUE: taskQueue, ENVBOT_CONFIG: join(dir, 'envbot.yaml') });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ environment: ref.environment, status: 'destroyed', failed: [] });
    } finally {
      worker.shutdown();
      await running;
      await connection.close();
    }
    // Looked for with the full catalogue: every database, user, key, record, object and ledger row.
    expect(await leftovers(h, ref)).toEqual([]);
    expect((await h.deps.store.getEnvironment(ref.environment))?.state).toBe('destroyed');
  }, 180_000);

  it('says once why a delete can never succeed, instead of retrying it to exhaustion', async () => {
    const ref = uniqueEnv('projb', 'qa');
    const created = await h.core.create({ project: 'projb', stage: 'qa', suffix: ref.suffix!, requester });
    expect(await created.handle.result()).toMatchObject({ status: 'ready' });
    // Neither in the catalogue nor remembered: the MySQL server is out of reach for good.
    await h.deps.store.pool.query("DELETE FROM server_connections WHERE engine = 'mysql'");
    const taskQueue = `ledger-gone-${randomUUID()}`;
    const { worker, connection } = await createWorker({ settings: testSettings(), deps: { ...h.deps, catalogue: withoutProject(h.deps.catalogue, 'projb') }, taskQueue });
    const running = worker.run();
    try {
      const core = new EnvbotCore({ client: h.client, store: h.deps.store, catalogue: h.deps.catalogue.catalogue, taskQueue });
      const started = Date.now();
      const destroyed = await core.destroy({ environment: ref.environment, requester });
      const err = await destroyed.handle.result().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const result = ((err as WorkflowFailedError).cause as { details?: { failed: { step: string; error: string }[]; removed: string[] }[] }).details?.[0];
      expect(result?.failed).toEqual([{ step: 'mysql', error: expect.stringMatching(/the mysql server "main" is no longer in the catalogue and envbot kept no connection to it; add servers\.mysql\.main back/) }]);
      // Everything else was removed, and the failure took no retries (ten with backoff would take minutes).
      expect(result?.removed).toEqual(expect.arrayContaining(['manifests', 'namespace', 'dns', 'redis', 'postgres', 'mongo', 'secrets']));
      expect(Date.now() - started).toBeLessThan(60_000);
      const history = await destroyed.handle.fetchHistory();
      // One attempt: a retried activity would show its attempt count on the failure.
      const failures = history.events!.filter((e) => e.activityTaskFailedEventAttributes);
      expect(failures.length).toBe(1);
      const startedOf = history.events!.find((e) => e.eventId?.toString() === failures[0]!.activityTaskFailedEventAttributes!.startedEventId?.toString());
      expect(startedOf?.activityTaskStartedEventAttributes?.attempt).toBe(1);
    } finally {
      worker.shutdown();
      await running;
      await connection.close();
    }
    // Put the connection back (the full catalogue has it) and finish the job: nothing is left.
    const again = await h.core.destroy({ environment: ref.environment, requester });
    await again.handle.result();
    expect(await leftovers(h, ref)).toEqual([]);
  }, 180_000);
});
