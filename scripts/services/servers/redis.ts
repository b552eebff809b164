// Redis from Debian's packages; environments each get one of its numbered databases.
import { Redis } from 'ioredis';
import { aptInstall } from '../lib/install.js';
import { have, spawnDetached, waitUntil } from '../lib/proc.js';
import type { Server } from '../lib/context.js';

const PORT = 6379;

async function pong(): Promise<boolean> {
  const client = new Redis({ host: '127.0.0.1', port: PORT, lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
  client.on('error', () => undefined); // a refused connection is an answer here, not an error to report
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } finally {
    client.disconnect();
  }
}

export const redis: Server = {
  name: 'redis',
  ports: [PORT],
  ready: () => pong().catch(() => false),
  async start(ctx) {
    if (!(await have('redis-server'))) await aptInstall(ctx, ['redis-server']);
    const logFile = ctx.logFile('redis');
    const pid = spawnDetached('redis-server', [
      '--bind', '127.0.0.1', '--port', String(PORT), '--dir', ctx.dataDir('redis'), '--save', '', '--appendonly', 'no',
      '--daemonize', 'no', '--databases', '16', '--protected-mode', 'yes',
    ], { logFile, pidFile: ctx.pidFile('redis') });
    await waitUntil('Redis', pong, { timeoutMs: 30_000, logFile, pid });
  },
  env: () => ({ REDIS_URL: `redis://127.0.0.1:${PORT}` }),
};
