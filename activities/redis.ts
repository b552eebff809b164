// redis: the environment's own database index on a shared Redis server, its own ACL user, and its
// seed (examples/README.md, "Redis: redis.json"). Indexes are handed out by envbot's store, lowest
// free first, never 0. What an ACL user can and cannot be kept from: README, "Redis".
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Redis } from 'ioredis';
import { CatalogueError, NotFoundError } from '../shared/errors.js';
import type { EnvRef } from '../shared/model.js';
import { LEDGER_KINDS } from '../shared/store/ledger.js';
import type { LedgerEntry } from '../shared/store/store.js';
import { databasePassword } from './credentials.js';
import { databaseClients, type ActivityDeps } from './deps.js';
import { resolveEnv } from './environment.js';
import { sourcePath, withSourceNames } from './sources/index.js';
import { pulse } from './heartbeat.js';
import { jsonArrayElements } from './json-array.js';
import { adminUrlForCreate, adminUrlForDelete, serverLocation, serverOfLocation } from './servers.js';
import { baseVars, renderer } from './render.js';

export interface RedisInput {
  ref: EnvRef;
}

export interface CreateRedisResult {
  /** The catalogue's server name; absent when the project has no Redis. */
  server?: string;
  /** The claimed database index; absent when the project has no Redis. */
  index?: number;
}

export interface SeedRedisResult {
  keys: number;
}

export interface DeleteRedisResult {
  /** The index given back; absent when the environment held none. */
  index?: number;
}

const KIND = LEDGER_KINDS.redisDatabase;
const USER_KIND = 'redis-user';

/**
 * The ACL rules of an environment's user, replacing any it had (`reset`): every command on every key
 * and channel, except administration and anything marked dangerous (FLUSHALL, FLUSHDB, CONFIG, ACL
 * SETUSER, SWAPDB, KEYS, INFO, DEBUG, MONITOR, CLIENT KILL, ...), server-wide script and function
 * state, and the commands that reach another database (MOVE, COPY ... DB, SWAPDB); SELECT only of its
 * own index (a first-argument rule: deprecated in Redis 7 but accepted). The password goes as its
 * SHA-256 (`#`), never in plain text. ACLs know nothing of databases otherwise: README, "Redis".
 */
export function redisUserRules(password: string, index: number): string[] {
  const hash = createHash('sha256').update(password).digest('hex');
  return [
    'reset', 'on', `#${hash}`, '~*', '&*', '+@all', '-@admin', '-@dangerous',
    '-function', '-script|flush', '-script|kill', '-move', '-copy', '-swapdb', '-select', `+select|${index}`,
  ];
}

type SeedKey =
  | { key: string; type: 'string'; value: string; ttlSeconds?: number }
  | { key: string; type: 'hash'; value: Record<string, string>; ttlSeconds?: number }
  | { key: string; type: 'list'; value: string[]; ttlSeconds?: number }
  | { key: string; type: 'set'; value: string[]; ttlSeconds?: number }
  | { key: string; type: 'zset'; value: { member: string; score: number }[]; ttlSeconds?: number };

/**
 * Runs `fn` on a connection to database `db` of the server at `adminUrl`, always disconnecting. The
 * `db` option (not a SELECT of our own) makes ioredis select it again after a reconnect. The URL is
 * never logged.
 */
async function withRedis<T>(adminUrl: string, db: number, fn: (client: Redis) => Promise<T>): Promise<T> {
  const url = new URL(adminUrl);
  // A database in the URL (redis://host/3) would win over the `db` option in ioredis: drop it.
  url.pathname = '';
  url.searchParams.delete('db');
  const client = new Redis(url.toString(), {
    db,
    lazyConnect: true,
    connectTimeout: 10_000,
    maxRetriesPerRequest: 1,
    // Temporal retries the activity; the client should fail rather than reconnect forever.
    retryStrategy: () => null,
  });
  // Connection errors reach the caller through the rejected command; without a listener ioredis prints them.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

/**
 * The number of databases the server really has: `CONFIG GET databases`, or, where CONFIG is
 * disabled (managed Redis such as ElastiCache, or an ACL), the highest index SELECT accepts, plus one.
 */
export async function databaseCount(client: Redis): Promise<number> {
  try {
    const reply = (await client.config('GET', 'databases')) as string[];
    const n = Number(reply[1]);
    if (Number.isInteger(n) && n > 0) return n;
  } catch {
    // Fall through to probing.
  }
  const selectable = (i: number) => client.select(i).then(() => true, () => false);
  let lo = 1; // index 0 always exists, so at least one database
  let hi = 2;
  while (hi <= 1 << 20 && (await selectable(hi - 1))) {
    lo = hi;
    hi *= 2;
  }
  // Invariant: `lo` databases exist, `hi` do not.
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await selectable(mid - 1)) lo = mid;
    else hi = mid;
  }
  return lo;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isString = (v: unknown): v is string => typeof v === 'string';

/** Keys go to the server in pipelines of this many. */
const BATCH_KEYS = 1000;

