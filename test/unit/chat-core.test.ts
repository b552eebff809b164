// Decisions the chat core owns for every platform: the create form's field errors, help with the
// closest command for what did not parse, and the operator identity the CLI acts as.
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { authorise } from '../../bot/core/authorise.js';
import { ChatCore, createFormErrors, requesterOf } from '../../bot/core/chat-core.js';
import type { EnvbotCore } from '../../bot/core/core.js';
import type { Actor } from '../../bot/core/model.js';
import { loadCatalogue } from '../../shared/catalogue/load.js';
import type { Store } from '../../shared/store/store.js';
import { repoRoot } from '../support/settings.js';

const catalogue = loadCatalogue(join(repoRoot, 'examples', 'envbot.yaml'), { MONGO_URL: 'mongodb://m', MYSQL_URL: 'mysql://m', POSTGRES_URL: 'postgres://p', REDIS_URL: 'redis://r' }).catalogue;
const operator: Actor = { platform: 'cli', userId: 'alice', groups: [], channel: 'cli' };
const stranger: Actor = { platform: 'slack', userId: 'U0NOBODY00', groups: [], channel: 'C0RANDOM00' };

describe('create form', () => {
  it.each([
    [{}, { project: 'Choose a project.', stage: 'Choose a stage.' }],
    [{ project: 'projz', stage: 'dev' }, { project: expect.stringMatching(/There is no project "projz"\. Projects: proja, projb, projc/) }],
    [{ project: 'projc', stage: 'uat' }, { stage: expect.stringMatching(/Project projc has no stage "uat"\. Its stages: dev, qa/) }],
    [{ project: 'projb', stage: 'qa', suffix: 'Not_OK' }, { suffix: expect.stringMatching(/"Not_OK" is not a valid suffix/) }],
    [{ project: 'projb', stage: 'qa', ttl: 'soon' }, { ttl: expect.stringMatching(/"soon"/) }],
    [{ project: 'projb', stage: 'qa', suffix: '2', ttl: '3d' }, {}],
  ])('%j gets the field errors %j', (form, errors) => {
    expect(createFormErrors(catalogue, form)).toEqual(errors);
  });

  it('starts nothing when the form has errors', async () => {
    const core = { create: () => Promise.reject(new Error('must not be called')) } as unknown as EnvbotCore;
    const chat = new ChatCore({ core, store: {} as Store, catalogue, log: pino({ level: 'silent' }) });
    expect(await chat.submitCreateForm(stranger, { project: 'projb' }, { platform: 'slack', channel: 'C1' })).toEqual({ errors: { stage: 'Choose a stage.' } });
  });
});

describe('text commands', () => {
  const chat = new ChatCore({ core: {} as EnvbotCore, store: {} as Store, catalogue, log: pino({ level: 'silent' }) });

  it('answers a typo with help headed by the closest command', async () => {
    const reply = await chat.handleText(stranger, 'destory projb-qa', { platform: 'slack', channel: 'C1' });
    expect(reply).toMatchObject({ kind: 'help', note: 'unknown command "destory". Did you mean "destroy"?' });
  });

  it('answers help for bad arguments, with what to write', async () => {
    const reply = await chat.handleText(stranger, 'extend projb-qa soon', { platform: 'slack', channel: 'C1' }, 'env');
    expect(reply).toMatchObject({ kind: 'help', note: expect.stringMatching(/"soon"/) });
  });
});

describe('the operator (CLI)', () => {
  it('acts as cli:<user>, with no channel', () => {
    expect(requesterOf(operator)).toEqual({ id: 'cli:alice', platform: 'cli' });
  });

  it('may do everything a project allows anyone, even what its permissions give nobody', () => {
    for (const action of ['create', 'destroy', 'reset', 'extend', 'credentials', 'read'] as const) expect(authorise(catalogue, operator, action, 'projc')).toEqual({ ok: true });
  });

  it('may clean up after a project that left the catalogue, but not create one', () => {
    expect(authorise(catalogue, operator, 'destroy', 'gone')).toEqual({ ok: true });
    expect(authorise(catalogue, operator, 'create', 'gone')).toMatchObject({ ok: false, reason: 'project' });
    // Chat users get no such licence.
    expect(authorise(catalogue, stranger, 'destroy', 'gone')).toMatchObject({ ok: false, reason: 'project' });
  });
});
