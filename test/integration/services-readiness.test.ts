// scripts/services waits for a starting server as long as its process lives and works, and builds
// before it starts anything. The slow start is a real process kept busy (a real server can't be
// made slow on demand); the second stack is a real Redis on its own port and data.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createContext, type Server } from '../../scripts/services/lib/context.js';
import { freePortOffset, isAlive, portOpen, run, runLong, spawnDetached, waitUntil } from '../../scripts/services/lib/proc.js';
import { redis } from '../../scripts/services/servers/redis.js';
import { down, up } from '../../scripts/services/stack.js';

const dir = mkdtempSync(join(tmpdir(), 'envbot-readiness-'));
const started: number[] = [];

/** A process of our own in its own group, its output in a log file, as the stack starts servers. */
function spawnFake(name: string, script: string): { pid: number; logFile: string } {
  const logFile = join(dir, `${name}.log`);
  const pid = spawnDetached(process.execPath, ['-e', script], { logFile, pidFile: join(dir, `${name}.pid`) });
  started.push(pid);
  return { pid, logFile };
}

afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('waiting for a server to be ready', () => {
  it('waits past the stall window for a server that is busy starting (a fixed deadline would have failed)', async () => {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    // Busy for 4 s (as a server is while it starts on a loaded machine), then it listens.
    const { pid, logFile } = spawnFake('busy', `const end = Date.now() + 4000; while (Date.now() < end); require('net').createServer().listen(${port}, '127.0.0.1')`);
    const t0 = Date.now();
    await waitUntil('busy server', () => portOpen(port), { pid, logFile, stallMs: 1500 });
    expect(Date.now() - t0).toBeGreaterThan(3000);
  });

  it('fails after the stall window when the server lives but does nothing, and says so', async () => {
    const { pid, logFile } = spawnFake('idle', `console.log('listening on a socket nobody probes'); setInterval(() => {}, 1 << 30)`);
    const t0 = Date.now();
    const err = await waitUntil('idle server', async () => false, { pid, logFile, stallMs: 1500 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^idle server made no progress for 1\.5s: its process \(pid \d+\) is alive/);
    expect((err as Error).message).toContain('listening on a socket nobody probes');
    expect(Date.now() - t0).toBeLessThan(6000);
    expect(isAlive(pid)).toBe(true);
  });

  it('fails at once when the server exits, with its exit status and the end of its log', async () => {
    const { pid, logFile } = spawnFake('dies', `console.error('bind: address already in use'); process.exit(3)`);
    const t0 = Date.now();
    const err = await waitUntil('dying server', async () => false, { pid, logFile, stallMs: 60_000 }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^dying server exited with code 3 after [\d.]+s/);
    expect((err as Error).message).toContain('bind: address already in use');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('gives up after the overall limit even when the server stays busy', async () => {
    const { pid, logFile } = spawnFake('spins', `for (;;);`);
    const err = await waitUntil('spinning server', async () => false, { pid, logFile, stallMs: 1000, maxMs: 2500 }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^spinning server was still not ready after 2\.\ds, busy \(pid \d+\) but not answering/);
  });
});

describe('a long build', () => {
  const build = (name: string, script: string, stallMs: number) =>
    runLong(`building ${name}`, process.execPath, ['-e', script], { logFile: join(dir, `${name}-build.log`), stallMs });

  it('runs as long as it works, past the stall window', async () => {
    const t0 = Date.now();
    await build('busy', `const end = Date.now() + 3000; while (Date.now() < end);`, 1000);
    expect(Date.now() - t0).toBeGreaterThan(2500);
  });

  it('fails with its exit status and the end of its output', async () => {
    const err = await build('broken', `console.error('undefined: foo.Bar'); process.exit(2)`, 60_000).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^building broken exited with code 2 after/);
    expect((err as Error).message).toContain('undefined: foo.Bar');
  });

  it('is stopped when it hangs without using the CPU', async () => {
    const err = await build('hung', `console.log('fetching modules'); setInterval(() => {}, 1 << 30)`, 1500).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^building hung made no progress for 1\.5s/);
    const pid = Number(/pid (\d+)/.exec((err as Error).message)?.[1]);
    await new Promise((r) => setTimeout(r, 500));
    expect(isAlive(pid)).toBe(false);
  });
});

describe('services up on a second stack', () => {
  it('builds everything first, then starts servers: no readiness wait overlaps a build', async () => {
    const stateDir = join(dir, 'stack');
    const portOffset = await freePortOffset([6379]);
    const events: string[] = [];
    const at = (e: string) => events.push(`${e}@${Date.now()}`);
    // A build that takes a while (a real command), for a server that is ready as soon as it starts.
    let built = false;
    const slowBuild: Server = {
      name: 'slow-build',
      ports: [1],
      ready: async () => built,
      async install() {
        at('build-start');
        await run('sh', ['-c', 'sleep 3']);
        at('build-end');
      },
      async start() {
        at('slow-build-start');
        built = true;
      },
      env: () => ({}),
    };
    // The real Redis definition, timed.
    const timedRedis: Server = {
      ...redis,
      async start(ctx) {
        at('redis-start');
        await redis.start(ctx);
        at('redis-ready');
      },
    };
    try {
      const res = await up({ quiet: true, stateDir, portOffset, only: [slowBuild, timedRedis] });
      expect(res.servers.filter((s) => s.state === 'failed')).toEqual([]);
      const time = (e: string) => Number(events.find((x) => x.startsWith(`${e}@`))?.split('@')[1]);
      expect(time('redis-start')).toBeGreaterThanOrEqual(time('build-end'));
      expect(time('slow-build-start')).toBeGreaterThanOrEqual(time('build-end'));
      expect(res.installSeconds).toBeGreaterThanOrEqual(3);
      // A real Redis of its own, beside the stack the other tests use.
      expect(res.env.REDIS_URL).toBe(`redis://127.0.0.1:${6379 + portOffset}`);
      expect(await portOpen(6379 + portOffset)).toBe(true);
    } finally {
      expect(await down({ quiet: true, stateDir, portOffset })).toContain('redis');
    }
    expect(await portOpen(6379 + portOffset)).toBe(false);
  }, 60_000);

  it('waits for a server it started that does not answer yet, instead of failing at once', async () => {
    const stateDir = join(dir, 'owned');
    const ctx = createContext({ quiet: true, stateDir });
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    // Started by an earlier `up` (its pid file is there) and still busy starting on a loaded machine.
    const pid = spawnDetached(process.execPath, ['-e', `const end = Date.now() + 3000; while (Date.now() < end); require('net').createServer().listen(${port}, '127.0.0.1')`], {
      logFile: ctx.logFile('slow'),
      pidFile: ctx.pidFile('slow'),
    });
    started.push(pid);
    const slow: Server = {
      name: 'slow',
      ports: [port],
      ready: () => portOpen(port),
      start: () => Promise.reject(new Error('started a second time')),
      env: () => ({}),
    };
    const res = await up({ quiet: true, stateDir, only: [slow] });
    expect(res.servers).toEqual([expect.objectContaining({ name: 'slow', state: 'running' })]);
    expect(res.ok).toBe(true);
  }, 60_000);
});
