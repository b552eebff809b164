// The chat port: how activities and the core talk to people, whatever the platform.
// Slack and Teams adapters implement it; the console one (bot/console-chat.ts) prints.
import type { ChatTarget, Progress } from './model.js';

export type ChatMessage =
  | { kind: 'progress'; progress: Progress }
  | { kind: 'card'; card: EnvironmentCard }
  | { kind: 'notice'; environment: string; text: string };

export interface EnvironmentCard {
  environment: string;
  project: string;
  stage: string;
  suffix?: string;
  status: 'ready' | 'failed' | 'destroyed' | 'reset';
  urls: string[];
  databases: { engine: string; name: string }[];
  redisIndex?: number;
  expiresAt?: string;
  workflowUrl?: string;
  failedStep?: string;
  error?: string;
  rolledBack?: string[];
}

export interface ChatPort {
  /**
   * Posts a message, or edits `target.messageRef` when set; returns the message's reference. A post
   * carries `key` (the operation's message key) where the platform keeps such data, for `find`.
   */
  send(target: ChatTarget, message: ChatMessage, key?: string): Promise<string>;
  /**
   * The message posted with `key` since `since`, where the platform can look: a post whose answer
   * was lost may still have been made, and must be edited rather than made again.
   */
  find?(target: ChatTarget, key: string, since: Date): Promise<string | undefined>;
}
