// Temporal round trip: a workflow started through the client runs its activity on a real worker.
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorker } from '../../bot/worker.js';
import { selfCheck } from '../../workflows/self-check.js';
import { testDeps, type TestDeps } from '../support/deps.js';
import { testSettings } from '../support/settings.js';

describe('Temporal dev server', () => {
  const settings = testSettings();
  const taskQueue = `test-${randomUUID()}`;
  let connection: Connection;
  let stopWorker: () => Promise<void>;
  let t: TestDeps;

  beforeAll(async () => {
    t = await testDeps('temporal');
    const { worker, connection: native } = await createWorker({ settings, deps: { ...t.deps, workerId: 'test-worker' }, taskQueue });
    const running = worker.run();
    stopWorker = async () => {
      worker.shutdown();
      await running;
      await native.close();
    };
    connection = await Connection.connect({ address: settings.temporal.address });
  });

  afterAll(async () => {
    await stopWorker?.();
    await connection?.close();
    await t?.close();
  });

  it('executes a workflow whose activity runs on the worker, and keeps it in history', async () => {
    const client = new Client({ connection, namespace: settings.temporal.namespace });
    const workflowId = `self-check-${randomUUID()}`;
    const result = await client.workflow.execute(selfCheck, { taskQueue, workflowId, args: [{ from: 'vitest' }] });
    expect(result).toEqual({ answeredBy: 'test-worker for vitest', taskQueue, attempt: 1 });
    const description = await client.workflow.getHandle(workflowId).describe();
    expect(description.status.name).toBe('COMPLETED');
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    expect(history.events?.some((e) => e.activityTaskCompletedEventAttributes)).toBe(true);
  });
});
