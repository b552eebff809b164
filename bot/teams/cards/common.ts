// What every Adaptive Card envbot sends shares: the schema version, the verbs of its Action.Execute
// buttons (Universal Actions), text helpers and the small element builders. Pure data, like the
// Slack blocks (bot/slack/blocks), built from the same reply models.
import { clip, formatDuration, oneLine, plainTime, principalLabel } from '../../slack/blocks/common.js';

export { clip, formatDuration, oneLine, plainTime };

export const CARD_SCHEMA = 'http://adaptivecards.io/schemas/adaptive-card.json';
export const CARD_VERSION = '1.5';
export const CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

/** Teams shows at most about 28 KB of card; what reads as a notification is far shorter. */
export const TEAMS_LIMITS = { fallbackText: 1000, textBlock: 2000, facts: 30, elements: 60 } as const;

/** The `verb` of each Action.Execute; the invoke handler (bot/teams/bot.ts) matches on these. */
export const VERB = {
  reset: 'envReset',
  resetConfirmed: 'envResetConfirmed',
  extend: 'envExtend',
  destroy: 'envDestroy',
  destroyConfirmed: 'envDestroyConfirmed',
  credentials: 'envCredentials',
  refresh: 'envRefresh',
  retry: 'envRetry',
  retryCopy: 'envRetryCopy',
  createForm: 'envCreateForm',
} as const;
export type Verb = (typeof VERB)[keyof typeof VERB];

export type Element = Record<string, unknown> & { type: string };
export type CardAction = Record<string, unknown> & { type: 'Action.Execute' | 'Action.ShowCard' | 'Action.OpenUrl' | 'Action.Submit'; title: string };

export interface AdaptiveCard {
  type: 'AdaptiveCard';
  $schema: string;
  version: string;
  body: Element[];
  actions?: CardAction[];
  fallbackText: string;
  msteams?: { width: 'Full' };
}

/** A message activity carrying one card, with the plain-text `summary` Teams shows in notifications. */
export interface CardMessage {
  type: 'message';
  summary: string;
  attachments: [{ contentType: typeof CARD_CONTENT_TYPE; content: AdaptiveCard }];
}

export function card(body: Element[], actions: CardAction[], fallbackText: string): AdaptiveCard {
  return {
    type: 'AdaptiveCard',
    $schema: CARD_SCHEMA,
    version: CARD_VERSION,
    body: body.slice(0, TEAMS_LIMITS.elements),
    ...(actions.length ? { actions } : {}),
    fallbackText: fallback(fallbackText, 'envbot'),
    msteams: { width: 'Full' },
  };
}

export function message(content: AdaptiveCard): CardMessage {
  return { type: 'message', summary: content.fallbackText, attachments: [{ contentType: CARD_CONTENT_TYPE, content }] };
}

/** One line of plain text for notifications and the card's fallback. */
export function fallback(text: string, otherwise: string): string {
  return clip(oneLine(text) || otherwise, TEAMS_LIMITS.fallbackText);
}

/**
 * Text for a TextBlock: Teams renders a subset of Markdown there, so the characters that would
 * start markup in free text (names, errors) are escaped.
 */
export function esc(text: string): string {
  return text.replace(/[\\*_[\]`<>#]/g, (c) => `\\${c}`);
}

export function link(url: string, label: string): string {
  return `[${esc(label)}](${url.replace(/\)/g, '%29').replace(/ /g, '%20')})`;
}

/** A principal as people read it: `teams:<id>` → `Teams user <id>`, `slack:U1` stays. */
export function principal(p: string): string {
  return principalLabel(p);
}

/** 2025-03-14 12:00 UTC, with Teams' own date formatting ({{DATE}}) showing it in the reader's zone. */
export function teamsTime(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return esc(iso);
  const utc = new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `{{DATE(${utc}, SHORT)}} {{TIME(${utc})}}`;
}

export function text(t: string, o: { size?: 'Small' | 'Medium' | 'Large'; weight?: 'Bolder'; color?: 'Good' | 'Warning' | 'Attention' | 'Accent'; isSubtle?: boolean; id?: string } = {}): Element {
  return { type: 'TextBlock', text: clip(t, TEAMS_LIMITS.textBlock) || ' ', wrap: true, ...o };
}

export function title(t: string): Element {
  return text(t, { size: 'Large', weight: 'Bolder' });
}

export function facts(rows: [string, string][]): Element {
  return { type: 'FactSet', facts: rows.slice(0, TEAMS_LIMITS.facts).map(([t, v]) => ({ title: t, value: clip(v, 500) || ' ' })) };
}

export function execute(titleText: string, verb: Verb, data: Record<string, unknown>, o: { style?: 'positive' | 'destructive'; id?: string } = {}): CardAction {
  return { type: 'Action.Execute', title: clip(titleText, 60), verb, data, ...o };
}

/** A button that opens a sub-card under the card (a question or a choice) without a round trip. */
export function showCard(titleText: string, body: Element[], actions: CardAction[]): CardAction {
  return { type: 'Action.ShowCard', title: clip(titleText, 60), card: { type: 'AdaptiveCard', body, actions } };
}
