// /env <command>: acknowledged at once (Slack allows 3 seconds), then answered by the chat core.
import type { App } from '@slack/bolt';
import { createModal } from '../blocks/index.js';
import { actorOf, answer, type ListenerContext } from './context.js';

export function registerCommands(app: App, ctx: ListenerContext): void {
  app.command('/env', async ({ command, ack, client }) => {
    await ack();
    const actor = await actorOf(ctx, client, command.team_id, command.user_id, command.channel_id);
    const reply = await ctx.chatCore.handleText(actor, command.text ?? '', { platform: 'slack', channel: command.channel_id });
    if (reply.kind === 'open-create-form') {
      await client.views.open({ trigger_id: command.trigger_id, view: createModal(reply, JSON.stringify({ channel: command.channel_id })) });
      return;
    }
    await answer(client, command.channel_id, command.user_id, reply);
  });
}
