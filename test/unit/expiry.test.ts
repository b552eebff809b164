// Extensions never bring an expiry closer (unless the person may destroy), never go below the
// minimum or past the project's maximum; a create's time to live has the same bounds.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extensionProblem, ttlProblem } from '../../bot/core/expiry.js';
import { loadCatalogue } from '../../shared/catalogue/load.js';
import { repoRoot } from '../support/settings.js';

const catalogue = loadCatalogue(join(repoRoot, 'examples', 'envbot.yaml'), { MONGO_URL: 'm', MYSQL_URL: 'm', POSTGRES_URL: 'p', REDIS_URL: 'r' }).catalogue;
const DAY = 86_400_000;
const now = Date.parse('2026-11-30T12:00:00Z');
const inThreeDays = new Date(now + 3 * DAY);
const extend = (duration: string, mayShorten = false, current: Date | null = inThreeDays) =>
  extensionProblem({ catalogue, project: 'projc', environment: 'projc-qa', duration, now, current, mayShorten });

describe('extension rules', () => {
  it.each(['0m', '1m', '59m'])('refuses %s: below the minimum, whoever asks', (d) => {
    expect(extend(d)).toMatch(/projc environments can be kept from 1h to 30d; "\d+m" is outside that/);
    expect(extend(d, true)).toMatch(/from 1h to 30d/);
  });

  it.each(['31d', '5w', '99999w'])('refuses %s: past the maximum', (d) => {
    expect(extend(d, true)).toMatch(/from 1h to 30d/);
  });

  it.each(['1h', '2d', '71h'])('refuses %s for someone without destroy: earlier than the current expiry', (d) => {
    expect(extend(d)).toMatch(/projc-qa already expires at 2026-12-03T12:00:00\.000Z, later than .* from now; an extension never brings it closer \(that needs destroy permission\)/);
  });

  it('lets someone who may destroy bring it closer (within the bounds)', () => {
    expect(extend('1d', true)).toBeUndefined();
  });

  it.each(['3d', '73h', '7d', '30d'])('accepts %s: later than now, within the bounds', (d) => {
    expect(extend(d)).toBeUndefined();
  });

  it('accepts any length within the bounds for an environment that had no expiry', () => {
    expect(extend('1h', false, null)).toBeUndefined();
  });

  it('bounds a create\'s time to live the same way, with the project\'s own maximum when it sets one', () => {
    expect(ttlProblem(catalogue, 'projc', '30m')).toMatch(/from 1h to 30d/);
    expect(ttlProblem(catalogue, 'projc', '14d')).toBeUndefined();
    const strict = { ...catalogue, projects: { ...catalogue.projects, projc: { ...catalogue.projects.projc!, maxTtl: '7d' } } };
    expect(ttlProblem(strict, 'projc', '8d')).toMatch(/projc environments can be kept from 1h to 7d/);
  });
});
