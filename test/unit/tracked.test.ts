// Services that follow a branch: the catalogue's repository, path and default branch, refused when
// wrong at load with what to write; the branch a create or /env track may ask for; repository URLs
// of a push matched to the catalogue's.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../shared/catalogue/load.js';
import { branchNameProblem, repositoryKey, templateAt, trackedSource } from '../../shared/catalogue/tracked.js';
import { CatalogueError } from '../../shared/errors.js';

const catalogue = (service: string) => `
version: 1
baseDomain: example.com
stages: [dev, qa]
servers: {}
dns: { privateZone: example.com, vpcId: vpc-1, target: lb.example.com }
projects:
  projb:
    services:
      service1: ${service}
`;

function load(service: string) {
  const dir = mkdtempSync(join(tmpdir(), 'envbot-tracked-'));
  writeFileSync(join(dir, 't.yaml.hbs'), 'kind: ConfigMap\n');
  const file = join(dir, 'envbot.yaml');
  writeFileSync(file, catalogue(service));
  return loadCatalogue(file, {});
}

function problems(service: string): string[] {
  try {
    load(service);
  } catch (err) {
    if (err instanceof CatalogueError) return err.problems.map((p) => `${p.path}: ${p.problem}`);
    throw err;
  }
  return [];
}

const GIT = 'git+https://github.com/example/apps.git#main:projb/service1.yaml.hbs';

describe('the catalogue: repository, path and default branch of a service', () => {
  it('a git template at a branch is followed: repository, path, default branch', () => {
    const s = load(`{ template: "${GIT}", image: nginx, port: 80, hosts: [service1] }`).catalogue.projects.projb!.services.service1!;
    expect(trackedSource(s)).toEqual({ repo: 'https://github.com/example/apps.git', path: 'projb/service1.yaml.hbs', defaultBranch: 'main' });
    expect(templateAt(s, 'feature/x')).toEqual({ kind: 'git', repo: 'https://github.com/example/apps.git', ref: 'feature/x', path: 'projb/service1.yaml.hbs', raw: 'git+https://github.com/example/apps.git#feature/x:projb/service1.yaml.hbs' });
    expect(templateAt(s, 'main')).toBe(s.template);
  });

  it('a disk template or a git template at a commit id follows no branch', () => {
    expect(trackedSource(load('{ template: t.yaml.hbs, image: nginx, port: 80, hosts: [service1] }').catalogue.projects.projb!.services.service1!)).toBeUndefined();
    const pinned = `git+https://github.com/example/apps.git#${'a'.repeat(40)}:s.yaml.hbs`;
    expect(trackedSource(load(`{ template: "${pinned}", image: nginx, port: 80, hosts: [service1] }`).catalogue.projects.projb!.services.service1!)).toBeUndefined();
  });

  it.each([
    ['branch on a disk template', '{ template: t.yaml.hbs, branch: develop, image: nginx, port: 80, hosts: [service1] }', /services\.service1\.branch: a service follows a branch only when its template is in git: write the template as git\+https:\/\/<host>\/<repo>\.git#develop:<path>/],
    ['branch other than the template ref', `{ template: "${GIT}", branch: develop, image: nginx, port: 80, hosts: [service1] }`, /services\.service1\.branch: "develop" differs from the template's branch "main"/],
    ['a repository with a token in its URL', '{ template: "git+https://x:ghp_secret@github.com/o/r.git#main:a", image: nginx, port: 80, hosts: [service1] }', /has credentials in its URL/],
    ['a branch that is an option', '{ template: "git+https://github.com/o/r.git#--upload-pack=x:a", image: nginx, port: 80, hosts: [service1] }', /is not a ref envbot accepts/],
    ['a path that leaves the repository', '{ template: "git+https://github.com/o/r.git#main:../a", image: nginx, port: 80, hosts: [service1] }', /may not have a "\." or "\.\." part/],
  ])('refuses %s, saying what to write', (_what, service, message) => {
    const found = problems(service);
    expect(found.join('\n')).toMatch(message);
    expect(found.join('\n')).not.toContain('ghp_secret');
  });

  it('accepts branch written the same as the template ref', () => {
    expect(problems(`{ template: "${GIT}", branch: main, image: nginx, port: 80, hosts: [service1] }`)).toEqual([]);
  });
});

describe('a branch to follow', () => {
  it.each(['main', 'feature/x', 'release/2024.1', 'fix_1'])('accepts %s', (b) => expect(branchNameProblem(b)).toBeUndefined());
  it.each(['-x', '--upload-pack=evil', 'a..b', 'a/', '.hidden', 'x.lock', 'a b', 'a'.repeat(40)])('refuses %s', (b) => expect(branchNameProblem(b)).toBeDefined());
});

describe('repository URLs of a push matched to the catalogue', () => {
  it.each([
    ['https://github.com/Example/apps.git', 'github.com/Example/apps'],
    ['https://github.com/Example/apps', 'github.com/Example/apps'],
    ['git@github.com:Example/apps.git', 'github.com/Example/apps'],
    ['ssh://git@GitHub.com/Example/apps.git', 'github.com/Example/apps'],
    ['git://github.com/Example/apps.git', 'github.com/Example/apps'],
    ['file:///srv/git/apps.git', '/srv/git/apps'],
  ])('%s → %s', (url, key) => expect(repositoryKey(url)).toBe(key));
  it('another repository does not match', () => expect(repositoryKey('https://github.com/example/apps2.git')).not.toBe(repositoryKey('https://github.com/example/apps.git')));
});

describe('the create form asks a branch per service that follows one', () => {
  it('has one optional field per such service, its default as placeholder; a bad branch is a field error', async () => {
    const { createModal } = await import('../../bot/slack/blocks/form.js');
    const { createFormErrors } = await import('../../bot/core/chat-core.js');
    const modal = createModal({ kind: 'open-create-form', ephemeral: true, projects: [{ name: 'projb', stages: ['qa'], services: ['service1'], branches: [{ service: 'service1', defaultBranch: 'main' }] }] }, '{}');
    const field = modal.blocks.find((b) => b.block_id === 'branch:service1') as { optional?: boolean; element: { placeholder?: { text: string } } } | undefined;
    expect(field?.optional).toBe(true);
    expect(field?.element.placeholder?.text).toBe('default: main');
    const c = load(`{ template: "${GIT}", image: nginx, port: 80, hosts: [service1] }`).catalogue;
    expect(createFormErrors(c, { project: 'projb', stage: 'qa', branches: { service1: 'feature/x' } })).toEqual({});
    expect(createFormErrors(c, { project: 'projb', stage: 'qa', branches: { service1: '--upload-pack=x' } })['branch:service1']).toMatch(/not a branch name envbot accepts/);
  });
});
