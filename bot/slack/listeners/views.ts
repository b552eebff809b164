// The create form: bad input comes back as field errors in the form; good input starts the create.
import type { App } from '@slack/bolt';
import { parseDuration } from '../../../shared/duration.js';
import { EnvbotError } from '../../../shared/errors.js';
import { environmentName } from '../../../shared/names.js';
import { planFor } from '../../core/plan.js';
import { actorOf, answer, type ListenerContext } from './context.js';

type Values = Record<string, Record<string, { type: string; value?: string | null; selected_option?: { value: string } | null }>>;

function field(values: Values, block: string): string | undefined {
  const v = values[block]?.value;
  const text = v?.selected_option?.value ?? v?.value ?? undefined;
  return text?.trim() || undefined;
}

export function registerViews(app: App, ctx: ListenerContext): void {
  app.view('env_create', async ({ ack, view, body, client }) => {
    const values = view.state.values as Values;
    const project = field(values, 'project');
    const stage = field(values, 'stage');
    const suffix = field(values, 'suffix');
    const ttl = field(values, 'ttl');
    const errors: Record<string, string> = {};
    if (!project) errors.project = 'Choose a project.';
    if (!stage) errors.stage = 'Choose a stage.';
    if (project && stage) {
      try {
        planFor(ctx.chatCore.catalogue, project, stage);
      } catch (err) {
        errors.stage = (err as Error).message;
      }
      try {
        environmentName(project, stage, suffix);
      } catch (err) {
        errors[suffix ? 'suffix' : 'project'] = (err as Error).message;
      }
    }
    if (ttl) {
      try {
        parseDuration(ttl);
      } catch (err) {
        errors.ttl = (err as Error).message;
      }
    }
    const branches: Record<string, string> = {};
    for (const block of Object.keys(values).filter((b) => b.startsWith('branch:'))) {
      const branch = field(values, block);
      const service = block.slice('branch:'.length);
      if (branch && project && !ctx.chatCore.catalogue.projects[project]?.services[service]) errors[block] = `${project} has no service "${service}"; leave this empty.`;
      else if (branch && !/^[A-Za-z0-9._/-]{1,100}$/.test(branch)) errors[block] = 'A git branch name: letters, digits, ".", "_", "/" and "-".';
      else if (branch) branches[service] = branch;
    }
    if (Object.keys(errors).length) {
      await ack({ response_action: 'errors', errors });
      return;
    }
    await ack();
    const channel = (JSON.parse(view.private_metadata || '{}') as { channel?: string }).channel ?? body.user.id;
    const actor = await actorOf(client, body.team?.id, body.user.id, channel);
    try {
      const reply = await ctx.chatCore.handle(actor, { name: 'create', project: project!, stage: stage!, ...(suffix ? { suffix } : {}), ...(ttl ? { ttl } : {}), ...(Object.keys(branches).length ? { branches } : {}) }, { platform: 'slack', channel });
      await answer(client, channel, body.user.id, reply);
    } catch (err) {
      if (!(err instanceof EnvbotError)) throw err;
      await answer(client, channel, body.user.id, { kind: 'error', ephemeral: true, text: err.message });
    }
  });
}
