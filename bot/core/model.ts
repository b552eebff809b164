// What the chat core understands and answers, whatever the platform. Adapters translate these to
// Block Kit (Slack) or Adaptive Cards (Teams) and back; nothing here knows either.
import type { Action } from '../../shared/catalogue/schema.js';
import type { EnvironmentCard, ServiceRun } from '../../shared/chat.js';
import type { Progress, ResetTarget } from '../../shared/model.js';

/**
 * Who is asking, and where: the adapter fills in the platform's ids and the user's groups. The CLI
 * is the operator (`cli:<OS user>`), allowed every action: see authorise.ts.
 */
export interface Actor {
  platform: 'slack' | 'teams' | 'cli';
  /** The platform's user id (Slack U…, Teams AAD object id, the CLI's OS user). */
  userId: string;
  /** The platform's user groups the user is in (Slack S…, Entra ID group ids), when known. */
  groups: string[];
  /** The conversation the request came from. */
  channel: string;
}

/** A parsed `/env …` command. */
export type Command =
  | { name: 'create'; project?: string; stage?: string; suffix?: string; ttl?: string; branches?: Record<string, string> }
  | { name: 'list'; project?: string }
  | { name: 'status'; environment: string }
  | { name: 'destroy'; environment: string }
  | { name: 'reset-db'; environment: string; which: ResetTarget }
  | { name: 'extend'; environment: string; duration: string }
  | { name: 'refresh'; environment: string; volume?: string }
  | { name: 'secrets'; environment: string }
  | { name: 'subscribe'; project: string }
  | { name: 'unsubscribe'; project?: string }
  | { name: 'silence'; environment: string; duration: string }
  | { name: 'track'; environment: string; service: string; /** null: back to the default branch. */ branch: string | null }
  | { name: 'history'; environment: string; service?: string }
  | { name: 'promotions'; project: string }
  | { name: 'help' };

/** A command that did not parse: what was wrong and what to write instead. */
export interface ParseError {
  error: string;
  /** The closest command word, for an unknown one ("did you mean destroy?"). */
  suggestion?: string;
}

/** Which catalogue permission each command needs. */
export const COMMAND_ACTION: Record<Command['name'], Action | undefined> = {
  create: 'create',
  list: 'read',
  status: 'read',
  destroy: 'destroy',
  'reset-db': 'reset',
  extend: 'extend',
  refresh: 'refresh',
  secrets: 'credentials',
  // Choosing what a service runs is part of building the environment (the create form asks a branch).
  track: 'create',
  history: 'read',
  // A check does what the Schedule does anyway (the catalogue decides what follows production).
  promotions: 'read',
  subscribe: 'read',
  unsubscribe: 'read',
  // Muting an environment's alerts is for those who look after its lifetime.
  silence: 'extend',
  help: undefined,
};

export interface EnvironmentSummary {
  name: string;
  project: string;
  stage: string;
  state: string;
  expiresAt?: string;
  createdBy: string;
  lastError?: string;
  /** The S3 and git seeds and templates it was last built or re-seeded from, each at its (short) version. */
  sources?: { location: string; version: string; uses: string[] }[];
}

/** An environment's sources in one line: "seed catalog: s3://bucket/prefix@1a2b3c4d5e6f; template service1: git+https://…@abc1234". */
export function sourcesLine(sources: NonNullable<EnvironmentSummary['sources']>): string {
  return sources.map((s) => `${s.uses.join(', ')}: ${s.location}@${s.version}`).join('; ');
}

/** The create form's fields as the person filled them in (adapters trim and drop empty ones). */
export interface CreateForm {
  project?: string;
  stage?: string;
  suffix?: string;
  ttl?: string;
  /** A branch per service that follows one (blank: its default branch). */
  branches?: Record<string, string>;
}

/** A create form that cannot be submitted: a sentence per field (a service's branch: `branch:<service>`), to show next to it. */
export type FormErrors = Partial<Record<'project' | 'stage' | 'suffix' | 'ttl', string>> & { [branchField: `branch:${string}`]: string };

/** What the core answers. `ephemeral` replies are shown only to the person who asked. */
export type Reply =
  | { kind: 'help'; ephemeral: true; commands: { usage: string; description: string }[]; note?: string }
  | { kind: 'error'; ephemeral: true; text: string }
  | { kind: 'refused'; ephemeral: true; action: Action; project: string; text: string; allowed: string[] }
  | { kind: 'started'; ephemeral: false; environment: string; operation: 'create' | 'destroy' | 'reset' | 'refresh' | 'track'; workflowId: string; by: string; text: string }
  | { kind: 'confirm'; ephemeral: true; environment: string; operation: 'destroy' | 'reset-db'; which?: ResetTarget; text: string }
  | { kind: 'open-create-form'; ephemeral: true; projects: { name: string; stages: string[]; services: string[]; branches?: { service: string; defaultBranch: string }[] }[]; project?: string; stage?: string }
  | { kind: 'list'; ephemeral: true; project?: string; environments: EnvironmentSummary[] }
  | { kind: 'status'; ephemeral: true; environment: EnvironmentSummary; progress?: Progress; card?: EnvironmentCard; runs?: ServiceRun[] }
  | { kind: 'extended'; ephemeral: false; environment: string; expiresAt: string; by: string; text: string }
  | { kind: 'secrets'; ephemeral: true; environment: string; values: { name: string; value: string }[] }
  | { kind: 'subscribed'; ephemeral: false; project: string; subscribed: boolean; text: string }
  | { kind: 'silenced'; ephemeral: false; environment: string; until: string; by: string; text: string }
  | { kind: 'promotion-check'; ephemeral: false; project: string; workflowId: string; by: string; text: string }
  | { kind: 'history'; ephemeral: true; environment: string; service?: string; entries: HistoryEntry[] };

/** One deployment of a service, as `/env history` lists it. */
export interface HistoryEntry {
  service: string;
  /** What: the commit (short) and image it ran. */
  branch: string | null;
  commit: string | null;
  image: string | null;
  why: 'create' | 'push' | 'promotion' | 'manual';
  who: string;
  at: string;
}

/** One deployment in one line: "service1: abc1234 on feature/x, registry.example.com/web:1.2.0 · push by github:octocat". */
export function historyLine(e: HistoryEntry): string {
  const what = [
    ...(e.commit ? [`${e.commit.slice(0, 7)}${e.branch ? ` on ${e.branch}` : ''}`] : e.branch ? [`on ${e.branch}`] : []),
    ...(e.image ? [e.image] : []),
  ];
  return `${e.service}: ${what.join(', ') || 'nothing recorded'} · ${e.why} by ${e.who}`;
}
