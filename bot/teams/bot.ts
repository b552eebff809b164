// What envbot does with a Teams activity that passed authentication: a replay guard first (by
// activity id), then messages go to the chat core as commands and Adaptive Card clicks
// (adaptiveCard/action invokes) as the same commands; the answer is a card. Thin: every decision
// is the core's. A reply for the asker alone (what Slack shows ephemerally) goes to a one-to-one
// chat with them when asked in a channel or group chat (private.ts); a click's answer is the invoke
// response, which Teams shows to the person who clicked only, but credentials go to the one-to-one
// chat from a click too.
import type { Activity, TurnContext } from 'botbuilder';
import type { EnvironmentCard } from '../../shared/chat.js';
import type { Logger } from '../../shared/logger.js';
import type { ResetTarget } from '../../shared/model.js';
import type { ChatCore } from '../core/chat-core.js';
import type { Actor, Command, CreateForm, Reply } from '../core/model.js';
import { CARD_CONTENT_TYPE, createFormCard, environmentCard, replyCard, VERB, type AdaptiveCard, type CardMessage, type CardNote } from './cards/index.js';
import { isPersonal, targetOf } from './conversation.js';
import type { GroupMembership } from './graph.js';
import { isPrivate, NO_PERSONAL_CHAT, sendToPerson } from './private.js';

export interface TeamsBotContext {
  chatCore: ChatCore;
  log: Logger;
  /** Entra ID group membership (Microsoft Graph), when envbot.yaml names teams-group: principals and Graph is set up. */
  groups?: GroupMembership;
}

const ALL: Parameters<typeof environmentCard>[1] = { canReset: true, canDestroy: true, canExtend: true, canReadCredentials: true, canRefresh: true };

/** The key an activity is de-duplicated by: what the verified request says it is. */
export function activityKey(activity: Activity): string | undefined {
  return activity.id ? `${activity.conversation?.id ?? ''}|${activity.id}` : undefined;
}

/** The message text as a command: the bot's @mention and a leading "env" removed. */
export function commandText(activity: Activity): string {
  let t = activity.text ?? '';
  for (const e of activity.entities ?? []) {
    const m = e as { type?: string; text?: string; mentioned?: { id?: string } };
    if (m.type === 'mention' && m.mentioned?.id === activity.recipient?.id && m.text) t = t.split(m.text).join(' ');
  }
  t = t.replace(/<at>[^<]*<\/at>/g, ' ').trim();
  return t.replace(/^\/?env(\s+|$)/i, '').trim();
}

const NO_MEMBERSHIP =
  'envbot could not check your Microsoft Entra ID group membership with Microsoft Graph, so it did nothing. Try again in a few minutes; if it keeps failing, ask the envbot administrator to read its log ("Entra ID group membership could not be checked").';

/**
 * Who is asking: the AAD object id and, when envbot.yaml names teams-group: principals, the named
 * groups the user is in. Fails closed: when Graph cannot be asked, nothing reaches the core.
 */
async function actorOf(ctx: TeamsBotContext, activity: Activity): Promise<Actor | { unchecked: string } | undefined> {
  const id = activity.from?.aadObjectId;
  if (!id) return undefined;
  let groups: string[];
  try {
    groups = ctx.groups ? await ctx.groups.of(id) : [];
  } catch (err) {
    ctx.log.warn({ user: id, why: (err as Error).message }, 'Entra ID group membership could not be checked: request refused');
    return { unchecked: NO_MEMBERSHIP };
  }
  return { platform: 'teams', userId: id, groups, channel: activity.conversation.id };
}

