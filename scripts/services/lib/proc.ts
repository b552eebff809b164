// Process helpers for the local server stack: detached children with pid files, port probes.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, readdirSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { promisify } from 'node:util';
import type { Context } from './context.js';

const execFileAsync = promisify(execFile);

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; on failure the error names the command and shows its output. */
export async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileAsync(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      timeout: opts.timeoutMs ?? 0,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout, stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    const tail = `${e.stderr ?? ''}\n${e.stdout ?? ''}`.trim().split('\n').slice(-25).join('\n');
    throw new Error(`command failed: ${cmd} ${args.join(' ')}\n${tail || e.message}`, { cause: err });
  }
}

/** True when the command exists on PATH. */
export async function have(cmd: string): Promise<boolean> {
  try {
    await execFileAsync('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}

/** How each child started here has ended, by pid: for waits, and for the message that says it died. */
const exits = new Map<number, { code: number | null; signal: NodeJS.Signals | null }>();

function exitOf(pid: number): string {
  const e = exits.get(pid);
  if (!e) return 'exited';
  return e.signal ? `was killed by ${e.signal}` : `exited with code ${e.code}`;
}

/** Starts `cmd` with its output in `logFile`, recording how it ends. */
function spawnLogged(
  cmd: string,
  args: string[],
  opts: { logFile: string; append: boolean; detached: boolean; cwd?: string; env?: NodeJS.ProcessEnv },
): ChildProcess & { pid: number } {
  const fd = openSync(opts.logFile, opts.append ? 'a' : 'w');
  try {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, detached: opts.detached, stdio: ['ignore', fd, fd] });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not start ${cmd}`);
    child.once('exit', (code, signal) => exits.set(pid, { code, signal }));
    return child as ChildProcess & { pid: number };
  } finally {
    closeSync(fd);
  }
}

/**
 * Starts a long-running server in its own process group, output appended to `logFile`,
 * and records its pid so `down` can stop the whole group later.
 */
export function spawnDetached(
  cmd: string,
  args: string[],
  opts: { logFile: string; pidFile: string; cwd?: string; env?: NodeJS.ProcessEnv },
): number {
  const child = spawnLogged(cmd, args, { ...opts, append: true, detached: true });
  child.unref();
  writeFileSync(opts.pidFile, `${child.pid}\n`);
  return child.pid;
}

/**
 * Runs a long command (a build) to completion, its output in `logFile`. No fixed deadline: on a
 * busy machine a build takes as long as it takes. It fails when the command fails, or when it
 * (with its children) has used under 1% of a CPU for `stallMs` (default 10 min: a hang).
 */
export async function runLong(
  what: string,
  cmd: string,
  args: string[],
  opts: { logFile: string; cwd?: string; env?: NodeJS.ProcessEnv; stallMs?: number; onWait?: (message: string) => void },
): Promise<void> {
  const child = spawnLogged(cmd, args, { ...opts, append: false, detached: false });
  const succeeded = async () => exits.get(child.pid)?.code === 0;
  await waitUntil(what, succeeded, { pid: child.pid, logFile: opts.logFile, stallMs: opts.stallMs ?? 10 * 60_000, maxMs: Infinity, onWait: opts.onWait, pollMs: 1000 }).catch(
    (err: Error) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      throw err;
    },
  );
}

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops a process group started by spawnDetached: TERM, then KILL after the grace period. */
export async function stopGroup(pidFile: string, graceMs = 15_000): Promise<boolean> {
  const pid = readPid(pidFile);
  if (pid === undefined || !isAlive(pid)) {
    rmSync(pidFile, { force: true });
    return false;
  }
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && groupAlive(pid)) await sleep(200);
  if (groupAlive(pid)) signal('SIGKILL');
  while (groupAlive(pid)) await sleep(100);
  rmSync(pidFile, { force: true });
  return true;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return isAlive(pgid);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * How long one readiness probe may take. Generous: on a loaded machine a healthy server took over
 * a second to answer Temporal's health check, and a refused connection fails at once anyway.
 */
export const PROBE_TIMEOUT_MS = 5000;

/** True when something accepts TCP connections on host:port. */
export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * An ENVBOT_PORT_OFFSET at which none of `ports` (standard ports) is taken, for a second stack
 * (tests start servers of their own beside the shared ones).
 */
export async function freePortOffset(ports: number[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const offset = 100 + Math.floor(Math.random() * 900);
    const taken = await Promise.all(ports.map((p) => portOpen(p + offset)));
    if (!taken.includes(true)) return offset;
  }
  throw new Error(`no free port offset for ports ${ports.join(', ')}`);
}

/** Below this share of one CPU over a whole stall window, a server that does not answer is stuck. */
const MIN_CPU_SHARE = 0.01;

export interface WaitOptions {
  /** The server's process (its group's leader): lets the wait tell a slow start from a dead or stuck one. */
  pid?: number;
  logFile?: string;
  /**
   * With a pid: fail once the process and its children used less than 1% of a CPU for this long
   * without answering (default 60 s). Without a pid: the whole wait.
   */
  stallMs?: number;
  /** Fail in any case after this long, however busy the process is (default 10 min). */
  maxMs?: number;
  /** Told every minute how a long wait is going. */
  onWait?: (message: string) => void;
  pollMs?: number;
}

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10}s`;

/**
 * Polls `probe` until it resolves true. A start is given as long as it takes while its process lives
 * and works: a fixed deadline tuned on an idle machine fails on a busy one (two cores compiling).
 * It fails at once when the process exits, after `stallMs` of no CPU use, or after `maxMs` in any
 * case; each message names the cause, the last probe error and the tail of the server's log.
 */
export async function waitUntil(what: string, probe: () => Promise<boolean>, opts: WaitOptions = {}): Promise<void> {
  const { pid, logFile } = opts;
  const stallMs = opts.stallMs ?? 60_000;
  const maxMs = opts.maxMs ?? 600_000;
  const started = Date.now();
  const samples: { at: number; cpuMs: number }[] = [];
  let noted = started;
  let lastError = '';
  for (;;) {
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    const now = Date.now();
    const elapsed = now - started;
    const why = `${lastError ? ` (last error: ${lastError})` : ''}.${logTail(logFile)}`;
    if (pid === undefined) {
      if (elapsed >= stallMs) throw new Error(`${what} was not ready after ${seconds(elapsed)}${why}`);
    } else {
      if (!isAlive(pid)) throw new Error(`${what} ${exitOf(pid)} after ${seconds(elapsed)}${why}`);
      const cpuMs = treeCpuMs(pid);
      if (cpuMs !== undefined) {
        samples.push({ at: now, cpuMs });
        // Keep one sample at least stallMs old: the window's start.
        while (samples.length > 1 && samples[1]!.at <= now - stallMs) samples.shift();
        const first = samples[0]!;
        const used = cpuMs - first.cpuMs;
        if (now - first.at >= stallMs && used < stallMs * MIN_CPU_SHARE) {
          throw new Error(
            `${what} made no progress for ${seconds(stallMs)}: its process (pid ${pid}) is alive but used ` +
              `${seconds(used)} of CPU in that time and does not answer${why}`,
          );
        }
      }
      if (elapsed >= maxMs) {
        throw new Error(`${what} was still not ready after ${seconds(elapsed)}, busy (pid ${pid}) but not answering${why}`);
      }
      if (opts.onWait && now - noted >= 60_000) {
        noted = now;
        const cpu = cpuMs === undefined ? '' : `, ${seconds(cpuMs)} of CPU so far`;
        opts.onWait(`${what}: still going after ${seconds(elapsed)} (pid ${pid} alive${cpu})`);
      }
    }
    await sleep(opts.pollMs ?? 250);
  }
}

/**
 * CPU time used so far by process `pid` and all its descendants (children it has reaped
 * included), in ms, from Linux's /proc (USER_HZ is 100); undefined where there is no /proc.
 */
export function treeCpuMs(pid: number): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const procs: { pid: number; ppid: number; ticks: number }[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // After "pid (comm) ": state, ppid, ..., utime, stime, cutime, cstime are fields 3, 4, 14-17.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    procs.push({ pid: Number(entry), ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) });
  }
  const tree = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) {
      if (tree.has(p.pid) || !tree.has(p.ppid)) continue;
      tree.add(p.pid);
      grew = true;
    }
  }
  return procs.filter((p) => tree.has(p.pid)).reduce((sum, p) => sum + p.ticks, 0) * 10;
}

/**
 * Starts server `name` in its own process group (log and pid files from ctx) and waits until
 * `probe` says it is ready.
 */
export async function launch(
  ctx: Context,
  name: string,
  cmd: string,
  args: string[],
  probe: () => Promise<boolean>,
  opts: { label?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<number> {
  const logFile = ctx.logFile(name);
  const pid = spawnDetached(cmd, args, { logFile, pidFile: ctx.pidFile(name), cwd: opts.cwd, env: opts.env });
  await waitUntil(opts.label ?? name, probe, { pid, logFile, onWait: ctx.log });
  return pid;
}

export function logTail(logFile: string | undefined, lines = 20): string {
  if (!logFile || !existsSync(logFile)) return '';
  const text = readFileSync(logFile, 'utf8').trim().split('\n').slice(-lines).join('\n');
  return text ? `\n--- last lines of ${logFile} ---\n${text}` : '';
}
