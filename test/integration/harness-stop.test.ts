// A test harness's stop() ends the workflows its tests left running on its task queue (a storage
// copy that a create started and nobody waited for), so none stays "Running" on the shared Temporal
// server with no worker to run it. Real Temporal, real worker.
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StorageCopyResult } from '../../workflows/storage-copy.js';
import { uniqueEnv } from '../support/deps.js';
import { runningOn } from '../support/leftover-workflows.js';
import { provisioningHarness } from '../support/provisioning.js';
import { testSettings } from '../support/settings.js';

describe('harness stop()', () => {
  let connection: Connection;
  let client: Client;
  beforeAll(async () => {
    connection = await Connection.connect({ address: testSettings().temporal.address });
    client = new Client({ connection, namespace: testSettings().temporal.namespace });
  });
  afterAll(async () => {
    await connection?.close();
  });

  /** A storage copy following an execution it has already started, looking again in an hour. */
  const startCopy = (taskQueue: string) => {
    const ref = uniqueEnv('projb', 'qa');
    return client.workflow.start('storageCopy', {
      taskQueue,
      workflowId: `test/${ref.environment}/storage-copy-${randomUUID()}`,
      args: [{ ref, volumes: [{ volume: 'media', state: 'copying' }], executions: { media: 'arn:aws:datasync:us-east-1:123456789012:task/task-0/execution/exec-0' }, pollEvery: '1 hour' }],
    });
  };

  /** Waits (up to 10 s) until visibility lists `workflowId` as running on `taskQueue`. */
  const listedRunning = async (taskQueue: string, workflowId: string) => {
    for (let i = 0; i < 100; i++) {
      if ((await runningOn(client, taskQueue)).some((w) => w.workflowId === workflowId)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${workflowId} was not listed as running within 10 s`);
  };

  it('cancels a storage copy still running, which ends as a stopped copy while the worker runs', async () => {
    const h = await provisioningHarness('harness_stop');
    const handle = await startCopy(h.taskQueue);
    // Wait until the worker has run its first task (the copy is asleep until its next look).
    for (let i = 0; i < 50 && (await handle.fetchHistory()).events!.length < 5; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await h.stop();
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    expect(((await handle.result()) as StorageCopyResult).stopped).toBe(true);
  }, 60_000);

  it('terminates one when no worker runs to take the cancellation', async () => {
    const h = await provisioningHarness('harness_stop_idle', { runWorker: false });
    // As operations.test.ts does: the test ran the worker itself and has stopped it.
    const ran = h.worker.run();
    h.worker.shutdown();
    await ran;
    const handle = await startCopy(h.taskQueue);
    // stop() finds what runs through Temporal's visibility, which lists a workflow started a moment
    // ago only once its record is written (a run left by a test is older): wait for that first.
    await listedRunning(h.taskQueue, handle.workflowId);
    await h.stop();
    expect((await handle.describe()).status.name).toBe('TERMINATED');
  }, 60_000);
});