export function teamsTurn(ctx: TeamsBotContext): (turn: TurnContext) => Promise<void> {
  return async (turn) => {
    const a = turn.activity;
    if (a.type !== 'message' && !(a.type === 'invoke' && a.name === 'adaptiveCard/action')) return;
    const key = activityKey(a);
    if (!key) {
      ctx.log.warn({ type: a.type }, 'Teams activity without an id: ignored');
      return;
    }
    if (!(await ctx.chatCore.firstSeen('teams', key))) {
      ctx.log.warn({ key: key.slice(0, 80) }, 'Teams activity seen before: ignored');
      if (a.type === 'invoke') await invokeResponse(turn, { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: 'Already done.' });
      return;
    }
    const who = await actorOf(ctx, a);
    if (who && 'unchecked' in who) return a.type === 'message' ? void (await turn.sendActivity(who.unchecked)) : invokeMessage(turn, who.unchecked);
    const actor = who;
    if (a.type === 'message') {
      if (!actor) return void (await turn.sendActivity('envbot needs your Microsoft Entra ID (AAD) object id, which this message did not carry: talk to envbot from Microsoft Teams.'));
      await answer(ctx, turn, await ctx.chatCore.handleText(actor, commandText(a), targetOf(a), 'env'));
      return;
    }
    await onCardAction(ctx, turn, actor);
  };
}

/**
 * Posts a reply: in the conversation, or, for a private one asked in a channel or group chat, in a
 * one-to-one chat with the asker and nothing of it in the conversation (a short note without its
 * content when that chat cannot be opened). `started` posts nothing: the workflow's live card is the answer.
 */
async function answer(ctx: TeamsBotContext, turn: TurnContext, reply: Reply): Promise<void> {
  if (reply.kind === 'started') return;
  if (!isPrivate(reply)) return void (await turn.sendActivity(replyCard(reply)));
  if (!(await sendToPerson(turn, replyCard(reply), ctx.log))) await turn.sendActivity(NO_PERSONAL_CHAT);
}

