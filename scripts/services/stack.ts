// The local server stack as a whole: bring every server up (reusing what already answers),
// write .envbot/services.env, report status, stop what envbot started.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createContext, type Context, type ContextOptions, type Server } from './lib/context.js';
import { pythonVenv, venvDir } from './lib/install.js';
import { isAlive, portOpen, readPid, stopGroup, waitUntil } from './lib/proc.js';
import { etcd } from './servers/etcd.js';
import { ferretdb } from './servers/ferretdb.js';
import { kubeApiserver } from './servers/kube-apiserver.js';
import { kubeControllerManager, kubeScheduler } from './servers/kube-controllers.js';
import { kwok } from './servers/kwok.js';
import { mariadb } from './servers/mariadb.js';
import { moto } from './servers/moto.js';
import { postgres } from './servers/postgres.js';
import { redis } from './servers/redis.js';
import { temporal } from './servers/temporal.js';
import { buildHelm } from './tools/helm.js';

export const servers: Server[] = [temporal, postgres, mariadb, redis, ferretdb, moto, etcd, kubeApiserver, kubeControllerManager, kubeScheduler, kwok];

export type ServerState = 'started' | 'running' | 'reused' | 'failed';

export interface UpResult {
  ok: boolean;
  envFile: string;
  env: Record<string, string>;
  /** Time spent installing and building before any server was started. */
  installSeconds: number;
  /** `seconds`: from this server's start (after every install) until it was ready. */
  servers: { name: string; state: ServerState; seconds: number; error?: string }[];
}

export interface UpOptions extends ContextOptions {
  /** Which servers (default: all); servers named in `after` must be among them. */
  only?: Server[];
  /** Also build the tools the tests run (helm); default true, with all servers only. */
  tools?: boolean;
}

/** Whether envbot started this server (a live pid file) rather than finding it already there. */
function ownedPid(ctx: Context, s: Server): number | undefined {
  const pid = readPid(ctx.pidFile(s.name));
  return pid !== undefined && isAlive(pid) ? pid : undefined;
}

async function bringUp(ctx: Context, s: Server): Promise<ServerState> {
  const pid = ownedPid(ctx, s);
  if (await s.ready(ctx)) {
    await s.setup?.(ctx);
    return pid !== undefined ? 'running' : 'reused';
  }
  if (pid !== undefined) {
    // Ours, but not answering yet: another `up` may still be starting it, or a busy machine made
    // one probe time out. Wait while it lives and works, as for a start.
    await waitUntil(s.name, () => s.ready(ctx), { pid, logFile: ctx.logFile(s.name), onWait: ctx.log }).catch((err: Error) => {
      throw new Error(
        `${s.name} was started by envbot (pid file ${ctx.pidFile(s.name)}) but does not answer: ${err.message}\n` +
          `Run "scripts/services/services down" and "up" again, or read ${ctx.logFile(s.name)}`,
      );
    });
    await s.setup?.(ctx);
    return 'running';
  }
  const main = ctx.port(s.ports[0] ?? 0);
  if (await portOpen(main)) {
    throw new Error(
      `port ${main} is taken by a server envbot cannot use as ${s.name} (it does not accept envbot's local ` +
        `credentials); stop that server or free the port, then run "scripts/services/services up" again`,
    );
  }
  await s.start(ctx);
  await s.setup?.(ctx);
  return 'started';
}

/**
 * Installs and builds what the servers that do not answer yet need, all before any of them
 * starts: a readiness wait must not compete with a compile (on two cores, a cold build of
 * kube-apiserver starves everything else for a quarter of an hour). Returns the install failures.
 */
async function installAll(ctx: Context, list: Server[], tools: boolean): Promise<Map<string, Error>> {
  const waiting = (await Promise.all(list.map(async (s) => ((await s.ready(ctx)) ? undefined : s)))).filter((s) => s !== undefined);
  const withInstall = waiting.filter((s) => s.install);
  const failures = new Map<string, Error>();
  // The venv carries the time-skipping test server the tests use even when Temporal itself is reused.
  const venv = pythonVenv(ctx);
  const installs = withInstall.map((s) => s.install!(ctx).catch((err: Error) => void failures.set(s.name, err)));
  // Tools the tests run (not servers): built once, cached, queued behind the servers' Go builds.
  // A failed helm build leaves the servers alone; the chart's test then says helm is missing.
  const helm = (tools ? buildHelm(ctx) : Promise.resolve()).catch((err: Error) => ctx.log(`helm could not be built (the chart test will fail): ${err.message}`));
  await Promise.allSettled([venv, helm, ...installs]);
  await venv;
  await helm;
  return failures;
}

