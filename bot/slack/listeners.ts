// Registers every Slack listener: a replay guard first, then commands, actions, views and events.
import type { App } from '@slack/bolt';
import type { ListenerContext } from './listeners/context.js';
import { registerActions } from './listeners/actions.js';
import { registerCommands } from './listeners/commands.js';
import { registerEvents } from './listeners/events.js';
import { registerViews } from './listeners/views.js';

export function registerListeners(app: App, ctx: ListenerContext): void {
  // A request the core has seen before (a replay, or Slack's retry of one already handled):
  // acknowledge it and start nothing. The key comes from what Bolt verified (app.ts).
  app.use(async (args) => {
    const key = (args.context as { requestKey?: string }).requestKey;
    if (key && !(await ctx.chatCore.firstSeen('slack', key))) {
      ctx.log.warn({ key: key.slice(0, 24) }, 'Slack request seen before: ignored');
      if ('ack' in args && typeof args.ack === 'function') await (args.ack as () => Promise<void>)();
      return;
    }
    await args.next();
  });
  registerCommands(app, ctx);
  registerActions(app, ctx);
  registerViews(app, ctx);
  registerEvents(app, ctx);
}
