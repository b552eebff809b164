// Provisioning, measured in one run on the local servers:
//  - time to ready for projb-qa without any seed (data-free), with the example seeds, and with a
//    1,000,000-row CSV table added to its MySQL seed, then to its PostgreSQL seed (generated here,
//    never committed), broken down per step;
//  - each engine's bulk seeding alone (a reseed, as Reset database runs it, of an environment whose
//    only seeded SQL database holds the big table) against the server's own bulk path alone (a raw
//    COPY / LOAD DATA of the same file), as a ratio of the medians of ENVBOT_BENCH_ROUNDS (3)
//    rounds of the two, run one after the other, after a first round of both that is not counted;
//  - Temporal's share of each: wall time not covered by any running activity (data-free: the first
//    create of a fresh worker, then the median of DATA_FREE_ROUNDS more on the same worker).
import { randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { parseDocument } from 'yaml';
import { Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pino } from 'pino';
import { createActivities } from '../activities/index.js';
import { dataFreeCatalogue } from './cpu.bench.js';
import { median } from './stats.js';
import { closeActivityDeps, type ActivityDeps } from '../activities/deps.js';
import { EnvbotCore } from '../bot/core/core.js';
import { progressQuery } from '../shared/resources.js';
import { workflowId } from '../shared/names.js';
import { createWorker } from '../bot/worker.js';
import { loadCatalogue } from '../shared/catalogue/load.js';
import { awsClientConfig } from '../shared/clients/aws.js';
import { kubeConfig } from '../shared/clients/kubernetes.js';
import type { Progress } from '../shared/model.js';
import { projectRoot } from '../shared/paths.js';
import type { Settings } from '../shared/settings.js';
import { migrate } from '../shared/store/migrate.js';
import { Store } from '../shared/store/store.js';

const ROWS = 1_000_000;
/** Rounds of each seeding comparison (ENVBOT_BENCH_ROUNDS): medians are printed. */
const ROUNDS = Math.max(1, Number(process.env.ENVBOT_BENCH_ROUNDS) || 3);
/** Data-free creates measured after the first one of a fresh worker. */
const DATA_FREE_ROUNDS = 5;
type Print = (line: string) => void;

interface Interval {
  name: string;
  /** The input's engine, for the activities that have one (seedSql runs once per SQL engine). */
  engine?: string;
  start: number;
  end: number;
}

/** Wall time covered by at least one interval (activities run in parallel). */
function covered(intervals: Interval[], from: number, to: number): number {
  const sorted = intervals.map((i) => [Math.max(i.start, from), Math.min(i.end, to)] as const).filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let cursor = from;
  for (const [a, b] of sorted) {
    if (b <= cursor) continue;
    total += b - Math.max(a, cursor);
    cursor = b;
  }
  return total;
}

async function writeBigCsv(file: string): Promise<void> {
  const out = createWriteStream(file);
  out.write('id,name,amount,created_at\n');
  for (let i = 1; i <= ROWS; i++) {
    const line = `${i},"item ${i % 997}, batch ${i % 13}",${(i % 100000) / 100},2026-01-${String((i % 28) + 1).padStart(2, '0')} 12:00:00\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

const BIG_TABLE = {
  mysql: 'CREATE TABLE big_rows (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(64) NOT NULL, amount DECIMAL(10,2) NOT NULL, created_at DATETIME NOT NULL) ENGINE=InnoDB;\n',
  postgres: 'CREATE TABLE big_rows (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(10,2) NOT NULL, created_at timestamp NOT NULL);\n',
};

async function rawCopy(settings: Settings, csv: string): Promise<number> {
  const admin = settings.servers.postgres!;
  const db = `bench_raw_${randomBytes(3).toString('hex')}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`CREATE DATABASE ${db}`);
  const url = new URL(admin);
  url.pathname = `/${db}`;
  const d = new pg.Client({ connectionString: url.toString() });
  await d.connect();
  await d.query(BIG_TABLE.postgres);
  const t0 = performance.now();
  await pipeline(createReadStream(csv), d.query(copyFrom('COPY big_rows (id, name, amount, created_at) FROM STDIN WITH (FORMAT csv, HEADER true)')));
  const ms = performance.now() - t0;
  await d.end();
  await c.query(`DROP DATABASE ${db} WITH (FORCE)`);
  await c.end();
  return ms;
}

async function rawLoadData(settings: Settings, csv: string): Promise<number> {
  const db = `bench_raw_${randomBytes(3).toString('hex')}`;
  const c = await mysql.createConnection({ uri: settings.servers.mysql!, flags: ['+LOCAL_FILES'], infileStreamFactory: () => createReadStream(csv) });
  await c.query(`CREATE DATABASE ${db}`);
  await c.query(`USE ${db}`);
  await c.query(BIG_TABLE.mysql);
  const t0 = performance.now();
  await c.query(`LOAD DATA LOCAL INFILE 'big_rows.csv' INTO TABLE big_rows FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' LINES TERMINATED BY '\\n' IGNORE 1 LINES (id, name, amount, created_at)`);
  const ms = performance.now() - t0;
  await c.query(`DROP DATABASE ${db}`);
  await c.end();
  return ms;
}

/** What a bench does between ready and destroy: `t0` is when the create was asked for (performance.now()). */
export type AfterReady = (o: { environment: string; client: Client; core: EnvbotCore; t0: number; wall: number; intervals: Interval[] }) => Promise<void>;

/** One create's figures: its wall time, the activities that ran meanwhile, its progress and its workflow tasks. */
export interface CreateRun {
  wall: number;
  intervals: Interval[];
  progress: Progress;
  /** Workflow tasks of the create's own history. */
  tasks: number;
}

/**
 * `rounds` creates of projb-qa (1 by default), one after the other on one fresh worker, each
 * destroyed after `afterReady`; the client shares the worker's connection and asks for eager start,
 * as bot/main.ts runs them. Returns each create's figures, in order.
 */
export async function runCreates(
  settings: Settings,
  catalogueFile: string,
  label: string,
  print: Print,
  opts: { storageCopyPoll?: Duration; afterReady?: AfterReady; checkRows?: 'mysql' | 'postgres'; rounds?: number } = {},
): Promise<CreateRun[]> {
  const storeDbName = `bench_store_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: settings.servers.postgres! });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${storeDbName}`);
  const storeUrl = new URL(settings.servers.postgres!);
  storeUrl.pathname = `/${storeDbName}`;
  await migrate(storeUrl.toString());
  const store = new Store(storeUrl.toString(), settings.secretKeys.length ? settings.secretKeys : [{ id: 'bench', key: randomBytes(32) }]);
  const deps: ActivityDeps = {
    workerId: 'bench',
    catalogue: loadCatalogue(catalogueFile, settings.env),
    store,
    log: pino({ level: 'silent' }),
    kube: kubeConfig(settings),
    aws: awsClientConfig(settings),
    chat: { send: async (t) => t.messageRef ?? 'bench' },
  };
  const intervals: Interval[] = [];
  const real = createActivities(deps) as unknown as Record<string, (input: unknown) => Promise<unknown>>;
  const timed = Object.fromEntries(
    Object.entries(real).map(([name, fn]) => [
      name,
      async (input: unknown) => {
        const start = performance.now();
        try {
          return await fn(input);
        } finally {
          const engine = (input as { engine?: unknown } | undefined)?.engine;
          intervals.push({ name, ...(typeof engine === 'string' ? { engine } : {}), start, end: performance.now() });
        }
      },
    ]),
  );
  const taskQueue = `bench-${randomUUID()}`;
  const { worker, connection: native } = await createWorker({ settings, deps, taskQueue, activities: timed });
  const running = worker.run();
  // One connection for the worker and the client, so creates start eagerly on this worker (as bot/main.ts runs them).
  const client = new Client({ connection: native, namespace: settings.temporal.namespace });
  const core = new EnvbotCore({ client, store, catalogue: deps.catalogue.catalogue, taskQueue, eagerStart: true, ...(opts.storageCopyPoll ? { storageCopyPoll: opts.storageCopyPoll } : {}) });
  const runs: CreateRun[] = [];
  try {
    for (let round = 1; round <= (opts.rounds ?? 1); round++) {
      const suffix = randomBytes(3).toString('hex');
      const t0 = performance.now();
      const started = await core.create({ project: 'projb', stage: 'qa', suffix, requester: { id: 'bench', platform: 'cli' } });
      await started.handle.result();
      const wall = performance.now() - t0;
      const progress = await started.handle.query(progressQuery);
      const tasks = ((await started.handle.fetchHistory()).events ?? []).filter((e) => e.workflowTaskCompletedEventAttributes).length;
      const steps = progress.steps
        .filter((s) => s.startedAt && s.endedAt)
        .map((s) => `${s.id} ${((Date.parse(s.endedAt!) - Date.parse(s.startedAt!)) / 1000).toFixed(2)}s`);
      print(`${label}${(opts.rounds ?? 1) > 1 ? ` (create ${round} of ${opts.rounds})` : ''}: ready in ${(wall / 1000).toFixed(2)} s, ${tasks} workflow tasks`);
      print(`  steps: ${steps.join(' | ')}`);
      if (opts.checkRows) {
        const n = await countBigRows(settings, opts.checkRows, `projb_qa_${suffix}`);
        if (n !== ROWS) throw new Error(`big_rows holds ${n} rows in ${opts.checkRows}, not ${ROWS}`);
        print(`  checked: big_rows holds ${ROWS.toLocaleString('en')} rows in ${opts.checkRows}`);
      }
      await opts.afterReady?.({ environment: `projb-qa-${suffix}`, client, core, t0, wall, intervals });
      const destroyed = await core.destroy({ environment: `projb-qa-${suffix}`, requester: { id: 'bench', platform: 'cli' } });
      await destroyed.handle.result();
      // The destroy stopped the copy's DataSync task; its workflow would notice at its next look, after
      // this worker is gone: cancel it now, so no copy is left on a task queue nobody serves.
      const copy = client.workflow.getHandle(workflowId('storage-copy', `projb-qa-${suffix}`));
      await copy.cancel().catch(() => undefined);
      await copy.result().catch(() => undefined);
      runs.push({ wall, intervals: intervals.filter((i) => i.start >= t0 && i.end <= t0 + wall), progress, tasks });
    }
    return runs;
  } finally {
    worker.shutdown();
    await running;
    await native.close();
    await closeActivityDeps(deps);
    await store.close();
    await admin.query(`DROP DATABASE ${storeDbName} WITH (FORCE)`);
    await admin.end();
  }
}

