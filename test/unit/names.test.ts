// Names: every derived name is deterministic, within its server's limits, and distinct per environment.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidNameError } from '../../shared/errors.js';
import { environmentName, fit, LIMITS, namesFor, parseEnvironmentName, routeUrl, shortHash, workflowId } from '../../shared/names.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SQL_IDENT = /^[a-z0-9_]+$/;

const project = fc.stringMatching(/^[a-z][a-z0-9]{0,12}(-[a-z0-9]{1,8}){0,2}$/).filter((p) => p.length <= LIMITS.project);
const stage = fc.stringMatching(/^[a-z][a-z0-9]{0,14}$/);
const suffix = fc.option(fc.stringMatching(/^[a-z0-9]{1,12}$/), { nil: undefined });
const validEnv = fc
  .tuple(project, stage, suffix)
  .filter(([p, s, x]) => `${p}-${s}${x ? `-${x}` : ''}`.length <= 63)
  .map(([p, s, x]) => environmentName(p, s, x));
const logical = fc.stringMatching(/^[a-z][a-z0-9_-]{0,39}$/);

describe('environmentName', () => {
  it.each([
    ['projb', 'qa', undefined, 'projb-qa'],
    ['proja', 'dev', '2', 'proja-dev-2'],
    ['web-shop', 'uat', undefined, 'web-shop-uat'],
  ])('%s + %s (+ %s) → %s', (p, s, x, expected) => {
    expect(environmentName(p, s, x).name).toBe(expected);
  });

  it.each([
    ['ProjB', 'qa', /not a valid project name/],
    ['projb', 'q_a', /not a valid stage/],
    ['projb', 'qa', /not a valid suffix/, 'x-y'],
    ['1proj', 'qa', /starting with a letter/],
    ['projb-', 'qa', /not a valid project name/],
  ])('refuses %s/%s with a message saying what is allowed', (p, s, message, x?: string) => {
    expect(() => environmentName(p, s, x)).toThrow(message);
  });

  it('is always a DNS-1123 label of at most 63 characters, or refused with InvalidNameError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 20 }), fc.option(fc.string({ maxLength: 14 }), { nil: undefined }), (p, s, x) => {
        try {
          const { name } = environmentName(p, s, x);
          expect(name).toMatch(DNS_LABEL);
          expect(name.length).toBeLessThanOrEqual(63);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidNameError);
          expect((err as Error).message).toMatch(/use|longer/);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('namesFor', () => {
  it('makes the names the brief uses for projb-qa', () => {
    const n = namesFor(environmentName('projb', 'qa'), 'example.com');
    expect(n.namespace).toBe('projb-qa');
    expect(n.volume('media')).toBe('vol-media-projb-qa');
    expect(n.storageDirectory('media')).toBe('/envbot/projb-qa/media');
    expect(n.storageCopyTask('media')).toBe('envbot-projb-qa-media');
    expect(n.storageCleanupJob('media')).toBe('wipe-media-projb-qa');
    expect(workflowId('storage-copy', n.environment)).toBe('envbot/projb-qa/storage-copy');
    expect(n.host('service1')).toBe('service1.projb-qa.example.com');
    expect(n.mongoDatabase('catalog')).toBe('catalog_projb_qa');
    expect(n.mysqlDatabase('shop')).toBe('shop_projb_qa');
    expect(n.postgresDatabase('orders')).toBe('orders_projb_qa');
    expect(n.mysqlUser).toBe('eb_projb_qa');
    expect(workflowId('create', n.environment)).toBe('envbot/projb-qa/create');
  });

  it('keeps every derived name within its limit, valid for its server, and deterministic', () => {
    fc.assert(
      fc.property(validEnv, logical, (env, db) => {
        const a = namesFor(env, 'example.com');
        const b = namesFor(env, 'example.com');
        expect(a.mongoDatabase(db)).toBe(b.mongoDatabase(db));
        expect(a.mongoDatabase(db).length).toBeLessThanOrEqual(LIMITS.mongoDatabase);
        expect(a.mysqlDatabase(db).length).toBeLessThanOrEqual(LIMITS.mysqlDatabase);
        expect(a.mysqlUser.length).toBeLessThanOrEqual(LIMITS.mysqlUser);
        expect(a.postgresDatabase(db).length).toBeLessThanOrEqual(LIMITS.postgresIdentifier);
        expect(a.postgresUser.length).toBeLessThanOrEqual(LIMITS.postgresIdentifier);
        expect(a.postgresDatabase(db)).toMatch(SQL_IDENT);
        expect(a.mysqlUser).toMatch(SQL_IDENT);
        expect(a.volume(db.replace(/_/g, '-'))).toMatch(DNS_LABEL);
        expect(a.volume(db.replace(/_/g, '-')).length).toBeLessThanOrEqual(63);
        expect(a.kubernetesSecret).toMatch(DNS_LABEL);
        // An ACL user name is one argument of ACL SETUSER: no spaces, nothing a rule could start with ('>', '#', '~', '&', '+', '-', '%').
        expect(a.redisUser).toMatch(/^[a-z][a-z0-9-]*$/);
        expect(a.namespace).toBe(env.name);
      }),
      { numRuns: 1000 },
    );
  });

  it('gives two different environments different database users and databases', () => {
    fc.assert(
      fc.property(validEnv, validEnv, logical, (e1, e2, db) => {
        fc.pre(e1.name !== e2.name);
        const a = namesFor(e1, 'example.com');
        const b = namesFor(e2, 'example.com');
        // Hyphen and underscore meet in SQL names ("a-b" and "a_b" are not both valid env names: no '_').
        expect(a.mysqlUser).not.toBe(b.mysqlUser);
        expect(a.postgresUser).not.toBe(b.postgresUser);
        expect(a.redisUser).not.toBe(b.redisUser);
        expect(a.postgresDatabase(db)).not.toBe(b.postgresDatabase(db));
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses a catalogue name it cannot use, saying what is allowed', () => {
    const n = namesFor(environmentName('projb', 'qa'), 'example.com');
    expect(() => n.mongoDatabase('Cat/alog')).toThrow(/lowercase letters, digits/);
    expect(() => n.host('Service_1')).toThrow(InvalidNameError);
  });
});

describe('the way in', () => {
  it('routes a service by its host, or by a path on the environment\'s shared host', () => {
    const n = namesFor(environmentName('projb', 'qa'), 'example.com');
    expect(n.route('service1', 'host')).toEqual({ host: 'service1.projb-qa.example.com' });
    expect(n.route('service1', 'path')).toEqual({ host: 'services.projb-qa.example.com', path: '/service1' });
    expect(routeUrl(n.route('service1', 'path'))).toBe('https://services.projb-qa.example.com/service1');
    expect(n.targetGroup('service1')).toMatch(/^projb-qa-service1-[0-9a-f]{8}$/);
  });

  it('gives every (environment, service) its own target group name of at most 32 characters, even where the plain names would meet', () => {
    // a-qa + b-c and a-qa-b + c are both "a-qa-b-c" written plainly.
    expect(namesFor(environmentName('a', 'qa'), 'example.com').targetGroup('b-c')).not.toBe(namesFor(environmentName('a', 'qa', 'b'), 'example.com').targetGroup('c'));
    fc.assert(
      fc.property(validEnv, logical.filter((l) => /^[a-z][a-z0-9-]*$/.test(l)), (env, service) => {
        const name = namesFor(env, 'example.com').targetGroup(service);
        expect(name.length).toBeLessThanOrEqual(LIMITS.targetGroup);
        // ELBv2's own rule: letters, digits and single hyphens, not at either end.
        expect(name).toMatch(/^(?!.*--)[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]$/);
        expect(namesFor(env, 'example.com').targetGroup(service)).toBe(name);
      }),
    );
  });
});

describe('fit', () => {
  it('leaves names that fit alone and shortens the rest to exactly the limit with a hash', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9_]{0,120}$/), fc.integer({ min: 16, max: 64 }), (name, max) => {
        const out = fit(name, max, '_');
        if (name.length <= max) expect(out).toBe(name);
        else {
          expect(out.length).toBeLessThanOrEqual(max);
          expect(out.endsWith(shortHash(name))).toBe(true);
        }
      }),
    );
  });
});

describe('parseEnvironmentName', () => {
  const projects = ['proja', 'projb', 'web-shop'];
  const stages = ['dev', 'qa', 'uat'];
  it.each([
    ['projb-qa', 'projb', 'qa', undefined],
    ['web-shop-uat', 'web-shop', 'uat', undefined],
    ['proja-dev-2', 'proja', 'dev', '2'],
    [' PROJB-QA ', 'projb', 'qa', undefined],
  ])('reads %s', (text, p, s, x) => {
    const parsed = parseEnvironmentName(text, projects, stages);
    expect([parsed.project, parsed.stage, parsed.suffix]).toEqual([p, s, x]);
  });
  it('says how to write a name it does not know', () => {
    expect(() => parseEnvironmentName('projz-qa', projects, stages)).toThrow(/write <project>-<stage>.*projects: proja, projb, web-shop/);
  });
});
