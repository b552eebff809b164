// Workflows a test leaves running on its own task queue once its worker is gone: a storage copy the
// create started and nobody waited for (it polls DataSync every 30 s for as long as it runs), a
// lifecycle sleeping until expiry. Nothing would ever run their tasks again, so they would stay
// "Running" on the shared Temporal server for good. A harness's stop() ends them.
import type { Client } from '@temporalio/client';

/** How long cancelled workflows get to end on their own (the worker still running) before they are terminated. */
const GRACE_MS = 10_000;

/** The ids of the workflows running on `taskQueue`, as Temporal's visibility lists them. */
export async function runningOn(client: Client, taskQueue: string): Promise<{ workflowId: string; runId: string }[]> {
  const out: { workflowId: string; runId: string }[] = [];
  for await (const w of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) out.push({ workflowId: w.workflowId, runId: w.runId });
  return out;
}

/**
 * Cancels every workflow still running on `taskQueue` and waits for them to end, while the caller's
 * worker is still running so that they end as a cancelled run normally does; any still running after
 * a grace period (or when no worker runs) is terminated. Returns the ids it ended.
 */
export async function endWorkflowsOn(client: Client, taskQueue: string, o: { workerRunning: boolean } = { workerRunning: true }): Promise<string[]> {
  const running = await runningOn(client, taskQueue);
  if (!running.length) return [];
  const handles = running.map((w) => client.workflow.getHandle(w.workflowId, w.runId));
  if (o.workerRunning) {
    await Promise.all(handles.map((h) => h.cancel().catch(() => undefined)));
    const deadline = Date.now() + GRACE_MS;
    await Promise.all(
      handles.map(async (h) => {
        await Promise.race([h.result().catch(() => undefined), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())))]);
      }),
    );
  }
  for (const h of handles) {
    const status = (await h.describe().catch(() => undefined))?.status.name;
    if (status === 'RUNNING') await h.terminate('the test that started it has ended').catch(() => undefined);
  }
  return running.map((w) => w.workflowId);
}
