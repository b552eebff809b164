// The create form: the core checks it; its field errors go back into the form, or the create starts.
import type { App } from '@slack/bolt';
import type { CreateForm } from '../../core/model.js';
import { actorOf, answer, type ListenerContext } from './context.js';

type Values = Record<string, Record<string, { type: string; value?: string | null; selected_option?: { value: string } | null }>>;

/** A field's text as typed or chosen, trimmed; empty is absent. */
function field(values: Values, block: string): string | undefined {
  const v = values[block]?.value;
  const text = v?.selected_option?.value ?? v?.value ?? undefined;
  return text?.trim() || undefined;
}

export function registerViews(app: App, ctx: ListenerContext): void {
  app.view('env_create', async ({ ack, view, body, client }) => {
    const values = view.state.values as Values;
    const form: CreateForm = {};
    for (const key of ['project', 'stage', 'suffix', 'ttl'] as const) {
      const text = field(values, key);
      if (text) form[key] = text;
    }
    // A branch typed for a service of the chosen project (the form has one field per such service name).
    const services = form.project ? (ctx.chatCore.catalogue.projects[form.project]?.services ?? {}) : {};
    for (const block of Object.keys(values).filter((b) => b.startsWith('branch:'))) {
      const service = block.slice('branch:'.length);
      const text = field(values, block);
      if (text && Object.hasOwn(services, service)) (form.branches ??= {})[service] = text;
    }
    const channel = (JSON.parse(view.private_metadata || '{}') as { channel?: string }).channel ?? body.user.id;
    const actor = await actorOf(ctx, client, body.team?.id, body.user.id, channel);
    const outcome = await ctx.chatCore.submitCreateForm(actor, form, { platform: 'slack', channel });
    if ('errors' in outcome) {
      await ack({ response_action: 'errors', errors: outcome.errors as Record<string, string> });
      return;
    }
    await ack();
    await answer(client, channel, body.user.id, outcome.reply);
  });
}
