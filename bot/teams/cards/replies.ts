// The core's replies (help, errors, refusals, confirmations, lists, status, credentials,
// subscriptions), notices and the storage refresh message, as Adaptive Cards: the twins of
// bot/slack/blocks/notices.ts and form.ts.
import { copySummary, storageCopyText, type VolumeCopy } from '../../../shared/chat.js';
import type { ResetTarget } from '../../../shared/model.js';
import { historyLine, sourcesLine, type CreateForm, type FormErrors, type Reply } from '../../core/model.js';
import { STATE_EMOJI } from '../../slack/blocks/card.js';
import { OPERATION_VERB } from '../../slack/blocks/progress.js';
import { cardDetails, RESET_CHOICES, runElements } from './card.js';
import { card, clip, esc, execute, facts, link, message, plainTime, principal, teamsTime, text, title, VERB, type CardMessage, type Element } from './common.js';
import { stepBlocks } from './progress.js';

/** A notice about an environment (expiry warnings, alerts); a failed copy's notice offers Retry. */
export function noticeCard(environment: string, body: string, retryCopy?: { volume: string }): CardMessage {
  const line = body.trim() || `Update about ${environment}.`;
  const actions = retryCopy ? [execute(`Retry the copy of ${retryCopy.volume}`, VERB.retryCopy, { environment, volume: retryCopy.volume }, { style: 'positive' })] : [];
  return message(card([text(esc(line))], actions, line));
}

export function storageCard(environment: string, copies: VolumeCopy[], by?: string): CardMessage {
  const running = copies.some((c) => c.state === 'copying');
  const failed = copies.some((c) => c.state === 'failed');
  const head = running ? `🔄 Refreshing the storage of ${environment} from S3` : failed ? `❌ The storage refresh of ${environment} failed` : `✅ The storage of ${environment} was refreshed from S3`;
  const body: Element[] = [title(head), facts(copies.map((c) => [c.volume, `${copySummary(c)}${c.source ? ` (from ${c.source})` : ''}`]))];
  if (by) body.push(text(`Asked by ${esc(principal(by))}`, { isSubtle: true }));
  return message(card(body, [], storageCopyText(environment, copies, by)));
}

