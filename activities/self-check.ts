// A trivial activity that proves a worker is connected and polling: used by `selfCheck`.
import { activityInfo } from '@temporalio/activity';

export interface SelfCheckInput {
  from: string;
}

export interface SelfCheckResult {
  answeredBy: string;
  taskQueue: string;
  attempt: number;
}

export function createSelfCheckActivities(deps: { workerId: string }) {
  return {
    async selfCheck(input: SelfCheckInput): Promise<SelfCheckResult> {
      const info = activityInfo();
      return { answeredBy: `${deps.workerId} for ${input.from}`, taskQueue: info.taskQueue, attempt: info.attempt };
    },
  };
}

export type SelfCheckActivities = ReturnType<typeof createSelfCheckActivities>;
