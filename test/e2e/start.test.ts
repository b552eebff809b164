// envbot's process end to end: it migrates its store, serves /healthz and /metrics, says which chat
// adapters are off and why, and stops cleanly on SIGINT.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { repoRoot } from '../support/settings.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

describe('envbot process (npm start after the services are up)', () => {
  let db: ScratchDatabase;
  let child: ChildProcess;
  let port: number;
  let output = '';

  beforeAll(async () => {
    db = await scratchPostgres('start_test');
    port = await freePort();
    child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'bot', 'main.ts')], {
      cwd: repoRoot,
      // No Slack or Teams settings: envbot must still run and say why those adapters are off.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: db.url, PORT: String(port), TEMPORAL_TASK_QUEUE: `start-test-${randomUUID()}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`envbot exited early:\n${output}`);
      try {
        if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    throw new Error(`envbot did not become healthy:\n${output}`);
  });

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await db?.drop();
  });

  it('is healthy, with the store, Temporal and its worker checked', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(await res.json()).toEqual({ status: 'ok', checks: { store: 'ok', temporal: 'ok', worker: 'ok' } });
  });

  it('serves Prometheus metrics', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    expect(await res.text()).toMatch(/^# HELP envbot_process_cpu_user_seconds_total/m);
  });

  it('migrated its store at start', async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const { rows } = await c.query('SELECT name FROM schema_migrations ORDER BY version');
    await c.end();
    expect(rows.map((r) => r.name)).toContain('001_initial.sql');
  });

  it('says which chat adapters are off and why', () => {
    expect(output).toMatch(/chat adapter slack: off \(.*SLACK_BOT_TOKEN not set/);
    expect(output).toMatch(/chat adapter teams: off \(MicrosoftAppId not set/);
  });

  it('stops cleanly on SIGINT (exit code 0, "envbot stopped")', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toMatch(/envbot stopped/);
  });
});
