// Slack and Teams replies come from one reply model: every reply kind and chat message is rendered
// by both the Block Kit builders and the Adaptive Card builders, and both must carry the same facts
// (URLs, environment names, states, the actions offered). The Adaptive Cards are also checked
// against schema 1.5's shape and pinned by snapshots.
import { describe, expect, it } from 'vitest';
import type { EnvironmentSummary, Reply } from '../../bot/core/model.js';
import { environmentCard as slackCard, noticeMessage, progressMessage, replyMessage, storageCopyMessage } from '../../bot/slack/blocks/index.js';
import { CARD_CONTENT_TYPE, environmentCard, noticeCard, progressCard, replyCard, storageCard, VERB, type CardMessage } from '../../bot/teams/cards/index.js';
import type { EnvironmentCard } from '../../shared/chat.js';
import type { Progress } from '../../shared/model.js';

const NOW = new Date('2025-03-14T12:05:30Z');
const ALL = { canReset: true, canDestroy: true, canExtend: true, canReadCredentials: true, canRefresh: true };
const t = (minute: number, second = 0): string => new Date(Date.UTC(2025, 2, 14, 12, minute, second)).toISOString();

const running: Progress = {
  environment: 'projb-qa', operation: 'create', status: 'running', startedAt: t(0),
  steps: [
    { id: 'claim', title: 'Reserve the environment', status: 'done', startedAt: t(0), endedAt: t(0, 2) },
    { id: 'mongo', title: 'MongoDB databases', status: 'running', startedAt: t(0, 5) },
    { id: 'dns', title: 'DNS records', status: 'failed', startedAt: t(0, 5), endedAt: t(1, 30), error: 'Route 53: <Throttling> rate exceeded' },
    { id: 'ready', title: 'Ready', status: 'pending' },
  ],
};
const ready: EnvironmentCard = {
  environment: 'projb-qa', project: 'projb', stage: 'qa', status: 'ready',
  urls: ['https://service1.projb-qa.example.com', 'https://service2.projb-qa.example.com/'],
  databases: [{ engine: 'mongo', name: 'catalog_projb_qa' }, { engine: 'postgres', name: 'orders_projb_qa' }],
  redisIndex: 3, expiresAt: '2025-03-28T12:00:00.000Z',
  workflowUrl: 'http://localhost:8233/namespaces/default/workflows/envbot%2Fprojb-qa%2Fcreate',
  storage: [{ volume: 'media', source: 's3://media/projb', state: 'copied', files: 12, bytes: 3_400_000 }],
  services: [{ service: 'service1', ready: 2, desired: 2, available: true, urls: ['https://service1.projb-qa.example.com'] }],
};
const failed: EnvironmentCard = {
  environment: 'projb-qa-2', project: 'projb', stage: 'qa', suffix: '2', status: 'failed', urls: [], databases: [],
  failedStep: 'dns', error: 'Route 53 refused the change', rolledBack: ['namespace', 'claim'],
  workflowUrl: 'http://localhost:8233/namespaces/default/workflows/envbot%2Fprojb-qa-2%2Fcreate',
};
const summaries: EnvironmentSummary[] = [
  { name: 'projb-qa', project: 'projb', stage: 'qa', state: 'ready', expiresAt: '2025-03-28T12:00:00.000Z', createdBy: 'teams:3f2b8c1e-7a4d-4e9b-9c2a-1d5e6f7a8b9c' },
  { name: 'projb-dev-2', project: 'projb', stage: 'dev', state: 'creating', createdBy: 'slack:U222' },
  { name: 'proja-uat', project: 'proja', stage: 'uat', state: 'failed', createdBy: 'cli:maria' },
];