export async function up(opts: UpOptions = {}): Promise<UpResult> {
  const ctx = createContext(opts);
  const list = opts.only ?? servers;
  const t0 = Date.now();
  // The tools (helm) come with a full `up` only, not with a chosen few servers, nor for `npm start`.
  const installFailures = await installAll(ctx, list, opts.only === undefined && opts.tools !== false);
  const installSeconds = (Date.now() - t0) / 1000;
  if (installSeconds >= 5) ctx.log(`installs done in ${installSeconds.toFixed(0)}s; starting servers`);
  const done = new Map<string, Promise<void>>();
  const result: UpResult['servers'] = [];
  const startOne = (s: Server): Promise<void> => {
    let p = done.get(s.name);
    if (p) return p;
    p = (async () => {
      for (const dep of s.after ?? []) {
        const d = list.find((x) => x.name === dep);
        if (d) await startOne(d);
      }
      const t0 = Date.now();
      try {
        const failed = installFailures.get(s.name);
        if (failed) throw failed;
        const state = await bringUp(ctx, s);
        const seconds = (Date.now() - t0) / 1000;
        result.push({ name: s.name, state, seconds });
        ctx.log(`${s.name.padEnd(15)} ${state} (${seconds.toFixed(1)}s)`);
      } catch (err) {
        const seconds = (Date.now() - t0) / 1000;
        result.push({ name: s.name, state: 'failed', seconds, error: (err as Error).message });
        ctx.log(`${s.name.padEnd(15)} FAILED: ${(err as Error).message}`);
        throw err;
      }
    })();
    done.set(s.name, p);
    return p;
  };
  await Promise.allSettled(list.map(startOne));
  const env: Record<string, string> = {};
  for (const s of list) Object.assign(env, s.env(ctx));
  env.TEMPORAL_TEST_SERVER_PATH = join(venvDir(ctx), 'bin', 'temporal-test-server');
  env.ENVBOT_SECRET_KEYS = localSecretKeys(ctx);
  const envFile = join(ctx.stateDir, 'services.env');
  const ok = result.every((r) => r.state !== 'failed');
  if (ok) {
    const body = Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n');
    // It holds the local secret key: readable by this user only.
    writeFileSync(envFile, `# Written by scripts/services up: connections to the local servers.\n${body}\n`, { mode: 0o600 });
    chmodSync(envFile, 0o600);
  }
  return { ok, envFile, env, installSeconds, servers: result };
}

/** A key for secrets at rest on this machine, made once and kept with the local data. */
function localSecretKeys(ctx: Context): string {
  const file = join(ctx.dataDir('envbot'), 'secret-keys');
  if (!existsSync(file)) writeFileSync(file, `local-1:${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

export async function down(opts: ContextOptions = {}): Promise<string[]> {
  const ctx = createContext(opts);
  const stopped: string[] = [];
  const stop = async (s: Server): Promise<void> => {
    const t0 = Date.now();
    if (await stopGroup(ctx.pidFile(s.name))) {
      stopped.push(s.name);
      ctx.log(`${s.name.padEnd(15)} stopped (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
    }
  };
  // Servers that depend on others first (kube-apiserver before etcd), then the rest at once.
  const dependants = servers.filter((s) => (s.after?.length ?? 0) > 0);
  await Promise.all(dependants.map(stop));
  await Promise.all(servers.filter((s) => !dependants.includes(s)).map(stop));
  return stopped;
}

export async function status(): Promise<{ name: string; ports: number[]; ready: boolean; owned: boolean }[]> {
  const ctx = createContext({ quiet: true });
  return Promise.all(
    servers.map(async (s) => ({
      name: s.name,
      ports: s.ports.map(ctx.port),
      ready: await s.ready(ctx),
      owned: ownedPid(ctx, s) !== undefined,
    })),
  );
}

export function envFilePath(): string {
  return join(createContext({ quiet: true }).stateDir, 'services.env');
}

export function haveEnvFile(): boolean {
  return existsSync(envFilePath());
}
