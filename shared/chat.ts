// The chat port: how activities and the core talk to people, whatever the platform.
// Slack and Teams adapters implement it; the console one (bot/console-chat.ts) prints.
import type { ChatTarget, Progress } from './model.js';

export type ChatMessage =
  | { kind: 'progress'; progress: Progress }
  | { kind: 'card'; card: EnvironmentCard }
  /** A storage refresh's own message: each volume's copy, edited as it goes. */
  | { kind: 'storage'; environment: string; copies: VolumeCopy[]; by?: string }
  /** `retryCopy`: the notice says a volume's copy failed, and offers to run it again. */
  | { kind: 'notice'; environment: string; text: string; retryCopy?: { volume: string } }
  /** An Alertmanager alert group of one environment: posted once, edited as it changes and resolves. */
  | { kind: 'alert'; alert: AlertMessage };

export interface AlertMessage {
  environment: string;
  status: 'firing' | 'resolved';
  alerts: { name: string; status: 'firing' | 'resolved'; severity?: string | undefined; service?: string | undefined; summary?: string | undefined; startsAt: string }[];
  /** The environment's Grafana dashboard (the catalogue's grafana.url). */
  dashboardUrl?: string;
  /** Alerts Alertmanager left out of the payload (its max_alerts). */
  truncated?: number;
}

/** An alert group as one line of plain text (the message's fallback, the console). */
export function alertText(a: AlertMessage): string {
  const firing = a.alerts.filter((x) => x.status === 'firing');
  const head = a.status === 'resolved' ? `Resolved in ${a.environment}` : `${firing.length} alert${firing.length === 1 ? '' : 's'} firing in ${a.environment}`;
  const names = [...new Set(a.alerts.map((x) => `${x.name}${x.service ? ` (${x.service})` : ''}`))].join(', ');
  return `${head}: ${names}${a.dashboardUrl ? ` · dashboard ${a.dashboardUrl}` : ''}`;
}

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
  /** Each storage volume's copy from S3 (the storage-copy workflow edits the card as it goes). */
  storage?: VolumeCopy[];
  /** The URLs answer only over the company's Client VPN, to members of this directory group (docs/vpn.md). */
  vpnGroup?: string;
  /** Each service's replicas when the create ended (absent on cards of creates that did not wait for them). */
  services?: ServiceHealth[];
  /** What each service follows and runs (from the store): the card shows those off their default branch and each one's commit. */
  runs?: ServiceRun[];
}

/** What one service follows and runs. */
export interface ServiceRun {
  service: string;
  /** The branch it follows; null: none (its template is not in git, or it follows production). */
  branch: string | null;
  /** The branch it follows unless moved (`/env track`); absent when its template is not in git. */
  defaultBranch?: string;
  commit: string | null;
  image: string | null;
}

/** A service's run in words: `service1: feature/x @ abc1234 (not its default, main)`, `web: registry/web:1.2.0`. */
export function runText(r: ServiceRun): string {
  const at = r.branch ? `${r.branch}${r.commit ? ` @ ${r.commit.slice(0, 7)}` : ''}` : (r.image ?? 'no image recorded');
  const off = r.branch && r.defaultBranch && r.branch !== r.defaultBranch ? ` (not its default, ${r.defaultBranch})` : '';
  return `${r.service}: ${at}${off}`;
}

/** A service of the environment: its Deployments' and StatefulSets' ready replicas, and its URLs. */
export interface ServiceHealth {
  service: string;
  ready: number;
  desired: number;
  /** Every workload of the service has finished rolling out. */
  available: boolean;
  urls: string[];
}

/** A storage volume's copy from S3: `copying` until DataSync says it ended; counts as DataSync reports them. */
export interface VolumeCopy {
  volume: string;
  /** Where it is copied from (`s3://bucket/prefix`). */
  source?: string;
  state: 'copying' | 'copied' | 'failed';
  files?: number;
  bytes?: number;
  totalFiles?: number;
  totalBytes?: number;
  error?: string;
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

/** Bytes as people read them: 1.2 GB, 340 MB, 12 KB, 512 B (decimal units, as AWS reports them). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** One volume's copy in words: `copying, 1.2 GB of 3.4 GB`, `copied, 120 files, 3.4 GB`, `copy failed: …`. */
export function copySummary(c: VolumeCopy): string {
  if (c.state === 'failed') return `copy failed: ${c.error ?? 'no reason given'}`;
  if (c.state === 'copied') {
    const counts = [...(c.files !== undefined ? [`${c.files} file${c.files === 1 ? '' : 's'}`] : []), ...(c.bytes !== undefined ? [formatBytes(c.bytes)] : [])];
    return ['copied', ...counts].join(', ');
  }
  if (c.bytes !== undefined && c.totalBytes) return `copying, ${formatBytes(c.bytes)} of ${formatBytes(c.totalBytes)}`;
  return 'copying';
}

/** A storage refresh's message in words: `projb-qa: refreshing storage (asked by …): media: copying, 1.2 GB of 3.4 GB`. */
export function storageCopyText(environment: string, copies: VolumeCopy[], by?: string): string {
  const done = copies.every((c) => c.state !== 'copying');
  const failed = copies.some((c) => c.state === 'failed');
  const head = done ? (failed ? 'storage refresh failed' : 'storage refreshed') : 'refreshing storage';
  return `${environment}: ${head}${by ? ` (asked by ${by})` : ''}: ${copies.map((c) => `${c.volume}: ${copySummary(c)}`).join('; ')}`;
}
