// The resource table is the one list of what an environment is made of: create's steps, destroy's
// (the exact reverse), reset's and the titles all come from its rows, and every activity a row
// names is one the worker registers.
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { loadCatalogue } from '../../shared/catalogue/load.js';
import {
  createSteps,
  creationOrder,
  destroySteps,
  destructionOrder,
  prerequisites,
  RESOURCES,
  resetRows,
  resetSteps,
  rowsFor,
  seedsOnCreate,
  stepTitle,
  tableActivities,
  type EnvironmentPlan,
} from '../../shared/resources.js';
import { Store } from '../../shared/store/store.js';
import { planFor } from '../../bot/core/plan.js';
import { repoRoot } from '../support/settings.js';

const SERVERS = { MONGO_URL: 'mongodb://x', MYSQL_URL: 'mysql://x', POSTGRES_URL: 'postgres://x', REDIS_URL: 'redis://x' };
const everything: EnvironmentPlan = { mongo: true, mysql: true, postgres: true, redis: true, storage: ['media'], loadBalancer: true, vpn: true, monitoring: true, warnBefore: '1d' };
const nothing: EnvironmentPlan = { mongo: false, mysql: false, postgres: false, redis: false, warnBefore: '1d' };

function registeredActivities(): string[] {
  const kube = new KubeConfig();
  kube.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const store = new Store('postgres://nobody@127.0.0.1:1/none', []);
  const activities = createActivities({
    workerId: 'unit',
    catalogue: loadCatalogue(join(repoRoot, 'examples', 'envbot.yaml'), SERVERS),
    store,
    log: pino({ level: 'silent' }),
    kube,
    aws: { region: 'us-east-1' },
    chat: { send: async () => 'ref' },
  });
  void store.close();
  return Object.keys(activities);
}

