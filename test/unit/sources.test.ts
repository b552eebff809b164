// S3 and git locations as the catalogue writes them (refs with slashes, no way out of the tree), and
// the cache of fetched versions: one fill per version at a time, installed whole, cleaned by age and count.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SourceCache } from '../../activities/sources/cache.js';
import { parseLocation, shortVersion } from '../../shared/catalogue/schema.js';

describe('parseLocation', () => {
  it.each([
    ['s3://bucket/prefix/', { kind: 's3', bucket: 'bucket', prefix: 'prefix/' }],
    ['s3://bucket', { kind: 's3', bucket: 'bucket', prefix: '' }],
    ['s3://my.bucket-1/projb/redis.json', { kind: 's3', bucket: 'my.bucket-1', prefix: 'projb/redis.json' }],
    ['git+https://example.com/org/repo.git#main:seeds/projb', { kind: 'git', repo: 'https://example.com/org/repo.git', ref: 'main', path: 'seeds/projb' }],
    ['git+https://example.com/r.git#release/2024.1:templates/', { kind: 'git', repo: 'https://example.com/r.git', ref: 'release/2024.1', path: 'templates' }],
    ['git+ssh://git@example.com/r.git#v1.2.3:/t.yaml.hbs', { kind: 'git', repo: 'ssh://git@example.com/r.git', ref: 'v1.2.3', path: 't.yaml.hbs' }],
    ['git+file:///srv/git/r.git#feature/a_b-c:', { kind: 'git', repo: 'file:///srv/git/r.git', ref: 'feature/a_b-c', path: '' }],
    [`git+https://example.com/r.git#${'a'.repeat(40)}:x`, { kind: 'git', ref: 'a'.repeat(40), path: 'x' }],
    ['seeds/projb/..foo', { kind: 'disk', path: 'seeds/projb/..foo' }],
  ])('reads %s', (raw, expected) => {
    expect(parseLocation(raw)).toEqual({ location: expect.objectContaining({ ...expected, raw }) });
  });

  it.each([
    ['s3://bucket/../etc', /"\." or "\.\." part/],
    ['s3://bucket/a/./b', /"\." or "\.\." part/],
    ['s3://Bucket/x', /not an S3 location/],
    ['git+https://example.com/r.git#main:../../etc/passwd', /path in the repository may not have a "\." or "\.\." part/],
    ['git+https://example.com/r.git#main:a/../../b', /"\." or "\.\." part/],
    ['git+https://example.com/r.git#main:./a', /"\." or "\.\." part/],
    ['git+https://example.com/r.git#--upload-pack=touch:x', /is not a ref envbot accepts/],
    ['git+https://example.com/r.git#-b:x', /is not a ref envbot accepts/],
    ['git+https://example.com/r.git#a..b:x', /is not a ref envbot accepts/],
    ['git+https://example.com/r.git#a//b:x', /is not a ref envbot accepts/],
    ['git+https://example.com/r.git#main/:x', /is not a ref envbot accepts/],
    ['git+https://example.com/r.git#x.lock:x', /is not a ref envbot accepts/],
    ['git+https://example.com/r.git#a/.hidden:x', /is not a ref envbot accepts/],
    ['git+https://example.com/r.git#ma in:x', /is not a ref envbot accepts/],
    ['git+https://example.com/r.git', /is not a git location/],
    ['git+http://example.com/r.git#main:x', /is not a git location/],
    ['git+ext::sh -c touch#main:x', /is not a git location/],
    ['https://example.com/seeds', /use a path relative to envbot\.yaml/],
    ['git+https://bot:s3cr3t-token@example.com/r.git#main:x', /"git\+https:\/\/<credentials>@example\.com\/r\.git#main:x" has credentials in its URL/],
    ['git+https://ghp_s3cr3ttoken@example.com/r.git#main:x', /has credentials in its URL/],
    ['git+ssh://git:s3cr3t@example.com/r.git#main:x', /has credentials in its URL: remove them/],
  ])('refuses %s', (raw, problem) => {
    const parsed = parseLocation(raw);
    expect(parsed).toEqual({ problem: expect.stringMatching(problem) });
    // A refusal is logged and shown: it never repeats a credential.
    expect(JSON.stringify(parsed)).not.toMatch(/s3cr3t/);
  });

  it('shows 7 characters of a commit and 12 of an S3 digest', () => {
    expect(shortVersion('git+https://h/r.git#main:x', 'abcdef0123456789')).toBe('abcdef0');
    expect(shortVersion('s3://b/p', 'abcdef0123456789')).toBe('abcdef012345');
  });
});

