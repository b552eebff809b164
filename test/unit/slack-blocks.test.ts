// Slack Block Kit builders: each payload is pinned by a snapshot, and checked against Slack's
// limits (blocks, text lengths, unique action ids) so a change that Slack would reject fails here.
import { describe, expect, it } from 'vitest';
import type { EnvironmentSummary, Reply } from '../../bot/core/model.js';
import {
  ACTION,
  actionPattern,
  createModal,
  environmentCard,
  extendChoice,
  extendValue,
  FAILED_COLOR,
  formatDuration,
  homeView,
  noticeMessage,
  progressMessage,
  replyMessage,
  resetChooser,
  retryCopyValue,
  retryValue,
  SLACK_LIMITS,
  storageCopyMessage,
  type MessagePayload,
} from '../../bot/slack/blocks/index.js';
import type { EnvironmentCard } from '../../shared/chat.js';
import type { Progress, Step } from '../../shared/model.js';
import { stepTitle } from '../../shared/resources.js';

const NOW = new Date('2025-03-14T12:05:30Z');
const ALL = { canReset: true, canDestroy: true, canExtend: true, canReadCredentials: true, canRefresh: true };
const NONE = { canReset: false, canDestroy: false, canExtend: false, canReadCredentials: false, canRefresh: false };

type Obj = Record<string, unknown>;

/** Every object in a payload, depth first. */
function objects(value: unknown, out: Obj[] = []): Obj[] {
  if (Array.isArray(value)) for (const v of value) objects(v, out);
  else if (value && typeof value === 'object') {
    out.push(value as Obj);
    for (const v of Object.values(value)) objects(v, out);
  }
  return out;
}

/** The block lists of a message (top level and each attachment) or a view. */
function blockLists(payload: { blocks: unknown[]; attachments?: { blocks?: unknown[] }[] }): Obj[][] {
  return [payload.blocks as Obj[], ...(payload.attachments ?? []).map((a) => (a.blocks ?? []) as Obj[])];
}

function actionIds(payload: { blocks: unknown[]; attachments?: { blocks?: unknown[] }[] }): string[] {
  return objects(blockLists(payload)).flatMap((o) => (typeof o.action_id === 'string' ? [o.action_id] : []));
}

function buttons(payload: { blocks: unknown[]; attachments?: { blocks?: unknown[] }[] }): Obj[] {
  return objects(blockLists(payload)).filter((o) => o.type === 'button');
}

function textOf(o: unknown): string {
  return (o as { text?: string } | undefined)?.text ?? '';
}