describe('the resource table', () => {
  it('has one row per resource, each id once', () => {
    const ids = RESOURCES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('makes destroy the exact reverse of creation, from the same rows', () => {
    const created = creationOrder().map((r) => r.id);
    expect(destructionOrder().map((r) => r.id)).toEqual([...created].reverse());
    // The steps shown to people come from the same rows, bookkeeping at both ends.
    // After the last row, the wait for the services (where the run took its patch), then ready.
    expect(createSteps(everything).map((s) => s.id)).toEqual(['claim', ...created, 'rollout', 'ready']);
    expect(createSteps(everything, rowsFor(everything), false, false).map((s) => s.id)).toEqual(['claim', ...created, 'ready']);
    // A plan with S3 or git sources fetches them right after the claim (where the run took the patch).
    expect(createSteps({ ...everything, sources: true }).map((s) => s.id)).toEqual(['claim', 'sources', ...created, 'rollout', 'ready']);
    expect(createSteps({ ...everything, sources: true }, rowsFor(everything), false).map((s) => s.id)).toEqual(['claim', ...created, 'rollout', 'ready']);
    expect(destroySteps('destroy').map((s) => s.id)).toEqual(['begin', ...[...created].reverse(), 'done']);
    // Creation goes by phase: nothing runs before a row of an earlier phase.
    const phases = creationOrder().map((r) => r.phase);
    expect(phases).toEqual([...phases].sort((a, b) => ['before', 'parallel', 'after'].indexOf(a) - ['before', 'parallel', 'after'].indexOf(b)));
  });

  it('starts each row once what it needs is built (runs from the rows-by-need patch on)', () => {
    const order = creationOrder().map((r) => r.id);
    // A row needs only rows made before it, named by their ids.
    for (const row of RESOURCES) for (const id of row.needs ?? []) expect(order.indexOf(id), `${row.id} needs ${id}`).toBeGreaterThanOrEqual(0);
    for (const row of RESOURCES) for (const id of row.needs ?? []) expect(order.indexOf(id), `${row.id} needs ${id}`).toBeLessThan(order.indexOf(row.id));
    const all = rowsFor(everything);
    const needs = Object.fromEntries(all.map((r) => [r.id, prerequisites(r, all)]));
    expect(needs).toEqual({
      secrets: [],
      mongo: ['secrets'],
      mysql: ['secrets'],
      postgres: ['secrets'],
      redis: ['secrets'],
      dns: ['secrets'],
      'load-balancer': ['secrets'],
      vpn: ['secrets'],
      namespace: ['secrets'],
      // The Secret holds Redis's index; the claims live in the namespace; the copy reads the access point.
      credentials: ['secrets', 'redis', 'namespace'],
      storage: ['secrets', 'namespace'],
      'storage-copy': ['secrets', 'storage'],
      // The services wait for what they use, not for the ways in (DNS, load balancer, VPN).
      manifests: ['secrets', 'mongo', 'mysql', 'postgres', 'redis', 'namespace', 'credentials', 'storage'],
      monitoring: ['secrets', 'manifests'],
    });
    // A need the plan does not have is not waited for.
    const bare = rowsFor(nothing);
    expect(prerequisites(bare.find((r) => r.id === 'manifests')!, bare)).toEqual(['secrets', 'namespace', 'credentials']);
    // A row without needs waits for its phase, as runs before the patch did.
    const after = { ...RESOURCES.find((r) => r.id === 'monitoring')!, needs: undefined };
    const rows = [...all.filter((r) => r.id !== 'monitoring'), after];
    expect(prerequisites(after, rows)).toEqual(rows.filter((r) => r.id !== 'monitoring').map((r) => r.id));
    expect(() => prerequisites(after, bare)).toThrow(/not one of the plan's rows/);
  });

  it('names only activities the worker registers, each as a create and delete pair', () => {
    const registered = registeredActivities();
    for (const name of tableActivities()) expect(registered, `activity ${name}`).toContain(name);
    for (const row of RESOURCES) {
      expect(row.create, row.id).toMatch(/^(create|apply)/);
      expect(row.delete, row.id).toMatch(/^delete/);
    }
  });

  it('includes a row only when the plan has it', () => {
    expect(rowsFor(nothing).map((r) => r.id)).toEqual(['secrets', 'dns', 'namespace', 'credentials', 'manifests']);
    expect(rowsFor({ ...nothing, mysql: true }).map((r) => r.id)).toContain('mysql');
    // The plan itself comes from the catalogue: projc has MongoDB and MySQL, no PostgreSQL or Redis.
    const catalogue = loadCatalogue(join(repoRoot, 'examples', 'envbot.yaml'), SERVERS).catalogue;
    const projc = rowsFor(planFor(catalogue, 'projc', 'dev')).map((r) => r.id);
    expect(projc).toEqual(expect.arrayContaining(['mongo', 'mysql']));
    expect(projc).not.toContain('postgres');
    // Storage volumes: projb has one, made after the namespace and before the services that mount it.
    const projb = rowsFor(planFor(catalogue, 'projb', 'qa')).map((r) => r.id);
    // Monitoring: projb has a monitoring block, made after the services (its alerts name their Deployments).
    expect(projb.slice(projb.indexOf('namespace'))).toEqual(['namespace', 'credentials', 'storage', 'storage-copy', 'manifests', 'monitoring']);
    expect(projc).not.toContain('storage');
    expect(projc).not.toContain('monitoring');
    // Only a project with a seed or template in S3 or git fetches sources first.
    expect(planFor(catalogue, 'projb', 'qa').sources).toBeUndefined();
    const remote = structuredClone(catalogue);
    remote.projects.projb!.redis!.seed = { kind: 's3', bucket: 'seeds', prefix: 'projb/redis.json', raw: 's3://seeds/projb/redis.json' };
    expect(planFor(remote, 'projb', 'qa').sources).toBe(true);
  });

  it('seeds on create only the rows the plan says have a seed (every row in plans made before that)', () => {
    const catalogue = loadCatalogue(join(repoRoot, 'examples', 'envbot.yaml'), SERVERS).catalogue;
    const seeded = (plan: EnvironmentPlan) => rowsFor(plan).filter((r) => seedsOnCreate(plan, r)).map((r) => r.id);
    expect(seeded(planFor(catalogue, 'projb', 'qa'))).toEqual(['mongo', 'mysql', 'postgres', 'redis']);
    // Without seed folders or a Redis seed file, the databases are made empty (createRedis empties the index it claims), with no seed step.
    const bare = structuredClone(catalogue);
    for (const db of Object.values(bare.projects.projb!.databases)) delete db.seed;
    delete bare.projects.projb!.redis!.seed;
    expect(seeded(planFor(bare, 'projb', 'qa'))).toEqual([]);
    // One seeded engine is enough for its row.
    bare.projects.projb!.databases.shop!.seed = catalogue.projects.projb!.databases.shop!.seed;
    expect(seeded(planFor(bare, 'projb', 'qa'))).toEqual([catalogue.projects.projb!.databases.shop!.engine]);
    bare.projects.projb!.redis!.seed = catalogue.projects.projb!.redis!.seed;
    expect(seeded(planFor(bare, 'projb', 'qa'))).toEqual([catalogue.projects.projb!.databases.shop!.engine, 'redis']);
    // A plan recorded before `seeded` existed seeds every row, as its run did.
    expect(seeded(everything)).toEqual(['mongo', 'mysql', 'postgres', 'redis']);
  });

  it('marks the rows added since 0.1 with a patch, so workflows recorded before them replay', () => {
    expect(RESOURCES.filter((r) => r.patch).map((r) => [r.id, r.patch])).toEqual([
      ['load-balancer', 'load-balancer-rules'],
      ['vpn', 'vpn-access'],
      ['storage', 'storage-volumes'],
      ['storage-copy', 'storage-volumes'],
      ['monitoring', 'monitoring-objects'],
    ]);
  });

  it.each([
    ['sql', ['mysql', 'postgres']],
    ['mongo', ['mongo']],
    ['redis', ['redis']],
    ['all', ['mongo', 'mysql', 'postgres', 'redis']],
  ] as const)('resets %s by re-seeding %j and nothing else', (which, ids) => {
    const rows = resetRows(everything, which);
    expect(rows.map((r) => r.id)).toEqual(ids);
    expect(resetSteps(rows).map((s) => s.id)).toEqual(['begin', ...ids, 'done']);
    expect(resetSteps(rows, true).map((s) => s.id)).toEqual(['begin', 'sources', ...ids, 'done']);
    expect(resetRows({ ...everything, mysql: false }, which).map((r) => r.id)).toEqual(ids.filter((id) => id !== 'mysql'));
  });

  it('gives every step a title', () => {
    for (const row of RESOURCES) expect(stepTitle(row.id)).toBe(row.title);
    expect(stepTitle('claim')).toBe('Reserve the environment');
  });
});
