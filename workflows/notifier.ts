// Sends an operation's progress to chat as it changes: at most one message in flight, always the
// newest state, edits of the first message posted. The progress (and the card it becomes) is the
// operation's 'progress' message, a closing notice its 'outcome' message: each is posted once and
// edited after, also when a send is retried (see activities/notify.ts). Best effort: chat failures
// are logged only.
import { log } from '@temporalio/workflow';
import type { ChatMessage } from '../shared/chat.js';
import type { ChatTarget } from '../shared/model.js';
import { chat } from './activities.js';

export class Notifier {
  private dirty = false;
  private sending: Promise<void> | undefined;

  constructor(private readonly target: ChatTarget | undefined, private readonly message: () => ChatMessage) {}

  /** Marks the state changed; a send of the newest state follows. */
  changed(): void {
    if (!this.target) return;
    this.dirty = true;
    this.sending ??= this.loop();
  }

  private async loop(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      await this.send(this.message(), 'progress');
    }
    this.sending = undefined;
  }

  async send(message: ChatMessage, kind: 'progress' | 'outcome'): Promise<void> {
    if (!this.target) return;
    try {
      // The progress message may be one handed over in the target (a card posted by another
      // operation, which this one edits); the outcome is always a message of its own.
      const ref = await chat.notify({ target: kind === 'progress' ? { ...this.target } : { ...this.target, messageRef: undefined }, message, kind });
      if (kind === 'progress') this.target.messageRef = ref;
    } catch (err) {
      log.warn('could not send a chat message', { error: String(err) });
    }
  }

  /** Waits for pending sends, then sends `final`: a card as the progress message's last edit, a notice as the outcome. */
  async close(final?: ChatMessage): Promise<void> {
    while (this.sending) await this.sending;
    if (final) await this.send(final, final.kind === 'notice' ? 'outcome' : 'progress');
  }
}
