// The short replies: the core's answers to a command (help, errors, refusals, confirmations, lists,
// status, credentials, subscriptions) and notices about an environment. Most are ephemeral, shown
// only to whoever asked.
import type { types } from '@slack/bolt';
import { copySummary, storageCopyText, type VolumeCopy } from '../../../shared/chat.js';
import type { ResetTarget } from '../../../shared/model.js';
import { historyLine, sourcesLine, type Reply } from '../../core/model.js';
import { cardDetails, destroyConfirm, runBlocks, STATE_EMOJI, summaryLine } from './card.js';
import {
  ACTION,
  button,
  clip,
  context,
  esc,
  fallback,
  header,
  link,
  mentions,
  packSections,
  plain,
  plainTime,
  principal,
  principalLabel,
  section,
  slackTime,
  SLACK_LIMITS,
  type KnownBlock,
  type MessagePayload,
} from './common.js';
import { OPERATION_VERB, stepSections } from './progress.js';

const RESET_CHOICES: { which: ResetTarget; label: string; what: string }[] = [
  { which: 'mongo', label: 'MongoDB', what: 'the MongoDB databases' },
  { which: 'sql', label: 'SQL', what: 'the SQL databases' },
  { which: 'redis', label: 'Redis', what: 'the Redis database' },
  { which: 'all', label: 'all databases', what: 'every database' },
];

/**
 * A short notice about an environment (expiry warnings, promotions); `slack:U…` become mentions. A
 * notice of a failed storage copy (`retryCopy`) has a Retry button that runs that volume's copy again.
 */
export function noticeMessage(environment: string, text: string, retryCopy?: { volume: string }): MessagePayload {
  const body = text.trim() ? mentions(esc(text)) : `Update about ${esc(environment)}.`;
  const blocks: KnownBlock[] = [section(body)];
  if (retryCopy) {
    blocks.push({
      type: 'actions',
      block_id: `env_copy:${environment}`,
      elements: [{ ...button(clip(`Retry the copy of ${retryCopy.volume}`, SLACK_LIMITS.buttonText), ACTION.retryCopy, retryCopyValue(environment, retryCopy.volume)), style: 'primary' }],
    });
  }
  return { text: fallback(text, `Update about ${environment}.`), blocks };
}

/** The value of a failed copy's Retry button: which volume of which environment to copy again. */
export function retryCopyValue(environment: string, volume: string): string {
  return JSON.stringify({ environment, volume });
}

/** A storage refresh's message, edited as it goes: one line per volume, then done or failed. */
export function storageCopyMessage(environment: string, copies: VolumeCopy[], by?: string): MessagePayload {
  const running = copies.some((c) => c.state === 'copying');
  const failed = copies.some((c) => c.state === 'failed');
  const head = running ? `🔄 Refreshing the storage of *${esc(environment)}* from S3` : failed ? `❌ The storage refresh of *${esc(environment)}* failed` : `✅ The storage of *${esc(environment)}* was refreshed from S3`;
  const lines = copies.map((c) => `• ${esc(c.volume)}: ${esc(copySummary(c))}${c.source ? ` (from ${esc(c.source)})` : ''}`);
  const blocks: KnownBlock[] = [section(head), ...packSections(lines, { maxSections: 2, noun: 'volumes' })];
  if (by) blocks.push(context([`Asked by ${principal(by)}`]));
  return { text: fallback(storageCopyText(environment, copies, by), `Storage of ${environment}`), blocks };
}

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
      const emoji = { create: '🏗️', destroy: '🗑️', reset: '🔄', refresh: '🔄', track: '🔀' }[reply.operation];
      const verb = { create: 'Creating', destroy: 'Destroying', reset: 'Resetting', refresh: 'Refreshing the storage of', track: 'Moving a service of' }[reply.operation];
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
    case 'silenced': {
      const line = reply.text || `${reply.environment}'s alerts are muted until ${plainTime(reply.until)}.`;
      return {
        text: fallback(line, `${reply.environment} silenced`),
        blocks: [section(`🔕 *${esc(reply.environment)}*'s alerts are muted until ${slackTime(reply.until)}; alerts already posted are still edited when they resolve.`), context([`Silenced by ${principal(reply.by)}`])],
      };
    }
    case 'history':
      return historyMessage(reply);
    case 'promotion-check':
      return { text: fallback(reply.text, `Checking ${reply.project}'s production`), blocks: [section(`🚀 ${mentions(esc(reply.text))}`), context([`Asked by ${principal(reply.by)} · workflow \`${esc(reply.workflowId)}\``])] };
    case 'open-create-form':
      throw new Error('open-create-form is a modal, not a message: open createModal(reply, …) with views.open');
    default: {
      const never: never = reply;
      throw new Error(`unknown reply ${JSON.stringify(never)}`);
    }
  }
}

/** The reset choices for one environment, as the Reset database button opens them. */
export function resetChooser(environment: string): MessagePayload {
  return resetQuestion(environment, `Which databases of ${environment} should go back to their seed data? Everything written since is lost.`);
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

function resetButtons(environment: string, preferred?: ResetTarget): types.ActionsBlock {
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
  if (e.sources?.length) facts.push(`*Sources* ${esc(sourcesLine(e.sources))}`);
  blocks.push(section(facts.join('\n')));
  if (reply.runs && !reply.card?.runs) blocks.push(...runBlocks(reply.runs));
  if (reply.card) {
    blocks.push(...cardDetails(reply.card));
    if (reply.card.workflowUrl) blocks.push(context([link(reply.card.workflowUrl, 'View in Temporal')]));
  }
  if (reply.progress) {
    const p = reply.progress;
    blocks.push(section(`*${OPERATION_VERB[p.operation]}* (${p.status})`));
    blocks.push(...stepSections(p.steps));
  }
  const parts = [`${e.name} is ${e.state}`];
  if (e.expiresAt) parts.push(`expires ${plainTime(e.expiresAt)}`);
  if (e.sources?.length) parts.push(sourcesLine(e.sources));
  if (reply.progress) {
    const running = reply.progress.steps.find((s) => s.status === 'running' || s.status === 'undoing');
    parts.push(`${reply.progress.steps.filter((s) => s.status === 'done').length} of ${reply.progress.steps.length} steps done${running ? `, now: ${running.title}` : ''}`);
  }
  return { text: fallback(parts.join('; '), e.name), blocks };
}

function historyMessage(reply: Extract<Reply, { kind: 'history' }>): MessagePayload {
  const of = reply.service ? `${reply.service} of ${reply.environment}` : reply.environment;
  if (!reply.entries.length) return { text: fallback(`No deployments of ${of} recorded.`, 'No deployments.'), blocks: [section(`No deployments of *${esc(of)}* recorded.`)] };
  const lines = reply.entries.map((e) => `• ${slackTime(e.at)} ${esc(historyLine(e))}`);
  const blocks: KnownBlock[] = [header(`Deployments of ${of}`), ...packSections(lines, { maxSections: 10, noun: 'deployments' })];
  const shown = reply.entries.slice(0, 5).map((e) => `${plainTime(e.at)} ${historyLine(e)}`);
  return { text: fallback(`Deployments of ${of}: ${shown.join('; ')}${reply.entries.length > 5 ? ` and ${reply.entries.length - 5} more` : ''}`, `Deployments of ${of}`), blocks };
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
