// Every activity the worker registers, built from injected dependencies (tests hand in their own).
import { createSelfCheckActivities } from './self-check.js';

export interface ActivityDeps {
  workerId: string;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createSelfCheckActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
