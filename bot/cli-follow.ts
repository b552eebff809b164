// The CLI's view of a running workflow: its steps as they change, then its result. Loaded only by
// commands that start one (it brings the Temporal client with it; `envbot list` never does).
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { copySummary, type VolumeCopy } from '../shared/chat.js';
import type { Step } from '../shared/model.js';
import { progressQuery } from '../shared/resources.js';
import type { Output } from './cli.js';

const SYMBOL: Record<Step['status'], string> = {
  pending: '·', running: '…', done: '✓', failed: '✗', undoing: '↺', undone: '↩', 'undo-failed': '!', skipped: '-',
};

export function stepLine(s: Step): string {
  const secs = s.startedAt && s.endedAt ? ` (${((Date.parse(s.endedAt) - Date.parse(s.startedAt)) / 1000).toFixed(1)}s)` : '';
  return `  ${SYMBOL[s.status]} ${s.title}${secs}${s.detail ? ` (${s.detail})` : ''}${s.error && s.status === 'failed' ? `: ${s.error}` : ''}`;
}

/** Waits for the workflow, printing each step as its state changes. */
async function follow(handle: WorkflowHandle, out: Output): Promise<{ ok: boolean; value: unknown }> {
  const seen = new Map<string, string>();
  const show = async (): Promise<void> => {
    const p = await handle.query(progressQuery).catch(() => undefined);
    for (const s of p?.steps ?? []) {
      if (seen.get(s.id) !== s.status && s.status !== 'pending' && s.status !== 'skipped') {
        seen.set(s.id, s.status);
        if (!out.json) out.line(stepLine(s));
      }
    }
  };
  let done = false;
  const poll = (async () => {
    while (!done) {
      await show();
      await new Promise((r) => setTimeout(r, 400));
    }
  })();
  try {
    const value = await handle.result();
    return { ok: true, value };
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      const details = (err.cause as { details?: unknown[] } | undefined)?.details?.[0];
      return { ok: false, value: details ?? { error: err.cause?.message ?? err.message } };
    }
    throw err;
  } finally {
    done = true;
    await poll;
    await show(); // the steps that finished after the last poll
  }
}

export async function started(environment: string, handle: WorkflowHandle, wait: boolean, out: Output): Promise<number> {
  if (!wait) {
    out.result({ environment, workflowId: handle.workflowId, status: 'started' });
    if (!out.json) out.line(`started ${handle.workflowId}`);
    return 0;
  }
  if (!out.json) out.line(`${environment}: ${handle.workflowId}`);
  const { ok, value } = await follow(handle, out);
  out.result(value);
  if (!out.json) {
    const v = value as { urls?: string[]; error?: string; rolledBack?: string[]; failedStep?: string; volumes?: VolumeCopy[] };
    // A storage copy's volumes, each as the chat message says it.
    for (const c of v.volumes ?? []) out.line(`  ${c.volume}: ${copySummary(c)}`);
    if (ok) {
      if (v.urls?.length) out.line(`ready: ${v.urls.join(' ')}`);
      else out.line('done');
    } else {
      out.line(`failed${v.failedStep ? ` at ${v.failedStep}` : ''}: ${v.error ?? 'see the workflow'}${v.rolledBack?.length ? `; rolled back: ${v.rolledBack.join(', ')}` : ''}`);
    }
  }
  return ok ? 0 : 1;
}
