// selfCheck: a workflow that runs one activity, proving Temporal, the worker and its bundle work.
import { quick } from './activities.js';
import type { SelfCheckResult } from '../activities/self-check.js';

export interface SelfCheckWorkflowInput {
  from: string;
}

export async function selfCheck(input: SelfCheckWorkflowInput): Promise<SelfCheckResult> {
  return quick.selfCheck({ from: input.from });
}
