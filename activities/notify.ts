// notify: progress and cards to people, through the chat port (Slack, Teams, or the console).
// Every message an operation sends is kept under a key (the workflow run and what the message is),
// so a retried send edits the message it made, and never posts it twice. Keyed messages go through
// the worker's outbox (outbox.ts): a progress state is queued and the workflow goes on at once (a
// newer state replaces it if it has not gone yet); a final state (a card, a notice) is awaited, for
// at most FINAL_WAIT_MS, after which the outbox still delivers it.
import { randomUUID } from 'node:crypto';
import type { ChatMessage } from '../shared/chat.js';
import type { ChatTarget } from '../shared/model.js';
import type { HeldMessage, MessageKey } from '../shared/store/chat.js';
import type { ActivityDeps } from './deps.js';
import { currentRun } from './environments.js';
import { Outbox, type OutboxItem } from './outbox.js';

export interface NotifyInput {
  target: ChatTarget;
  message: ChatMessage;
  /**
   * What the message is within its operation: 'progress' (edited into the final card), 'outcome',
   * 'warning-<deadline>'. The first send under a kind edits `target.messageRef` when one is handed
   * over (a card another operation posted), and posts otherwise. Workflows started before 0.2 send
   * no kind: their progress edits `target.messageRef` and a notice is posted, as then.
   */
  kind?: string;
}

/** How long a final state's send is awaited before the activity returns (the outbox goes on); under the chat activities' 20 s timeout. */
export const FINAL_WAIT_MS = 15_000;
/** How often a final state that failed after its wait is sent again (2, 4, 8, 16 and 32 s apart), as the activity's retries would have. */
const LATE_RETRIES = 5;

/**
 * Where news about a project goes (promotions, storage-refresh summaries): the project's channels in
 * the catalogue, then the channels subscribed to it, each once. A channel that is both keeps the
 * subscription's conversation reference (a Teams conversation needs one to be posted to).
 */
export async function projectTargets(deps: Pick<ActivityDeps, 'store' | 'catalogue'>, project: string): Promise<ChatTarget[]> {
  const p = deps.catalogue.catalogue.projects[project];
  const targets = new Map<string, ChatTarget>();
  const add = (t: ChatTarget) => {
    const key = `${t.platform}/${t.channel}`;
    const known = targets.get(key);
    if (!known) targets.set(key, t);
    else if (!known.conversation && t.conversation) targets.set(key, { ...known, conversation: t.conversation });
  };
  for (const channel of p?.channels.slack ?? []) add({ platform: 'slack', channel });
  for (const channel of p?.channels.teams ?? []) add({ platform: 'teams', channel });
  for (const s of await deps.store.chat.subscriptions(project)) add(s);
  return [...targets.values()];
}

function environmentOf(message: ChatMessage): string {
  if (message.kind === 'progress') return message.progress.environment;
  if (message.kind === 'alert') return message.alert.environment;
  return message.kind === 'card' ? message.card.environment : message.environment;
}

