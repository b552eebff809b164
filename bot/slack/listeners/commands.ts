// /env <command>: acknowledged at once (Slack allows 3 seconds), then handled by the chat core.
import type { App } from '@slack/bolt';
import { parseCommand } from '../../core/parse.js';
import { createModal } from '../blocks.js';
import { actorOf, answer, type ListenerContext } from './context.js';

export function registerCommands(app: App, ctx: ListenerContext): void {
  app.command('/env', async ({ command, ack, client }) => {
    await ack();
    const parsed = parseCommand(command.text ?? '');
    if ('error' in parsed) {
      const help = await ctx.chatCore.handle(await actorOf(client, command.team_id, command.user_id, command.channel_id), { name: 'help' }, { platform: 'slack', channel: command.channel_id });
      const note = parsed.suggestion ? `${parsed.error}. Did you mean "${parsed.suggestion}"?` : parsed.error;
      await answer(client, command.channel_id, command.user_id, help.kind === 'help' ? { ...help, note } : help);
      return;
    }
    const actor = await actorOf(client, command.team_id, command.user_id, command.channel_id);
    const reply = await ctx.chatCore.handle(actor, parsed, { platform: 'slack', channel: command.channel_id });
    if (reply.kind === 'open-create-form') {
      await client.views.open({ trigger_id: command.trigger_id, view: createModal(reply, JSON.stringify({ channel: command.channel_id })) });
      return;
    }
    await answer(client, command.channel_id, command.user_id, reply);
  });
}
