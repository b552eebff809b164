// Fuzz through the core: 10,000 random command lines and 10,000 random create forms go through the
// chat core and the real EnvbotCore (parse, authorise, form checks, plan, names). None throws; every
// reply is a known kind; and every environment the core would start has names that each server
// accepts. Temporal and the store are the only stand-ins: a client that records the workflow it was
// asked to start and a store that knows no environment (the property is about decisions, not I/O).
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ChatCore } from '../../bot/core/chat-core.js';
import { EnvbotCore } from '../../bot/core/core.js';
import type { Actor, Reply } from '../../bot/core/model.js';
import { loadCatalogue } from '../../shared/catalogue/load.js';
import type { EnvRef } from '../../shared/model.js';
import { environmentName, LIMITS, namesFor } from '../../shared/names.js';
import type { Store } from '../../shared/store/store.js';
import { repoRoot } from '../support/settings.js';

const loaded = loadCatalogue(join(repoRoot, 'examples', 'envbot.yaml'), { MONGO_URL: 'm', MYSQL_URL: 'm', POSTGRES_URL: 'p', REDIS_URL: 'r' });
const catalogue = loaded.catalogue;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SQL_IDENT = /^[a-z0-9_]+$/;
const REPLY_KINDS = new Set<Reply['kind']>(['help', 'error', 'refused', 'started', 'confirm', 'open-create-form', 'list', 'status', 'extended', 'secrets', 'subscribed']);

const started: EnvRef[] = [];
const client = {
  workflow: {
    start: async (_fn: unknown, o: { workflowId: string; args: [{ ref: EnvRef }] }) => {
      started.push(o.args[0].ref);
      return { workflowId: o.workflowId };
    },
    getHandle: () => ({ describe: async () => ({ status: { name: 'COMPLETED' } }), terminate: async () => undefined }),
    signalWithStart: async () => undefined,
  },
};
const store = {
  getEnvironment: async () => undefined,
  listEnvironments: async () => [],
  audit: async () => undefined,
  setExpiry: async () => true,
  firstSeen: async () => true,
  subscribe: async () => undefined,
  unsubscribe: async () => [],
  secretNames: async () => [],
} as unknown as Store;
const core = new EnvbotCore({ client: client as never, store, catalogue, taskQueue: 'fuzz' });
const chat = new ChatCore({ core, store, catalogue, log: pino({ level: 'silent' }) });
// Devops may do everything in every project's channel: the fuzz reaches the deepest paths.
const actor = (channel: string): Actor => ({ platform: 'slack', userId: 'U0OPS000001', groups: ['S0DEVOPS001'], channel });
const channels = fc.constantFrom('C0PROJA0001', 'C0PROJB0001', 'C0PROJC0001', 'C0ELSEWHERE');
/** The channel a project is managed in, most of the time, so authorisation lets many requests through. */
const channelFor = (text: string, other: string) => (/projb/.test(text) ? 'C0PROJB0001' : /projc/.test(text) ? 'C0PROJC0001' : /proja/.test(text) ? 'C0PROJA0001' : other);

/** Words people type: the catalogue's own, commands, near misses, and anything at all. */
const word = fc.oneof(
  fc.constantFrom('create', 'list', 'status', 'destroy', 'reset-db', 'reset', 'extend', 'secrets', 'subscribe', 'unsubscribe', 'help', '--ttl', '—ttl', 'sql', 'all'),
  fc.constantFrom(...Object.keys(catalogue.projects), ...catalogue.stages, 'projb-qa', 'proja-dev-2', 'projc-qa-x', '3d', '0m', '99999w'),
  fc.stringMatching(/^[a-z0-9-]{1,14}$/),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
);
const anyLine = fc.array(word, { maxLength: 6 }).map((w) => w.join(' '));
/** Lines close to a real create, so that many reach the engine: any project, stage and suffix, maybe a ttl. */
const createLine = fc
  .tuple(fc.constantFrom(...Object.keys(catalogue.projects), 'projz'), fc.constantFrom(...catalogue.stages, 'prod'), fc.option(fc.oneof(fc.stringMatching(/^[a-z0-9]{1,12}$/), word), { nil: undefined }), fc.option(fc.constantFrom('3d', '30d', '31d', '30m', 'x'), { nil: undefined }))
  .map(([p, st, suffix, ttl]) => ['create', p, st, ...(suffix ? [suffix] : []), ...(ttl ? ['--ttl', ttl] : [])].join(' '));
