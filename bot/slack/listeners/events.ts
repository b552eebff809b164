// The App Home tab: the user's environments with their state and buttons.
import type { App } from '@slack/bolt';
import { homeView } from '../blocks/index.js';
import { actorOf, type ListenerContext } from './context.js';

export function registerEvents(app: App, ctx: ListenerContext): void {
  app.event('app_home_opened', async ({ event, client, body }) => {
    if (event.tab !== 'home') return;
    const actor = await actorOf(ctx, client, (body as { team_id?: string }).team_id, event.user, event.channel);
    const mine = await ctx.chatCore.mine(actor);
    await client.views.publish({ user_id: event.user, view: homeView(mine, { userId: event.user }) });
  });
}
