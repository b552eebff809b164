// Sends each chat message through the port of its target's platform (Slack, Teams), the console otherwise.
import type { ChatMessage, ChatPort } from '../shared/chat.js';
import type { ChatTarget } from '../shared/model.js';

export class RoutingChat implements ChatPort {
  constructor(private readonly ports: Partial<Record<ChatTarget['platform'], ChatPort>>, private readonly fallback: ChatPort) {}

  send(target: ChatTarget, message: ChatMessage): Promise<string> {
    return (this.ports[target.platform] ?? this.fallback).send(target, message);
  }
}
