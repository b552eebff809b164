// The environment card as an Adaptive Card: the twin of bot/slack/blocks/card.ts. Buttons are
// Action.Execute (Universal Actions); Reset, Extend and Destroy first open their question under the
// card (Action.ShowCard), so the confirmation is a second, deliberate click. Each button's data
// carries the card's model, so the invoke response can hand back the refreshed card.
import { copySummary, runText, type EnvironmentCard, type ServiceHealth, type ServiceRun } from '../../../shared/chat.js';
import type { ResetTarget } from '../../../shared/model.js';
import { stepTitle } from '../../../shared/resources.js';
import type { CardPermissions } from '../../slack/blocks/card.js';
import { EXTEND_CHOICES } from '../../slack/blocks/card.js';
import { card as adaptiveCard, clip, esc, execute, facts, link, message, oneLine, plainTime, showCard, teamsTime, text, title, VERB, type CardAction, type CardMessage, type Element } from './common.js';

export type { CardPermissions };

export const RESET_CHOICES: { which: ResetTarget; label: string }[] = [
  { which: 'mongo', label: 'MongoDB' },
  { which: 'sql', label: 'SQL' },
  { which: 'redis', label: 'Redis' },
  { which: 'all', label: 'all databases' },
];

/** A line under the card saying what a click started ("Resetting sql of projb-qa…"). */
export interface CardNote {
  text: string;
  color?: 'Good' | 'Warning' | 'Attention';
}

export function environmentCard(c: EnvironmentCard, perms: CardPermissions, note?: CardNote): CardMessage {
  if (c.status === 'failed') return failedCard(c, note);
  const body: Element[] = [title(cardTitle(c)), ...cardDetails(c)];
  body.push(...contextLines(c));
  if (note) body.push(text(esc(note.text), { ...(note.color ? { color: note.color } : {}), weight: 'Bolder' }));
  const actions = c.status === 'destroyed' ? [] : cardActions(c, { ...perms, canRefresh: perms.canRefresh && !!c.storage?.length });
  const parts = [cardTitle(c)];
  if (c.urls.length) parts.push(c.urls.join(' '));
  for (const s of c.storage ?? []) parts.push(`${s.volume}: ${copySummary(s)}`);
  if (c.expiresAt && c.status !== 'destroyed') parts.push(`expires ${plainTime(c.expiresAt)}`);
  if (note) parts.push(note.text);
  return message(adaptiveCard(body, actions, parts.join(' · ')));
}

export function cardTitle(c: EnvironmentCard): string {
  switch (c.status) {
    case 'ready':
      return `✅ ${c.environment} is ready`;
    case 'failed':
      return `❌ ${c.environment} could not be built`;
    case 'destroyed':
      return `🗑️ ${c.environment} was destroyed`;
    case 'reset':
      return `🔄 ${c.environment}: databases reset`;
  }
}

/** Services, databases, Redis and storage: shared by the card and the status reply. */
export function cardDetails(c: EnvironmentCard): Element[] {
  const body: Element[] = [];
  if (c.urls.length) {
    body.push(text('**Services**'));
    for (const u of c.urls) {
      const health = c.services?.find((s) => s.urls.includes(u));
      body.push(text(`${link(u, u.replace(/^https?:\/\//, '').replace(/\/$/, ''))}${health ? ` · ${serviceHealth(health)}` : ''}`));
    }
    if (c.vpnGroup) body.push(text(`🔒 Reachable over the company VPN, for members of ${esc(c.vpnGroup)}: connect with the VPN client first (envbot's docs/vpn.md says how).`, { isSubtle: true }));
  }
  const data: [string, string][] = c.databases.map((d) => [d.engine, d.name]);
  if (c.redisIndex !== undefined) data.push(['Redis', `database ${c.redisIndex}`]);
  if (data.length) body.push(text('**Databases**'), facts(data));
  if (c.storage?.length) body.push(text('**Storage**'), facts(c.storage.map((s) => [s.volume, copySummary(s)])));
  body.push(...runElements(c.runs));
  return body;
}

