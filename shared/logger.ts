// Structured logs (pino) outside workflows: readable lines on a terminal, JSON otherwise.
// Secret values are kept out by the code that logs (names, never values); the redaction below is a
// second line for the usual keys one or two levels deep, not a licence to log whole objects.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(opts: { level: string; pretty?: boolean }): Logger {
  const pretty = opts.pretty ?? process.stdout.isTTY === true;
  return pino({
    level: opts.level,
    // Belt and braces: values under these keys never reach a log line, whatever a caller passes.
    redact: {
      paths: ['password', '*.password', 'secret', '*.secret', 'token', '*.token', 'value', '*.value', 'sql', '*.sql', 'err.sql', 'input', '*.input'],
      censor: '[redacted]',
    },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss', ignore: 'pid,hostname' } } } : {}),
  });
}
