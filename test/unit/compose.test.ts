// docker-compose.yml cannot run here (no Docker engine): keep it honest by parsing it and checking
// that it wires envbot to every server with the settings envbot reads.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { readSettings } from '../../shared/settings.js';
import { repoRoot } from '../support/settings.js';

interface ComposeService {
  image?: string;
  build?: string;
  depends_on?: string[] | Record<string, unknown>;
  environment?: Record<string, string>;
  ports?: string[];
}

const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8')) as { services: Record<string, ComposeService> };

describe('docker-compose.yml', () => {
  it('has Temporal (and its UI), PostgreSQL, MySQL, MongoDB, Redis, moto and envbot', () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining(['temporal', 'temporal-ui', 'postgres', 'mysql', 'mongo', 'redis', 'moto', 'envbot']),
    );
  });

  it('only depends on services it defines, and publishes each host port once', () => {
    const names = new Set(Object.keys(compose.services));
    const hostPorts: string[] = [];
    for (const s of Object.values(compose.services)) {
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const d of deps) expect(names).toContain(d);
      for (const p of s.ports ?? []) hostPorts.push(p.split(':')[0]!);
    }
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it("gives envbot settings that envbot's own settings parser accepts, pointing at the compose services", () => {
    const env = compose.services.envbot!.environment!;
    const resolved = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, v.replace(/\$\{ENVBOT_SECRET_KEYS[^}]*\}/, `k1:${Buffer.alloc(32).toString('base64')}`).replace(/\$\{[^}]*\}/g, '')]),
    );
    const s = readSettings(resolved);
    expect(new URL(s.databaseUrl).hostname).toBe('postgres');
    expect(s.temporal.address).toBe('temporal:7233');
    for (const url of [s.servers.postgres, s.servers.mysql, s.servers.mongo, s.servers.redis, s.aws.endpoint]) {
      expect(Object.keys(compose.services)).toContain(new URL(url!).hostname);
    }
  });
});