/** Slack's limits on blocks and the elements in them; `perBlockIds` for forms, where every input is `value`. */
function expectWithinLimits(payload: { blocks: unknown[]; attachments?: { blocks?: unknown[] }[] }, o: { perBlockIds?: boolean } = {}): void {
  for (const list of blockLists(payload)) {
    expect(list.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    const blockIds = list.flatMap((b) => (typeof b.block_id === 'string' ? [b.block_id] : []));
    expect(new Set(blockIds).size).toBe(blockIds.length);
    for (const b of list) {
      if (b.type === 'section') {
        const t = textOf(b.text);
        expect(t.length).toBeGreaterThan(0);
        expect(t.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      }
      if (b.type === 'header') expect(textOf(b.text).length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
      if (b.type === 'context') expect((b.elements as unknown[]).length).toBeLessThanOrEqual(SLACK_LIMITS.contextElements);
      if (b.type === 'actions') {
        const els = b.elements as Obj[];
        expect(els.length).toBeLessThanOrEqual(SLACK_LIMITS.actionsElements);
        const ids = els.map((e) => e.action_id);
        expect(new Set(ids).size).toBe(ids.length);
      }
    }
  }
  if (!o.perBlockIds) {
    const ids = actionIds(payload);
    expect(new Set(ids).size, `duplicate action ids: ${ids.join(', ')}`).toBe(ids.length);
  }
  for (const b of buttons(payload)) {
    expect(textOf(b.text).length).toBeLessThanOrEqual(SLACK_LIMITS.buttonText);
    expect(String(b.value ?? '').length).toBeLessThanOrEqual(SLACK_LIMITS.buttonValue);
  }
  for (const obj of objects(blockLists(payload))) {
    if (Array.isArray(obj.options)) {
      for (const opt of obj.options as Obj[]) {
        expect(textOf(opt.text).length).toBeLessThanOrEqual(SLACK_LIMITS.optionText);
        expect(String(opt.value).length).toBeLessThanOrEqual(SLACK_LIMITS.optionValue);
      }
    }
    if (obj.confirm && typeof obj.confirm === 'object') {
      const c = obj.confirm as Obj;
      expect(textOf(c.title).length).toBeLessThanOrEqual(SLACK_LIMITS.confirmTitle);
      expect(textOf(c.text).length).toBeLessThanOrEqual(SLACK_LIMITS.confirmText);
      expect(textOf(c.confirm).length).toBeLessThanOrEqual(SLACK_LIMITS.confirmButton);
      expect(textOf(c.deny).length).toBeLessThanOrEqual(SLACK_LIMITS.confirmButton);
    }
  }
}

function expectMessage(payload: MessagePayload): void {
  expect(payload.text.trim().length).toBeGreaterThan(0);
  expect(payload.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
  expectWithinLimits(payload);
}

function allText(payload: unknown): string {
  return JSON.stringify(payload);
}

const t = (minute: number, second = 0): string => new Date(Date.UTC(2025, 2, 14, 12, minute, second)).toISOString();

const runningProgress: Progress = {
  environment: 'projb-qa',
  operation: 'create',
  status: 'running',
  startedAt: t(0),
  steps: [
    { id: 'claim', title: 'Reserve the environment', status: 'done', startedAt: t(0), endedAt: t(0, 2) },
    { id: 'secrets', title: 'Generate credentials', status: 'done', startedAt: t(0, 2), endedAt: t(0, 5) },
    { id: 'mongo', title: 'MongoDB databases', status: 'running', startedAt: t(0, 5) },
    { id: 'dns', title: 'DNS records', status: 'running', startedAt: t(0, 5) },
    { id: 'namespace', title: 'Kubernetes namespace', status: 'pending' },
    { id: 'ready', title: 'Ready', status: 'pending' },
  ],
};

const failedProgress: Progress = {
  environment: 'projb-qa-2',
  operation: 'create',
  status: 'failed',
  startedAt: t(0),
  endedAt: t(3, 12),
  steps: [
    { id: 'claim', title: 'Reserve the environment', status: 'done', startedAt: t(0), endedAt: t(0, 1) },
    { id: 'secrets', title: 'Generate credentials', status: 'undone', startedAt: t(2), endedAt: t(2, 3) },
    { id: 'mongo', title: 'MongoDB databases', status: 'undo-failed', startedAt: t(2), endedAt: t(3), error: 'mongo: connection refused' },
    { id: 'dns', title: 'DNS records', status: 'failed', startedAt: t(0, 5), endedAt: t(1, 30), error: 'Route 53: <Throttling> rate exceeded & gave up' },
    { id: 'namespace', title: 'Kubernetes namespace', status: 'undoing', startedAt: t(3) },
    { id: 'ready', title: 'Ready', status: 'skipped' },
  ],
};

const readyCard: EnvironmentCard = {
  environment: 'projb-qa',
  project: 'projb',
  stage: 'qa',
  status: 'ready',
  urls: ['https://service1.projb-qa.example.com', 'https://service2.projb-qa.example.com/'],
  databases: [
    { engine: 'mongo', name: 'catalog_projb_qa' },
    { engine: 'postgres', name: 'orders_projb_qa' },
  ],
  redisIndex: 3,
  expiresAt: '2025-03-28T12:00:00.000Z',
  workflowUrl: 'http://localhost:8233/namespaces/default/workflows/envbot%2Fprojb-qa%2Fcreate',
};

const failedCard: EnvironmentCard = {
  environment: 'projb-qa-2',
  project: 'projb',
  stage: 'qa',
  suffix: '2',
  status: 'failed',
  urls: [],
  databases: [],
  workflowUrl: 'http://localhost:8233/namespaces/default/workflows/envbot%2Fprojb-qa-2%2Fcreate',
  failedStep: 'dns',
  error: 'Route 53 refused the change: InvalidChangeBatch',
  rolledBack: ['namespace', 'mongo', 'secrets', 'claim'],
};

const summaries: EnvironmentSummary[] = [
  { name: 'projb-qa', project: 'projb', stage: 'qa', state: 'ready', expiresAt: '2025-03-28T12:00:00.000Z', createdBy: 'slack:U111' },
  { name: 'projb-dev-2', project: 'projb', stage: 'dev', state: 'creating', createdBy: 'slack:U222' },
  { name: 'proja-uat', project: 'proja', stage: 'uat', state: 'failed', createdBy: 'cli:maria' },
];

const createForm: Extract<Reply, { kind: 'open-create-form' }> = {
  kind: 'open-create-form',
  ephemeral: true,
  projects: [
    { name: 'proja', stages: ['dev', 'qa'], services: ['web'] },
    { name: 'projb', stages: ['dev', 'qa', 'uat'], services: ['service1', 'service2', 'worker'] },
  ],
  project: 'projb',
  stage: 'qa',
};

const replies: [string, Reply][] = [
  ['help', { kind: 'help', ephemeral: true, commands: [{ usage: 'create [project] [stage]', description: 'Build an environment.' }, { usage: 'destroy <environment>', description: 'Destroy one (asks first).' }], note: 'I did not understand "mkae".' }],
  ['error', { kind: 'error', ephemeral: true, text: 'projb-xx is not an environment name: write <project>-<stage>.' }],
  ['refused', { kind: 'refused', ephemeral: true, action: 'destroy', project: 'projb', text: 'You may not destroy environments of projb.', allowed: ['slack:U123ABC', 'slack-group:S0PM', 'group:pm', '*'] }],
  ['started', { kind: 'started', ephemeral: false, environment: 'projb-qa', operation: 'destroy', workflowId: 'envbot/projb-qa/destroy', by: 'slack:U123ABC', text: 'Destroying projb-qa (asked by slack:U123ABC)…' }],
  ['confirm destroy', { kind: 'confirm', ephemeral: true, environment: 'projb-qa', operation: 'destroy', text: 'Destroy projb-qa? Its services, databases, DNS records and secrets are deleted.' }],
  ['confirm reset-db', { kind: 'confirm', ephemeral: true, environment: 'projb-qa', operation: 'reset-db', which: 'mongo', text: 'Reset mongo of projb-qa to its seed? Changes made since are lost.' }],
  ['list', { kind: 'list', ephemeral: true, project: 'projb', environments: summaries }],
  ['list, empty', { kind: 'list', ephemeral: true, environments: [] }],
  ['status', { kind: 'status', ephemeral: true, environment: summaries[1]!, progress: runningProgress, card: readyCard }],
  ['status, no progress', { kind: 'status', ephemeral: true, environment: summaries[0]! }],
  [
    'status, with sources',
    {
      kind: 'status',
      ephemeral: true,
      environment: {
        ...summaries[0]!,
        sources: [
          { location: 's3://seeds/projb/mongo/catalog', version: '1a2b3c4d5e6f', uses: ['seed catalog'] },
          { location: 'git+https://git.example.com/t.git#release/qa:projb', version: 'abc1234', uses: ['template service1', 'template service2'] },
        ],
      },
    },
  ],
  ['extended', { kind: 'extended', ephemeral: false, environment: 'projb-qa', expiresAt: '2025-03-21T12:05:30.000Z', by: 'slack:U123ABC', text: 'projb-qa now expires at 2025-03-21T12:05:30.000Z (extended by slack:U123ABC).' }],
  ['secrets', { kind: 'secrets', ephemeral: true, environment: 'projb-qa', values: [{ name: 'mongo-password', value: 'not-a-real-secret-1' }, { name: 'api-key', value: 'a<b>&c' }] }],
  ['subscribed', { kind: 'subscribed', ephemeral: false, project: 'projb', subscribed: true, text: "This channel now gets projb's promotion and monitoring alerts." }],
  ['unsubscribed', { kind: 'subscribed', ephemeral: false, project: 'projb', subscribed: false, text: 'This channel no longer gets alerts of projb.' }],
];

describe('progressMessage', () => {
  it('shows a running create with a line per step and the elapsed time so far', () => {
    const m = progressMessage(runningProgress, NOW);
    expect(m).toMatchSnapshot();
    expectMessage(m);
    expect(allText(m.blocks)).toContain('Creating projb-qa');
    expect(allText(m.blocks)).toContain('running for 5m 30s');
    expect(allText(m.blocks)).toContain('✅ Generate credentials · 3s');
  });

  it('shows how a waiting step is going beside its title', () => {
    const steps = [...runningProgress.steps, { id: 'rollout', title: 'Services become ready', status: 'running' as const, startedAt: t(5), detail: 'service1 2/2 ready, service2 0/1 ready' }];
    const m = progressMessage({ ...runningProgress, steps }, NOW);
    expectMessage(m);
    expect(allText(m.blocks)).toContain('⏳ Services become ready _running_ · service1 2/2 ready, service2 0/1 ready');
  });

  it('shows a failed create with the error, undo states and the time from start to end (not now)', () => {
    const m = progressMessage(failedProgress, NOW);
    expect(m).toMatchSnapshot();
    expectMessage(m);
    const text = allText(m.blocks);
    expect(text).toContain('Failed after 3m 12s');
    expect(text).toContain('Route 53: &lt;Throttling&gt; rate exceeded &amp; gave up');
    expect(text).toContain('⚠️ MongoDB databases');
    expect(text).toContain('➖ Ready');
    expect(m.text).toContain('DNS records');
    // The fallback is mrkdwn too: escaped, or Slack reads <Throttling> as a link.
    expect(m.text).toContain('Route 53: &lt;Throttling&gt; rate exceeded &amp; gave up');
  });

  it.each([
    ['destroy', 'Destroying projb-qa'],
    ['reset', 'Resetting projb-qa'],
    ['expire', 'Destroying projb-qa (expired)'],
  ] as const)('heads a %s with "%s"', (operation, head) => {
    const m = progressMessage({ ...runningProgress, operation, status: 'succeeded', endedAt: t(1) }, NOW);
    expect(textOf((m.blocks[0] as { text: unknown }).text)).toBe(head);
    expect(m.text).toContain('finished in 1m 00s');
  });

  it('keeps 100 long steps within Slack limits and says how many are left out', () => {
    const steps: Step[] = Array.from({ length: 100 }, (_, i) => ({ id: `s${i}`, title: `Step ${i} ${'x'.repeat(200)}`, status: 'failed', startedAt: t(0), endedAt: t(1), error: 'e'.repeat(2000) }));
    const m = progressMessage({ ...runningProgress, environment: 'p'.repeat(63), steps }, NOW);
    expectMessage(m);
    expect(allText(m.blocks)).toMatch(/and \d+ more steps/);
  });
});

describe('environmentCard', () => {
  it('shows each service rendered from git with its branch and commit, and marks those off their default branch', () => {
    const runs = [
      { service: 'service1', branch: 'feature/x', defaultBranch: 'main', commit: 'a'.repeat(40), image: 'r/s1:2.0.0-x' },
      { service: 'service2', branch: 'main', defaultBranch: 'main', commit: 'b'.repeat(40), image: 'r/s2:1.0.0' },
      { service: 'service3', branch: null, commit: null, image: 'r/s3:1.4.2' },
    ];
    const m = environmentCard({ ...readyCard, runs }, ALL);
    expectMessage(m);
    const text = allText(m.blocks);
    expect(text).toContain('⚠️ service1: feature/x @ aaaaaaa (not its default, main)');
    expect(text).toContain('• service2: main @ bbbbbbb');
    expect(text).not.toContain('service3');
    expect(m.text).toContain('service1: feature/x @ aaaaaaa (not its default, main)');
    expect(m.text).not.toContain('service2: main');
    // No service from git: no Branches section.
    expect(allText(environmentCard({ ...readyCard, runs: runs.slice(2) }, ALL).blocks)).not.toContain('Branches');
  });

  it("shows each URL with its service's health, and a URL of no known service plainly", () => {
    const services = [
      { service: 'service1', ready: 2, desired: 2, available: true, urls: ['https://service1.projb-qa.example.com'] },
      { service: 'service2', ready: 1, desired: 2, available: false, urls: ['https://service2.projb-qa.example.com/'] },
    ];
    const text = allText(environmentCard({ ...readyCard, services }, ALL).blocks);
    expect(text).toContain('<https://service1.projb-qa.example.com|service1.projb-qa.example.com> · ✅ service1 2/2 ready');
    expect(text).toContain('<https://service2.projb-qa.example.com/|service2.projb-qa.example.com> · ⏳ service2 1/2 ready');
    const plain = allText(environmentCard({ ...readyCard, services: services.slice(0, 1) }, ALL).blocks);
    expect(plain).toContain('service2.projb-qa.example.com>"');
    expect(plain).not.toContain('service2 ');
  });

  it('shows a ready environment with links, databases, expiry, Temporal and every allowed button', () => {
    const m = environmentCard(readyCard, ALL);
    expect(m).toMatchSnapshot();
    expectMessage(m);
    expect(m.attachments).toBeUndefined();
    const text = allText(m.blocks);
    expect(text).toContain('<https://service1.projb-qa.example.com|service1.projb-qa.example.com>');
    expect(text).toContain('mongo: `catalog_projb_qa`');
    expect(text).toContain('Redis: database 3');
    expect(text).toContain('|View in Temporal>');
    expect(actionIds(m).sort()).toEqual([ACTION.credentials, ACTION.destroy, ACTION.extend, ACTION.reset].sort());
    const destroy = buttons(m).find((b) => b.action_id === ACTION.destroy)!;
    expect(destroy.style).toBe('danger');
    expect(textOf((destroy.confirm as Obj).text)).toBe('Destroy projb-qa? Everything in it is deleted.');
    expect(buttons(m).find((b) => b.action_id === ACTION.reset)?.value).toBe('projb-qa');
  });

  it('says the URLs answer over the VPN, naming the group, only when the environment has VPN access', () => {
    const text = allText(environmentCard({ ...readyCard, vpnGroup: 'S-1-5-21-projb' }, NONE).blocks);
    expect(text).toContain('Reachable over the company VPN, for members of `S-1-5-21-projb`');
    expect(text).toContain('docs/vpn.md');
    expect(allText(environmentCard(readyCard, NONE).blocks)).not.toContain('VPN');
  });

  it('offers Extend as 1, 7 and 14 days, each value naming the environment and duration', () => {
    const m = environmentCard(readyCard, { ...NONE, canExtend: true });
    const select = objects(m.blocks).find((o) => o.action_id === ACTION.extend)!;
    const values = (select.options as Obj[]).map((o) => JSON.parse(String(o.value)));
    expect(values).toEqual([
      { environment: 'projb-qa', duration: '1d' },
      { environment: 'projb-qa', duration: '7d' },
      { environment: 'projb-qa', duration: '14d' },
    ]);
  });

  it('hides every button that is not allowed', () => {
    const m = environmentCard(readyCard, NONE);
    expectMessage(m);
    expect(actionIds(m)).toEqual([]);
    expect(m.blocks.some((b) => b.type === 'actions')).toBe(false);
    const some = environmentCard(readyCard, { ...NONE, canReadCredentials: true });
    expect(actionIds(some)).toEqual([ACTION.credentials]);
  });

  it("shows each storage volume's copy: copying with the bytes so far, copied with its counts, failed with the reason", () => {
    const m = environmentCard({
      ...readyCard,
      storage: [
        { volume: 'media', source: 's3://envbot-media/projb/', state: 'copying', bytes: 1_234_000_000, totalBytes: 3_400_000_000 },
        { volume: 'docs', state: 'copied', files: 120, bytes: 3_400_000_000 },
        { volume: 'logs', state: 'failed', error: 'OperationCanceled: The task execution was cancelled.' },
      ],
    }, ALL);
    expect(m).toMatchSnapshot();
    expectMessage(m);
    const text = allText(m.blocks);
    expect(text).toContain('*Storage*');
    expect(text).toContain('• media: copying, 1.2 GB of 3.4 GB');
    expect(text).toContain('• docs: copied, 120 files, 3.4 GB');
    expect(text).toContain('• logs: copy failed: OperationCanceled: The task execution was cancelled.');
    expect(m.text).toContain('media: copying, 1.2 GB of 3.4 GB');
  });

  it('offers Refresh storage only on an environment with storage volumes, to whoever may refresh', () => {
    const withStorage: EnvironmentCard = { ...readyCard, storage: [{ volume: 'media', state: 'copied', files: 3 }] };
    const m = environmentCard(withStorage, { ...NONE, canRefresh: true });
    expect(actionIds(m)).toEqual([ACTION.refresh]);
    const refresh = buttons(m)[0]!;
    expect(textOf(refresh.text)).toBe('Refresh storage');
    expect(refresh.value).toBe('projb-qa');
    expect(refresh.confirm).toBeUndefined();
    expect(actionIds(environmentCard(withStorage, NONE))).toEqual([]);
    // No volumes: no button, even for someone who may refresh.
    expect(actionIds(environmentCard(readyCard, ALL))).not.toContain(ACTION.refresh);
    expect(actionIds(environmentCard({ ...withStorage, status: 'destroyed' }, ALL))).toEqual([]);
    // Its id is not taken for another button's.
    for (const other of [ACTION.reset, ACTION.retry, ACTION.retryCopy]) expect(actionPattern(other).test(ACTION.refresh)).toBe(false);
  });

  it.each(['destroyed', 'reset'] as const)('shows a %s environment', (status) => {
    const m = environmentCard({ ...readyCard, status, ...(status === 'destroyed' ? { urls: [], databases: [], redisIndex: undefined } : {}) }, ALL);
    expect(m).toMatchSnapshot();
    expectMessage(m);
    if (status === 'destroyed') {
      expect(actionIds(m)).toEqual([]);
      expect(m.text).not.toContain('expires');
    }
  });

  it('puts a failed environment in a red attachment: failed step, error, rollback and Retry', () => {
    const m = environmentCard(failedCard, ALL);
    expect(m).toMatchSnapshot();
    expectMessage(m);
    expect(m.blocks).toEqual([]);
    expect(m.attachments).toHaveLength(1);
    expect(m.attachments![0]!.color).toBe(FAILED_COLOR);
    expect(FAILED_COLOR).toBe('#d93f0b');
    const text = allText(m.attachments);
    expect(text).toContain('*DNS records* failed');
    expect(text).toContain('InvalidChangeBatch');
    for (const id of failedCard.rolledBack!) expect(text).toContain(stepTitle(id));
    expect(actionIds(m)).toEqual([ACTION.retry]);
    expect(JSON.parse(String(buttons(m)[0]!.value))).toEqual({ project: 'projb', stage: 'qa', suffix: '2' });
    expect(m.text).toContain('projb-qa-2 could not be built');
    expect(m.text).toContain('DNS records failed');
  });

  it('retries an environment without a suffix with project and stage only', () => {
    expect(JSON.parse(retryValue({ project: 'web-shop', stage: 'uat' }))).toEqual({ project: 'web-shop', stage: 'uat' });
    expect(JSON.parse(retryValue({ project: 'web-shop', stage: 'uat', suffix: 'hotfix' }))).toEqual({ project: 'web-shop', stage: 'uat', suffix: 'hotfix' });
  });

  it('keeps the Extend value within 75 characters for a 63-character name, and reads it back', () => {
    const name = `${'p'.repeat(30)}-${'s'.repeat(15)}-${'x'.repeat(12)}`.slice(0, 63);
    const m = environmentCard({ ...readyCard, environment: name, urls: Array.from({ length: 200 }, (_, i) => `https://s${i}.${name}.example.com`) }, ALL);
    expectMessage(m);
    const select = objects(m.blocks).find((o) => o.action_id === ACTION.extend)!;
    const actions = m.blocks.find((b) => b.type === 'actions')!;
    for (const opt of select.options as Obj[]) {
      expect(extendChoice(String(opt.value), actions.block_id)?.environment).toBe(name);
    }
    expect(extendChoice(extendValue('projb-qa', '7d'))).toEqual({ environment: 'projb-qa', duration: '7d' });
    expect(extendChoice('not json')).toBeUndefined();
    expect(allText(m.blocks)).toMatch(/and \d+ more services/);
  });
});

describe('noticeMessage', () => {
  it('turns slack:U1 into a mention and keeps a plain-text fallback', () => {
    const m = noticeMessage('projb-qa', 'projb-qa expires in 1h (created by slack:U1); extend it with /env extend projb-qa 7d.');
    expect(m).toMatchSnapshot();
    expectMessage(m);
    expect(allText(m.blocks)).toContain('<@U1>');
    expect(allText(m.blocks)).not.toContain('slack:U1');
    expect(m.text).toContain('<@U1>');
  });

  it("a failed copy's notice has a Retry button that names the environment and the volume", () => {
    const m = noticeMessage('projb-qa', 'projb-qa: the copy of volume media from s3://envbot-media/projb/ failed: OperationCanceled. The environment is usable, but the volume may be incomplete.', { volume: 'media' });
    expect(m).toMatchSnapshot();
    expectMessage(m);
    expect(actionIds(m)).toEqual([ACTION.retryCopy]);
    const retry = buttons(m)[0]!;
    expect(textOf(retry.text)).toBe('Retry the copy of media');
    expect(JSON.parse(String(retry.value))).toEqual({ environment: 'projb-qa', volume: 'media' });
    expect(retry.value).toBe(retryCopyValue('projb-qa', 'media'));
    // The create's Retry does not answer it, nor it the create's.
    expect(actionPattern(ACTION.retry).test(ACTION.retryCopy)).toBe(false);
    expect(actionPattern(ACTION.retryCopy).test(ACTION.retry)).toBe(false);
    expect(actionIds(noticeMessage('projb-qa', 'projb-qa expires in 1h.'))).toEqual([]);
  });

  it('falls back to naming the environment when the text is empty', () => {
    const m = noticeMessage('projb-qa', '  ');
    expectMessage(m);
    expect(m.text).toBe('Update about projb-qa.');
  });
});

describe('storageCopyMessage', () => {
  it.each([
    ['copying', [{ volume: 'media', source: 's3://envbot-media/projb/', state: 'copying', bytes: 1_234_000_000, totalBytes: 3_400_000_000 }], /Refreshing the storage of \*projb-qa\*/, 'projb-qa: refreshing storage (asked by <@U1>): media: copying, 1.2 GB of 3.4 GB'],
    ['done', [{ volume: 'media', state: 'copied', files: 3, bytes: 91_989 }, { volume: 'docs', state: 'copied', files: 1, bytes: 10 }], /storage of \*projb-qa\* was refreshed/, 'projb-qa: storage refreshed (asked by <@U1>): media: copied, 3 files, 92 KB; docs: copied, 1 file, 10 B'],
    ['failed', [{ volume: 'media', state: 'failed', error: 'OperationCanceled' }], /storage refresh of \*projb-qa\* failed/, 'projb-qa: storage refresh failed (asked by <@U1>): media: copy failed: OperationCanceled'],
  ] as const)('says a %s refresh, one line per volume', (_name, copies, head, text) => {
    const m = storageCopyMessage('projb-qa', copies.map((c) => ({ ...c })), 'slack:U1');
    expect(m).toMatchSnapshot();
    expectMessage(m);
    expect(textOf((m.blocks[0] as { text: unknown }).text)).toMatch(head);
    expect(m.text).toBe(text);
    expect(allText(m.blocks)).toContain('<@U1>');
    expect(actionIds(m)).toEqual([]);
  });
});

describe('replyMessage', () => {
  it('lists a history newest first, what, why, who and when, with a plain-text fallback', () => {
    const entries = [
      { service: 'service1', branch: 'feature/x', commit: 'c'.repeat(40), image: 'r/s1:2.0.0-x', why: 'manual' as const, who: 'slack:U0PM0000001', at: '2026-11-30T16:00:00.000Z' },
      { service: 'service1', branch: null, commit: null, image: 'r/s1:1.5.0', why: 'promotion' as const, who: 'envbot', at: '2026-11-29T16:00:00.000Z' },
    ];
    const m = replyMessage({ kind: 'history', ephemeral: true, environment: 'projb-qa', entries });
    expectMessage(m);
    const text = allText(m.blocks);
    expect(text).toContain('service1: ccccccc on feature/x, r/s1:2.0.0-x · manual by slack:U0PM0000001');
    expect(text).toContain('service1: r/s1:1.5.0 · promotion by envbot');
    expect(text.indexOf('manual')).toBeLessThan(text.indexOf('promotion'));
    expect(m.text).toContain('Deployments of projb-qa');
    expect(replyMessage({ kind: 'history', ephemeral: true, environment: 'projb-qa', service: 'service9', entries: [] }).text).toBe('No deployments of service9 of projb-qa recorded.');
  });

  it.each(replies)('%s', (_name, reply) => {
    const m = replyMessage(reply);
    expect(m).toMatchSnapshot();
    expectMessage(m);
  });

  it('shows the version of every S3 and git source in status', () => {
    const m = replyMessage(replies.find(([n]) => n === 'status, with sources')![1]);
    const line = 'seed catalog: s3://seeds/projb/mongo/catalog@1a2b3c4d5e6f; template service1, template service2: git+https://git.example.com/t.git#release/qa:projb@abc1234';
    expect(m.text).toContain(line);
    expect(allText(m.blocks)).toContain(line);
  });

  it('throws for open-create-form, which is a modal', () => {
    expect(() => replyMessage(createForm)).toThrow(/modal/);
  });

  it('names who may do what was refused', () => {
    const m = replyMessage(replies.find(([n]) => n === 'refused')![1]);
    const text = allText(m.blocks);
    expect(text).toContain('<@U123ABC>, <!subteam^S0PM>, group pm, everyone');
    expect(m.text).toContain('Who can: <@U123ABC>, <!subteam^S0PM>, group pm, everyone.');
  });

  it('asks before destroying with a danger button that confirms again', () => {
    const m = replyMessage(replies.find(([n]) => n === 'confirm destroy')![1]);
    const [b] = buttons(m);
    expect(b).toMatchObject({ action_id: ACTION.destroyConfirmed, value: 'projb-qa', style: 'danger' });
    expect(b!.confirm).toBeDefined();
  });

  it('offers mongo, sql, redis and all for a reset, each with a confirm and a value naming it', () => {
    const m = replyMessage(replies.find(([n]) => n === 'confirm reset-db')![1]);
    const bs = buttons(m);
    expect(bs.map((b) => JSON.parse(String(b.value)))).toEqual(['mongo', 'sql', 'redis', 'all'].map((which) => ({ environment: 'projb-qa', which })));
    for (const b of bs) {
      expect(String(b.action_id)).toMatch(actionPattern(ACTION.resetConfirmed));
      expect(b.confirm).toBeDefined();
    }
    expect(bs.find((b) => b.style === 'primary')?.value).toContain('"mongo"');
  });

  it('says "No environments" for an empty list', () => {
    const m = replyMessage({ kind: 'list', ephemeral: true, environments: [] });
    expect(m.text).toBe('No environments.');
  });

  it('keeps 100 environments within limits', () => {
    const many = Array.from({ length: 100 }, (_, i): EnvironmentSummary => ({ name: `project${i}-qa-${'x'.repeat(12)}`, project: `project${i}`, stage: 'qa', state: 'ready', expiresAt: '2025-03-28T12:00:00.000Z', createdBy: 'slack:U111' }));
    const m = replyMessage({ kind: 'list', ephemeral: true, environments: many });
    expectMessage(m);
    expect(m.text).toContain('and 90 more');
  });

  it('keeps secret values out of the fallback text', () => {
    const m = replyMessage(replies.find(([n]) => n === 'secrets')![1]);
    expect(m.text).not.toContain('not-a-real-secret-1');
    expect(allText(m.blocks)).toContain('```not-a-real-secret-1```');
    expect(allText(m.blocks)).toContain('a&lt;b&gt;&amp;c');
  });
});

describe('resetChooser', () => {
  it('offers the same choices as the reset confirmation', () => {
    const m = resetChooser('projb-qa');
    expect(m).toMatchSnapshot();
    expectMessage(m);
    const confirm = replyMessage(replies.find(([n]) => n === 'confirm reset-db')![1]);
    expect(actionIds(m)).toEqual(actionIds(confirm));
  });
});

describe('createModal', () => {
  it('builds the form with the chosen project and stage preselected', () => {
    const v = createModal(createForm, '{"channel":"C1"}');
    expect(v).toMatchSnapshot();
    expectWithinLimits(v, { perBlockIds: true });
    expect(v).toMatchObject({ type: 'modal', callback_id: 'env_create', private_metadata: '{"channel":"C1"}', submit: { text: 'Create' }, close: { text: 'Cancel' } });
    const byId = Object.fromEntries(v.blocks.map((b) => [b.block_id, b as unknown as Obj]));
    expect(Object.keys(byId)).toEqual(['project', 'stage', 'suffix', 'ttl']);
    expect((byId.project!.element as Obj).initial_option).toMatchObject({ value: 'projb' });
    expect(((byId.stage!.element as Obj).options as Obj[]).map((o) => o.value)).toEqual(['dev', 'qa', 'uat']);
    expect((byId.stage!.element as Obj).initial_option).toMatchObject({ value: 'qa' });
    expect(byId.project!.optional).toBeUndefined();
    for (const id of ['suffix', 'ttl']) expect(byId[id]!.optional).toBe(true);
    expect(((byId.ttl!.element as Obj).options as Obj[]).map((o) => o.value)).toEqual(['1d', '3d', '7d', '14d', '30d']);
    expect(textOf(byId.suffix!.hint)).toBe('letters and digits, e.g. 2');
  });

  it('preselects nothing without a choice', () => {
    const v = createModal({ ...createForm, project: undefined, stage: undefined }, '');
    expect(objects(v.blocks).some((o) => 'initial_option' in o)).toBe(false);
  });

  it('keeps 150 projects within the option limit', () => {
    const v = createModal({ ...createForm, projects: Array.from({ length: 150 }, (_, i) => ({ name: `project${i}`, stages: ['qa'], services: ['web'] })), project: 'project0' }, '');
    expectWithinLimits(v, { perBlockIds: true });
    const project = v.blocks.find((b) => b.block_id === 'project') as unknown as { element: { options: unknown[] } };
    expect(project.element.options).toHaveLength(SLACK_LIMITS.options);
  });
});

describe('homeView', () => {
  it('lists the environments with their buttons and how to create one', () => {
    const v = homeView(summaries, { userId: 'U111' });
    expect(v).toMatchSnapshot();
    expectWithinLimits(v);
    expect(v.type).toBe('home');
    const text = allText(v.blocks);
    expect(text).toContain('created by you');
    expect(text).toContain('/env create &lt;project&gt; &lt;stage&gt;');
    const ids = actionIds(v);
    for (const base of [ACTION.reset, ACTION.destroy, ACTION.credentials]) expect(ids.some((id) => actionPattern(base).test(id))).toBe(true);
  });

  it('says "You have no environments" when there are none', () => {
    const v = homeView([], { userId: 'U111' });
    expect(v).toMatchSnapshot();
    expect(allText(v.blocks)).toContain('You have no environments');
  });

  it('keeps 100 environments within limits and says how many are left out', () => {
    const many = Array.from({ length: 100 }, (_, i): EnvironmentSummary => ({ name: `projb-qa-${i}`, project: 'projb', stage: 'qa', state: 'ready', createdBy: 'slack:U111' }));
    const v = homeView(many, { userId: 'U111' });
    expectWithinLimits(v);
    expect(allText(v.blocks)).toMatch(/and 77 more/);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [59_999, '59s'],
    [65_000, '1m 05s'],
    [3_725_000, '1h 02m'],
    [90_000_000, '1d 1h'],
    [-5, '0s'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
