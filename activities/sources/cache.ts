// The local cache of fetched S3 and git trees: one folder per version under <dir>/trees, filled in
// a private folder under <dir>/tmp and installed by an atomic rename, so a reader never sees half
// a tree and two fetches of the same version never write into the same folder. In one process a
// version is fetched once at a time (concurrent creates wait for the same fetch); two processes on
// one machine may both fetch it, and the second rename loses harmlessly.
//
// Bounded: each use marks an entry's time; clean() removes entries unused for `maxAgeMs`, and the
// least recently used beyond `maxEntries`, but never one used in the last `inUseMs` (a seed that
// started reading it may still run; activities run at most 2 hours) nor one being fetched.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';

export interface CacheLimits {
  maxAgeMs: number;
  maxEntries: number;
  inUseMs: number;
}

export const DEFAULT_LIMITS: CacheLimits = { maxAgeMs: 7 * 24 * 3600_000, maxEntries: 50, inUseMs: 3 * 3600_000 };

/** A cache key: letters, digits, '-' and '.' only, so it is one folder name. */
const KEY = /^[a-z0-9][a-z0-9.-]*$/;

export class SourceCache {
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    readonly dir: string,
    private readonly limits: CacheLimits = DEFAULT_LIMITS,
  ) {}

  /** The folder of `key`'s tree (which may not exist yet). */
  entry(key: string): string {
    if (!KEY.test(key)) throw new Error(`not a cache key: ${key}`);
    return join(this.dir, 'trees', key);
  }

  /** The tree of `key` if it is there (and marks it used), else undefined. */
  async lookup(key: string): Promise<string | undefined> {
    const dir = this.entry(key);
    try {
      const now = new Date();
      await utimes(dir, now, now);
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /**
   * The tree of `key`, fetched by `fill(into)` when it is not there: `into` is an empty private
   * folder that becomes the entry once `fill` has finished. Callers in this process asking for the
   * same key meanwhile wait for the same fill.
   */
  async ensure(key: string, fill: (into: string) => Promise<void>): Promise<string> {
    const have = await this.lookup(key);
    if (have) return have;
    let running = this.inflight.get(key);
    if (!running) {
      running = this.install(key, fill).finally(() => this.inflight.delete(key));
      this.inflight.set(key, running);
    }
    return running;
  }

  private async install(key: string, fill: (into: string) => Promise<void>): Promise<string> {
    const dest = this.entry(key);
    const tmp = join(this.dir, 'tmp', `${key}.${randomBytes(6).toString('hex')}`);
    await mkdir(tmp, { recursive: true });
    await mkdir(join(this.dir, 'trees'), { recursive: true });
    try {
      await fill(tmp);
      try {
        await rename(tmp, dest);
      } catch (err) {
        // Another process installed the same version first: theirs is the same tree.
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      }
      return dest;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** Removes what the limits say may go (and fills a crashed worker left behind); returns the keys removed. */
  async clean(now = Date.now()): Promise<string[]> {
    const scratch = join(this.dir, 'tmp');
    for (const name of await readdir(scratch).catch(() => [] as string[])) {
      const at = (await stat(join(scratch, name)).catch(() => undefined))?.mtimeMs;
      if (at !== undefined && now - at > this.limits.inUseMs) await rm(join(scratch, name), { recursive: true, force: true });
    }
    const trees = join(this.dir, 'trees');
    let names: string[];
    try {
      names = await readdir(trees);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const entries = (
      await Promise.all(names.map(async (key) => ({ key, used: (await stat(join(trees, key)).catch(() => undefined))?.mtimeMs })))
    ).filter((e): e is { key: string; used: number } => e.used !== undefined && !this.inflight.has(e.key));
    entries.sort((a, b) => b.used - a.used);
    const removed: string[] = [];
    entries.forEach((e, i) => {
      const idle = now - e.used;
      if (idle > this.limits.inUseMs && (idle > this.limits.maxAgeMs || i >= this.limits.maxEntries)) removed.push(e.key);
    });
    for (const key of removed) {
      // Out of trees/ first (one rename), so nobody finds it half deleted.
      const trash = join(this.dir, 'tmp', `removed-${key}.${randomBytes(6).toString('hex')}`);
      await mkdir(join(this.dir, 'tmp'), { recursive: true });
      await rename(join(trees, key), trash).catch(() => undefined);
      await rm(trash, { recursive: true, force: true });
    }
    return removed;
  }
}
