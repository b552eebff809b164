// envbot's one HTTP server: /healthz and /metrics now; the Slack, Teams and webhook routes mount here later.
import { createServer, type Server } from 'node:http';
import express from 'express';
import { collectDefaultMetrics, Registry } from 'prom-client';

export type Check = () => Promise<void>;

export interface HttpServerOptions {
  /** Named readiness checks; /healthz is 200 only when every one passes. */
  checks: Record<string, Check>;
  registry?: Registry;
  /** Routers mounted before the 404 handler (the Slack and Teams endpoints). */
  routers?: express.Router[];
}

export function createHttpApp(opts: HttpServerOptions): express.Express {
  const registry = opts.registry ?? new Registry();
  if (!opts.registry) collectDefaultMetrics({ register: registry, prefix: 'envbot_' });
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', async (_req, res) => {
    const results = await Promise.all(
      Object.entries(opts.checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), 3000);
          return [name, 'ok'] as const;
        } catch (err) {
          return [name, `failing: ${(err as Error).message}`] as const;
        }
      }),
    );
    const ok = results.every(([, r]) => r === 'ok');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', checks: Object.fromEntries(results) });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });

  for (const router of opts.routers ?? []) app.use(router);

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  return app;
}

export function listen(app: express.Express, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(app);
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
    p.then((v) => (clearTimeout(t), resolve(v)), (e: unknown) => (clearTimeout(t), reject(e as Error)));
  });
}
