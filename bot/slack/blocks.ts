// Block Kit for the Slack adapter: pure functions from the core's replies, a workflow's progress and
// environment cards to Slack payloads. No I/O and no clock (callers pass `now`), so each is tested
// with snapshots. Every message carries a plain-text `text` for notifications and screen readers.
//
// Action ids: where one payload holds the same action more than once (the reset choices, one row
// of buttons per environment on the Home tab) the id gets a `:<discriminator>` so ids stay unique;
// listeners match with `actionPattern(ACTION.reset)`, which accepts both forms.
import type { types } from '@slack/bolt';
import type { EnvironmentCard } from '../../shared/chat.js';
import type { Progress, ResetTarget, Step, StepStatus } from '../../shared/model.js';
import { LIMITS } from '../../shared/names.js';
import { CREATE_STEPS } from '../../workflows/create-environment.js';
import type { EnvironmentSummary, Reply } from '../core/model.js';

export type KnownBlock = types.KnownBlock;
type SectionBlock = types.SectionBlock;
type ContextBlock = types.ContextBlock;
type HeaderBlock = types.HeaderBlock;
type ActionsBlock = types.ActionsBlock;
type InputBlock = types.InputBlock;
type Button = types.Button;
type StaticSelect = types.StaticSelect;
type PlainTextElement = types.PlainTextElement;
type PlainTextOption = types.PlainTextOption;
type ConfirmationDialog = types.ConfirmationDialog;

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
  destroyConfirmed: 'env_destroy_confirmed',
  resetConfirmed: 'env_reset_confirmed',
} as const;

/** The create form's callback id; its inputs all have action id `value`, told apart by block id. */
export const CREATE_CALLBACK_ID = 'env_create';

/** Matches an action id with or without the `:<discriminator>` added where it repeats in one payload. */
export function actionPattern(base: string): RegExp {
  return new RegExp(`^${base}(?::.+)?$`);
}

export const FAILED_COLOR = '#d93f0b';

export const EXTEND_CHOICES = [
  { duration: '1d', label: '1 day' },
  { duration: '7d', label: '7 days' },
  { duration: '14d', label: '14 days' },
] as const;

export const TTL_CHOICES = [
  { duration: '1d', label: '1 day' },
  { duration: '3d', label: '3 days' },
  { duration: '7d', label: '7 days' },
  { duration: '14d', label: '14 days' },
  { duration: '30d', label: '30 days' },
] as const;

const RESET_CHOICES: { which: ResetTarget; label: string; what: string }[] = [
  { which: 'mongo', label: 'MongoDB', what: 'the MongoDB databases' },
  { which: 'sql', label: 'SQL', what: 'the SQL databases' },
  { which: 'redis', label: 'Redis', what: 'the Redis database' },
  { which: 'all', label: 'all databases', what: 'every database' },
];

const STEP_EMOJI: Record<StepStatus, string> = {
  pending: '⚪',
  running: '⏳',
  done: '✅',
  failed: '❌',
  undoing: '↩️',
  undone: '↩️',
  'undo-failed': '⚠️',
  skipped: '➖',
};

/** Said after the emoji, so the line does not depend on seeing it. */
const STEP_WORD: Record<StepStatus, string> = {
  pending: '',
  running: 'running',
  done: '',
  failed: 'failed',
  undoing: 'undoing',
  undone: 'rolled back',
  'undo-failed': 'could not be rolled back',
  skipped: 'skipped',
};

const FINISHED: StepStatus[] = ['done', 'failed', 'undone', 'undo-failed', 'skipped'];

const OPERATION_VERB: Record<Progress['operation'], string> = {
  create: 'Creating',
  destroy: 'Destroying',
  reset: 'Resetting',
  expire: 'Destroying',
};

const STATE_EMOJI: Record<string, string> = {
  ready: '✅',
  creating: '⏳',
  resetting: '⏳',
  destroying: '⏳',
  failed: '❌',
  destroyed: '🗑️',
};

// ---------------------------------------------------------------------------------------------
// Progress

