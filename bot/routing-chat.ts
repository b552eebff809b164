// Sends each chat message through the port of its target's platform (Slack, Teams), the console otherwise.
import type { ChatMessage, ChatPort } from '../shared/chat.js';
import type { ChatTarget } from '../shared/model.js';

export class RoutingChat implements ChatPort {
  constructor(private readonly ports: Partial<Record<ChatTarget['platform'], ChatPort>>, private readonly fallback: ChatPort) {}

  send(target: ChatTarget, message: ChatMessage, key?: string): Promise<string> {
    return this.port(target).send(target, message, key);
  }

  async find(target: ChatTarget, key: string, since: Date): Promise<string | undefined> {
    const port = this.port(target);
    return port.find ? port.find(target, key, since) : undefined;
  }

  private port(target: ChatTarget): ChatPort {
    return this.ports[target.platform] ?? this.fallback;
  }
}
