// envbot's own metrics: one prom-client registry made at start (bot/main.ts) and handed to what
// records into it (the worker's activities and its activity interceptor, the Slack chat port, the
// webhooks) and to /metrics. Nothing here is global: tests make their own and read it.
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, ActivityInterceptorsFactory, Next } from '@temporalio/worker';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { OperationKind } from './model.js';
import type { EnvironmentState } from './store/environments.js';

export interface EnvironmentCounter {
  /** Environments by project and state, read when /metrics is scraped. */
  countByProjectAndState(): Promise<{ project: string; state: EnvironmentState; count: number }[]>;
}

export class Metrics {
  readonly registry: Registry;
  readonly operationsStarted: Counter<'kind'>;
  readonly operationsSucceeded: Counter<'kind'>;
  readonly operationsFailed: Counter<'kind'>;
  readonly operationsCompensated: Counter<'kind'>;
  readonly stepDuration: Histogram<'activity' | 'result'>;
  readonly copyDuration: Histogram<'result'>;
  readonly chatCalls: Counter<'platform' | 'method' | 'result'>;
  readonly chatRateLimitWaits: Counter<'platform' | 'reason'>;
  readonly chatRateLimitWaitSeconds: Counter<'platform'>;
  readonly webhookDeliveries: Counter<'webhook' | 'result'>;

  constructor(opts: { environments?: EnvironmentCounter; defaultMetrics?: boolean } = {}) {
    const registry = (this.registry = new Registry());
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'envbot_' });
    const registers = [registry];
    this.operationsStarted = new Counter({ name: 'envbot_operations_started_total', help: 'Operations begun (the environment claimed or marked), by kind', labelNames: ['kind'], registers });
    this.operationsSucceeded = new Counter({ name: 'envbot_operations_succeeded_total', help: 'Operations that recorded their outcome, by kind', labelNames: ['kind'], registers });
    this.operationsFailed = new Counter({ name: 'envbot_operations_failed_total', help: 'Operations that ended failed, by kind', labelNames: ['kind'], registers });
    this.operationsCompensated = new Counter({ name: 'envbot_operations_compensated_total', help: 'Failed operations whose steps were rolled back (every failed create), by kind', labelNames: ['kind'], registers });
    this.stepDuration = new Histogram({
      name: 'envbot_step_duration_seconds', help: 'Duration of each activity attempt (a step of an operation), by activity and result',
      labelNames: ['activity', 'result'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600], registers,
    });
    this.copyDuration = new Histogram({
      name: 'envbot_datasync_copy_duration_seconds', help: 'DataSync copies of storage volumes, from their start to the end DataSync reports, by result',
      labelNames: ['result'], buckets: [10, 30, 60, 300, 900, 1800, 3600, 7200, 21600], registers,
    });
    this.chatCalls = new Counter({ name: 'envbot_chat_api_calls_total', help: 'Chat platform API calls, by platform, method and result', labelNames: ['platform', 'method', 'result'], registers });
    this.chatRateLimitWaits = new Counter({ name: 'envbot_chat_rate_limit_waits_total', help: "Waits for a chat platform's rate limit (a 429's Retry-After, waited out by the outbox)", labelNames: ['platform', 'reason'], registers });
    this.chatRateLimitWaitSeconds = new Counter({ name: 'envbot_chat_rate_limit_wait_seconds_total', help: 'Time spent waiting before chat API calls', labelNames: ['platform'], registers });
    this.webhookDeliveries = new Counter({ name: 'envbot_webhook_deliveries_total', help: 'Inbound webhook deliveries, by webhook and result', labelNames: ['webhook', 'result'], registers });
    this.environmentSource = opts.environments;
    const source = () => this.environmentSource;
    new Gauge({
      name: 'envbot_environments', help: 'Environments in the store, by project and state', labelNames: ['project', 'state'], registers,
      async collect() {
        this.reset();
        for (const row of (await source()?.countByProjectAndState()) ?? []) this.set({ project: row.project, state: row.state }, row.count);
      },
    });
  }

  private environmentSource: EnvironmentCounter | undefined;

  /** Where the environments gauge reads from (the store), when it was not known at construction. */
  countEnvironmentsFrom(source: EnvironmentCounter): void {
    this.environmentSource = source;
  }

  /** What an operation's outcome counts as, when `finishOperation` records `state`. */
  finished(kind: OperationKind, state: EnvironmentState): void {
    if (state === 'failed') {
      this.operationsFailed.inc({ kind });
      // A create that fails is rolled back by its saga before it records the failure.
      if (kind === 'create') this.operationsCompensated.inc({ kind });
    } else this.operationsSucceeded.inc({ kind });
  }

  /** The worker's activity interceptors: every attempt's duration into `envbot_step_duration_seconds`. */
  activityInterceptors(): ActivityInterceptorsFactory {
    const histogram = this.stepDuration;
    return (ctx) => ({
      inbound: {
        async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
          const end = histogram.startTimer();
          const activity = ctx.info.activityType;
          try {
            const out = await next(input);
            end({ activity, result: 'completed' });
            return out;
          } catch (err) {
            end({ activity, result: 'failed' });
            throw err;
          }
        },
      },
    });
  }
}