/** A workflow's steps as they run: one line per step, edited in place as they change. */
export function progressMessage(progress: Progress, now: Date): MessagePayload {
  const elapsed = elapsedMs(progress, now);
  const head = `${OPERATION_VERB[progress.operation]} ${progress.environment}${progress.operation === 'expire' ? ' (expired)' : ''}`;
  const done = progress.steps.filter((s) => s.status === 'done').length;
  const failed = progress.steps.find((s) => s.status === 'failed');
  const summary =
    progress.status === 'succeeded'
      ? `✅ Finished in ${formatDuration(elapsed)}`
      : progress.status === 'failed'
        ? `❌ Failed after ${formatDuration(elapsed)}${failed ? ` at ${esc(failed.title)}` : ''}`
        : `⏳ ${done} of ${progress.steps.length} steps done · running for ${formatDuration(elapsed)}`;

  const blocks: KnownBlock[] = [header(head)];
  blocks.push(...packSections(progress.steps.map(stepLine), { maxSections: 5, noun: 'steps' }));
  blocks.push(context([summary]));

  const text =
    progress.status === 'succeeded'
      ? `${head}: finished in ${formatDuration(elapsed)}.`
      : progress.status === 'failed'
        ? `${head}: failed after ${formatDuration(elapsed)}${failed ? ` at ${failed.title}${failed.error ? `: ${oneLine(failed.error)}` : ''}` : ''}.`
        : `${head}: ${done} of ${progress.steps.length} steps done, running for ${formatDuration(elapsed)}.`;
  return { text: fallback(text, head), blocks };
}

function elapsedMs(progress: Progress, now: Date): number {
  const start = Date.parse(progress.startedAt);
  const end = progress.endedAt ? Date.parse(progress.endedAt) : now.getTime();
  return Number.isNaN(start) || Number.isNaN(end) ? 0 : Math.max(0, end - start);
}

function stepLine(step: Step): string {
  let line = `${STEP_EMOJI[step.status]} ${esc(step.title)}`;
  const word = STEP_WORD[step.status];
  if (word) line += ` _${word}_`;
  if (FINISHED.includes(step.status) && step.startedAt && step.endedAt) {
    const ms = Date.parse(step.endedAt) - Date.parse(step.startedAt);
    if (!Number.isNaN(ms)) line += ` · ${formatDuration(ms)}`;
  }
  if ((step.status === 'failed' || step.status === 'undo-failed') && step.error) line += `\n> ${esc(clip(oneLine(step.error), 500))}`;
  return line;
}

// ---------------------------------------------------------------------------------------------
// Environment card

export interface CardPermissions {
  canReset: boolean;
  canDestroy: boolean;
  canExtend: boolean;
  canReadCredentials: boolean;
}

