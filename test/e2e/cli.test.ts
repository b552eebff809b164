// The envbot CLI as a user runs it (bin/envbot in its own process) against a real worker:
// create with live progress, list, status, extend, reset-db, destroy; exit codes and --json.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorker } from '../../bot/worker.js';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { depsOn } from '../support/deps.js';
import { leftovers } from '../support/inspect.js';
import { ensureSharedSecrets } from '../support/shared-secrets.js';
import { repoRoot, testSettings } from '../support/settings.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command` with `args` and only `env`, collecting what it prints. */
function runProgram(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('envbot CLI', () => {
  let storeDb: ScratchDatabase;
  let worker: Worker;
  let running: Promise<void>;
  let closeAll: () => Promise<void>;
  const taskQueue = `cli-${randomUUID()}`;
  const suffix = randomBytes(3).toString('hex');
  const env = `projc-dev-${suffix}`;
  let deps: ReturnType<typeof depsOn>['deps'];

  const cli = (...args: string[]): Promise<Run> => cliOn(storeDb.url, ...args);
  const cliOn = (databaseUrl: string, ...args: string[]): Promise<Run> => cliWith({ DATABASE_URL: databaseUrl }, ...args);
  const cliWith = (extra: Record<string, string>, ...args: string[]): Promise<Run> =>
    runProgram(join(repoRoot, 'bin', 'envbot'), args, { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: storeDb.url, TEMPORAL_TASK_QUEUE: taskQueue, ...extra });

  beforeAll(async () => {
    storeDb = await scratchPostgres('store_cli', { migrate: true });
    const d = depsOn(storeDb.url, 'cli');
    deps = d.deps;
    await ensureSharedSecrets(deps);
    const w = await createWorker({ settings: testSettings(), deps, taskQueue });
    worker = w.worker;
    running = worker.run();
    closeAll = async () => {
      worker.shutdown();
      await running;
      await w.connection.close();
      await d.store.close();
    };
  });

  afterAll(async () => {
    await closeAll?.();
    await storeDb?.drop();
  });

  it('create waits, shows each step, and prints the URLs', async () => {
    const run = await cli('create', 'projc', 'dev', '--suffix', suffix);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/✓ Generate credentials/);
    expect(run.stdout).toMatch(/✓ MySQL databases/);
    expect(run.stdout).toMatch(/✓ Services[^\n]*\n(.*\n)* {2}✓ Ready/);
    expect(run.stdout).toMatch(new RegExp(`ready: https://shop\\.${env}\\.example\\.com`));
  });

  it('create of an environment that exists exits 1 and says what to do', async () => {
    const run = await cli('create', 'projc', 'dev', '--suffix', suffix);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`${env} already exists \\(ready\\); use it, reset it, or destroy it first`));
  });

  it('list --json and status show it', async () => {
    const list = await cli('list', '--json');
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ name: env, state: 'ready', project: 'projc' })]);
    const status = await cli('status', env);
    expect(status.stdout).toMatch(new RegExp(`^${env}: ready, expires `));
    expect(status.stdout).toContain(`urls: https://shop.${env}.example.com https://admin.${env}.example.com https://api.${env}.example.com`);
    expect(status.stdout).toMatch(/databases: mongo carts_projc_dev_\w+, mysql store_projc_dev_\w+\nredis: database \d+/);
  });

  it('status --json names the URLs, databases and Redis index the environment has on the servers', async () => {
    const status = await cli('status', env, '--json');
    expect(status.code).toBe(0);
    const shown = JSON.parse(status.stdout) as { urls: string[]; databases: { engine: string; name: string }[]; redisIndex: number };
    const found = await leftovers({ deps }, { environment: env, project: 'projc', stage: 'dev', suffix });
    // Each host shown has its record in Route 53, and each record there is shown.
    const hosts = shown.urls.map((u) => new URL(u).host);
    expect(hosts.sort()).toEqual(found.filter((f) => f.startsWith('dns record ')).map((f) => f.slice('dns record '.length).replace(/\.$/, '')).sort());
    expect(hosts).toHaveLength(3);
    expect(shown.databases.map((d) => d.engine)).toEqual(['mongo', 'mysql']);
    for (const d of shown.databases) expect(found).toContain(`${d.engine} database ${d.name}`);
    expect(found).toContain(`redis index ${shown.redisIndex}`);
  });

  it('list and status of a ready environment answer from the store, without loading the engine', async () => {
    const counting = { NODE_OPTIONS: `--require ${join(repoRoot, 'test', 'support', 'loaded-modules.cjs')}` };
    const loaded = (r: Run) => Number(/\[loaded-modules\] temporal=(\d+)/.exec(r.stderr)?.[1] ?? NaN);
    const list = await cliWith(counting, 'list');
    expect(list.stdout).toContain(env);
    expect(loaded(list)).toBe(0);
    const status = await cliWith(counting, 'status', env);
    expect(status.stdout).toContain(`${env}: ready`);
    expect(loaded(status)).toBe(0);
    // The counter does see the engine when a command needs it: a create loads the Temporal client.
    const create = await cliWith(counting, 'create', 'projc', 'dev', '--suffix', suffix);
    expect(create.code).toBe(1);
    expect(loaded(create)).toBeGreaterThan(0);
  });

  it('extend moves the expiry', async () => {
    const run = await cli('extend', env, '30d', '--json');
    expect(run.code).toBe(0);
    const { expiresAt } = JSON.parse(run.stdout) as { expiresAt: string };
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect((await deps.store.getEnvironment(env))?.expiresAt?.toISOString()).toBe(expiresAt);
  });

  it('reset-db --no-wait returns at once with the workflow id', async () => {
    const run = await cli('reset-db', env, 'sql', '--no-wait', '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ environment: env, workflowId: `envbot/${env}/reset`, status: 'started' });
    // Let it finish before the destroy below.
    const connection = await Connection.connect({ address: testSettings().temporal.address });
    const result = await new Client({ connection }).workflow.getHandle(`envbot/${env}/reset`).result();
    await connection.close();
    expect(result).toEqual({ environment: env, reset: ['mysql'] });
  });

  it('destroy --json removes everything', async () => {
    const run = await cli('destroy', env, '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ environment: env, status: 'destroyed' });
    // Nothing of it is left to show.
    const after = await cli('status', env, '--json');
    expect(after.stdout).not.toMatch(/"urls"|"databases"|"redisIndex"/);
    expect(await leftovers({ deps }, { environment: env, project: 'projc', stage: 'dev', suffix })).toEqual([]);
  });

  it('--help lists what the terminal runs, as it runs there: no form, and no question before a destroy or reset', async () => {
    const run = await cli('--help');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n').filter((l) => l.startsWith('  '));
    expect(lines.map((l) => l.trim().split(' ')[0])).toEqual(['create', 'list', 'status', 'destroy', 'reset-db', 'extend', 'refresh']);
    expect(run.stdout).not.toMatch(/asks first|opens a form/);
    expect(lines.find((l) => l.trim().startsWith('create'))).toMatch(/create <project> <stage>/);
    expect(lines.filter((l) => l.includes('typing the command is the confirmation'))).toHaveLength(2);
  });

  it('--version prints the package version', async () => {
    const run = await cli('--version');
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(`envbot ${(JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version}`);
  });

  it('a store an older envbot left says which migrations it lacks and what to do', async () => {
    const old = await scratchPostgres('store_cli_unmigrated');
    try {
      const run = await cliOn(old.url, 'list');
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/the store \(DATABASE_URL\) lacks migrations 001_\w+\.sql, .*: start this version of envbot \(npm start\), or run npm run migrate, then try again/);
    } finally {
      await old.drop();
    }
  });

  it('a store it cannot reach is named (without its password) with what to check, not a stack trace', async () => {
    const run = await cliOn('postgres://envbot:s3cret-pw@127.0.0.1:1/envbot_store', 'list');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot read envbot's store at 127\.0\.0\.1:1\/envbot_store \(DATABASE_URL\): .*ECONNREFUSED.*Check that PostgreSQL runs there/);
    expect(run.stderr).not.toContain('s3cret-pw');
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it('runs from a folder whose path has spaces (the bundle compares its own URL with the path it was started as)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'envbot cli '));
    try {
      // A checkout's layout (the CLI finds its package.json above it), under a path with spaces.
      const root = join(dir, 'my checkout');
      cpSync(join(repoRoot, 'dist', 'cli'), join(root, 'dist', 'cli'), { recursive: true });
      cpSync(join(repoRoot, 'package.json'), join(root, 'package.json'));
      const run = await runProgram(process.execPath, [join(root, 'dist', 'cli', 'envbot.mjs'), '--version'], { PATH: process.env.PATH });
      expect(run).toMatchObject({ code: 0, stdout: expect.stringMatching(/^envbot \d+\.\d+\.\d+\n$/) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the build's stamp is dated when the build began, so a source saved during a build is newer than it", () => {
    // `npm test` builds first (scripts/build); its last steps write the CLI and workflow bundles,
    // every build. (tsc builds incrementally: a compiled file whose source did not change keeps its
    // older time, so only the bundles say when the build ended.)
    const stamp = statSync(join(repoRoot, 'dist', '.built')).mtimeMs;
    expect(stamp).toBeLessThanOrEqual(statSync(join(repoRoot, 'dist', 'cli', 'envbot.mjs')).mtimeMs);
    expect(stamp).toBeLessThanOrEqual(statSync(join(repoRoot, 'dist', 'workflows', 'bundle.js')).mtimeMs);
  });

  it.each([
    [['frobnicate'], 2, /unknown command "frobnicate"/],
    [['list', '--frob'], 2, /Unknown option '--frob'/],
    [['create', 'projc'], 2, /create needs a project and a stage/],
    [['create', 'projz', 'dev'], 1, /There is no project "projz"\. Projects: proja, projb, projc/],
    [['create', 'projc', 'uat'], 1, /Project projc has no stage "uat"\. Its stages: dev, qa/],
    [['status', 'projc-dev-nothere'], 1, /projc-dev-nothere does not exist; "list" shows/],
    [['extend', 'projc-dev-nothere', 'soon'], 2, /"soon" is not a duration/],
  ])('%j exits %i with a clear message', async (args, code, message) => {
    const run = await cli(...(args as string[]));
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(message);
  });
});
