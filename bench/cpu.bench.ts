// CPU per environment: COUNT data-free projb environments (the example's projb with every seed
// left out) created at once by an in-process worker on the local servers, then destroyed. It prints
// the machine's busy CPU-seconds per environment (/proc/stat, idle and the hypervisor's steal left
// out: everything else running on the machine is counted too), this process's own (the envbot worker and the Temporal
// client: process.cpuUsage(), which other load affects far less), and the load average, so a busy
// machine shows in the figures. ENVBOT_CPU_PROFILE=<dir> writes a V8 CPU profile of this process
// during the creates (inspector), for `node --cpu-prof`-style reading.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import https from 'node:https';
import { Session } from 'node:inspector/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EFSClient } from '@aws-sdk/client-efs';
import { Client } from '@temporalio/client';
import { pino } from 'pino';
import { parseDocument } from 'yaml';
import { awsClients, closeActivityDeps, type ActivityDeps } from '../activities/deps.js';
import { EnvbotCore } from '../bot/core/core.js';
import { createWorker } from '../bot/worker.js';
import { loadCatalogue } from '../shared/catalogue/load.js';
import { awsClientConfig } from '../shared/clients/aws.js';
import { kubeConfig } from '../shared/clients/kubernetes.js';
import { projectRoot } from '../shared/paths.js';
import type { Settings } from '../shared/settings.js';
import { Store } from '../shared/store/store.js';
import { scratchPostgres } from '../test/support/databases.js';
import { endWorkflowsOn } from '../test/support/leftover-workflows.js';
import { ensureSharedSecrets } from '../test/support/shared-secrets.js';
import { countsAdded, cpuByName, kubeRequestCounts, machineBusy, machineSteal, processCpu } from './stats.js';

const COUNT = Number(process.env.ENVBOT_CPU_COUNT ?? 16);
type Print = (line: string) => void;