const line = fc.oneof(anyLine, createLine);

function checkNames(ref: EnvRef): void {
  const env = environmentName(ref.project, ref.stage, ref.suffix);
  expect(env.name).toBe(ref.environment);
  const n = namesFor(env, catalogue.baseDomain);
  expect(n.namespace).toMatch(DNS_LABEL);
  expect(n.namespace.length).toBeLessThanOrEqual(LIMITS.label);
  expect(n.kubernetesSecret).toMatch(DNS_LABEL);
  expect(n.mysqlUser).toMatch(SQL_IDENT);
  expect(n.mysqlUser.length).toBeLessThanOrEqual(LIMITS.mysqlUser);
  expect(n.postgresUser.length).toBeLessThanOrEqual(LIMITS.postgresIdentifier);
  expect(n.mongoUser.length).toBeLessThanOrEqual(LIMITS.mongoDatabase);
  const project = catalogue.projects[ref.project]!;
  for (const [db, d] of Object.entries(project.databases)) {
    const physical = d.engine === 'mongo' ? n.mongoDatabase(db) : d.engine === 'mysql' ? n.mysqlDatabase(db) : n.postgresDatabase(db);
    expect(physical).toMatch(SQL_IDENT);
    expect(physical.length).toBeLessThanOrEqual(d.engine === 'mysql' ? LIMITS.mysqlDatabase : LIMITS.postgresIdentifier);
  }
  for (const svc of Object.values(project.services)) for (const h of svc.hosts) expect(n.host(h).length).toBeLessThanOrEqual(LIMITS.dnsName);
}

describe('fuzz through the chat core', () => {
  it('answers 10,000 random command lines with a known reply, never a throw, and valid names', async () => {
    started.length = 0;
    await fc.assert(
      fc.asyncProperty(line, channels, fc.boolean(), async (text, other, own) => {
        const channel = own ? channelFor(text, other) : other;
        const reply = await chat.handleText(actor(channel), text, { platform: 'slack', channel });
        expect(REPLY_KINDS.has(reply.kind)).toBe(true);
        // Nothing unexpected: an unexpected error would come back as the generic "went wrong" reply.
        if (reply.kind === 'error') expect(reply.text).not.toMatch(/Something went wrong on envbot's side/);
      }),
      { numRuns: 10_000 },
    );
    expect(started.length).toBeGreaterThan(100); // many reach the engine, not a handful
    for (const ref of started) checkNames(ref);
  }, 120_000);

  it('answers 10,000 random create forms with field errors or a create, and valid names', async () => {
    started.length = 0;
    const field = fc.option(fc.oneof(word, fc.constantFrom('2', 'hotfix', 'x'.repeat(13), '7d', '31d')), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(fc.option(fc.constantFrom(...Object.keys(catalogue.projects)), { nil: undefined }), field, fc.option(fc.constantFrom(...catalogue.stages), { nil: undefined }), field, field, field, channels, async (known, typed, knownStage, typedStage, suffix, ttl, other) => {
        const project = known ?? typed;
        const stage = knownStage ?? typedStage;
        const channel = project ? channelFor(project, other) : other;
        const form = { ...(project ? { project } : {}), ...(stage ? { stage } : {}), ...(suffix ? { suffix } : {}), ...(ttl ? { ttl } : {}) };
        const outcome = await chat.submitCreateForm(actor(channel), form, { platform: 'slack', channel });
        if ('errors' in outcome) {
          expect(Object.keys(outcome.errors).length).toBeGreaterThan(0);
          for (const [key, text] of Object.entries(outcome.errors)) {
            expect(['project', 'stage', 'suffix', 'ttl']).toContain(key);
            expect(typeof text === 'string' && text.length > 0).toBe(true);
          }
        } else {
          expect(REPLY_KINDS.has(outcome.reply.kind)).toBe(true);
          if (outcome.reply.kind === 'error') expect(outcome.reply.text).not.toMatch(/Something went wrong on envbot's side/);
        }
      }),
      { numRuns: 10_000 },
    );
    expect(started.length).toBeGreaterThan(100); // many reach the engine, not a handful
    for (const ref of started) checkNames(ref);
  }, 120_000);
});
