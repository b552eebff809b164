// What `status` shows of an environment: only what the ledger says it has, named as the catalogue
// names it, and nothing while it is not whole.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { statusCard } from '../../bot/core/status-card.js';
import { loadCatalogue } from '../../shared/catalogue/load.js';
import type { EnvironmentRecord, EnvironmentState, LedgerEntry } from '../../shared/store/store.js';
import { repoRoot } from '../support/settings.js';

const catalogue = loadCatalogue(join(repoRoot, 'examples', 'envbot.yaml'), { MONGO_URL: 'mongodb://m', MYSQL_URL: 'mysql://m', POSTGRES_URL: 'postgres://p', REDIS_URL: 'redis://r' }).catalogue;

const record = (state: EnvironmentState, o: Partial<EnvironmentRecord> = {}): EnvironmentRecord => ({
  name: 'projc-dev-x1', project: 'projc', stage: 'dev', suffix: 'x1', state, spec: {}, createdBy: 'cli:alice',
  createdAt: new Date(0), updatedAt: new Date(0), expiresAt: new Date('2026-12-15T00:00:00Z'), workflowId: null, lastError: null, sources: {}, ...o,
});
const entry = (kind: string, name: string): LedgerEntry => ({ environment: 'projc-dev-x1', kind, name, location: 'somewhere' });
const built = [
  entry('dns-record', 'shop.projc-dev-x1.example.com'),
  entry('dns-record', 'admin.projc-dev-x1.example.com'),
  entry('dns-record', 'api.projc-dev-x1.example.com'),
  entry('mongo-user', 'envbot_projc_dev_x1'),
  entry('mongo-database', 'carts_projc_dev_x1'),
  entry('mysql-user', 'eb_projc_dev_x1'),
  entry('mysql-database', 'store_projc_dev_x1'),
  entry('redis-database', '7'),
  entry('k8s-namespace', 'projc-dev-x1'),
];

describe('status card', () => {
  it("shows a ready environment's URLs in the catalogue's order, its databases and Redis index", () => {
    expect(statusCard(record('ready'), catalogue, built)).toEqual({
      environment: 'projc-dev-x1', project: 'projc', stage: 'dev', suffix: 'x1', status: 'ready',
      urls: ['https://shop.projc-dev-x1.example.com', 'https://admin.projc-dev-x1.example.com', 'https://api.projc-dev-x1.example.com'],
      databases: [{ engine: 'mongo', name: 'carts_projc_dev_x1' }, { engine: 'mysql', name: 'store_projc_dev_x1' }],
      redisIndex: 7,
      expiresAt: '2026-12-15T00:00:00.000Z',
    });
  });

  it('shows only the records the ledger holds, and a record no service routes any more as its host', () => {
    const card = statusCard(record('resetting'), catalogue, [entry('dns-record', 'api.projc-dev-x1.example.com'), entry('dns-record', 'old.projc-dev-x1.example.com')]);
    expect(card?.urls).toEqual(['https://api.projc-dev-x1.example.com', 'https://old.projc-dev-x1.example.com']);
    expect(card?.databases).toEqual([]);
    expect(card).not.toHaveProperty('redisIndex');
  });

  it('gives the path in the path addressing style', () => {
    const projc = catalogue.projects.projc!;
    const pathStyle = { ...catalogue, projects: { ...catalogue.projects, projc: { ...projc, addressing: 'path' as const } } };
    const card = statusCard(record('ready'), pathStyle, [entry('dns-record', 'services.projc-dev-x1.example.com')]);
    expect(card?.urls).toEqual(['https://services.projc-dev-x1.example.com/shop', 'https://services.projc-dev-x1.example.com/admin', 'https://services.projc-dev-x1.example.com/api']);
  });

  it.each(['creating', 'failed', 'destroying', 'destroyed'] as const)('shows nothing while the environment is %s (the ledger may hold what is not made, or no longer there)', (state) => {
    expect(statusCard(record(state), catalogue, built)).toBeUndefined();
  });

  it('shows nothing when the ledger holds none of what it shows', () => {
    expect(statusCard(record('ready'), catalogue, [entry('k8s-namespace', 'projc-dev-x1')])).toBeUndefined();
  });

  it('still shows what it has when its project has left the catalogue', () => {
    const { projc: _gone, ...rest } = catalogue.projects;
    const card = statusCard(record('ready'), { ...catalogue, projects: rest }, built);
    expect(card?.urls).toEqual(['https://shop.projc-dev-x1.example.com', 'https://admin.projc-dev-x1.example.com', 'https://api.projc-dev-x1.example.com']);
  });
});
