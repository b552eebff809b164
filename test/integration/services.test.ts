// The local stack: a second `up` finds every server already there, quickly, and writes the settings.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { status, up } from '../../scripts/services/stack.js';

describe('scripts/services', () => {
  it('a second up reuses every server in well under 30 s and writes every setting envbot reads', async () => {
    const t0 = Date.now();
    const res = await up({ quiet: true });
    const seconds = (Date.now() - t0) / 1000;
    expect(res.ok).toBe(true);
    expect(res.servers.map((s) => s.state).every((s) => s === 'running' || s === 'reused')).toBe(true);
    expect(seconds).toBeLessThan(30);
    const text = readFileSync(res.envFile, 'utf8');
    for (const name of ['TEMPORAL_ADDRESS', 'DATABASE_URL', 'POSTGRES_URL', 'MYSQL_URL', 'MONGO_URL', 'REDIS_URL', 'AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'KUBECONFIG']) {
      expect(text).toMatch(new RegExp(`^${name}=.+$`, 'm'));
    }
  });

  it('reports every server as answering', async () => {
    const rows = await status();
    expect(rows.filter((r) => !r.ready).map((r) => r.name)).toEqual([]);
  });
});
