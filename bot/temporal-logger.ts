// Temporal's worker logs through envbot's pino logger. Errors in its metadata (an activity that
// failed) are reduced to name, message, code and stack: driver errors carry more (mysql2 keeps the
// statement with its values, URL errors keep the input), and that may hold a password.
import { DefaultLogger, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../shared/logger.js';

export function safeError(value: unknown, depth = 0): unknown {
  if (!(value instanceof Error) || depth > 5) return value;
  const e = value as Error & { code?: unknown };
  return {
    name: e.name,
    message: e.message,
    ...(typeof e.code === 'string' || typeof e.code === 'number' ? { code: e.code } : {}),
    ...(e.stack ? { stack: e.stack } : {}),
    ...(e.cause !== undefined ? { cause: safeError(e.cause, depth + 1) } : {}),
  };
}

function safeMeta(meta: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!meta) return meta;
  return Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, safeError(v)]));
}

export function temporalLogger(log: Logger): DefaultLogger {
  const level = (['trace', 'debug'].includes(log.level) ? 'DEBUG' : 'WARN') as LogLevel;
  return new DefaultLogger(level, (entry) => {
    const method = entry.level === 'ERROR' ? 'error' : entry.level === 'WARN' ? 'warn' : entry.level === 'INFO' ? 'info' : 'debug';
    log[method]({ temporal: safeMeta(entry.meta) }, entry.message);
  });
}
