// Plain data shared by workflows, activities, the core and the chat adapters. Pure.

/** Which environment an operation is about: its name and the parts it was made from. */
export interface EnvRef {
  environment: string;
  project: string;
  stage: string;
  suffix?: string;
}

export type DataStoreKind = 'mongo' | 'sql' | 'redis';
export type ResetTarget = DataStoreKind | 'all';
export type SqlEngine = 'mysql' | 'postgres';

/** Generated secret names envbot itself needs, besides the catalogue's `secrets.generated`. */
export const DATABASE_PASSWORDS = { mongo: 'mongo-password', mysql: 'mysql-password', postgres: 'postgres-password', redis: 'redis-password' } as const;

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'undoing' | 'undone' | 'undo-failed' | 'skipped';

export interface Step {
  id: string;
  title: string;
  status: StepStatus;
  startedAt?: string;
  endedAt?: string;
  error?: string;
  /** How a long step is going, in a few words (`service1 2/2 ready, service2 0/1 ready`). */
  detail?: string;
}

export type OperationKind = 'create' | 'destroy' | 'reset' | 'expire';

export interface Progress {
  environment: string;
  operation: OperationKind;
  status: 'running' | 'succeeded' | 'failed';
  steps: Step[];
  startedAt: string;
  endedAt?: string;
}

/** Where a chat message about an operation goes; platform-specific details stay opaque here. */
export interface ChatTarget {
  platform: 'slack' | 'teams' | 'console';
  channel: string;
  /** The message to edit in place, once posted. */
  messageRef?: string;
  /** Teams conversation reference or Slack thread, as the adapter needs. */
  conversation?: Record<string, unknown>;
}

/** Who asked, for the audit log and the environment's record. */
export interface Requester {
  id: string; // slack:U123, teams:<aad id>, cli:<user>, system
  platform: 'slack' | 'teams' | 'cli' | 'system' | 'webhook';
  channel?: string;
}
