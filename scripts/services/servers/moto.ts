// moto server for the AWS APIs (Route 53, Secrets Manager, EFS, S3, ELBv2, DataSync), via a launcher
// that adds DataSync's CreateLocationEfs, which moto lacks.
import { join } from 'node:path';
import { pythonVenv } from '../lib/install.js';
import { spawnDetached, waitUntil } from '../lib/proc.js';
import type { Server } from '../lib/context.js';

const PORT = 5000;

async function answers(): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${PORT}/moto-api/data.json`, { signal: AbortSignal.timeout(2000) });
  return res.ok;
}

export const moto: Server = {
  name: 'moto',
  ports: [PORT],
  ready: () => answers().catch(() => false),
  async start(ctx) {
    const venv = await pythonVenv(ctx);
    const logFile = ctx.logFile('moto');
    const pid = spawnDetached(join(venv, 'bin', 'python'), [join(ctx.toolDir, 'moto_launcher.py'), '127.0.0.1', String(PORT)], {
      logFile,
      pidFile: ctx.pidFile('moto'),
    });
    await waitUntil('moto server', answers, { timeoutMs: 60_000, logFile, pid });
  },
  env: () => ({
    AWS_ENDPOINT_URL: `http://127.0.0.1:${PORT}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  }),
};