/** Every reply kind the core has, but the create form (a modal on Slack, a card on Teams). */
const replies: [string, Reply][] = [
  ['help', { kind: 'help', ephemeral: true, commands: [{ usage: 'create [project] [stage]', description: 'Build an environment.' }, { usage: 'destroy <environment>', description: 'Destroy one.' }], note: 'I did not understand "mkae".' }],
  ['error', { kind: 'error', ephemeral: true, text: 'projb-xx is not an environment name: write <project>-<stage>.' }],
  ['refused', { kind: 'refused', ephemeral: true, action: 'destroy', project: 'projb', text: 'You may not destroy environments of projb.', allowed: ['group:pm', 'teams:3f2b8c1e-7a4d-4e9b-9c2a-1d5e6f7a8b9c'] }],
  ['started', { kind: 'started', ephemeral: false, environment: 'projb-qa', operation: 'destroy', workflowId: 'envbot/projb-qa/destroy', by: 'teams:3f2b8c1e-7a4d-4e9b-9c2a-1d5e6f7a8b9c', text: 'Destroying projb-qa…' }],
  ['confirm destroy', { kind: 'confirm', ephemeral: true, environment: 'projb-qa', operation: 'destroy', text: 'Destroy projb-qa? Its services, databases, DNS records and secrets are deleted.' }],
  ['confirm reset-db', { kind: 'confirm', ephemeral: true, environment: 'projb-qa', operation: 'reset-db', which: 'all', text: 'Reset every database of projb-qa to its seed?' }],
  ['list', { kind: 'list', ephemeral: true, project: 'projb', environments: summaries }],
  ['list, empty', { kind: 'list', ephemeral: true, environments: [] }],
  ['status', { kind: 'status', ephemeral: true, environment: summaries[1]!, progress: running, card: ready }],
  ['extended', { kind: 'extended', ephemeral: false, environment: 'projb-qa', expiresAt: '2025-03-21T12:05:30.000Z', by: 'teams:3f2b8c1e-7a4d-4e9b-9c2a-1d5e6f7a8b9c', text: 'projb-qa now expires at 2025-03-21T12:05:30.000Z.' }],
  ['secrets', { kind: 'secrets', ephemeral: true, environment: 'projb-qa', values: [{ name: 'mongo-password', value: 'not-a-real-secret-1' }] }],
  ['subscribed', { kind: 'subscribed', ephemeral: false, project: 'projb', subscribed: true, text: 'This channel is subscribed to projb.' }],
];

/** The same message on both platforms. */
const messages: [string, unknown, CardMessage][] = [
  ...replies.map(([name, r]): [string, unknown, CardMessage] => [`reply ${name}`, replyMessage(r), replyCard(r)]),
  ['progress', progressMessage(running, NOW), progressCard(running, NOW)],
  ['ready card', slackCard(ready, ALL), environmentCard(ready, ALL)],
  ['ready card, no permissions', slackCard(ready, { canReset: false, canDestroy: false, canExtend: false, canReadCredentials: false, canRefresh: false }), environmentCard(ready, { canReset: false, canDestroy: false, canExtend: false, canReadCredentials: false, canRefresh: false })],
  ['failed card', slackCard(failed, ALL), environmentCard(failed, ALL)],
  ['destroyed card', slackCard({ ...ready, status: 'destroyed' }, ALL), environmentCard({ ...ready, status: 'destroyed' }, ALL)],
  ['notice with retry', noticeMessage('projb-qa', 'The copy of media failed.', { volume: 'media' }), noticeCard('projb-qa', 'The copy of media failed.', { volume: 'media' })],
  ['storage', storageCopyMessage('projb-qa', ready.storage!, 'slack:U1'), storageCard('projb-qa', ready.storage!, 'slack:U1')],
];

const URL_RE = /https?:\/\/[^\s|>)\]"\\]+/g;
const urls = (v: unknown): string[] => [...new Set((JSON.stringify(v).match(URL_RE) ?? []).map((u) => u.replace(/\/$/, '')))].filter((u) => !u.startsWith('http://adaptivecards.io')).sort();

/** What a person can do from a message, as the core's operations. */
const SLACK_OPS: Record<string, string> = { env_reset: 'reset', env_reset_confirmed: 'reset', env_extend: 'extend', env_destroy: 'destroy', env_destroy_confirmed: 'destroy', env_credentials: 'credentials', env_refresh: 'refresh', env_retry: 'retry', env_retry_copy: 'retry-copy' };
const TEAMS_OPS: Record<string, string> = { [VERB.reset]: 'reset', [VERB.resetConfirmed]: 'reset', [VERB.extend]: 'extend', [VERB.destroy]: 'destroy', [VERB.destroyConfirmed]: 'destroy', [VERB.credentials]: 'credentials', [VERB.refresh]: 'refresh', [VERB.retry]: 'retry', [VERB.retryCopy]: 'retry-copy' };