/** GET `path` from the Kubernetes API server of `kc`, as text. */
async function kubeGet(kc: ActivityDeps['kube'], path: string): Promise<string> {
  const options: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(options);
  const url = new URL(path, kc.getCurrentCluster()!.server);
  return new Promise((resolve, reject) => {
    https
      .get(url, options, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${path}: ${res.statusCode} ${body.slice(0, 200)}`))));
      })
      .on('error', reject);
  });
}

/** What a SQL statement does to which table: `INSERT resources`, `SELECT environments`, `BEGIN`. */
function statementKind(sql: string): string {
  const text = sql.trim();
  const write = /^(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)/i.exec(text);
  if (write) return `${write[1]!.split(/\s+/)[0]!.toUpperCase()} ${write[2]}`;
  const verb = text.split(/\s+/)[0]!.toUpperCase();
  const from = /\bFROM\s+(\w+)/i.exec(text);
  return verb === 'SELECT' || verb === 'WITH' ? `${verb} ${from?.[1] ?? text.slice(7, 40)}` : verb;
}

/** This process's user + system CPU so far, in seconds. */
const ownCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** The example catalogue with every database and Redis seed of projb removed (a data-free environment; its storage volume stays, filled after ready by a workflow of its own). */
export function dataFreeCatalogue(dir: string): string {
  cpSync(join(projectRoot, 'examples'), dir, { recursive: true });
  const file = join(dir, 'envbot.yaml');
  const doc = parseDocument(readFileSync(file, 'utf8'));
  for (const db of ['catalog', 'shop', 'orders']) doc.deleteIn(['projects', 'projb', 'databases', db, 'seed']);
  doc.deleteIn(['projects', 'projb', 'redis', 'seed']);
  writeFileSync(file, doc.toString());
  return file;
}

export async function cpuBench(settings: Settings, print: Print): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'envbot-cpu-bench-'));
  const storeDb = await scratchPostgres('bench_cpu_store', { migrate: true });
  const store = new Store(storeDb.url, settings.secretKeys.length ? settings.secretKeys : [{ id: 'bench', key: randomBytes(32) }]);
  // Every statement sent to envbot's store, by what it does to which table.
  const storeStatements = new Map<string, number>();
  store.pool.on('connect', (c) => {
    const query = c.query.bind(c) as (...args: unknown[]) => unknown;
    (c as { query: unknown }).query = (...args: unknown[]) => {
      const kind = statementKind(typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string } | undefined)?.text ?? ''));
      storeStatements.set(kind, (storeStatements.get(kind) ?? 0) + 1);
      return query(...args);
    };
  });
  const deps: ActivityDeps = {
    workerId: 'cpu-bench',
    catalogue: loadCatalogue(dataFreeCatalogue(dir), settings.env),
    store,
    log: pino({ level: 'silent' }),
    kube: kubeConfig(settings),
    aws: awsClientConfig(settings),
    chat: { send: async (t) => t.messageRef ?? 'bench' },
  };
  await ensureSharedSecrets(deps);
  // Every call the worker's AWS clients send, by command (retries of a call are not counted again).
  const awsCalls = new Map<string, number>();
  const aws = awsClients(deps);
  const count = (command: string) => awsCalls.set(command, (awsCalls.get(command) ?? 0) + 1);
  for (const c of [aws.route53(), aws.efs(), aws.dataSync(), aws.elbv2(), aws.s3(), aws.secretsManager()]) {
    (c.middlewareStack as Pick<EFSClient['middlewareStack'], 'add'>).add((next, context) => (args) => {
      count(String(context.commandName));
      return next(args);
    }, { step: 'initialize' });
  }
  const taskQueue = `cpu-bench-${randomUUID()}`;
  const { worker, connection: native } = await createWorker({ settings, deps, taskQueue });
  const running = worker.run();
  // One connection for the worker and the client, so creates start eagerly on this worker (as bot/main.ts runs them).
  const client = new Client({ connection: native, namespace: settings.temporal.namespace });
  const core = new EnvbotCore({ client, store, catalogue: deps.catalogue.catalogue, taskQueue, eagerStart: true });
  const run = randomBytes(2).toString('hex');
  const requester = { id: 'bench', platform: 'cli' as const };
  const made: string[] = [];
  const profileDir = process.env.ENVBOT_CPU_PROFILE;
  try {
    const round = async (n: number, tag: string) => {
      const suffixes = Array.from({ length: n }, (_, i) => `${tag}${run}${i}`);
      made.push(...suffixes.map((s) => `projb-qa-${s}`));
      const m0 = machineBusy();
      const st0 = machineSteal();
      const p0 = ownCpu();
      const s0 = processCpu();
      const th0 = processCpu('/proc/self/task');
      const k0 = await kubeRequestCounts((p) => kubeGet(deps.kube, p));
      const a0 = new Map(awsCalls);
      const q0 = new Map(storeStatements);
      const t0 = performance.now();
      const started = await Promise.all(suffixes.map((suffix) => core.create({ project: 'projb', stage: 'qa', suffix, requester })));
      await Promise.all(started.map((s) => s.handle.result()));
      const wall = performance.now() - t0;
      const machine = machineBusy() - m0;
      const steal = machineSteal() - st0;
      const own = ownCpu() - p0;
      const byName = cpuByName(s0, processCpu());
      const byThread = cpuByName(th0, processCpu('/proc/self/task'));
      const kube = countsAdded(k0, await kubeRequestCounts((p) => kubeGet(deps.kube, p)));
      const awsSent = countsAdded(a0, awsCalls);
      const statements = countsAdded(q0, storeStatements);
      const history = await client.workflow.getHandle(started[0]!.handle.workflowId).fetchHistory();
      return { wall, machine, steal, own, byName, byThread, kube, awsSent, statements, events: history.events ?? [] };
    };
    const destroyAll = async () => {
      const handles = await Promise.all(made.splice(0).map((environment) => core.destroy({ environment, requester })));
      await Promise.all(handles.map((h) => h.handle.result()));
    };
    // A first create warms the worker (bundle, connections, JIT); it is not counted.
    await round(1, 'w');
    await destroyAll();
    const one = await round(1, 'a');
    await destroyAll();
    print(`one data-free projb create alone: ${(one.wall / 1000).toFixed(2)} s, ${one.own.toFixed(2)} CPU-s in the worker process, ${one.machine.toFixed(2)} CPU-s on the machine`);
    const load = loadavg()[0]!;
    const cores = readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length ?? 1;
    // What the machine spends with nothing to do (the servers' own timers), per second, so the
    // environments' share can be told from it.
    const i0 = machineBusy();
    await new Promise((r) => setTimeout(r, 5000));
    const idleRate = (machineBusy() - i0) / 5;
    let session: Session | undefined;
    if (profileDir) {
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    const many = await round(COUNT, 'b');
    if (session) {
      const { profile } = await session.post('Profiler.stop');
      mkdirSync(profileDir!, { recursive: true });
      writeFileSync(join(profileDir!, `worker-${COUNT}-creates.cpuprofile`), JSON.stringify(profile));
      session.disconnect();
    }
    print(`${COUNT} data-free projb creates at once: last ready ${(many.wall / 1000).toFixed(2)} s`);
    print(`  CPU-seconds per environment, worker process: ${(many.own / COUNT).toFixed(3)}`);
    print(`  CPU-seconds per environment, whole machine: ${(many.machine / COUNT).toFixed(3)} (load average ${load.toFixed(1)} on ${cores} cores before the round: other work on the machine is counted too)`);
    const background = idleRate * (many.wall / 1000);
    print(`  of which the machine's idle rate over the same time: ${(background / COUNT).toFixed(3)} (${idleRate.toFixed(3)} CPU-s a second); the rest, the environments' own cost: ${((many.machine - background) / COUNT).toFixed(3)}`);
    print(`  not counted: ${(many.steal / COUNT).toFixed(3)} CPU-s per environment the hypervisor gave to other machines meanwhile (steal: ${((100 * many.steal) / (cores * many.wall / 1000)).toFixed(1)} % of the cores' time; a busy host slows everything here)`);
    print(`  by process, CPU-seconds per environment: ${many.byName.slice(0, 10).map(([name, s]) => `${name} ${(s / COUNT).toFixed(3)}`).join(', ')}`);
    print(`  the worker process by thread (JavaScript on MainThread; Temporal's core on tokio threads; V8Worker: garbage collection and compiling), CPU-seconds per environment: ${many.byThread.map(([name, s]) => `${name} ${(s / COUNT).toFixed(3)}`).join(', ')}`);
    const kubeTotal = many.kube.reduce((a, [, n]) => a + n, 0);
    print(`  Kubernetes API requests per environment (every client of the API server: envbot, controllers, scheduler, kwok): ${(kubeTotal / COUNT).toFixed(1)}; ${many.kube.slice(0, 12).map(([k, n]) => `${k} ${(n / COUNT).toFixed(1)}`).join(', ')}`);
    const awsTotal = many.awsSent.reduce((a, [, n]) => a + n, 0);
    print(`  AWS calls per environment (the worker's clients: moto here): ${(awsTotal / COUNT).toFixed(1)}; ${many.awsSent.map(([k, n]) => `${k.replace(/Command$/, '')} ${(n / COUNT).toFixed(1)}`).join(', ')}`);
    const statementTotal = many.statements.reduce((a, [, n]) => a + n, 0);
    print(`  statements to envbot's store per environment: ${(statementTotal / COUNT).toFixed(1)}; ${many.statements.slice(0, 12).map(([k, n]) => `${k} ${(n / COUNT).toFixed(1)}`).join(', ')}`);
    const eventTypes = new Map<string, number>();
    for (const e of many.events) {
      // The event's kind, from the one attributes field it has set (e.g. activityTaskScheduledEventAttributes).
      const kind = Object.keys(e).find((k) => k.endsWith('EventAttributes') && (e as Record<string, unknown>)[k] != null)?.replace(/EventAttributes$/, '') ?? String(e.eventType);
      eventTypes.set(kind, (eventTypes.get(kind) ?? 0) + 1);
    }
    print(`  one create's workflow history: ${many.events.length} events; ${[...eventTypes].sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ${n}`).join(', ')}`);
    await destroyAll();
  } finally {
    await Promise.allSettled(made.map((environment) => core.destroy({ environment, requester }).then((d) => d.handle.result())));
    // The storage copies notice their environment is gone at their next look (30 s on): with the
    // worker about to go, they would stay open on a task queue no one serves, adding to the server's load.
    await endWorkflowsOn(client, taskQueue);
    worker.shutdown();
    await running;
    await native.close();
    await closeActivityDeps(deps);
    await store.close();
    await storeDb.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
