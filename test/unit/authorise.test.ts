// Authorisation: groups (nested, cyclic), "*", Slack and Teams principals, channel restrictions,
// unknown projects and empty permission lists, over a small catalogue and the example one.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allowedActions, authorise } from '../../bot/core/authorise.js';
import type { Actor } from '../../bot/core/model.js';
import { loadCatalogue, parseCatalogue } from '../../shared/catalogue/load.js';
import { ACTIONS, type Action, type Catalogue } from '../../shared/catalogue/schema.js';
import { repoRoot } from '../support/settings.js';

const TEAMS_PM = '3f2b8c1e-7a4d-4e9b-9c2a-1d5e6f7a8b9c';
const TEAMS_OTHER = '00000000-0000-4000-8000-000000000001';
const ENTRA_OPS = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const TEAMS_CHANNEL = '19:projc0channel@thread.tacv2';

const YAML = `
version: 1
baseDomain: example.com
stages: [dev, qa]
servers: {}
dns: { privateZone: example.com, vpcId: vpc-1, target: lb.example.com }
groups:
  pm: [slack:UPM1, "teams:${TEAMS_PM}"]
  devops: [slack:UOPS1, slack-group:SOPS, "teams-group:${ENTRA_OPS}"]
  leads: [group:pm, slack:ULEAD1]
  seniors: [group:leads]
  loop-a: [slack:ULOOPA, group:loop-b]
  loop-b: [group:loop-a, slack:ULOOPB]
  self: [group:self]
  everyone: ["*"]
projects:
  projb:
    channels: { slack: [CPROJB1, CPROJB2] }
    permissions:
      create: [group:seniors, group:devops]
      destroy: [group:devops, slack:UPM1]
      reset: [group:loop-a]
      extend: [group:everyone]
      credentials: []
      read: ["*"]
    services:
      service1: { template: t.yaml.hbs, image: nginx, port: 8080, hosts: [service1] }
  projc:
    channels: { teams: ["${TEAMS_CHANNEL}"] }
    permissions:
      create: ["teams:${TEAMS_PM}", "teams-group:${ENTRA_OPS}"]
      destroy: [group:self]
      read: ["*"]
    services:
      shop: { template: t.yaml.hbs, image: nginx, port: 3000, hosts: [shop] }
  proja:
    permissions:
      read: [slack:UREAD]
    services:
      web: { template: t.yaml.hbs, image: nginx, port: 8080, hosts: [web] }
`;

function small(): Catalogue {
  const dir = mkdtempSync(join(tmpdir(), 'envbot-authorise-'));
  writeFileSync(join(dir, 't.yaml.hbs'), 'kind: ConfigMap\n');
  return parseCatalogue(YAML, join(dir, 'envbot.yaml')).catalogue;
}

const catalogue = small();

const slack = (userId: string, channel = 'CPROJB1', groups: string[] = []): Actor => ({ platform: 'slack', userId, groups, channel });
const teams = (userId: string, groups: string[] = [], channel = TEAMS_CHANNEL): Actor => ({ platform: 'teams', userId, groups, channel });

describe('authorise: principals', () => {
  it.each<[string, Actor, Action, string, boolean]>([
    ['a group member (pm via seniors → leads → pm)', slack('UPM1'), 'create', 'projb', true],
    ['a member of a nested group (leads via seniors)', slack('ULEAD1'), 'create', 'projb', true],
    ['a direct group member (devops)', slack('UOPS1'), 'create', 'projb', true],
    ['someone in no group', slack('UNOBODY'), 'create', 'projb', false],
    ['a Slack user named directly', slack('UPM1'), 'destroy', 'projb', true],
    ['a lead, not named for destroy', slack('ULEAD1'), 'destroy', 'projb', false],
    ['a Slack user group member (devops via SOPS)', slack('UANY', 'CPROJB2', ['SOTHER', 'SOPS']), 'destroy', 'projb', true],
    ['someone in other Slack user groups', slack('UANY', 'CPROJB2', ['SOTHER']), 'destroy', 'projb', false],
    ['"*" lets anyone read', slack('UNOBODY'), 'read', 'projb', true],
    ['"*" inside a group lets anyone extend', slack('UNOBODY'), 'extend', 'projb', true],
    ['a member of a group cycle, from the first group', slack('ULOOPA'), 'reset', 'projb', true],
    ['a member of a group cycle, through the cycle', slack('ULOOPB'), 'reset', 'projb', true],
    ['an outsider to a group cycle (no endless loop)', slack('UNOBODY'), 'reset', 'projb', false],
    ['an outsider to a group that contains only itself', teams(TEAMS_OTHER), 'destroy', 'projc', false],
    ['a Teams user named directly', teams(TEAMS_PM), 'create', 'projc', true],
    ['a Teams user written in upper case by Teams', teams(TEAMS_PM.toUpperCase()), 'create', 'projc', true],
    ['an Entra ID group member', teams(TEAMS_OTHER, [ENTRA_OPS]), 'create', 'projc', true],
    ['an Entra ID group member whose group id comes in upper case', teams(TEAMS_OTHER, [ENTRA_OPS.toUpperCase()]), 'create', 'projc', true],
    ['a Teams user in other groups', teams(TEAMS_OTHER, [TEAMS_PM]), 'create', 'projc', false],
    ['a Teams pm through group:pm', teams(TEAMS_PM, [], 'any-teams-chat'), 'create', 'projb', true],
    ['a Slack user with a Teams user\'s id', slack(TEAMS_PM, 'C1'), 'create', 'projc', false],
    ['a Teams user with a Slack user\'s id', teams('UPM1', [], 'x'), 'destroy', 'projb', false],
    ['a Teams user in a group with a Slack user group\'s id', teams(TEAMS_OTHER, ['SOPS'], 'x'), 'destroy', 'projb', false],
    ['a Slack user named for read, in a project without channels', slack('UREAD', 'CANY'), 'read', 'proja', true],
    ['a Slack user in a DM, in a project without channels', slack('UREAD', 'D0DM'), 'read', 'proja', true],
  ])('%s → %s', (_what, actor, action, project, ok) => {
    expect(authorise(catalogue, actor, action, project).ok).toBe(ok);
  });
});

