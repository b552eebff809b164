// envbot's one HTTP server: /healthz, /metrics (the registry main.ts makes, shared/metrics.ts), and the
// routers mounted by main.ts (Slack's /slack/events, Teams' /api/messages, the webhooks).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import express, { type RequestHandler } from 'express';
import { collectDefaultMetrics, Registry } from 'prom-client';

export type Check = () => Promise<void>;

export interface HttpServerOptions {
  /** Named readiness checks; /healthz is 200 only when every one passes. */
  checks: Record<string, Check>;
  registry?: Registry;
  /** Routers mounted before the 404 handler (the Slack and Teams endpoints), behind `limitBody`. */
  routers?: express.Router[];
  /** Largest request body the routers get; MAX_BODY_BYTES unless set. */
  maxBodyBytes?: number;
}

/** Largest inbound request body: Slack and Teams payloads are a few kilobytes. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** A request whose body `limitBody` has read. Bolt's ExpressReceiver uses `rawBody` instead of reading the stream. */
export type WithRawBody = IncomingMessage & { rawBody?: Buffer };

/**
 * Reads the request body into `req.rawBody`, at most `limit` bytes, before anything else sees the
 * request. A Content-Length over the limit is answered 413 before reading a byte; a body without
 * one (chunked) is answered 413 as soon as the bytes read pass the limit, and is not read further.
 * A request already read (this middleware mounted twice) passes straight on.
 */
export function limitBody(limit = MAX_BODY_BYTES): RequestHandler {
  return (req, res, next) => {
    const r = req as WithRawBody;
    if (r.rawBody !== undefined) return next();
    if (Number(req.headers['content-length'] ?? 0) > limit) return tooLarge(req, res, limit);
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('data', onData).off('end', onEnd).off('error', stop);
      req.pause();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        stop();
        tooLarge(req, res, limit);
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      r.rawBody = Buffer.concat(chunks, size);
      next();
    };
    // 'error': the client went away mid-body; there is nobody to answer.
    req.on('data', onData).on('end', onEnd).on('error', stop);
  };
}

/** The body `limitBody` read; throws when it did not run before the caller. */
export function rawBody(req: IncomingMessage): Buffer {
  const body = (req as WithRawBody).rawBody;
  if (!body) throw new Error('request body not read: limitBody() must run first');
  return body;
}

/** How long a refused request's connection stays open, unread, after the answer. */
const LINGER_MS = 2000;

function tooLarge(req: express.Request, res: express.Response, limit: number): void {
  // The rest of the body is never read. Node closes a 'connection: close' answer's socket as soon as
  // the answer is written, which resets it while the client may still be sending, and the client can
  // lose the answer to the reset. So linger instead: end our side with the answer, read nothing more,
  // and destroy the connection a moment later.
  const socket = req.socket;
  socket.destroySoon = () => {
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
  res.on('finish', () => req.pause()); // Node resumes an unread request after the answer, to discard its body
  res.status(413).set('connection', 'close').json({ error: `request body over ${limit} bytes` });
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

  // Every mounted route gets its body through the size limit, before anything else reads it.
  app.use(limitBody(opts.maxBodyBytes));
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