/** One create of projb-qa on a fresh worker (runCreates with one round). */
export async function runOnce(...args: Parameters<typeof runCreates>): Promise<CreateRun> {
  return (await runCreates(...args))[0]!;
}

/** Rows of big_rows in the environment's shop (MySQL) or orders (PostgreSQL) database. */
async function countBigRows(settings: Settings, engine: 'mysql' | 'postgres', env: string): Promise<number> {
  if (engine === 'postgres') {
    const url = new URL(settings.servers.postgres!);
    url.pathname = `/orders_${env}`;
    const c = new pg.Client({ connectionString: url.toString() });
    await c.connect();
    const { rows } = await c.query('SELECT count(*)::int AS n FROM big_rows');
    await c.end();
    return rows[0].n as number;
  }
  const c = await mysql.createConnection({ uri: settings.servers.mysql! });
  const [rows] = await c.query(`SELECT count(*) AS n FROM \`shop_${env}\`.big_rows`);
  await c.end();
  return Number((rows as { n: number }[])[0]!.n);
}

export async function provisioningBench(settings: Settings, print: Print): Promise<void> {
  if (!settings.servers.postgres || !settings.servers.mysql) throw new Error('POSTGRES_URL and MYSQL_URL are needed: run scripts/services/services up');
  const examples = join(projectRoot, 'examples', 'envbot.yaml');
  const dir = mkdtempSync(join(tmpdir(), 'envbot-bench-'));
  /** A copy of the examples folder, changed by `change`, and its catalogue's path. */
  const variant = (name: string, change: (folder: string) => void): string => {
    const folder = join(dir, name);
    cpSync(join(projectRoot, 'examples'), folder, { recursive: true });
    change(folder);
    return join(folder, 'envbot.yaml');
  };
  const outside = (run: CreateRun) => run.wall - covered(run.intervals, 0, Number.POSITIVE_INFINITY);
  const share = (label: string, run: CreateRun) => {
    print(`Temporal's share (${label}): ${(outside(run) / 1000).toFixed(2)} s of ${(run.wall / 1000).toFixed(2)} s outside activities = ${((outside(run) / run.wall) * 100).toFixed(1)}% (goal < 15% data-free)`);
  };
  try {
    // Data-free: projb without any seed (its databases, Redis index, services, DNS... all made).
    // The first create of a fresh worker loads its workflow code; DATA_FREE_ROUNDS more follow, as
    // on a worker that has run before, whose median is the figure (waits in the local cluster, such
    // as a claim's binding or the Pods' readiness, move a create's wall time by up to a second).
    const dataFree = dataFreeCatalogue(join(dir, 'data-free'));
    const [cold, ...warm] = await runCreates(settings, dataFree, 'projb-qa, data-free (no seeds)', print, { rounds: 1 + DATA_FREE_ROUNDS });
    share('data-free, first create of a fresh worker', cold!);
    for (const [i, run] of warm.entries()) share(`data-free, create ${i + 2}`, run);
    const shares = warm.map((r) => outside(r) / r.wall);
    print(
      `Temporal's share, data-free, median of ${warm.length} creates after the first: ${(median(shares) * 100).toFixed(1)}% ` +
        `(${(median(warm.map(outside)) / 1000).toFixed(2)} s outside activities of ${(median(warm.map((r) => r.wall)) / 1000).toFixed(2)} s, ${median(warm.map((r) => r.tasks))} workflow tasks; goal < 15%)`,
    );
    const plain = await runOnce(settings, examples, 'projb-qa, example seeds', print);
    share('example seeds', plain);

    const csv = join(dir, 'big_rows.csv');
    const t0 = performance.now();
    await writeBigCsv(csv);
    print(`generated ${ROWS.toLocaleString('en')}-row CSV in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // Each engine's seeding alone: the environment's SQL databases reseeded (what Reset database
    // runs: the seedSql activity, through Temporal and the worker) with nothing else running and the
    // other SQL engine's seed removed, against that engine's raw bulk loader alone on the same file.
    // The big file's time is the reseed with it less the median reseed without it; ROUNDS rounds
    // of reseed and raw load, one after the other, so a busy moment of the machine falls on both.
    for (const [engine, db, seed, path] of [['mysql', 'shop', 'seeds/projb/mysql/shop', 'LOAD DATA LOCAL INFILE'], ['postgres', 'orders', 'seeds/projb/postgres/orders', 'COPY FROM STDIN']] as const) {
      const other = engine === 'mysql' ? 'orders' : 'shop';
      const alone = (folder: string) => {
        const file = join(folder, 'envbot.yaml');
        const doc = parseDocument(readFileSync(file, 'utf8'));
        doc.deleteIn(['projects', 'projb', 'databases', other, 'seed']);
        writeFileSync(file, doc.toString());
      };
      const small = variant(`${engine}-alone`, alone);
      const big = variant(`big-${engine}`, (folder) => {
        alone(folder);
        writeFileSync(join(folder, seed, 'schema', '015-big-rows.sql'), BIG_TABLE[engine]);
        cpSync(csv, join(folder, seed, 'data', 'big_rows.csv'));
      });
      const smallMs: number[] = [];
      await runOnce(settings, small, `projb-qa, ${engine} seeded alone (${db}'s example seed)`, print, { afterReady: reseeds(engine, smallMs) });
      const envbotMs: number[] = [];
      const rawMs: number[] = [];
      const bulk = await runOnce(settings, big, `projb-qa, plus ${ROWS.toLocaleString('en')} CSV rows in ${engine}`, print, {
        checkRows: engine,
        afterReady: reseeds(engine, envbotMs, async (i) => {
          const raw = engine === 'postgres' ? await rawCopy(settings, csv) : await rawLoadData(settings, csv);
          if (i === 0) return print(`  round 0 (not counted): raw ${path} ${(raw / 1000).toFixed(2)} s`);
          rawMs.push(raw);
          print(`  round ${i} of ${ROUNDS}: envbot reseeds ${db} in ${(envbotMs[i - 1]! / 1000).toFixed(2)} s (${(smallMs[i - 1]! / 1000).toFixed(2)} s without the big file), raw ${path} ${(rawMs[i - 1]! / 1000).toFixed(2)} s`);
        }),
      });
      share(`with 1M rows in ${engine}`, bulk);
      const envbotRate = ROWS / ((median(envbotMs) - median(smallMs)) / 1000);
      const rawRate = ROWS / (median(rawMs) / 1000);
      print(`${engine} seeding alone (medians of ${ROUNDS} rounds): envbot ${Math.round(envbotRate).toLocaleString('en')} rows/s, raw ${path} alone ${Math.round(rawRate).toLocaleString('en')} rows/s; ratio envbot/raw = ${(envbotRate / rawRate).toFixed(2)} (goal >= 0.9)`);
      print(`  (in the create itself, beside its other steps, the ${engine} step took ${(stepMs(bulk.progress, engine) / 1000).toFixed(2)} s)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function stepMs(p: Progress, id: string): number {
  const s = p.steps.find((x) => x.id === id);
  return s?.startedAt && s.endedAt ? Date.parse(s.endedAt) - Date.parse(s.startedAt) : NaN;
}

/** After ready: ROUNDS reseeds of the environment's SQL databases, the time of each one's seedSql for `engine` into `times`, `between` after each. */
function reseeds(engine: string, times: number[], between?: (round: number) => Promise<void>): AfterReady {
  return async ({ environment, core, intervals }) => {
    // Round 0 is run and not counted: it follows the create's own load of the same rows, which the
    // server is still writing out and vacuuming (the first round of either side was the slowest).
    for (let i = 0; i <= ROUNDS; i++) {
      const from = performance.now();
      const started = await core.resetDatabases({ environment, which: 'sql', requester: { id: 'bench', platform: 'cli' } });
      await started.handle.result();
      const seeded = intervals.filter((iv) => iv.name === 'seedSql' && iv.engine === engine && iv.start >= from);
      if (seeded.length !== 1) throw new Error(`reset ${i} ran seedSql for ${engine} ${seeded.length} times, not once`);
      if (i === 0) {
        await between?.(0);
        continue;
      }
      times.push(seeded[0]!.end - seeded[0]!.start);
      await between?.(i);
    }
  };
}
