// The environment card, posted when an operation ends: links, databases, expiry and the buttons the
// reader may use; a failed build instead says which step failed, what was rolled back, and offers
// Retry. The pieces an environment shows elsewhere (its details in the status reply, its buttons
// and one-line summary on the Home tab and in lists) are built here too, so they look the same.
import type { types } from '@slack/bolt';
import { copySummary, runText, type EnvironmentCard, type ServiceHealth, type ServiceRun } from '../../../shared/chat.js';
import { stepTitle } from '../../../shared/resources.js';
import type { EnvironmentSummary } from '../../core/model.js';
import {
  ACTION,
  button,
  clip,
  context,
  esc,
  fallback,
  header,
  link,
  oneLine,
  option,
  packSections,
  plain,
  plainTime,
  principal,
  section,
  slackTime,
  SLACK_LIMITS,
  type Button,
  type ContextBlock,
  type KnownBlock,
  type MessagePayload,
} from './common.js';

export const FAILED_COLOR = '#d93f0b';

export const EXTEND_CHOICES = [
  { duration: '1d', label: '1 day' },
  { duration: '7d', label: '7 days' },
  { duration: '14d', label: '14 days' },
] as const;

export const STATE_EMOJI: Record<string, string> = {
  ready: '✅',
  creating: '⏳',
  resetting: '⏳',
  destroying: '⏳',
  failed: '❌',
  destroyed: '🗑️',
};

export interface CardPermissions {
  canReset: boolean;
  canDestroy: boolean;
  canExtend: boolean;
  canReadCredentials: boolean;
  /** May refresh the storage; the button shows only on cards of environments with storage volumes. */
  canRefresh: boolean;
}

/** The card posted when an operation ends: links, databases, expiry, and the allowed buttons. */
export function environmentCard(card: EnvironmentCard, opts: CardPermissions): MessagePayload {
  if (card.status === 'failed') return failedCard(card);
  const blocks: KnownBlock[] = [header(cardTitle(card)), ...cardDetails(card)];
  const ctx = cardContext(card);
  if (ctx) blocks.push(ctx);
  if (card.status !== 'destroyed') {
    const elements = cardActions(card.environment, { ...opts, canRefresh: opts.canRefresh && !!card.storage?.length });
    if (elements.length) blocks.push({ type: 'actions', block_id: `env_actions:${card.environment}`, elements });
  }
  const parts = [cardTitle(card)];
  if (card.urls.length) parts.push(card.urls.join(' '));
  for (const c of card.storage ?? []) parts.push(`${c.volume}: ${copySummary(c)}`);
  for (const r of card.runs ?? []) if (r.branch && r.defaultBranch && r.branch !== r.defaultBranch) parts.push(runText(r));
  if (card.expiresAt && card.status !== 'destroyed') parts.push(`expires ${plainTime(card.expiresAt)}`);
  return { text: fallback(parts.join(' · '), card.environment), blocks };
}

function cardTitle(card: EnvironmentCard): string {
  switch (card.status) {
    case 'ready':
      return `✅ ${card.environment} is ready`;
    case 'failed':
      return `❌ ${card.environment} could not be built`;
    case 'destroyed':
      return `🗑️ ${card.environment} was destroyed`;
    case 'reset':
      return `🔄 ${card.environment}: databases reset`;
  }
}

/** Services, databases and Redis: shared by the card and the status reply. */
export function cardDetails(card: EnvironmentCard): KnownBlock[] {
  const blocks: KnownBlock[] = [];
  if (card.urls.length) {
    const lines = card.urls.map((u) => {
      const health = card.services?.find((s) => s.urls.includes(u));
      return `• ${link(u, u.replace(/^https?:\/\//, '').replace(/\/$/, ''))}${health ? ` · ${serviceHealth(health)}` : ''}`;
    });
    blocks.push(...packSections(['*Services*', ...lines], { maxSections: 3, noun: 'services' }));
    if (card.vpnGroup) blocks.push(context([`🔒 Reachable over the company VPN, for members of \`${esc(card.vpnGroup)}\`: connect with the VPN client first (envbot's docs/vpn.md says how).`]));
  }
  blocks.push(...runBlocks(card.runs));
  const data = card.databases.map((d) => `• ${esc(d.engine)}: \`${esc(d.name)}\``);
  if (card.redisIndex !== undefined) data.push(`• Redis: database ${card.redisIndex}`);
  if (data.length) blocks.push(...packSections(['*Databases*', ...data], { maxSections: 2, noun: 'databases' }));
  if (card.storage?.length) {
    blocks.push(...packSections(['*Storage*', ...card.storage.map((c) => `• ${esc(c.volume)}: ${esc(copySummary(c))}`)], { maxSections: 1, noun: 'volumes' }));
  }
  return blocks;
}

/**
 * What the services run: each one rendered from git with its branch and commit, a ⚠️ on those off
 * their default branch (moved by `/env track`). Nothing when no service is rendered from git.
 */
export function runBlocks(runs: readonly ServiceRun[] | undefined): KnownBlock[] {
  const fromGit = (runs ?? []).filter((r) => r.branch !== null || r.commit !== null);
  if (!fromGit.length) return [];
  const lines = fromGit.map((r) => `• ${r.branch && r.defaultBranch && r.branch !== r.defaultBranch ? '⚠️ ' : ''}${esc(runText(r))}`);
  return packSections(['*Branches*', ...lines], { maxSections: 2, noun: 'services' });
}

/** A service's health beside its URL: `✅ service1 2/2 ready`, `⏳ service2 1/2 ready`. */
export function serviceHealth(s: ServiceHealth): string {
  return `${s.available ? '✅' : '⏳'} ${esc(s.service)} ${s.ready}/${s.desired} ready`;
}

