// Keeps an activity's heartbeat going while one long call runs (a big INSERT, COPY, insertMany or
// index build), so the heartbeat timeout notices a dead worker, not a slow statement.
import { heartbeat } from '@temporalio/activity';

export const HEARTBEAT_MS = 5_000;

export async function keepAlive<T>(details: () => unknown, fn: () => Promise<T>, beat: (details: unknown) => void = heartbeat): Promise<T> {
  const timer = setInterval(() => beat(details()), HEARTBEAT_MS);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