/** The core's reply as a card; `open-create-form` is the create form. */
export function replyCard(reply: Reply): CardMessage {
  switch (reply.kind) {
    case 'help': {
      const body: Element[] = [title('envbot commands')];
      if (reply.note) body.push(text(esc(reply.note), { color: 'Warning' }));
      for (const c of reply.commands) body.push(text(`**env ${esc(c.usage)}**\n\n${esc(c.description)}`));
      const names = reply.commands.map((c) => c.usage.split(' ')[0]).join(', ');
      return message(card(body, [], `${reply.note ? `${reply.note} ` : ''}envbot commands: ${names}. Type "env help" for details.`));
    }
    case 'error':
      return message(card([text(`⚠️ ${esc(reply.text || 'Something went wrong.')}`, { color: 'Warning' })], [], `⚠️ ${reply.text || 'Something went wrong.'}`));
    case 'refused': {
      const who = reply.allowed.length ? reply.allowed.map(principal).join(', ') : 'nobody (ask an envbot admin)';
      const line = reply.text || `You may not ${reply.action} in ${reply.project}.`;
      return message(card([text(`🚫 ${esc(line)}`, { color: 'Attention' }), text(`Who can ${esc(reply.action)} in ${esc(reply.project)}: ${esc(who)}`, { isSubtle: true })], [], `${line} Who can: ${who}.`));
    }
    case 'started': {
      const emoji = { create: '🏗️', destroy: '🗑️', reset: '🔄', refresh: '🔄', track: '🔀' }[reply.operation];
      const line = reply.text || `${reply.operation} ${reply.environment}…`;
      return message(card([text(`${emoji} ${esc(line)}`), text(`Asked by ${esc(principal(reply.by))} · workflow ${esc(reply.workflowId)}`, { isSubtle: true })], [], line));
    }
    case 'confirm':
      return reply.operation === 'destroy' ? destroyQuestion(reply.environment, reply.text) : resetQuestion(reply.environment, reply.text, reply.which);
    case 'list': {
      const where = reply.project ? ` of ${reply.project}` : '';
      if (!reply.environments.length) return message(card([text(`No environments${esc(where)}. Create one with "env create <project> <stage>".`)], [], `No environments${where}.`));
      const rows: [string, string][] = reply.environments.map((e) => [e.name, `${STATE_EMOJI[e.state] ?? '⚪'} ${e.state}${e.expiresAt ? ` · expires ${plainTime(e.expiresAt)}` : ''} · by ${principal(e.createdBy)}`]);
      const n = reply.environments.length;
      return message(card([title(`Environments${where}`), facts(rows)], [], `${n} environment${n === 1 ? '' : 's'}${where}: ${reply.environments.slice(0, 10).map((e) => `${e.name} (${e.state})`).join(', ')}${n > 10 ? ` and ${n - 10} more` : ''}.`));
    }
    case 'status':
      return statusCard(reply);
    case 'extended':
      return message(card([text(`⏰ **${esc(reply.environment)}** now expires ${teamsTime(reply.expiresAt)} (${plainTime(reply.expiresAt)}).`), text(`Extended by ${esc(principal(reply.by))}`, { isSubtle: true })], [], reply.text || `${reply.environment} now expires ${plainTime(reply.expiresAt)}.`));
    case 'secrets': {
      const n = reply.values.length;
      const line = n ? `Credentials of ${reply.environment} (${n} value${n === 1 ? '' : 's'}), shown only to you.` : `${reply.environment} has no credentials stored.`;
      // Values stay out of the fallback and summary: they show in notifications.
      return message(card([text(`🔑 ${esc(line)}`), ...reply.values.map((s) => facts([[s.name, s.value]]))], [], line));
    }
    case 'subscribed': {
      const line = reply.text || (reply.subscribed ? `Subscribed to ${reply.project}.` : `Unsubscribed from ${reply.project}.`);
      return message(card([text(`${reply.subscribed ? '🔔' : '🔕'} ${esc(line)}`)], [], line));
    }
    case 'silenced':
      return message(card([text(`🔕 **${esc(reply.environment)}**'s alerts are muted until ${teamsTime(reply.until)} (${plainTime(reply.until)}).`), text(`Silenced by ${esc(principal(reply.by))}`, { isSubtle: true })], [], reply.text));
    case 'promotion-check':
      return message(card([text(`🚀 ${esc(reply.text)}`), text(`Asked by ${esc(principal(reply.by))} · workflow ${esc(reply.workflowId)}`, { isSubtle: true })], [], reply.text));
    case 'history': {
      const of = reply.service ? `${reply.service} of ${reply.environment}` : reply.environment;
      if (!reply.entries.length) return message(card([text(`No deployments of ${esc(of)} recorded.`)], [], `No deployments of ${of} recorded.`));
      const rows: [string, string][] = reply.entries.map((e) => [plainTime(e.at), historyLine(e)]);
      return message(card([title(`Deployments of ${of}`), facts(rows)], [], `Deployments of ${of}: ${reply.entries.slice(0, 5).map((e) => `${plainTime(e.at)} ${historyLine(e)}`).join('; ')}${reply.entries.length > 5 ? ` and ${reply.entries.length - 5} more` : ''}`));
    }
    case 'open-create-form':
      return createFormCard(reply);
    default: {
      const never: never = reply;
      throw new Error(`unknown reply ${JSON.stringify(never)}`);
    }
  }
}

function destroyQuestion(environment: string, question: string): CardMessage {
  const q = question || `Destroy ${environment}? Everything in it is deleted.`;
  return message(card([text(`⚠️ ${esc(q)}`, { color: 'Attention' })], [execute(`Destroy ${environment}`, VERB.destroyConfirmed, { environment }, { style: 'destructive' })], q));
}

function resetQuestion(environment: string, question: string, which?: ResetTarget): CardMessage {
  const q = question || `Which databases of ${environment} should go back to their seed data?`;
  const choices = RESET_CHOICES.filter((c) => !which || which === 'all' || c.which === which);
  return message(card([text(`🔄 ${esc(q)}`)], choices.map((c) => execute(`Reset ${c.label}`, VERB.resetConfirmed, { environment, which: c.which }, { style: 'destructive' })), q));
}

