// The create form (a modal): project, stage, suffix and time to live. Its inputs all have action id
// `value` and are told apart by block id; listeners/views.ts reads them back by those ids.
import type { types } from '@slack/bolt';
import { LIMITS } from '../../../shared/names.js';
import type { Reply } from '../../core/model.js';
import { input, option, plain, section, SLACK_LIMITS, type KnownBlock } from './common.js';

/** The create form's callback id. */
export const CREATE_CALLBACK_ID = 'env_create';

export const TTL_CHOICES = [
  { duration: '1d', label: '1 day' },
  { duration: '3d', label: '3 days' },
  { duration: '7d', label: '7 days' },
  { duration: '14d', label: '14 days' },
  { duration: '30d', label: '30 days' },
] as const;

type CreateForm = Extract<Reply, { kind: 'open-create-form' }>;

/**
 * The create form: project, stage, suffix, time to live, and a branch for each service that follows
 * one (its template is in git; blank: its default branch). A Slack modal does not change with the
 * project chosen, so a service's field is read only when the chosen project has that service.
 */
export function createModal(form: CreateForm, privateMetadata: string): types.ModalView {
  if (privateMetadata.length > SLACK_LIMITS.privateMetadata) throw new RangeError(`private_metadata is ${privateMetadata.length} characters; Slack takes ${SLACK_LIMITS.privateMetadata}`);
  const base = { type: 'modal' as const, callback_id: CREATE_CALLBACK_ID, title: plain('New environment'), close: plain('Cancel'), private_metadata: privateMetadata };
  if (!form.projects.length) return { ...base, blocks: [section('There is no project you may create environments of.')] };

  const projectOptions = form.projects.slice(0, SLACK_LIMITS.options).map((p) => option(p.name, p.name));
  const stages = [...new Set(form.projects.flatMap((p) => p.stages))];
  const stageOptions = stages.slice(0, SLACK_LIMITS.options).map((s) => option(s, s));
  const initialProject = projectOptions.find((o) => o.value === form.project);
  const initialStage = stageOptions.find((o) => o.value === form.stage);

  const blocks: KnownBlock[] = [
    input('project', 'Project', { type: 'static_select', action_id: 'value', placeholder: plain('Choose a project'), options: projectOptions, ...(initialProject ? { initial_option: initialProject } : {}) }),
    input('stage', 'Stage', { type: 'static_select', action_id: 'value', placeholder: plain('Choose a stage'), options: stageOptions, ...(initialStage ? { initial_option: initialStage } : {}) }),
    {
      ...input('suffix', 'Suffix', { type: 'plain_text_input', action_id: 'value', max_length: LIMITS.suffix, placeholder: plain('none') }),
      optional: true,
      hint: plain('letters and digits, e.g. 2'),
    },
    {
      ...input('ttl', 'Time to live', { type: 'static_select', action_id: 'value', placeholder: plain("The catalogue's default"), options: TTL_CHOICES.map((c) => option(c.label, c.duration)) }),
      optional: true,
    },
  ];
  const defaults = new Map<string, string[]>();
  for (const p of form.projects) {
    for (const b of p.branches ?? []) defaults.set(b.service, [...(defaults.get(b.service) ?? []), form.projects.length > 1 ? `${b.defaultBranch} in ${p.name}` : b.defaultBranch]);
  }
  for (const [service, list] of [...defaults].slice(0, SLACK_LIMITS.options)) {
    blocks.push({
      ...input(`branch:${service}`, `Branch of ${service}`, { type: 'plain_text_input', action_id: 'value', max_length: 200, placeholder: plain(`default: ${list.join(', ')}`.slice(0, 150)) }),
      optional: true,
    });
  }
  return { ...base, submit: plain('Create'), blocks };
}