interface ActionData {
  environment?: unknown;
  which?: unknown;
  duration?: unknown;
  volume?: unknown;
  project?: unknown;
  stage?: unknown;
  suffix?: unknown;
  ttl?: unknown;
  card?: unknown;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
const RESET_TARGETS: ResetTarget[] = ['mongo', 'sql', 'redis', 'all'];

async function onCardAction(ctx: TeamsBotContext, turn: TurnContext, actor: Actor | undefined): Promise<void> {
  const value = (turn.activity.value ?? {}) as { action?: { verb?: unknown; data?: unknown } };
  const verb = value.action?.verb;
  const data = (value.action?.data && typeof value.action.data === 'object' ? value.action.data : {}) as ActionData;
  if (!actor) return invokeMessage(turn, 'envbot needs your Microsoft Entra ID (AAD) object id, which this click did not carry.');
  const target = targetOf(turn.activity);
  const env = str(data.environment);
  const shown = cardOf(data.card);
  const run = async (command: Command, confirmed = false): Promise<Reply> =>
    confirmed && (command.name === 'destroy' || command.name === 'reset-db')
      ? ctx.chatCore.confirmed(actor, command.name === 'destroy' ? 'destroy' : 'reset-db', command.environment, target, command.name === 'reset-db' ? command.which : 'all')
      : ctx.chatCore.handle(actor, command, target);

  let reply: Reply;
  switch (verb) {
    case VERB.createForm: {
      const form: CreateForm = {};
      for (const k of ['project', 'stage', 'suffix', 'ttl'] as const) {
        const v = str(data[k]);
        if (v) form[k] = v;
      }
      for (const [k, v] of Object.entries(data)) {
        const branch = k.startsWith('branch:') ? str(v) : undefined;
        if (branch) form.branches = { ...form.branches, [k.slice('branch:'.length)]: branch };
      }
      const outcome = await ctx.chatCore.submitCreateForm(actor, form, target);
      if ('errors' in outcome) {
        const again = await ctx.chatCore.handle(actor, { name: 'create' }, target);
        if (again.kind !== 'open-create-form') return refreshWith(turn, replyCard(again));
        return refreshWith(turn, createFormCard(again, form, outcome.errors));
      }
      reply = outcome.reply;
      break;
    }
    case VERB.reset:
    case VERB.resetConfirmed: {
      const which = RESET_TARGETS.find((w) => w === data.which) ?? 'all';
      if (!env) return invokeMessage(turn, 'That button names no environment.');
      reply = await run({ name: 'reset-db', environment: env, which }, verb === VERB.resetConfirmed);
      break;
    }
    case VERB.destroy:
    case VERB.destroyConfirmed:
      if (!env) return invokeMessage(turn, 'That button names no environment.');
      reply = await run({ name: 'destroy', environment: env }, verb === VERB.destroyConfirmed);
      break;
    case VERB.extend: {
      const duration = str(data.duration);
      if (!env || !duration) return invokeMessage(turn, 'That button names no environment or duration.');
      reply = await run({ name: 'extend', environment: env, duration });
      break;
    }
    case VERB.refresh:
      if (!env) return invokeMessage(turn, 'That button names no environment.');
      reply = await run({ name: 'refresh', environment: env });
      break;
    case VERB.retryCopy: {
      const volume = str(data.volume);
      if (!env || !volume) return invokeMessage(turn, 'That button names no environment or volume.');
      reply = await run({ name: 'refresh', environment: env, volume });
      break;
    }
    case VERB.credentials:
      if (!env) return invokeMessage(turn, 'That button names no environment.');
      // Checked for the person who clicked, whoever the card was made for; shown in a one-to-one chat
      // with them only (the invoke response would be seen by the clicker alone, but only for a while
      // and on that device).
      reply = await run({ name: 'secrets', environment: env });
      if (reply.kind === 'secrets') {
        if (!(await sendToPerson(turn, replyCard(reply), ctx.log))) return invokeMessage(turn, NO_PERSONAL_CHAT);
        return invokeMessage(turn, isPersonal(turn.activity) ? `Credentials of ${env} sent in this chat.` : `Credentials of ${env} sent to your one-to-one chat with envbot.`);
      }
      break;
    case VERB.retry: {
      const project = str(data.project);
      const stage = str(data.stage);
      const suffix = str(data.suffix);
      if (!project || !stage) return invokeMessage(turn, 'That button names no project or stage.');
      reply = await run({ name: 'create', project, stage, ...(suffix ? { suffix } : {}) });
      break;
    }
    default:
      return invokeMessage(turn, `envbot does not know the action ${JSON.stringify(verb)}.`);
  }
  // Errors and refusals go to the person who clicked only; the card stays as it was.
  if (reply.kind === 'error' || reply.kind === 'refused') return invokeMessage(turn, replyCard(reply).summary);
  if (shown && (reply.kind === 'started' || reply.kind === 'extended')) {
    const note: CardNote = { text: reply.text, color: 'Good' };
    const refreshed = reply.kind === 'extended' ? { ...shown, expiresAt: reply.expiresAt } : shown;
    return refreshWith(turn, environmentCard(refreshed, ALL, note));
  }
  return refreshWith(turn, replyCard(reply));
}

/** The card model a button carried, when it is one (it only shapes the refreshed card, never a decision). */
function cardOf(v: unknown): EnvironmentCard | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const c = v as Partial<EnvironmentCard>;
  return typeof c.environment === 'string' && typeof c.project === 'string' && typeof c.stage === 'string' && Array.isArray(c.urls) && Array.isArray(c.databases) && typeof c.status === 'string'
    ? (c as EnvironmentCard)
    : undefined;
}

/** Universal Actions: the clicked card is replaced by `card` for the person who clicked (on that client; others keep the card as it was). */
function refreshWith(turn: TurnContext, card: CardMessage): Promise<void> {
  const content: AdaptiveCard = card.attachments[0].content;
  return invokeResponse(turn, { statusCode: 200, type: CARD_CONTENT_TYPE, value: content });
}

/** A message shown only to the person who clicked; the card stays. */
function invokeMessage(turn: TurnContext, text: string): Promise<void> {
  return invokeResponse(turn, { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: text });
}

async function invokeResponse(turn: TurnContext, body: Record<string, unknown>): Promise<void> {
  await turn.sendActivity({ type: 'invokeResponse', value: { status: 200, body } });
}
