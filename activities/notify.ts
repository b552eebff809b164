// notify: progress and cards to people, through the chat port (Slack, Teams, or the console).
// Every message an operation sends is kept under a key (the workflow run and what the message is),
// so a retried send edits the message it made, and never posts it twice.
import type { ChatMessage } from '../shared/chat.js';
import type { ChatTarget } from '../shared/model.js';
import type { MessageKey } from '../shared/store/chat.js';
import type { ActivityDeps } from './deps.js';
import { currentRun } from './environments.js';

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

function environmentOf(message: ChatMessage): string {
  if (message.kind === 'progress') return message.progress.environment;
  return message.kind === 'card' ? message.card.environment : message.environment;
}

export function createNotifyActivities(deps: ActivityDeps) {
  return {
    /** Posts the message kept under its key, or edits it once posted; returns the message reference. */
    async notify({ target, message, kind }: NotifyInput): Promise<string> {
      if (!kind) return deps.chat.send(message.kind === 'notice' ? { ...target, messageRef: undefined } : target, message);
      const key: MessageKey = { platform: target.platform, channel: target.channel, operation: currentRun(), kind, environment: environmentOf(message) };
      const keyText = `${key.operation}/${kind}`;
      const held = await deps.store.chat.holdMessage(key);
      let ref = held.ref;
      if (!ref && !held.fresh && deps.chat.find) {
        // An earlier attempt posted, or tried to, and never learned the reference: look before posting.
        ref = await deps.chat.find(target, keyText, held.since).catch((err: unknown) => {
          deps.log.warn({ err, channel: target.channel, key: keyText }, 'could not look for a message whose post was not answered; posting it');
          return undefined;
        });
      }
      ref ??= target.messageRef;
      const sent = await deps.chat.send({ ...target, messageRef: ref }, message, keyText);
      if (sent !== held.ref) await deps.store.chat.setMessageRef(key, sent);
      return sent;
    },
  };
}