describe('authorise: refusals say why and who may', () => {
  it('refuses someone not allowed, naming the principals as written', () => {
    expect(authorise(catalogue, slack('ULEAD1'), 'destroy', 'projb')).toEqual({
      ok: false,
      reason: 'action',
      allowed: ['group:devops', 'slack:UPM1'],
      text: 'You may not destroy projb environments. Ask: group devops, Slack user UPM1.',
    });
  });

  it.each<[Action, string, Actor, string]>([
    ['create', 'projc', teams(TEAMS_OTHER), `You may not create projc environments. Ask: Teams user ${TEAMS_PM}, Entra ID group ${ENTRA_OPS}.`],
    ['reset', 'projb', slack('UNOBODY'), 'You may not reset the databases of projb environments. Ask: group loop-a.'],
    ['read', 'proja', slack('UNOBODY', 'CANY'), 'You may not see proja environments. Ask: Slack user UREAD.'],
    ['create', 'projb', slack('UNOBODY', 'CPROJB2', ['SX']), 'You may not create projb environments. Ask: group seniors, group devops.'],
  ])('%s in %s', (action, project, actor, text) => {
    const result = authorise(catalogue, actor, action, project);
    expect(result).toMatchObject({ ok: false, reason: 'action', text });
  });

  it.each<[Action, string, Actor, string]>([
    ['credentials', 'projb', slack('UOPS1'), 'see the credentials of'],
    ['refresh', 'projb', slack('UOPS1'), 'refresh the storage of'],
    ['extend', 'proja', slack('UREAD', 'CANY'), 'extend'],
  ])('refuses %s in %s to everyone when its list is empty or missing', (action, project, actor, doing) => {
    expect(authorise(catalogue, actor, action, project)).toEqual({
      ok: false,
      reason: 'action',
      allowed: [],
      text: `Nobody may ${doing} ${project} environments; ask an envbot admin to add people to envbot.yaml (projects.${project}.permissions.${action}).`,
    });
  });

  it('refuses an unknown project, naming the projects', () => {
    expect(authorise(catalogue, slack('UPM1'), 'read', 'projx')).toEqual({
      ok: false,
      reason: 'project',
      allowed: [],
      text: 'There is no project "projx". Projects: projb, projc, proja.',
    });
  });

  it.each(['constructor', '__proto__', 'toString'])('treats %s as an unknown project, not an inherited property', (project) => {
    expect(authorise(catalogue, slack('UPM1'), 'read', project)).toMatchObject({ ok: false, reason: 'project' });
  });

  it('refuses a Slack channel the project is not managed in, naming its channels', () => {
    expect(authorise(catalogue, slack('UOPS1', 'COTHER'), 'create', 'projb')).toEqual({
      ok: false,
      reason: 'channel',
      allowed: ['group:seniors', 'group:devops'],
      text: 'projb environments are managed in its Slack channels <#CPROJB1> or <#CPROJB2>; ask there.',
    });
  });

  it('refuses a Teams channel the project is not managed in; its Slack channel list does not apply', () => {
    expect(authorise(catalogue, teams(TEAMS_PM, [], 'other-channel'), 'create', 'projc')).toMatchObject({
      ok: false,
      reason: 'channel',
      text: `projc environments are managed in its Teams channel ${TEAMS_CHANNEL}; ask there.`,
    });
    // projc names no Slack channel: any Slack channel may be used (permissions still apply).
    expect(authorise(catalogue, slack('UNOBODY', 'CANY'), 'read', 'projc').ok).toBe(true);
    // projb names no Teams channel.
    expect(authorise(catalogue, teams(TEAMS_PM, [], 'anywhere'), 'create', 'projb').ok).toBe(true);
  });

  it('checks the channel before the permission, even for read and for actions nobody may do', () => {
    expect(authorise(catalogue, slack('UNOBODY', 'D0DM'), 'read', 'projb')).toMatchObject({ reason: 'channel' });
    expect(authorise(catalogue, slack('UOPS1', 'D0DM'), 'credentials', 'projb')).toMatchObject({ reason: 'channel', allowed: [] });
  });

  it('matches nobody through a group that is not defined (the loader refuses it; a hand-built catalogue may not)', () => {
    const broken: Catalogue = {
      ...catalogue,
      projects: { ...catalogue.projects, projb: { ...catalogue.projects.projb!, permissions: { read: ['group:ghosts'] } } },
    };
    expect(authorise(broken, slack('UPM1'), 'read', 'projb')).toMatchObject({ ok: false, reason: 'action', allowed: ['group:ghosts'] });
  });
});