/** What the services run: each one rendered from git with its branch and commit, ⚠️ on those off their default branch. */
export function runElements(runs: readonly ServiceRun[] | undefined): Element[] {
  const fromGit = (runs ?? []).filter((r) => r.branch !== null || r.commit !== null);
  if (!fromGit.length) return [];
  return [text('**Branches**'), ...fromGit.map((r) => text(`${r.branch && r.defaultBranch && r.branch !== r.defaultBranch ? '⚠️ ' : ''}${esc(runText(r))}`))];
}

export function serviceHealth(s: ServiceHealth): string {
  return `${s.available ? '✅' : '⏳'} ${esc(s.service)} ${s.ready}/${s.desired} ready`;
}

function contextLines(c: EnvironmentCard): Element[] {
  const parts: string[] = [];
  if (c.expiresAt && c.status !== 'destroyed') parts.push(`Expires ${teamsTime(c.expiresAt)} (${plainTime(c.expiresAt)})`);
  if (c.workflowUrl) parts.push(link(c.workflowUrl, 'View in Temporal'));
  return parts.length ? [text(parts.join(' · '), { isSubtle: true })] : [];
}

/** The card's buttons, those the reader may use. */
export function cardActions(c: EnvironmentCard, perms: CardPermissions): CardAction[] {
  const env = c.environment;
  const actions: CardAction[] = [];
  if (perms.canReset) {
    actions.push(showCard('Reset database', [text(`Which databases of ${esc(env)} should go back to their seed data? Everything written since is lost.`)],
      RESET_CHOICES.map((r) => execute(`Reset ${r.label}`, VERB.resetConfirmed, { environment: env, which: r.which, card: c }, { style: 'destructive' }))));
  }
  if (perms.canExtend) {
    actions.push(showCard('Extend', [text(`Keep ${esc(env)} for longer, from now:`)], EXTEND_CHOICES.map((x) => execute(x.label, VERB.extend, { environment: env, duration: x.duration, card: c }))));
  }
  if (perms.canRefresh) actions.push(execute('Refresh storage', VERB.refresh, { environment: env, card: c }));
  if (perms.canReadCredentials) actions.push(execute('Show credentials', VERB.credentials, { environment: env, card: c }));
  if (perms.canDestroy) {
    actions.push(showCard('Destroy', [text(`Destroy ${esc(env)}? Everything in it is deleted.`, { color: 'Attention' })],
      [execute(`Destroy ${env}`, VERB.destroyConfirmed, { environment: env, card: c }, { style: 'destructive' })]));
  }
  return actions;
}

function failedCard(c: EnvironmentCard, note?: CardNote): CardMessage {
  const step = c.failedStep ? stepTitle(c.failedStep) : undefined;
  const body: Element[] = [title(cardTitle(c))];
  const what = step ? `**${esc(step)}** failed` : 'A step failed';
  body.push(text(c.error ? `${what}: ${esc(clip(oneLine(c.error), 2500))}` : `${what}.`, { color: 'Attention' }));
  if (c.rolledBack) {
    body.push(c.rolledBack.length ? text(`**Rolled back**\n\n${c.rolledBack.map((id) => `↩️ ${esc(stepTitle(id))}`).join('\n\n')}`) : text('Nothing had to be rolled back.'));
  }
  body.push(...contextLines(c));
  if (note) body.push(text(esc(note.text), { weight: 'Bolder', ...(note.color ? { color: note.color } : {}) }));
  const parts = [`${c.environment} could not be built`];
  if (step) parts.push(`${step} failed${c.error ? `: ${oneLine(c.error)}` : ''}`);
  else if (c.error) parts.push(oneLine(c.error));
  if (c.rolledBack?.length) parts.push(`rolled back: ${c.rolledBack.map(stepTitle).join(', ')}`);
  const retry = execute('Retry', VERB.retry, { project: c.project, stage: c.stage, ...(c.suffix ? { suffix: c.suffix } : {}), card: c }, { style: 'positive' });
  return message(adaptiveCard(body, [retry], parts.join('; ')));
}