function cardContext(card: EnvironmentCard): ContextBlock | undefined {
  const parts: string[] = [];
  if (card.expiresAt && card.status !== 'destroyed') parts.push(`Expires ${slackTime(card.expiresAt)}`);
  if (card.workflowUrl) parts.push(link(card.workflowUrl, 'View in Temporal'));
  return parts.length ? context(parts) : undefined;
}

/** An environment's buttons; `discriminator` keeps action ids unique where several share a payload. */
export function cardActions(environment: string, opts: CardPermissions, discriminator?: string): (Button | types.StaticSelect)[] {
  const id = (base: string): string => (discriminator ? `${base}:${discriminator}` : base);
  const elements: (Button | types.StaticSelect)[] = [];
  if (opts.canReset) elements.push(button('Reset database', id(ACTION.reset), environment));
  if (opts.canExtend) {
    elements.push({
      type: 'static_select',
      action_id: id(ACTION.extend),
      placeholder: plain('Extend by…'),
      options: EXTEND_CHOICES.map((c) => option(c.label, extendValue(environment, c.duration))),
    });
  }
  if (opts.canRefresh) elements.push(button('Refresh storage', id(ACTION.refresh), environment));
  if (opts.canReadCredentials) elements.push(button('Show credentials', id(ACTION.credentials), environment));
  if (opts.canDestroy) elements.push({ ...button('Destroy', id(ACTION.destroy), environment), style: 'danger', confirm: destroyConfirm(environment) });
  return elements;
}

/** The second "are you sure" on every Destroy button: the card's and the destroy confirmation's. */
export function destroyConfirm(environment: string): types.ConfirmationDialog {
  return {
    title: plain(clip(`Destroy ${environment}?`, SLACK_LIMITS.confirmTitle)),
    text: plain(clip(`Destroy ${environment}? Everything in it is deleted.`, SLACK_LIMITS.confirmText)),
    confirm: plain('Destroy'),
    deny: plain('Cancel'),
    style: 'danger',
  };
}

/** One environment on one line, for lists and the Home tab; `userId` says "created by you". */
export function summaryLine(e: EnvironmentSummary, userId?: string): string {
  const parts = [`*${esc(e.name)}*`, `${STATE_EMOJI[e.state] ?? '⚪'} ${esc(e.state)}`];
  if (e.expiresAt) parts.push(`expires ${slackTime(e.expiresAt)}`);
  parts.push(userId && e.createdBy === `slack:${userId}` ? 'created by you' : `by ${principal(e.createdBy)}`);
  return parts.join(' · ');
}

/**
 * The Extend menu's option value: `{"environment","duration"}`, unless that passes Slack's 75
 * characters (environment names reach 63); then only `{"duration"}`, and the environment is read
 * from the actions block's id (`env_actions:<environment>`). `extendChoice` reads both.
 */
export function extendValue(environment: string, duration: string): string {
  const full = JSON.stringify({ environment, duration });
  return full.length <= SLACK_LIMITS.optionValue ? full : JSON.stringify({ duration });
}

/** Reads an Extend choice back: the option's value and the block id of the block it was in. */
export function extendChoice(value: string, blockId?: string): { environment: string; duration: string } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object') return undefined;
  const { environment, duration } = parsed as { environment?: unknown; duration?: unknown };
  const env = typeof environment === 'string' ? environment : blockId?.startsWith('env_actions:') ? blockId.slice('env_actions:'.length) : undefined;
  return env && typeof duration === 'string' ? { environment: env, duration } : undefined;
}

/** The Retry button's value: what to build again. */
export function retryValue(card: Pick<EnvironmentCard, 'project' | 'stage' | 'suffix'>): string {
  return JSON.stringify({ project: card.project, stage: card.stage, ...(card.suffix ? { suffix: card.suffix } : {}) });
}

// Step titles come from the resource table (shared/resources.ts), not the workflow: chat adapters
// must not import workflow modules.
function failedCard(card: EnvironmentCard): MessagePayload {
  const step = card.failedStep ? stepTitle(card.failedStep) : undefined;
  const blocks: KnownBlock[] = [header(cardTitle(card))];
  const what = step ? `*${esc(step)}* failed` : 'A step failed';
  blocks.push(section(card.error ? `${what}:\n\`\`\`${esc(clip(card.error, 2500))}\`\`\`` : `${what}.`));
  if (card.rolledBack) {
    blocks.push(
      ...(card.rolledBack.length
        ? packSections(['*Rolled back*', ...card.rolledBack.map((id) => `↩️ ${esc(stepTitle(id))}`)], { maxSections: 2, noun: 'steps' })
        : [section('Nothing had to be rolled back.')]),
    );
  }
  const ctx = cardContext(card);
  if (ctx) blocks.push(ctx);
  blocks.push({ type: 'actions', block_id: `env_actions:${card.environment}`, elements: [{ ...button('Retry', ACTION.retry, retryValue(card)), style: 'primary' }] });

  const parts = [`${card.environment} could not be built`];
  if (step) parts.push(`${step} failed${card.error ? `: ${oneLine(card.error)}` : ''}`);
  else if (card.error) parts.push(oneLine(card.error));
  if (card.rolledBack?.length) parts.push(`rolled back: ${card.rolledBack.map(stepTitle).join(', ')}`);
  // Empty top-level blocks: when this replaces a progress message in place, its blocks must go.
  return { text: fallback(parts.join('; '), card.environment), blocks: [], attachments: [{ color: FAILED_COLOR, blocks }] };
}