describe('allowedActions', () => {
  it.each<[string, Actor, string, Action[]]>([
    ['a devops member in projb', slack('UOPS1'), 'projb', ['create', 'destroy', 'extend', 'read']],
    ['a pm in projb', slack('UPM1'), 'projb', ['create', 'destroy', 'extend', 'read']],
    ['a lead in projb', slack('ULEAD1'), 'projb', ['create', 'extend', 'read']],
    ['a cycle member in projb', slack('ULOOPB'), 'projb', ['reset', 'extend', 'read']],
    ['anyone in projb', slack('UNOBODY'), 'projb', ['extend', 'read']],
    ['anyone in the wrong channel', slack('UOPS1', 'COTHER'), 'projb', []],
    ['a Teams pm in projc', teams(TEAMS_PM), 'projc', ['create', 'read']],
    ['a Teams pm in projc, outside its channel', teams(TEAMS_PM, [], 'elsewhere'), 'projc', []],
    ['anyone in an unknown project', slack('UOPS1'), 'projx', []],
    ['the named reader in proja', slack('UREAD', 'CANY'), 'proja', ['read']],
  ])('%s', (_what, actor, project, actions) => {
    const allowed = allowedActions(catalogue, actor, project);
    expect([...allowed].sort()).toEqual([...actions].sort());
    for (const action of ACTIONS) expect(allowed.has(action)).toBe(authorise(catalogue, actor, action, project).ok);
  });
});

describe('authorise: the example catalogue', () => {
  const example = loadCatalogue(join(repoRoot, 'examples', 'envbot.yaml'), {
    MONGO_URL: 'mongodb://m',
    MYSQL_URL: 'mysql://m',
    POSTGRES_URL: 'postgres://p',
    REDIS_URL: 'redis://r',
  }).catalogue;

  it.each<[string, Actor, string, Action[]]>([
    // `refresh` only where there is storage: projb.
    ['a pm in projb', slack('U0PM0000002', 'C0PROJB0001'), 'projb', ['create', 'reset', 'extend', 'refresh', 'read']],
    ['the pm named for destroy in projb', slack('U0PM0000001', 'C0PROJB0002'), 'projb', ['create', 'destroy', 'reset', 'extend', 'refresh', 'read']],
    ['devops (Slack user group) in projb', slack('U0SOMEONE01', 'C0PROJB0001', ['S0DEVOPS001']), 'projb', [...ACTIONS]],
    ['a pm in projb, in proja\'s channel', slack('U0PM0000001', 'C0PROJA0001'), 'projb', []],
    ['anyone in proja', slack('U0SOMEONE01', 'C0PROJA0001'), 'proja', ['read']],
    ['the Teams pm in projc (no Teams channels listed)', teams(TEAMS_PM, [], 'any'), 'projc', ['create', 'extend', 'read']],
    ['the Teams pm in projb (no Teams channels listed)', teams(TEAMS_PM, [], 'any'), 'projb', ['create', 'reset', 'extend', 'refresh', 'read']],
  ])('%s', (_what, actor, project, actions) => {
    expect([...allowedActions(example, actor, project)].sort()).toEqual([...actions].sort());
  });

  it('tells a pm who may destroy projb environments', () => {
    expect(authorise(example, slack('U0PM0000002', 'C0PROJB0001'), 'destroy', 'projb')).toEqual({
      ok: false,
      reason: 'action',
      allowed: ['group:devops', 'slack:U0PM0000001'],
      text: 'You may not destroy projb environments. Ask: group devops, Slack user U0PM0000001.',
    });
  });
});
