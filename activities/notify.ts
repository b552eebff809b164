// notify: progress and cards to people, through the chat port (Slack, Teams, or the console).
import type { ChatMessage } from '../shared/chat.js';
import type { ChatTarget } from '../shared/model.js';
import type { ActivityDeps } from './deps.js';

export interface NotifyInput {
  target: ChatTarget;
  message: ChatMessage;
}

export function createNotifyActivities(deps: ActivityDeps) {
  return {
    /** Posts, or edits the message in `target.messageRef`; returns the message reference to edit next time. */
    async notify({ target, message }: NotifyInput): Promise<string> {
      return deps.chat.send(target, message);
    },
  };
}
