// Redis from Debian's packages; environments each get one of its numbered databases.
import { Redis } from 'ioredis';
import { aptInstall } from '../lib/install.js';
import { have, launch, PROBE_TIMEOUT_MS } from '../lib/proc.js';
import type { Context, Server } from '../lib/context.js';

const PORT = 6379;

async function pong(ctx: Context): Promise<boolean> {
  const client = new Redis({ host: '127.0.0.1', port: ctx.port(PORT), lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: PROBE_TIMEOUT_MS, retryStrategy: () => null });
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
  ready: (ctx) => pong(ctx).catch(() => false),
  async install(ctx) {
    if (!(await have('redis-server'))) await aptInstall(ctx, ['redis-server']);
  },
  async start(ctx) {
    await launch(ctx, 'redis', 'redis-server', [
      '--bind', '127.0.0.1', '--port', String(ctx.port(PORT)), '--dir', ctx.dataDir('redis'), '--save', '', '--appendonly', 'no',
      '--daemonize', 'no', '--databases', '64', '--protected-mode', 'yes',
    ], () => pong(ctx), { label: 'Redis' });
  },
  env: (ctx) => ({ REDIS_URL: `redis://127.0.0.1:${ctx.port(PORT)}` }),
};
