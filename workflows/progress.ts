// Step tracking for one operation: states and timings, exposed by the `progress` query and sent
// to chat as they change. Uses workflow time only (deterministic).
import type { OperationKind, Progress, Step, StepStatus } from '../shared/model.js';

export class Tracker {
  private readonly progress: Progress;

  constructor(environment: string, operation: OperationKind, steps: { id: string; title: string }[], private readonly onChange: () => void) {
    this.progress = {
      environment,
      operation,
      status: 'running',
      startedAt: new Date().toISOString(),
      steps: steps.map((s) => ({ ...s, status: 'pending' as StepStatus })),
    };
  }

  snapshot(): Progress {
    return { ...this.progress, steps: this.progress.steps.map((s) => ({ ...s })) };
  }

  step(id: string): Step {
    const s = this.progress.steps.find((x) => x.id === id);
    if (!s) throw new Error(`unknown step ${id}`);
    return s;
  }

  set(id: string, status: StepStatus, error?: string): void {
    const s = this.step(id);
    const now = new Date().toISOString();
    if (status === 'running' || status === 'undoing') s.startedAt = now;
    if (['done', 'failed', 'undone', 'undo-failed', 'skipped'].includes(status)) s.endedAt = now;
    s.status = status;
    if (error !== undefined) s.error = error;
    this.onChange();
  }

  /** How step `id` is going, shown beside its title while it runs (and after). */
  detail(id: string, text: string): void {
    const s = this.step(id);
    if (s.detail === text) return;
    s.detail = text;
    this.onChange();
  }

  /** Runs `fn` as step `id`, recording running → done, or failed with the error's message (skipped when it threw Halted). */
  async run<T>(id: string, fn: () => Promise<T>): Promise<T> {
    this.set(id, 'running');
    try {
      const result = await fn();
      this.set(id, 'done');
      return result;
    } catch (err) {
      if (err instanceof Halted) this.set(id, 'skipped');
      else this.set(id, 'failed', describe(err));
      throw err;
    }
  }

  finish(status: 'succeeded' | 'failed'): void {
    this.progress.status = status;
    this.progress.endedAt = new Date().toISOString();
    for (const s of this.progress.steps) if (s.status === 'pending') s.status = 'skipped';
    this.onChange();
  }
}

/** Thrown by a step that stopped because another step failed: it is shown as skipped, not failed. */
export class Halted extends Error {
  constructor(message = 'stopped: another step failed') {
    super(message);
    this.name = 'Halted';
  }
}

/** The message of a failure as people should read it: the activity's own error, not Temporal's wrapper. */
export function describe(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e?.cause && typeof e.cause === 'object') e = e.cause as typeof e;
  return e?.message ?? String(err);
}
