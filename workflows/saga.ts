// Compensation for a workflow: undo steps registered *before* their action (so a half-done step is
// undone too), unwound in reverse in a non-cancellable scope; an undo that fails is logged and the
// unwinding goes on.
import { CancellationScope, log } from '@temporalio/workflow';
import { describe, type Tracker } from './progress.js';

export interface Unwound {
  undone: string[];
  undoFailed: string[];
}

export class Saga {
  private readonly steps: { id: string; undo: () => Promise<unknown> }[] = [];

  /** Registers the undo of step `id`; call it before the step's action. */
  onUndo(id: string, undo: () => Promise<unknown>): void {
    this.steps.push({ id, undo });
  }

  async unwind(tracker: Tracker): Promise<Unwound> {
    const result: Unwound = { undone: [], undoFailed: [] };
    await CancellationScope.nonCancellable(async () => {
      for (const { id, undo } of [...this.steps].reverse()) {
        tracker.set(id, 'undoing');
        try {
          await undo();
          tracker.set(id, 'undone');
          result.undone.push(id);
        } catch (err) {
          log.error('undo step failed; unwinding goes on', { step: id, error: describe(err) });
          tracker.set(id, 'undo-failed', describe(err));
          result.undoFailed.push(id);
        }
      }
    });
    return result;
  }
}