/** The card posted when an operation ends: links, databases, expiry, and the allowed buttons. */
export function environmentCard(card: EnvironmentCard, opts: CardPermissions): MessagePayload {
  if (card.status === 'failed') return failedCard(card);
  const blocks: KnownBlock[] = [header(cardTitle(card)), ...cardDetails(card)];
  const ctx = cardContext(card);
  if (ctx) blocks.push(ctx);
  if (card.status !== 'destroyed') {
    const elements = cardActions(card.environment, opts);
    if (elements.length) blocks.push({ type: 'actions', block_id: `env_actions:${card.environment}`, elements });
  }
  const parts = [cardTitle(card)];
  if (card.urls.length) parts.push(card.urls.join(' '));
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
function cardDetails(card: EnvironmentCard): KnownBlock[] {
  const blocks: KnownBlock[] = [];
  if (card.urls.length) {
    blocks.push(...packSections(['*Services*', ...card.urls.map((u) => `• ${link(u, u.replace(/^https?:\/\//, '').replace(/\/$/, ''))}`)], { maxSections: 3, noun: 'services' }));
  }
  const data = card.databases.map((d) => `• ${esc(d.engine)}: \`${esc(d.name)}\``);
  if (card.redisIndex !== undefined) data.push(`• Redis: database ${card.redisIndex}`);
  if (data.length) blocks.push(...packSections(['*Databases*', ...data], { maxSections: 2, noun: 'databases' }));
  return blocks;
}

function cardContext(card: EnvironmentCard): ContextBlock | undefined {
  const parts: string[] = [];
  if (card.expiresAt && card.status !== 'destroyed') parts.push(`Expires ${slackTime(card.expiresAt)}`);
  if (card.workflowUrl) parts.push(link(card.workflowUrl, 'View in Temporal'));
  return parts.length ? context(parts) : undefined;
}

function cardActions(environment: string, opts: CardPermissions, discriminator?: string): (Button | StaticSelect)[] {
  const id = (base: string): string => (discriminator ? `${base}:${discriminator}` : base);
  const elements: (Button | StaticSelect)[] = [];
  if (opts.canReset) elements.push(button('Reset database', id(ACTION.reset), environment));
  if (opts.canExtend) {
    elements.push({
      type: 'static_select',
      action_id: id(ACTION.extend),
      placeholder: plain('Extend by…'),
      options: EXTEND_CHOICES.map((c) => option(c.label, extendValue(environment, c.duration))),
    });
  }
  if (opts.canReadCredentials) elements.push(button('Show credentials', id(ACTION.credentials), environment));
  if (opts.canDestroy) elements.push({ ...button('Destroy', id(ACTION.destroy), environment), style: 'danger', confirm: destroyConfirm(environment) });
  return elements;
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

const STEP_TITLES: Record<string, string> = Object.fromEntries(CREATE_STEPS.map((s) => [s.id, s.title]));

function stepTitle(id: string): string {
  return STEP_TITLES[id] ?? id;
}

// ---------------------------------------------------------------------------------------------
// Notices

/** A short notice about an environment (expiry warnings, promotions); `slack:U…` become mentions. */
export function noticeMessage(environment: string, text: string): MessagePayload {
  const body = text.trim() ? mentions(esc(text)) : `Update about ${esc(environment)}.`;
  return { text: fallback(text, `Update about ${environment}.`), blocks: [section(body)] };
}

// ---------------------------------------------------------------------------------------------
// Replies

/** The core's reply as a Slack message. `open-create-form` is a modal: use `createModal`. */
export function replyMessage(reply: Reply): MessagePayload {
  switch (reply.kind) {
    case 'help':
      return helpMessage(reply);
    case 'error':
      return { text: fallback(reply.text ? `⚠️ ${reply.text}` : '', 'Something went wrong.'), blocks: [section(`⚠️ ${mentions(esc(reply.text)) || 'Something went wrong.'}`)] };
    case 'refused': {
      const nobody = 'nobody (ask an envbot admin)';
      const who = reply.allowed.length ? reply.allowed.map(principal).join(', ') : nobody;
      const whoText = reply.allowed.length ? reply.allowed.map(principalLabel).join(', ') : nobody;
      const body = mentions(esc(reply.text)) || `You may not ${reply.action} in ${esc(reply.project)}.`;
      return {
        text: fallback(`${reply.text || `You may not ${reply.action} in ${reply.project}.`} Who can: ${whoText}.`, 'Not allowed.'),
        blocks: [section(`🚫 ${body}`), context([`Who can ${esc(reply.action)} in ${esc(reply.project)}: ${who}`])],
      };
    }
    case 'started': {
      const emoji = { create: '🏗️', destroy: '🗑️', reset: '🔄' }[reply.operation];
      const verb = { create: 'Creating', destroy: 'Destroying', reset: 'Resetting' }[reply.operation];
      const line = reply.text || `${verb} ${reply.environment}…`;
      return {
        text: fallback(line, `${verb} ${reply.environment}`),
        blocks: [section(`${emoji} ${mentions(esc(reply.text)) || `${verb} *${esc(reply.environment)}*…`}`), context([`Asked by ${principal(reply.by)} · workflow \`${esc(reply.workflowId)}\``])],
      };
    }
    case 'confirm':
      return reply.operation === 'destroy' ? destroyQuestion(reply.environment, reply.text) : resetQuestion(reply.environment, reply.text, reply.which);
    case 'list':
      return listMessage(reply);
    case 'status':
      return statusMessage(reply);
    case 'extended': {
      const line = reply.text || `${reply.environment} now expires ${plainTime(reply.expiresAt)}.`;
      return {
        text: fallback(line, `${reply.environment} extended`),
        blocks: [section(`⏰ *${esc(reply.environment)}* now expires ${slackTime(reply.expiresAt)}.`), context([`Extended by ${principal(reply.by)}`])],
      };
    }
    case 'secrets':
      return secretsMessage(reply);
    case 'subscribed': {
      const line = reply.text || (reply.subscribed ? `Subscribed to ${reply.project}.` : `Unsubscribed from ${reply.project}.`);
      return { text: fallback(line, 'Subscriptions changed.'), blocks: [section(`${reply.subscribed ? '🔔' : '🔕'} ${mentions(esc(line))}`)] };
    }
    case 'open-create-form':
      throw new Error('open-create-form is a modal, not a message: open createModal(reply, …) with views.open');
    default: {
      const never: never = reply;
      throw new Error(`unknown reply ${JSON.stringify(never)}`);
    }
  }
}

function helpMessage(reply: Extract<Reply, { kind: 'help' }>): MessagePayload {
  const blocks: KnownBlock[] = [header('envbot commands')];
  if (reply.note) blocks.push(section(mentions(esc(reply.note))));
  const lines = reply.commands.map((c) => `\`/env ${esc(c.usage)}\`\n${esc(c.description)}`);
  blocks.push(...packSections(lines, { maxSections: SLACK_LIMITS.blocks - blocks.length, noun: 'commands' }));
  const names = reply.commands.map((c) => c.usage.split(' ')[0]).join(', ');
  return { text: fallback(`${reply.note ? `${reply.note} ` : ''}envbot commands: ${names}. Type /env help for details.`, 'envbot commands'), blocks };
}

function destroyQuestion(environment: string, text: string): MessagePayload {
  const question = text || `Destroy ${environment}? Everything in it is deleted.`;
  return {
    text: fallback(question, `Destroy ${environment}?`),
    blocks: [
      section(`⚠️ ${esc(question)}`),
      {
        type: 'actions',
        block_id: `env_confirm:${environment}`,
        elements: [{ ...button(`Destroy ${environment}`, ACTION.destroyConfirmed, environment), style: 'danger', confirm: destroyConfirm(environment) }],
      },
    ],
  };
}

function resetQuestion(environment: string, text: string, which?: ResetTarget): MessagePayload {
  const question = text || `Which databases of ${environment} should go back to their seed data?`;
  return { text: fallback(question, `Reset ${environment}?`), blocks: [section(`🔄 ${esc(question)}`), resetButtons(environment, which)] };
}

/** The reset choices for one environment, as the Reset database button opens them. */
export function resetChooser(environment: string): MessagePayload {
  return resetQuestion(environment, `Which databases of ${environment} should go back to their seed data? Everything written since is lost.`);
}

function resetButtons(environment: string, preferred?: ResetTarget): ActionsBlock {
  return {
    type: 'actions',
    block_id: `env_reset_choices:${environment}`,
    elements: RESET_CHOICES.map((c) => ({
      ...button(`Reset ${c.label}`, `${ACTION.resetConfirmed}:${c.which}`, JSON.stringify({ environment, which: c.which })),
      ...(c.which === preferred ? { style: 'primary' as const } : {}),
      confirm: {
        title: plain(clip(`Reset ${c.label} of ${environment}?`, SLACK_LIMITS.confirmTitle)),
        text: plain(clip(`Reset ${c.what} of ${environment} to the seed data? Everything written since is lost.`, SLACK_LIMITS.confirmText)),
        confirm: plain('Reset'),
        deny: plain('Cancel'),
        style: 'danger',
      },
    })),
  };
}

function destroyConfirm(environment: string): ConfirmationDialog {
  return {
    title: plain(clip(`Destroy ${environment}?`, SLACK_LIMITS.confirmTitle)),
    text: plain(clip(`Destroy ${environment}? Everything in it is deleted.`, SLACK_LIMITS.confirmText)),
    confirm: plain('Destroy'),
    deny: plain('Cancel'),
    style: 'danger',
  };
}

function summaryLine(e: EnvironmentSummary, userId?: string): string {
  const parts = [`*${esc(e.name)}*`, `${STATE_EMOJI[e.state] ?? '⚪'} ${esc(e.state)}`];
  if (e.expiresAt) parts.push(`expires ${slackTime(e.expiresAt)}`);
  parts.push(userId && e.createdBy === `slack:${userId}` ? 'created by you' : `by ${principal(e.createdBy)}`);
  return parts.join(' · ');
}

function listMessage(reply: Extract<Reply, { kind: 'list' }>): MessagePayload {
  const where = reply.project ? ` of ${reply.project}` : '';
  if (!reply.environments.length) {
    return { text: fallback(`No environments${where}.`, 'No environments.'), blocks: [section(`No environments${esc(where)}. Create one with \`/env create &lt;project&gt; &lt;stage&gt;\`.`)] };
  }
  const n = reply.environments.length;
  const blocks: KnownBlock[] = [header(`Environments${where}`)];
  blocks.push(...packSections(reply.environments.map((e) => summaryLine(e)), { maxSections: 10, noun: 'environments' }));
  const shown = reply.environments.slice(0, 10).map((e) => `${e.name} (${e.state})`);
  return { text: fallback(`${n} environment${n === 1 ? '' : 's'}${where}: ${shown.join(', ')}${n > 10 ? ` and ${n - 10} more` : ''}.`, `Environments${where}`), blocks };
}

function statusMessage(reply: Extract<Reply, { kind: 'status' }>): MessagePayload {
  const e = reply.environment;
  const blocks: KnownBlock[] = [header(`${STATE_EMOJI[e.state] ?? '⚪'} ${e.name}: ${e.state}`)];
  const facts = [`*Project* ${esc(e.project)} · *Stage* ${esc(e.stage)}`, `*Created by* ${principal(e.createdBy)}`];
  facts.push(e.expiresAt ? `*Expires* ${slackTime(e.expiresAt)}` : '*Expires* never');
  blocks.push(section(facts.join('\n')));
  if (reply.card) {
    blocks.push(...cardDetails(reply.card));
    if (reply.card.workflowUrl) blocks.push(context([link(reply.card.workflowUrl, 'View in Temporal')]));
  }
  if (reply.progress) {
    const p = reply.progress;
    blocks.push(section(`*${OPERATION_VERB[p.operation]}* (${p.status})`));
    blocks.push(...packSections(p.steps.map(stepLine), { maxSections: 5, noun: 'steps' }));
  }
  const parts = [`${e.name} is ${e.state}`];
  if (e.expiresAt) parts.push(`expires ${plainTime(e.expiresAt)}`);
  if (reply.progress) {
    const running = reply.progress.steps.find((s) => s.status === 'running' || s.status === 'undoing');
    parts.push(`${reply.progress.steps.filter((s) => s.status === 'done').length} of ${reply.progress.steps.length} steps done${running ? `, now: ${running.title}` : ''}`);
  }
  return { text: fallback(parts.join('; '), e.name), blocks };
}

function secretsMessage(reply: Extract<Reply, { kind: 'secrets' }>): MessagePayload {
  // Values stay out of `text`: it shows in notifications and previews.
  const n = reply.values.length;
  const text = n ? `Credentials of ${reply.environment} (${n} value${n === 1 ? '' : 's'}), shown only to you.` : `${reply.environment} has no credentials stored.`;
  const blocks: KnownBlock[] = [section(`🔑 ${esc(text)}`)];
  const room = SLACK_LIMITS.blocks - blocks.length - 1;
  for (const s of reply.values.slice(0, room)) {
    const name = `*${esc(s.name)}*\n`;
    blocks.push(section(`${name}\`\`\`${esc(clip(s.value, SLACK_LIMITS.sectionText - name.length - 10)) || ' '}\`\`\``));
  }
  if (n > room) blocks.push(context([`…and ${n - room} more that do not fit in one message.`]));
  return { text: fallback(text, `Credentials of ${reply.environment}`), blocks };
}

// ---------------------------------------------------------------------------------------------
// Views

type CreateForm = Extract<Reply, { kind: 'open-create-form' }>;

/** The create form: project, stage, suffix, time to live and a branch per service. */
export function createModal(form: CreateForm, privateMetadata: string): types.ModalView {
  if (privateMetadata.length > SLACK_LIMITS.privateMetadata) throw new RangeError(`private_metadata is ${privateMetadata.length} characters; Slack takes ${SLACK_LIMITS.privateMetadata}`);
  const base = { type: 'modal' as const, callback_id: CREATE_CALLBACK_ID, title: plain('New environment'), close: plain('Cancel'), private_metadata: privateMetadata };
  if (!form.projects.length) return { ...base, blocks: [section('There is no project you may create environments of.')] };

  const projectOptions = form.projects.slice(0, SLACK_LIMITS.options).map((p) => option(p.name, p.name));
  const stages = [...new Set(form.projects.flatMap((p) => p.stages))];
  const stageOptions = stages.slice(0, SLACK_LIMITS.options).map((s) => option(s, s));
  const initialProject = projectOptions.find((o) => o.value === form.project);
  const initialStage = stageOptions.find((o) => o.value === form.stage);
  const selected = form.projects.find((p) => p.name === form.project) ?? form.projects[0]!;

  const blocks: KnownBlock[] = [
    input('project', 'Project', { type: 'static_select', action_id: 'value', placeholder: plain('Choose a project'), options: projectOptions, ...(initialProject ? { initial_option: initialProject } : {}) }),
    input('stage', 'Stage', { type: 'static_select', action_id: 'value', placeholder: plain('Choose a stage'), options: stageOptions, ...(initialStage ? { initial_option: initialStage } : {}) }),
    {
      ...input('suffix', 'Suffix', { type: 'plain_text_input', action_id: 'value', max_length: LIMITS.suffix, placeholder: plain('none') }),
      optional: true,
      hint: plain('letters and digits, e.g. 2'),
    },
    {
      ...input('ttl', 'Time to live', { type: 'static_select', action_id: 'value', placeholder: plain("The catalogue's default"), options: TTL_CHOICES.map((c) => option(c.label, c.duration)) }),
      optional: true,
    },
  ];
  const room = SLACK_LIMITS.blocks - blocks.length - 1;
  for (const service of selected.services.slice(0, room)) {
    blocks.push({
      ...input(`branch:${service}`, clip(`Branch of ${service}`, 2000), { type: 'plain_text_input', action_id: 'value', placeholder: plain("The catalogue's branch") }),
      optional: true,
    });
  }
  if (selected.services.length > room) blocks.push(context([`…and ${selected.services.length - room} more services, built from their catalogue branch.`]));
  return { ...base, submit: plain('Create'), blocks };
}

/** The Home tab: the user's environments with their buttons, and how to make one. */
export function homeView(environments: EnvironmentSummary[], opts: { userId: string }): types.HomeView {
  const blocks: KnownBlock[] = [header('Your environments')];
  const hint = context(['Create one with `/env create &lt;project&gt; &lt;stage&gt;`, for example `/env create projb qa`; `/env help` lists every command.']);
  if (!environments.length) {
    blocks.push(section('You have no environments.'), hint);
    return { type: 'home', blocks };
  }
  // Two blocks an environment; keep room for the "more" line, a divider and the hint.
  const room = Math.floor((SLACK_LIMITS.blocks - blocks.length - 3) / 2);
  for (const e of environments.slice(0, room)) {
    blocks.push(section(summaryLine(e, opts.userId)));
    if (e.state === 'destroyed' || e.state === 'destroying') continue;
    blocks.push({
      type: 'actions',
      block_id: `env_actions:${e.name}`,
      elements: cardActions(e.name, { canReset: e.state === 'ready', canDestroy: true, canExtend: false, canReadCredentials: e.state === 'ready' }, e.name),
    });
  }
  if (environments.length > room) blocks.push(context([`…and ${environments.length - room} more: \`/env list\` shows them all.`]));
  blocks.push({ type: 'divider' }, hint);
  return { type: 'home', blocks };
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
function principalLabel(p: string): string {
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
function plainTime(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A time in mrkdwn: Slack shows it in the reader's time zone, with the UTC text as fallback. */
function slackTime(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? esc(iso) : `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} at {time}|${plainTime(iso)}>`;
}

function link(url: string, label: string): string {
  return `<${url.replace(/\|/g, '%7C').replace(/>/g, '%3E')}|${esc(label)}>`;
}

function oneLine(text: string): string {
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
function fallback(text: string, otherwise: string): string {
  const t = oneLine(text) || otherwise;
  return clip(mentions(esc(clip(t, SLACK_LIMITS.fallbackText - 100))), SLACK_LIMITS.fallbackText);
}

// ---------------------------------------------------------------------------------------------
// Blocks

function plain(text: string): PlainTextElement {
  return { type: 'plain_text', text: text || ' ', emoji: true };
}

function header(text: string): HeaderBlock {
  return { type: 'header', text: plain(clip(text, SLACK_LIMITS.headerText)) };
}

function section(mrkdwn: string): SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: clip(mrkdwn, SLACK_LIMITS.sectionText) || ' ' } };
}

function context(mrkdwn: string[]): ContextBlock {
  return { type: 'context', elements: mrkdwn.slice(0, SLACK_LIMITS.contextElements).map((t) => ({ type: 'mrkdwn' as const, text: clip(t, 2000) })) };
}

function button(text: string, actionId: string, value: string): Button {
  return { type: 'button', text: plain(clip(text, SLACK_LIMITS.buttonText)), action_id: actionId, value: clip(value, SLACK_LIMITS.buttonValue) };
}

function option(text: string, value: string): PlainTextOption {
  return { text: plain(clip(text, SLACK_LIMITS.optionText)), value };
}

function input(blockId: string, label: string, element: InputBlock['element']): InputBlock {
  return { type: 'input', block_id: blockId, label: plain(label), element };
}

/**
 * Lines into as few sections as fit Slack's 3,000 characters, at most `maxSections`; what does not
 * fit becomes "…and N more <noun>" in the last one.
 */
function packSections(lines: string[], o: { maxSections: number; noun: string }): SectionBlock[] {
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
