// What every Block Kit surface shares: Slack's limits, the action ids listeners match, mrkdwn text
// helpers and the small block builders. Each builder clips to Slack's limits itself, so a surface
// cannot produce a payload Slack rejects for length.
//
// Action ids: where one payload holds the same action more than once (the reset choices, one row
// of buttons per environment on the Home tab) the id gets a `:<discriminator>` so ids stay unique;
// listeners match with `actionPattern(ACTION.reset)`, which accepts both forms.
import type { types } from '@slack/bolt';

export type KnownBlock = types.KnownBlock;
export type SectionBlock = types.SectionBlock;
export type ContextBlock = types.ContextBlock;
export type Button = types.Button;
type HeaderBlock = types.HeaderBlock;
type InputBlock = types.InputBlock;
type PlainTextElement = types.PlainTextElement;
type PlainTextOption = types.PlainTextOption;

/** A message for chat.postMessage / chat.update / respond: `text` is the plain-text fallback. */
export interface MessagePayload {
  text: string;
  blocks: KnownBlock[];
  attachments?: types.MessageAttachment[];
}

/** Slack's limits we build within (https://docs.slack.dev/reference/block-kit). */
export const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  headerText: 150,
  buttonText: 75,
  buttonValue: 2000,
  optionText: 75,
  optionValue: 75,
  options: 100,
  contextElements: 10,
  actionsElements: 25,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  modalTitle: 24,
  privateMetadata: 3000,
  /** Not Slack's (40,000) but what still reads as a notification. */
  fallbackText: 1000,
} as const;

export const ACTION = {
  reset: 'env_reset',
  extend: 'env_extend',
  destroy: 'env_destroy',
  credentials: 'env_credentials',
  retry: 'env_retry',
  /** The card's "Refresh storage": copies every volume from S3 again (value: the environment). */
  refresh: 'env_refresh',
  /** Retry on a failed copy's notice: copies that volume again (value: `{"environment","volume"}`). */
  retryCopy: 'env_retry_copy',
  destroyConfirmed: 'env_destroy_confirmed',
  resetConfirmed: 'env_reset_confirmed',
} as const;

/** Matches an action id with or without the `:<discriminator>` added where it repeats in one payload. */
export function actionPattern(base: string): RegExp {
  return new RegExp(`^${base}(?::.+)?$`);
}

// ---------------------------------------------------------------------------------------------
// Text

/** Escapes the three characters Slack's mrkdwn treats as markup. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** `slack:U123` → `<@U123>` and `slack-group:S123` → `<!subteam^S123>` in free text. */
export function mentions(text: string): string {
  return text.replace(/(?<![\w-])slack:([UW][A-Z0-9]+)\b/g, '<@$1>').replace(/(?<![\w-])slack-group:(S[A-Z0-9]+)\b/g, '<!subteam^$1>');
}

/** A catalogue principal or requester id, as people read it, in mrkdwn (`slack:U1` → `<@U1>`). */
export function principal(p: string): string {
  return mentions(esc(principalLabel(p)));
}

/** A principal in words, raw: Slack ids stay `slack:U1` / `slack-group:S1` for `mentions` to turn. */
export function principalLabel(p: string): string {
  if (p === '*') return 'everyone';
  if (p === 'system') return 'envbot';
  const [kind, ...rest] = p.split(':');
  const id = rest.join(':');
  if (!id) return p;
  switch (kind) {
    case 'group':
      return `group ${id}`;
    case 'teams':
      return `Teams user ${id}`;
    case 'teams-group':
      return `Teams group ${id}`;
    case 'cli':
      return `${id} (CLI)`;
    default:
      return p;
  }
}

/** 45s, 3m 05s, 2h 05m, 1d 3h. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${pad(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${pad(m % 60)}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** 2025-03-14 12:00 UTC: for plain text, where Slack's date formatting does not apply. */
export function plainTime(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A time in mrkdwn: Slack shows it in the reader's time zone, with the UTC text as fallback. */
export function slackTime(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? esc(iso) : `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} at {time}|${plainTime(iso)}>`;
}

export function link(url: string, label: string): string {
  return `<${url.replace(/\|/g, '%7C').replace(/>/g, '%3E')}|${esc(label)}>`;
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Cuts `text` to `max` characters with an ellipsis, never between the halves of a surrogate pair. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/**
 * The top-level `text`: one line, escaped like any mrkdwn (Slack shows it in notifications), with
 * `slack:U…` ids as mentions. Takes raw text: callers must not escape it first.
 */
export function fallback(text: string, otherwise: string): string {
  const t = oneLine(text) || otherwise;
  return clip(mentions(esc(clip(t, SLACK_LIMITS.fallbackText - 100))), SLACK_LIMITS.fallbackText);
}

// ---------------------------------------------------------------------------------------------
// Blocks

export function plain(text: string): PlainTextElement {
  return { type: 'plain_text', text: text || ' ', emoji: true };
}

export function header(text: string): HeaderBlock {
  return { type: 'header', text: plain(clip(text, SLACK_LIMITS.headerText)) };
}

export function section(mrkdwn: string): SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: clip(mrkdwn, SLACK_LIMITS.sectionText) || ' ' } };
}

export function context(mrkdwn: string[]): ContextBlock {
  return { type: 'context', elements: mrkdwn.slice(0, SLACK_LIMITS.contextElements).map((t) => ({ type: 'mrkdwn' as const, text: clip(t, 2000) })) };
}

export function button(text: string, actionId: string, value: string): Button {
  return { type: 'button', text: plain(clip(text, SLACK_LIMITS.buttonText)), action_id: actionId, value: clip(value, SLACK_LIMITS.buttonValue) };
}

export function option(text: string, value: string): PlainTextOption {
  return { text: plain(clip(text, SLACK_LIMITS.optionText)), value };
}

export function input(blockId: string, label: string, element: InputBlock['element']): InputBlock {
  return { type: 'input', block_id: blockId, label: plain(label), element };
}

/**
 * Lines into as few sections as fit Slack's 3,000 characters, at most `maxSections`; what does not
 * fit becomes "…and N more <noun>" in the last one.
 */
export function packSections(lines: string[], o: { maxSections: number; noun: string }): SectionBlock[] {
  const budget = SLACK_LIMITS.sectionText - 60;
  const max = Math.max(1, o.maxSections);
  const texts: string[] = [];
  let current = '';
  let i = 0;
  for (; i < lines.length; i++) {
    const line = clip(lines[i]!, budget);
    const next = current ? `${current}\n${line}` : line;
    if (next.length <= budget) {
      current = next;
      continue;
    }
    if (texts.length + 1 >= max) break;
    texts.push(current);
    current = line;
  }
  if (i < lines.length) current += `\n_…and ${lines.length - i} more ${o.noun}_`;
  if (current) texts.push(current);
  return texts.map((t) => section(t));
}