/**
 * Checks one rendered entry of redis.json (element `i`, on `line`): its key, type, value and
 * ttlSeconds; a wrong one names the file, entry and line. `seen` holds the keys so far.
 */
export function redisSeedKey(text: string, i: number, line: number, file: string, seen: Set<string>): SeedKey {
  const fail = (path: string, problem: string) => new CatalogueError(file, [{ path, line, problem }]);
  const path = `[${i}]`;
  let entry: unknown;
  try {
    entry = JSON.parse(text);
  } catch (err) {
    throw fail(path, `not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(entry)) throw fail(path, 'write {"key": "...", "type": "string", "value": "..."}');
  for (const k of Object.keys(entry)) {
    if (!['key', 'type', 'value', 'ttlSeconds'].includes(k)) throw fail(`${path}.${k}`, 'unknown field: write "key", "type", "value" and optionally "ttlSeconds"');
  }
  const { key, type, value: v, ttlSeconds } = entry;
  if (!isString(key) || key === '') throw fail(`${path}.key`, 'write the key name');
  if (seen.has(key)) throw fail(`${path}.key`, `"${key}" appears twice`);
  seen.add(key);
  if (ttlSeconds !== undefined && (typeof ttlSeconds !== 'number' || !Number.isInteger(ttlSeconds) || ttlSeconds <= 0)) {
    throw fail(`${path}.ttlSeconds`, 'write a whole number of seconds above 0');
  }
  const ttl = ttlSeconds === undefined ? {} : { ttlSeconds };
  switch (type) {
    case 'string':
      if (!isString(v)) throw fail(`${path}.value`, 'a string key needs a string value');
      return { key, type, value: v, ...ttl };
    case 'hash':
      if (!isObject(v) || Object.keys(v).length === 0 || !Object.values(v).every(isString)) {
        throw fail(`${path}.value`, 'a hash needs an object of string values, such as {"darkMode": "true"}');
      }
      return { key, type, value: v as Record<string, string>, ...ttl };
    case 'list':
    case 'set':
      if (!Array.isArray(v) || v.length === 0 || !v.every(isString)) throw fail(`${path}.value`, `a ${type} needs a non-empty array of strings`);
      return type === 'list' ? { key, type, value: v, ...ttl } : { key, type, value: v, ...ttl };
    case 'zset':
      if (
        !Array.isArray(v) ||
        v.length === 0 ||
        !v.every((m: unknown) => isObject(m) && isString(m.member) && typeof m.score === 'number' && Number.isFinite(m.score))
      ) {
        throw fail(`${path}.value`, 'a zset needs a non-empty array of {"member": "...", "score": <number>}');
      }
      return { key, type, value: v as { member: string; score: number }[], ...ttl };
    default:
      throw fail(`${path}.type`, 'use "string", "hash", "list", "set" or "zset"');
  }
}

/** Deletes an environment's ACL user (gone already counts as done) and closes its ledger entry. */
async function removeUser(deps: ActivityDeps, e: LedgerEntry): Promise<void> {
  const server = serverOfLocation('redis', e.location)!;
  const removed = await databaseClients(deps).redis(await adminUrlForDelete(deps, 'redis', server)).call('ACL', 'DELUSER', e.name);
  await deps.store.markResourceDeleted(e);
  deps.log.info({ environment: e.environment, server, user: e.name, removed: removed === 1 }, 'Redis user deleted');
}

export function createRedisActivities(deps: ActivityDeps) {
  return {
    /** Claims the lowest free database index on the project's Redis server (the one it holds, on a retry), empties it and makes the environment's user. */
    async createRedis({ ref }: RedisInput): Promise<CreateRedisResult> {
      deps.faults?.check('createRedis');
      const r = resolveEnv(deps.catalogue, ref);
      if (!r.project.redis) {
        deps.log.info({ environment: r.env.name }, 'no Redis in the project: nothing to create');
        return { index: undefined };
      }
      const server = r.project.redis.server;
      const adminUrl = await adminUrlForCreate(deps, 'redis', server);
      const location = serverLocation('redis', server);
      // Server-wide commands (CONFIG, ACL) go over the worker's shared connection to the server.
      const admin = databaseClients(deps).redis(adminUrl);
      const databases = await databaseCount(admin);
      // Throws ResourceExhaustedError (non-retryable) when every index is taken; nothing is claimed then.
      const index = await deps.store.claimRedisIndex(server, r.env.name, databases);
      // The ledger entry comes after the claim: the claim's row is itself the durable record (one per
      // server and environment), so a crash here leaves nothing unknown: a retry gets the same index back
      // and records it, and deleteRedis releases the claim by environment whatever the ledger says.
      // The user is recorded (with the index, in one statement) before it is made, so destroy removes it even if this attempt dies half-way.
      const user = r.names.redisUser;
      await deps.store.recordResources([
        { environment: r.env.name, kind: KIND, name: String(index), location, details: { databases } },
        { environment: r.env.name, kind: USER_KIND, name: user, location },
      ]);
      // Emptied before its user exists: keys someone left in the index while it was free are gone, so
      // a project without a seed starts empty with no seed step (plan.seeded leaves Redis out then).
      await withRedis(adminUrl, index, (client) => client.flushdb());
      const password = await databasePassword(deps, r, 'redis');
      try {
        await admin.call('ACL', 'SETUSER', user, ...redisUserRules(password, index));
      } catch (err) {
        // An old server (no ACL, no first-argument rules) or an admin URL without ACL rights: no retry helps.
        if (!/unknown command|ACL SETUSER|NOPERM/i.test((err as Error).message)) throw err;
        throw new CatalogueError(deps.catalogue.file, [{
          path: `servers.redis.${server}.url`,
          problem: `the server refused to make the environment's ACL user (${(err as Error).message}): envbot needs Redis 7 and an admin URL allowed to run ACL SETUSER`,
        }]);
      }
      deps.log.info({ environment: r.env.name, server, index, databases, user }, 'Redis database claimed and its user made');
      return { server, index };
    },

    /**
     * Empties the environment's database (so a retry, or a reset, starts from nothing) and writes
     * redis.json's keys, read a key at a time and sent in pipelines; heartbeats after each, and stops
     * when cancelled. A project without a seed gets an empty key space.
     */
    async seedRedis({ ref }: RedisInput): Promise<SeedRedisResult> {
      deps.faults?.check('seedRedis');
      const r = resolveEnv(deps.catalogue, ref);
      const redis = r.project.redis;
      if (!redis) return { keys: 0 };
      const index = await deps.store.redisIndexOf(redis.server, r.env.name);
      if (index === undefined) throw new NotFoundError(`${r.env.name} holds no Redis database on "${redis.server}" (createRedis has not run)`);
      const p = pulse();
      const file = redis.seed ? await sourcePath(deps, r, redis.seed, `projects.${r.env.project}.redis.seed`, p) : undefined;
      let keys = 0;
      const url = await adminUrlForCreate(deps, 'redis', redis.server);
      await withSourceNames(deps, () => withRedis(url, index, async (client) => {
        // Cancelled: the connection goes at once, so nothing more is written.
        const close = () => client.disconnect();
        p.signal.addEventListener('abort', close, { once: true });
        try {
          p.check();
          await client.flushdb();
          if (!file) return;
          const rend = renderer(r, baseVars(r), file);
          const seen = new Set<string>();
          let batch = client.pipeline();
          const send = async () => {
            if (!batch.length) return;
            p.check();
            const replies = await p.during(() => ({ index, keys }), () => batch.exec());
            const failed = replies?.find(([err]) => err);
            if (failed?.[0]) throw failed[0];
            batch = client.pipeline();
            p.beat({ index, keys });
          };
          for await (const el of jsonArrayElements(createReadStream(file), file)) {
            const k = redisSeedKey(rend(el.text, el.line), el.index, el.line, file, seen);
            if (k.type === 'string') batch.set(k.key, k.value);
            else if (k.type === 'hash') batch.hset(k.key, k.value);
            else if (k.type === 'list') batch.rpush(k.key, ...k.value);
            else if (k.type === 'set') batch.sadd(k.key, ...k.value);
            else batch.zadd(k.key, ...k.value.flatMap((m) => [m.score, m.member]));
            if (k.ttlSeconds !== undefined) batch.expire(k.key, k.ttlSeconds);
            keys++;
            if (keys % BATCH_KEYS === 0) await send();
          }
          await send();
        } finally {
          p.signal.removeEventListener('abort', close);
        }
      }));
      deps.log.info({ environment: r.env.name, server: redis.server, index, keys }, 'Redis seeded');
      return { keys };
    },

    /**
     * Removes the environment's user, empties its database and gives its index back, from the ledger
     * alone (no catalogue needed). Idempotent: nothing held is done.
     */
    async deleteRedis({ ref }: RedisInput): Promise<DeleteRedisResult> {
      deps.faults?.check('deleteRedis');
      const name = ref.environment;
      const live = await deps.store.liveResources(name);
      const users = live.filter((e) => e.kind === USER_KIND);
      const held = live.filter((e) => e.kind === KIND);
      // Users first: ACL DELUSER also closes their connections, so nothing writes into an index being emptied.
      for (const e of users) await removeUser(deps, e);
      let index: number | undefined;
      for (const e of held) {
        const server = serverOfLocation('redis', e.location)!;
        index ??= Number(e.name);
        // Order matters: flush while the index is still ours, then close the ledger entry, then release.
        // A retry after a crash then never flushes an index someone else may have claimed since.
        await withRedis(await adminUrlForDelete(deps, 'redis', server), Number(e.name), (client) => client.flushdb());
        await deps.store.markResourceDeleted(e);
        await deps.store.releaseRedisIndex(server, name);
        deps.log.info({ environment: name, server, index: Number(e.name) }, 'Redis database emptied and released');
      }
      // A claim with no ledger entry (a crash between the two in createRedis) was never seeded: just release it.
      await deps.store.allocations.releaseAll(name, 'redis/');
      return { index };
    },
  };
}

export type RedisActivities = ReturnType<typeof createRedisActivities>;
