// The console chat port: progress and cards as log lines, for `npm start` without Slack or Teams.
import { alertText, storageCopyText, type ChatMessage, type ChatPort } from '../shared/chat.js';
import type { Logger } from '../shared/logger.js';
import type { ChatTarget } from '../shared/model.js';

export class ConsoleChat implements ChatPort {
  private next = 1;
  constructor(private readonly log: Logger) {}

  async send(target: ChatTarget, message: ChatMessage): Promise<string> {
    const ref = target.messageRef ?? `console-${this.next++}`;
    if (message.kind === 'progress') {
      const p = message.progress;
      const steps = p.steps.map((s) => `${s.id}:${s.status}`).join(' ');
      this.log.info({ environment: p.environment, operation: p.operation, status: p.status, message: ref }, `progress ${steps}`);
    } else if (message.kind === 'card') {
      const c = message.card;
      this.log.info({ environment: c.environment, status: c.status, urls: c.urls, failedStep: c.failedStep, storage: c.storage }, `environment card: ${c.environment} ${c.status}`);
    } else if (message.kind === 'storage') {
      this.log.info({ environment: message.environment, storage: message.copies, message: ref }, storageCopyText(message.environment, message.copies, message.by));
    } else if (message.kind === 'alert') {
      this.log.info({ environment: message.alert.environment, status: message.alert.status, message: ref }, alertText(message.alert));
    } else {
      this.log.info({ environment: message.environment }, message.text);
    }
    return ref;
  }
}