function statusCard(reply: Extract<Reply, { kind: 'status' }>): CardMessage {
  const e = reply.environment;
  const rows: [string, string][] = [['Project', e.project], ['Stage', e.stage], ['Created by', principal(e.createdBy)], ['Expires', e.expiresAt ? plainTime(e.expiresAt) : 'never']];
  if (e.sources?.length) rows.push(['Sources', sourcesLine(e.sources)]);
  const body: Element[] = [title(`${STATE_EMOJI[e.state] ?? '⚪'} ${e.name}: ${e.state}`), facts(rows)];
  if (reply.runs && !reply.card?.runs) body.push(...runElements(reply.runs));
  if (reply.card) {
    body.push(...cardDetails(reply.card));
    if (reply.card.workflowUrl) body.push(text(link(reply.card.workflowUrl, 'View in Temporal'), { isSubtle: true }));
  }
  if (reply.progress) body.push(text(`**${OPERATION_VERB[reply.progress.operation]}** (${reply.progress.status})`), ...stepBlocks(reply.progress.steps));
  const parts = [`${e.name} is ${e.state}`];
  if (e.expiresAt) parts.push(`expires ${plainTime(e.expiresAt)}`);
  if (e.sources?.length) parts.push(sourcesLine(e.sources));
  return message(card(body, [], parts.join('; ')));
}

/**
 * The create form: project and stage from the catalogue, suffix, time to live, and a branch for each
 * service that follows one (blank: its default branch); field errors beside each field.
 */
export function createFormCard(reply: Extract<Reply, { kind: 'open-create-form' }>, values: CreateForm = {}, errors: FormErrors = {}): CardMessage {
  const stages = [...new Set(reply.projects.flatMap((p) => p.stages))];
  const project = values.project ?? reply.project;
  const stage = values.stage ?? reply.stage;
  const err = (k: keyof FormErrors): Element[] => {
    const e = errors[k];
    return e ? [text(`⚠️ ${esc(e)}`, { color: 'Attention' })] : [];
  };
  const defaults = new Map<string, string[]>();
  for (const p of reply.projects) {
    for (const b of p.branches ?? []) defaults.set(b.service, [...(defaults.get(b.service) ?? []), reply.projects.length > 1 ? `${b.defaultBranch} in ${p.name}` : b.defaultBranch]);
  }
  const body: Element[] = [
    title('New environment'),
    { type: 'Input.ChoiceSet', id: 'project', label: 'Project', isRequired: true, style: 'compact', choices: reply.projects.map((p) => ({ title: p.name, value: p.name })), ...(project ? { value: project } : {}) },
    ...err('project'),
    { type: 'Input.ChoiceSet', id: 'stage', label: 'Stage', isRequired: true, style: 'compact', choices: stages.map((s) => ({ title: s, value: s })), ...(stage ? { value: stage } : {}) },
    ...err('stage'),
    { type: 'Input.Text', id: 'suffix', label: 'Suffix (optional)', placeholder: 'e.g. 2 or feature-x', maxLength: 30, ...(values.suffix ? { value: values.suffix } : {}) },
    ...err('suffix'),
    { type: 'Input.Text', id: 'ttl', label: 'Time to live (optional)', placeholder: 'e.g. 7d, 2w', maxLength: 10, ...(values.ttl ? { value: values.ttl } : {}) },
    ...err('ttl'),
  ];
  for (const [service, list] of defaults) {
    const value = values.branches?.[service];
    body.push({ type: 'Input.Text', id: `branch:${service}`, label: `Branch of ${service} (optional)`, placeholder: clip(`default: ${list.join(', ')}`, 150), maxLength: 200, ...(value ? { value } : {}) }, ...err(`branch:${service}`));
  }
  const problems = Object.values(errors).filter(Boolean);
  return message(card(body, [execute('Create', VERB.createForm, {}, { style: 'positive' })], problems.length ? `New environment: ${problems.join(' ')}` : 'New environment: choose a project and a stage.'));
}