export function createNotifyActivities(deps: ActivityDeps) {
  // Kept on deps, so a stopping worker sends what it still holds (closeActivityDeps).
  const outbox = (deps.outbox ??= new Outbox());
  const metrics = deps.metrics;
  /** Per message, the newest final state this worker was asked to send (while it is unsent), so a late retry never overwrites a newer one. */
  const newestFinal = new Map<string, object>();
  if (metrics) {
    outbox.onRateLimited = (ms, platform) => {
      metrics.chatRateLimitWaits.inc({ platform, reason: 'retry-after' });
      metrics.chatRateLimitWaitSeconds.inc({ platform }, ms / 1000);
    };
  }
  return {
    /** The channels subscribed to `project` (with the conversation reference each platform needs), but `except`. */
    async subscribersOf({ project, except }: { project: string; except?: ChatTarget }): Promise<ChatTarget[]> {
      const all = await deps.store.chat.subscriptions(project);
      return all.filter((s) => !(except && s.platform === except.platform && s.channel === except.channel));
    },

    /**
     * Queues the message kept under its key: its first state posts it (or edits the message handed
     * over), later states edit it. Returns the message's reference when known ('' for a progress state
     * whose post has not gone yet).
     */
    async notify({ target, message, kind }: NotifyInput): Promise<string> {
      if (!kind) {
        const to = message.kind === 'notice' ? { ...target, messageRef: undefined } : target;
        return outbox.send({ id: `${target.platform}/unkeyed/${randomUUID()}`, channel: `${target.platform}/${target.channel}`, platform: target.platform, message, edit: !!to.messageRef, deliver: (state) => deps.chat.send(to, state) });
      }
      const key: MessageKey = { platform: target.platform, channel: target.channel, operation: currentRun(), kind, environment: environmentOf(message) };
      const keyText = `${key.operation}/${kind}`;
      const id = `${target.platform}/${keyText}`;
      const final = message.kind !== 'progress';
      /** The outbox item for the message as `held` (the store's hold on its key) says it stands. */
      const itemFor = (held: HeldMessage): OutboxItem => ({
        id,
        channel: `${target.platform}/${target.channel}`,
        platform: target.platform,
        message,
        edit: !!(held.ref || target.messageRef),
        // One worker at a time sends a state of the message (the key's lock), reading the store first.
        deliver: (state, known) =>
          deps.store.chat.exclusive(key, async (turn) => {
            const now = await turn.state();
            // A final state went under the key (here or on another worker): a progress state would overwrite it.
            if (state.kind === 'progress' && now.finalAt) return now.ref || known || held.ref || target.messageRef || '';
            let ref = known || now.ref || held.ref;
            if (!ref && !held.fresh && deps.chat.find) {
              // An earlier attempt posted, or tried to, and never learned the reference: look before posting.
              ref = await deps.chat.find(target, keyText, held.since).catch((err: unknown) => {
                deps.log.warn({ err, channel: target.channel, key: keyText }, 'could not look for a message whose post was not answered; posting it');
                return undefined;
              });
            }
            ref ||= target.messageRef;
            const sent = await deps.chat.send({ ...target, messageRef: ref }, state, keyText);
            if (state.kind !== 'progress' || sent !== now.ref) await turn.sent(sent, state.kind !== 'progress');
            return sent;
          }),
      });
      const held = await deps.store.chat.holdMessage(key);
      // A progress state after the message's final one (sent by any worker) would overwrite it.
      if (!final && held.finalAt) return held.ref ?? target.messageRef ?? '';
      const turn = {};
      const askedAt = Date.now();
      if (final) newestFinal.set(id, turn);
      const delivery = outbox.send(itemFor(held));
      if (!final) {
        delivery.catch((err: unknown) => deps.log.warn({ err, channel: target.channel, key: keyText }, 'could not send a progress update; a later state or the card will'));
        return held.ref ?? target.messageRef ?? '';
      }
      /** This final state went, failed for good, or a newer one took its place: forget it. */
      const settled = () => void (newestFinal.get(id) === turn && newestFinal.delete(id));
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), FINAL_WAIT_MS)));
      try {
        const ref = await Promise.race([delivery, waited]);
        if (ref === undefined) {
          // The activity returns and Temporal will not retry it: a failure from here on is retried here,
          // unless a newer final state of the message was asked of this worker or sent by any since.
          const superseded = (h?: HeldMessage) => newestFinal.get(id) !== turn || (h?.finalAt !== undefined && h.finalAt.getTime() > askedAt);
          const later = (attempt: number) => (err: unknown) => {
            if (superseded()) return;
            if (attempt > LATE_RETRIES) {
              settled();
              deps.log.error({ err, channel: target.channel, key: keyText }, `chat: a final message that was still queued after its wait failed ${attempt} times; giving up`);
              return;
            }
            deps.log.warn({ err, channel: target.channel, key: keyText, attempt }, 'chat: a final message still queued after its wait failed; trying again');
            // Held again, as an activity's retry would be: a post that failed unanswered is looked for before posting.
            outbox.defer(Math.min(60_000, 1000 * 2 ** attempt), async () => {
              if (superseded()) return;
              const h = await deps.store.chat.holdMessage(key);
              if (superseded(h)) return settled();
              return outbox.send(itemFor(h)).then(settled, later(attempt + 1));
            });
          };
          delivery.then(settled, later(1));
          deps.log.warn({ channel: target.channel, key: keyText, queued: outbox.queued }, `chat: a final message still queued after ${FINAL_WAIT_MS / 1000} s; it goes when the rate limits allow`);
          return held.ref ?? target.messageRef ?? '';
        }
        settled();
        return ref;
      } catch (err) {
        // Failed within the wait: the activity fails and Temporal retries it.
        settled();
        throw err;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
