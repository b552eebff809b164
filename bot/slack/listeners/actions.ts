// Buttons on cards, confirmations and the Home tab: each runs the same chat core as a command.
import type { App, BlockAction, ButtonAction, StaticSelectAction, OverflowAction } from '@slack/bolt';
import type { ResetTarget } from '../../../shared/model.js';
import { ACTION, actionPattern, extendChoice, resetChooser } from '../blocks/index.js';
import { actorOf, answer, type ListenerContext } from './context.js';

type Click = BlockAction<ButtonAction | StaticSelectAction | OverflowAction>;

function valueOf(body: Click): string {
  const action = body.actions[0];
  if (!action) return '';
  if (action.type === 'button') return action.value ?? '';
  return action.selected_option?.value ?? '';
}

function json<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

export function registerActions(app: App, ctx: ListenerContext): void {
  const on = (id: string | RegExp, handle: (args: { body: Click; channel: string; user: string; value: string; client: Parameters<Parameters<App['action']>[1]>[0]['client'] }) => Promise<void>) => {
    app.action<Click>({ action_id: typeof id === 'string' ? actionPattern(id) : id }, async ({ ack, body, client }) => {
      await ack();
      const channel = body.channel?.id ?? body.user.id;
      await handle({ body, channel, user: body.user.id, value: valueOf(body), client });
    });
  };
  const actor = (client: Parameters<typeof actorOf>[1], body: Click, channel: string) => actorOf(ctx, client, body.team?.id, body.user.id, channel);
  const target = (channel: string) => ({ platform: 'slack' as const, channel });

  on(ACTION.reset, async ({ body, channel, user, value, client }) => {
    const who = await actor(client, body, channel);
    const reply = await ctx.chatCore.handle(who, { name: 'reset-db', environment: value, which: 'all' }, target(channel));
    if (reply.kind === 'confirm') await client.chat.postEphemeral({ channel, user, ...resetChooser(value) });
    else await answer(client, channel, user, reply);
  });
  on(ACTION.resetConfirmed, async ({ body, channel, user, value, client }) => {
    const v = json<{ environment: string; which: ResetTarget }>(value);
    if (!v) return;
    await answer(client, channel, user, await ctx.chatCore.confirmed(await actor(client, body, channel), 'reset-db', v.environment, target(channel), v.which));
  });
  for (const id of [ACTION.destroy, ACTION.destroyConfirmed]) {
    on(id, async ({ body, channel, user, value, client }) => {
      await answer(client, channel, user, await ctx.chatCore.confirmed(await actor(client, body, channel), 'destroy', value, target(channel)));
    });
  }
  on(ACTION.extend, async ({ body, channel, user, value, client }) => {
    const v = extendChoice(value, body.actions[0]?.block_id);
    if (!v) return;
    await answer(client, channel, user, await ctx.chatCore.handle(await actor(client, body, channel), { name: 'extend', ...v }, target(channel)));
  });
  on(ACTION.credentials, async ({ body, channel, user, value, client }) => {
    await answer(client, channel, user, await ctx.chatCore.handle(await actor(client, body, channel), { name: 'secrets', environment: value }, target(channel)));
  });
  on(ACTION.refresh, async ({ body, channel, user, value, client }) => {
    await answer(client, channel, user, await ctx.chatCore.handle(await actor(client, body, channel), { name: 'refresh', environment: value }, target(channel)));
  });
  on(ACTION.retryCopy, async ({ body, channel, user, value, client }) => {
    const v = json<{ environment?: unknown; volume?: unknown }>(value);
    if (typeof v?.environment !== 'string' || typeof v.volume !== 'string') return;
    await answer(client, channel, user, await ctx.chatCore.handle(await actor(client, body, channel), { name: 'refresh', environment: v.environment, volume: v.volume }, target(channel)));
  });
  on(ACTION.retry, async ({ body, channel, user, value, client }) => {
    const v = json<{ project: string; stage: string; suffix?: string }>(value);
    if (!v) return;
    await answer(client, channel, user, await ctx.chatCore.handle(await actor(client, body, channel), { name: 'create', ...v }, target(channel)));
  });
}