function objects(value: unknown, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(value)) for (const v of value) objects(v, out);
  else if (value && typeof value === 'object') {
    out.push(value as Record<string, unknown>);
    for (const v of Object.values(value)) objects(v, out);
  }
  return out;
}
const slackOps = (m: unknown) => [...new Set(objects(m).flatMap((o) => (typeof o.action_id === 'string' ? [SLACK_OPS[o.action_id.split(':')[0]!] ?? o.action_id] : [])))].sort();
const teamsOps = (m: unknown) => [...new Set(objects(m).flatMap((o) => (o.type === 'Action.Execute' ? [TEAMS_OPS[String(o.verb)] ?? String(o.verb)] : [])))].sort();

const ENVS = ['projb-qa-2', 'projb-qa', 'projb-dev-2', 'proja-uat'];
const STATES = ['ready', 'creating', 'failed', 'destroyed', 'reset', 'running'];
const words = (v: unknown, list: string[]) => list.filter((w) => new RegExp(`(?<![\\w-])${w}(?![\\w-])`).test(JSON.stringify(v)));

/** Adaptive Card 1.5's shape: what Teams would refuse to render. */
function expectAdaptiveCard(m: CardMessage): void {
  expect(m.type).toBe('message');
  expect(m.summary.trim().length).toBeGreaterThan(0);
  expect(m.attachments).toHaveLength(1);
  expect(m.attachments[0].contentType).toBe(CARD_CONTENT_TYPE);
  const c = m.attachments[0].content;
  expect(c).toMatchObject({ type: 'AdaptiveCard', version: '1.5', $schema: 'http://adaptivecards.io/schemas/adaptive-card.json' });
  expect(c.fallbackText.trim().length).toBeGreaterThan(0);
  const allowed = new Set(['AdaptiveCard', 'TextBlock', 'FactSet', 'Input.ChoiceSet', 'Input.Text', 'Action.Execute', 'Action.ShowCard', 'Action.OpenUrl']);
  for (const o of objects(c)) {
    if (typeof o.type === 'string' && !o.type.startsWith('application/')) expect(allowed, `unknown element ${o.type}`).toContain(o.type);
    if (o.type === 'TextBlock') expect(String(o.text).length).toBeGreaterThan(0);
    if (o.type === 'Action.Execute') {
      expect(typeof o.verb).toBe('string');
      expect(String(o.title).length).toBeGreaterThan(0);
    }
  }
  // Input ids unique in one card.
  const ids = objects(c).flatMap((o) => (String(o.type).startsWith('Input.') ? [String(o.id)] : []));
  expect(new Set(ids).size).toBe(ids.length);
}

describe('Slack and Teams carry the same facts', () => {
  it.each(messages)('%s: URLs, environments, states and actions', (_name, slack, teams) => {
    expect(urls(teams.attachments[0].content)).toEqual(urls(slack));
    expect(words(teams.attachments[0].content, ENVS)).toEqual(words(slack, ENVS));
    expect(words(teams.attachments[0].content, STATES)).toEqual(words(slack, STATES));
    expect(teamsOps(teams)).toEqual(slackOps(slack));
    expectAdaptiveCard(teams);
  });

  it('offers on Teams the buttons the card offers on Slack, by name', () => {
    const titles = (environmentCard(ready, ALL).attachments[0].content.actions ?? []).map((a) => a.title);
    expect(titles).toEqual(['Reset database', 'Extend', 'Refresh storage', 'Show credentials', 'Destroy']);
    expect((environmentCard(failed, ALL).attachments[0].content.actions ?? []).map((a) => a.title)).toEqual(['Retry']);
  });

  it('keeps credential values out of the notification text', () => {
    const m = replyCard(replies.find(([n]) => n === 'secrets')![1]);
    expect(m.summary).not.toContain('not-a-real-secret-1');
    expect(m.attachments[0].content.fallbackText).not.toContain('not-a-real-secret-1');
    expect(JSON.stringify(m.attachments[0].content.body)).toContain('not-a-real-secret-1');
  });

  it('escapes Markdown in free text', () => {
    const m = replyCard({ kind: 'error', ephemeral: true, text: 'bad *name* [x](http://evil.example)' });
    expect(JSON.stringify(m.attachments[0].content.body)).toContain('\\\\*name\\\\*');
    expect(JSON.stringify(m.attachments[0].content.body)).not.toContain('[x](http');
  });

  it.each(messages)('%s: the Adaptive Card is pinned', (_name, _slack, teams) => {
    expect(teams).toMatchSnapshot();
  });
});