describe('SourceCache', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const fresh = () => (dir = mkdtempSync(join(tmpdir(), 'envbot-cache-unit-')));

  it('fills a version once for concurrent callers and installs it whole', async () => {
    const cache = new SourceCache(fresh());
    let fills = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const fill = async (into: string) => {
      fills++;
      writeFileSync(join(into, 'a.json'), '[1]');
      await gate;
      // Not visible before the fill ends.
      expect(await cache.lookup('s3-abc-1')).toBeUndefined();
      writeFileSync(join(into, 'b.json'), '[2]');
    };
    const both = Promise.all([cache.ensure('s3-abc-1', fill), cache.ensure('s3-abc-1', fill)]);
    await new Promise((r) => setTimeout(r, 20));
    release();
    const [a, b] = await both;
    expect(a).toBe(b);
    expect(fills).toBe(1);
    expect(readFileSync(join(a, 'b.json'), 'utf8')).toBe('[2]');
    expect(await cache.ensure('s3-abc-1', fill)).toBe(a);
    expect(fills).toBe(1);
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
  });

  it('leaves nothing of a fill that failed, and fills again next time', async () => {
    const cache = new SourceCache(fresh());
    await expect(cache.ensure('git-x-1', async (into) => {
      writeFileSync(join(into, 'half'), 'x');
      throw new Error('network down');
    })).rejects.toThrow('network down');
    expect(await cache.lookup('git-x-1')).toBeUndefined();
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
    const path = await cache.ensure('git-x-1', async (into) => writeFileSync(join(into, 'whole'), 'y'));
    expect(readdirSync(path)).toEqual(['whole']);
  });

  it('refuses a key that is not one folder name', () => {
    const cache = new SourceCache(fresh());
    expect(() => cache.entry('../etc')).toThrow(/not a cache key/);
    expect(() => cache.entry('a/b')).toThrow(/not a cache key/);
  });

  it('removes versions unused for too long, and the least recently used beyond the count, never one used lately', async () => {
    const hour = 3600_000;
    const cache = new SourceCache(fresh(), { maxAgeMs: 48 * hour, maxEntries: 2, inUseMs: 3 * hour });
    const now = Date.now();
    const ages: Record<string, number> = { 'v-new': 0, 'v-1h': 1, 'v-2h': 2, 'v-5h': 5, 'v-3d': 72 };
    for (const [key, h] of Object.entries(ages)) {
      const path = await cache.ensure(key, async (into) => writeFileSync(join(into, 'f'), key));
      const t = new Date(now - h * hour);
      utimesSync(path, t, t);
    }
    // A fill a crashed worker left behind goes once it is older than the in-use time; a recent one stays.
    mkdirSync(join(dir, 'tmp', 'v-old.abc'), { recursive: true });
    mkdirSync(join(dir, 'tmp', 'v-running.abc'), { recursive: true });
    utimesSync(join(dir, 'tmp', 'v-old.abc'), new Date(now - 4 * hour), new Date(now - 4 * hour));
    // Three used within 3 hours stay even beyond maxEntries; the 5-hour one goes (count), the 3-day one (age).
    expect((await cache.clean(now)).sort()).toEqual(['v-3d', 'v-5h']);
    expect(Object.keys(ages).filter((k) => existsSync(cache.entry(k)))).toEqual(['v-new', 'v-1h', 'v-2h']);
    expect(readdirSync(join(dir, 'tmp'))).toEqual(['v-running.abc']);
    // A lookup marks it used.
    const t = new Date(now - 10 * hour);
    utimesSync(cache.entry('v-2h'), t, t);
    await cache.lookup('v-2h');
    expect(await cache.clean(now)).toEqual([]);
  });
});
