// Fault injection for tests of compensation: a real server cannot be asked to fail at one chosen
// step, so tests build a worker whose activities throw at a named step. Never set in production.
import { ApplicationFailure } from '@temporalio/common';

export class Faults {
  private readonly plan = new Map<string, { times: number; retryable: boolean }>();

  /** The next `times` calls of `step` fail (retryable failures are retried by Temporal's policy). */
  failAt(step: string, opts: { times?: number; retryable?: boolean } = {}): this {
    this.plan.set(step, { times: opts.times ?? Number.POSITIVE_INFINITY, retryable: opts.retryable ?? false });
    return this;
  }

  clear(): void {
    this.plan.clear();
  }

  check(step: string): void {
    const p = this.plan.get(step);
    if (!p || p.times <= 0) return;
    p.times -= 1;
    const message = `injected fault at step "${step}" (test)`;
    throw p.retryable ? ApplicationFailure.retryable(message, 'InjectedFault') : ApplicationFailure.nonRetryable(message, 'InjectedFault');
  }
}
