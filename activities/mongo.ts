// mongo: the environment's MongoDB databases and its one user, and their seed (examples/README.md,
// "MongoDB"). Works on MongoDB and on FerretDB (local tests), which has no roles: see createMongo.
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BSON, MongoClient, MongoServerError, type Db, type Document, type IndexDirection } from 'mongodb';
import { CatalogueError, ConflictError } from '../shared/errors.js';
import type { Location } from '../shared/catalogue/schema.js';
import type { EnvRef } from '../shared/model.js';
import { LEDGER_KINDS } from '../shared/store/ledger.js';
import { databasePassword, databaseUrl } from './credentials.js';
import { databaseClients, type ActivityDeps } from './deps.js';
import { resolveEnv, type ResolvedEnv } from './environment.js';
import { sourcePath, withSourceNames } from './sources/index.js';
import { adminUrlForCreate, adminUrlForDelete, serverLocation, serverOfLocation } from './servers.js';
import { pulse, type Pulse } from './heartbeat.js';
import { jsonArrayElements, type JsonElement } from './json-array.js';
import { baseVars, render, renderer } from './render.js';

export interface MongoInput {
  ref: EnvRef;
}

export interface CreateMongoResult {
  user: string;
  /** Physical database names, such as `catalog_projb_qa`. */
  databases: string[];
  /** True when a server is FerretDB: the user then has no roles (it is not limited to its databases). */
  ferretdb: boolean;
}

export interface SeedMongoResult {
  /** Collection files loaded. */
  collections: number;
  documents: number;
  /** Script files run (common and per-stage). */
  scripts: number;
}

export interface DeleteMongoResult {
  dropped: string[];
}

const USER_KIND = 'mongo-user';
const DATABASE_KIND = LEDGER_KINDS.database.mongo;
/** The collection createMongo writes so an empty database exists (MongoDB makes databases on first write). */
const MARKER = '_envbot';

/** MongoDB error codes that no retry can fix: the seed (or the catalogue) is wrong. */
const PERMANENT_CODES = new Set([
  2, // BadValue
  9, // FailedToParse
  14, // TypeMismatch
  28, // PathNotViable
  40, // ConflictingUpdateOperators
  52, // DollarPrefixedFieldName
  56, // NotSingleValueField
  66, // ImmutableField
  67, // CannotCreateIndex
  72, // InvalidOptions
  73, // InvalidNamespace
  238, // NotImplemented (FerretDB: an operator it does not support)
  11000, // DuplicateKey
]);
const USER_EXISTS = 51003;
const USER_NOT_FOUND = 11;
const NAMESPACE_EXISTS = 48;
const INDEX_CONFLICTS = new Set([85, 86]); // IndexOptionsConflict, IndexKeySpecsConflict
const INDEX_NOT_FOUND = 27;

/** Plain update operators (README: aggregation-pipeline updates are not supported everywhere). */
const UPDATE_OPERATORS = new Set([
  '$set', '$unset', '$inc', '$mul', '$min', '$max', '$rename', '$currentDate',
  '$push', '$addToSet', '$pull', '$pullAll', '$pop', '$setOnInsert',
]);
const INDEX_OPTIONS = new Set([
  'name', 'unique', 'sparse', 'expireAfterSeconds', 'partialFilterExpression', 'collation', 'weights', 'default_language', 'hidden',
]);

interface MongoDb {
  /** Name in the catalogue: `catalog`. */
  logical: string;
  /** Name on the server: `catalog_projb_qa`. */
  physical: string;
  server: string;
  seed?: Location;
}

function mongoDatabases(r: ResolvedEnv): MongoDb[] {
  return Object.entries(r.project.databases)
    .filter(([, d]) => d.engine === 'mongo')
    .map(([logical, d]) => ({ logical, physical: r.names.mongoDatabase(logical), server: d.server, ...(d.seed ? { seed: d.seed } : {}) }));
}

function byServer<T extends { server: string }>(items: T[]): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) map.set(item.server, [...(map.get(item.server) ?? []), item]);
  return map;
}

const location = (server: string) => serverLocation('mongo', server);

/** Runs `fn` with the worker's admin client of the server at `adminUrl` (kept for the worker's life). The URL (with its password) is never logged. */
async function withServer<T>(deps: ActivityDeps, adminUrl: string, fn: (client: MongoClient) => Promise<T>): Promise<T> {
  return fn(await databaseClients(deps).mongo(adminUrl));
}

/** Runs `fn` with a client logged in as the environment's user (`url`), always closing it; per call on purpose. */
async function withEnvironmentUser<T>(url: string, fn: (client: MongoClient) => Promise<T>): Promise<T> {
  const client = new MongoClient(url, { appName: 'envbot', serverSelectionTimeoutMS: 15_000 });
  try {
    await client.connect();
    return await fn(client);
  } finally {
    await client.close();
  }
}

async function isFerretDb(client: MongoClient): Promise<boolean> {
  const info = await client.db('admin').command({ buildInfo: 1 });
  return typeof info.ferretdbVersion === 'string';
}

function codeOf(err: unknown): number | undefined {
  return err instanceof MongoServerError && typeof err.code === 'number' ? err.code : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function problem(file: string, path: string, text: string, line?: number): CatalogueError {
  return new CatalogueError(file, [{ path, problem: text, ...(line ? { line } : {}) }]);
}

/** A server's refusal that no retry fixes becomes a CatalogueError naming the file; anything else is rethrown. */
function asSeedError(err: unknown, file: string, path: string, line?: number): unknown {
  const code = codeOf(err);
  // FerretDB (on SQLite) reports documents that break a unique index as an InternalError.
  const duplicate = code !== undefined && /duplicate key|UNIQUE constraint failed/i.test((err as Error).message);
  if (code !== undefined && (PERMANENT_CODES.has(code) || duplicate)) return problem(file, path, `the server refused it: ${(err as Error).message}`, line);
  return err;
}

/** Renders a (small) seed file and parses it as Extended JSON ({"$oid": ...}, {"$date": ...}): indexes.json. */
async function readSeedFile(r: ResolvedEnv, file: string): Promise<unknown> {
  const text = render(r, await readFile(file, 'utf8'), baseVars(r), file);
  try {
    return BSON.EJSON.parse(text, { relaxed: true });
  } catch (err) {
    throw problem(file, '', `not valid (Extended) JSON: ${(err as Error).message}`);
  }
}

/** `*.json` files directly in `dir`, in name order; none when the folder does not exist. */
async function jsonFiles(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isFile() && e.name.endsWith('.json'))
      .map((e) => e.name)
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

function collectionName(name: string, file: string, path = ''): string {
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name) || name.startsWith('system.') || name.length > 120) {
    throw problem(file, path, `"${name}" is not a collection name envbot accepts: use letters, digits, '_', '-' and '.', not starting with "system."`);
  }
  return name;
}

interface IndexSpec {
  collection: string;
  key: Record<string, IndexDirection>;
  options: Record<string, unknown> & { name: string };
}

function parseIndexes(value: unknown, file: string): IndexSpec[] {
  if (!isObject(value)) throw problem(file, '', 'write an object: {"<collection>": [{"key": {"field": 1}, "name": "..."}]}');
  const specs: IndexSpec[] = [];
  for (const [coll, list] of Object.entries(value)) {
    collectionName(coll, file, coll);
    if (!Array.isArray(list)) throw problem(file, coll, 'write an array of indexes');
    list.forEach((entry: unknown, i) => {
      const path = `${coll}[${i}]`;
      if (!isObject(entry)) throw problem(file, path, 'write an object such as {"key": {"sku": 1}, "name": "sku_unique"}');
      const { key, ...options } = entry;
      if (!isObject(key) || Object.keys(key).length === 0) throw problem(file, `${path}.key`, 'write the indexed fields, such as {"sku": 1}');
      for (const [field, dir] of Object.entries(key)) {
        if (dir !== 1 && dir !== -1 && !['text', '2d', '2dsphere', 'hashed'].includes(dir as string)) {
          throw problem(file, `${path}.key.${field}`, 'use 1, -1, "text", "2d", "2dsphere" or "hashed"');
        }
      }
      for (const option of Object.keys(options)) {
        if (!INDEX_OPTIONS.has(option)) throw problem(file, `${path}.${option}`, `not an index option envbot supports (${[...INDEX_OPTIONS].join(', ')})`);
      }
      const name = typeof options.name === 'string' && options.name ? options.name : Object.entries(key).map(([f, d]) => `${f}_${String(d)}`).join('_');
      specs.push({ collection: coll, key: key as Record<string, IndexDirection>, options: { ...options, name } });
    });
  }
  return specs;
}

interface ScriptStep {
  collection: string;
  filter: Document;
  update: Document;
}

/** One step of a scripts/ file, element `i` on `line`. */
function parseScriptStep(entry: unknown, i: number, file: string, line: number): ScriptStep {
  const path = `[${i}]`;
  const fail = (at: string, text: string) => problem(file, at, text, line);
  if (!isObject(entry)) throw fail(path, 'write {"collection": "...", "filter": {...}, "update": {"$set": {...}}}');
  for (const k of Object.keys(entry)) {
    if (!['collection', 'filter', 'update'].includes(k)) throw fail(`${path}.${k}`, 'unknown field: write only "collection", "filter" and "update"');
  }
  const { collection, filter, update } = entry;
  if (typeof collection !== 'string') throw fail(`${path}.collection`, 'write the collection name');
  collectionName(collection, file, `${path}.collection`);
  if (!isObject(filter)) throw fail(`${path}.filter`, 'write a filter object ({} for every document)');
  if (Array.isArray(update)) {
    throw fail(`${path}.update`, 'aggregation-pipeline updates are not supported: use update operators such as $set, $unset, $inc');
  }
  if (!isObject(update) || Object.keys(update).length === 0) throw fail(`${path}.update`, 'write update operators such as {"$set": {...}}');
  for (const op of Object.keys(update)) {
    if (!UPDATE_OPERATORS.has(op)) {
      throw fail(`${path}.update.${op}`, `unsupported update operation; use one of ${[...UPDATE_OPERATORS].join(', ')}`);
    }
  }
  return { collection, filter, update };
}

/** Documents go to the server in batches of at most this many, or this many bytes of JSON: memory stays flat. */
const BATCH_DOCUMENTS = 1000;
const BATCH_BYTES = 1024 * 1024;

type Render = (text: string, line?: number) => string;

/** How long a cancelled seed waits for the write in flight before it closes the connection anyway. */
const SETTLE_MS = 10_000;

/**
 * What a cancelled seed does with the call in flight: MongoDB (and FerretDB) finish an operation
 * whose connection closed, so closing at once would let the activity say it stopped while the server
 * still writes for it (a CI run saw the last 100 documents land after). It waits for the call to
 * end (one batch, bounded), then closes the connection so nothing more is sent.
 */
const settleThenClose = (db: Db) => async (inFlight: Promise<unknown>) => {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([inFlight, new Promise((r) => (timer = setTimeout(r, SETTLE_MS)))]);
  clearTimeout(timer);
  await db.client.close(true);
};

/** The elements of a seed file's top-level array, each rendered and parsed as Extended JSON, streamed. */
async function* seedElements(file: string, rend: Render): AsyncGenerator<JsonElement & { value: unknown }> {
  for await (const el of jsonArrayElements(createReadStream(file), file)) {
    let value: unknown;
    try {
      value = BSON.EJSON.parse(rend(el.text, el.line), { relaxed: true });
    } catch (err) {
      if (err instanceof CatalogueError) throw err;
      throw problem(file, `[${el.index}]`, `not valid (Extended) JSON: ${(err as Error).message}`, el.line);
    }
    yield { ...el, value };
  }
}

/** Loads one collection file a batch at a time; returns the documents inserted. */
async function loadCollection(db: Db, coll: string, file: string, rend: Render, p: Pulse, details: Record<string, unknown>): Promise<number> {
  let batch: Document[] = [];
  let lines: number[] = [];
  let bytes = 0;
  let done = 0;
  const flush = async () => {
    if (!batch.length) return;
    p.check();
    try {
      await p.during(() => ({ ...details, documents: done }), () => db.collection(coll).insertMany(batch, { ordered: true }), settleThenClose(db));
    } catch (err) {
      // The refused document: its place in the file, when the server says which of the batch it was.
      const failed = (err as { writeErrors?: { index?: number } | { index?: number }[] }).writeErrors;
      const at = (Array.isArray(failed) ? failed[0]?.index : failed?.index) ?? 0;
      throw asSeedError(err, file, `[${done + at}]`, lines[at]);
    }
    done += batch.length;
    batch = [];
    lines = [];
    bytes = 0;
    p.beat({ ...details, documents: done });
  };
  await db.collection(coll).deleteMany({});
  for await (const el of seedElements(file, rend)) {
    if (!isObject(el.value)) throw problem(file, `[${el.index}]`, 'each document must be an object', el.line);
    batch.push(el.value);
    lines.push(el.line);
    bytes += el.text.length;
    if (batch.length >= BATCH_DOCUMENTS || bytes >= BATCH_BYTES) await flush();
  }
  await flush();
  if (done === 0) await db.createCollection(coll).catch((err: unknown) => { if (codeOf(err) !== NAMESPACE_EXISTS) throw err; });
  return done;
}

/** Runs one scripts/ file, step by step as it streams. */
async function runScript(db: Db, file: string, rend: Render, p: Pulse, details: Record<string, unknown>): Promise<void> {
  for await (const el of seedElements(file, rend)) {
    const step = parseScriptStep(el.value, el.index, file, el.line);
    p.check();
    try {
      await p.during(() => ({ ...details, step: el.index }), () => db.collection(step.collection).updateMany(step.filter, step.update), settleThenClose(db));
    } catch (err) {
      throw asSeedError(err, file, `[${el.index}]`, el.line);
    }
  }
}

/**
 * Empties database `d`, then loads its seed folder: collections (so a retry never duplicates), then
 * indexes.json, then scripts/ and overrides/<stage>/scripts/ in name order.
 */
async function seedDatabase(deps: ActivityDeps, r: ResolvedEnv, client: MongoClient, d: MongoDb, p: Pulse, result: SeedMongoResult): Promise<void> {
  const folder = await sourcePath(deps, r, d.seed!, `projects.${r.env.project}.databases.${d.logical}.seed`, p);
  const db = client.db(d.physical);
  const files = await jsonFiles(folder);
  const vars = baseVars(r);
  // Start from an empty database: a reset must also remove collections the services made.
  for (const c of await db.listCollections({}, { nameOnly: true }).toArray()) {
    if (c.name === MARKER) continue;
    p.check();
    await p.during(() => ({ database: d.physical, dropping: c.name }), () => db.dropCollection(c.name), settleThenClose(db));
    p.beat({ database: d.physical, dropped: c.name });
  }

  for (const name of files.filter((n) => n !== 'indexes.json')) {
    const file = join(folder, name);
    const coll = collectionName(name.slice(0, -'.json'.length), file);
    result.documents += await loadCollection(db, coll, file, renderer(r, vars, file), p, { database: d.physical, file: name });
    result.collections += 1;
  }

  const indexFile = join(folder, 'indexes.json');
  if (files.includes('indexes.json')) {
    for (const spec of parseIndexes(await readSeedFile(r, indexFile), indexFile)) {
      const coll = db.collection(spec.collection);
      const path = `${spec.collection}.${spec.options.name}`;
      p.check();
      try {
        await p.during(() => ({ database: d.physical, index: path }), () => coll.createIndex(spec.key, spec.options), settleThenClose(db));
      } catch (err) {
        if (!INDEX_CONFLICTS.has(codeOf(err) ?? -1)) throw asSeedError(err, indexFile, path);
        // The seed changed since an index of this name was made: make it what the file says now.
        await coll.dropIndex(spec.options.name).catch((e: unknown) => {
          if (codeOf(e) !== INDEX_NOT_FOUND) throw e;
        });
        try {
          await p.during(() => ({ database: d.physical, index: path }), () => coll.createIndex(spec.key, spec.options), settleThenClose(db));
        } catch (e) {
          // Still a conflict: the same keys under another name, or (FerretDB) documents that break a unique index.
          if (INDEX_CONFLICTS.has(codeOf(e) ?? -1)) throw problem(indexFile, path, `the server refused it: ${(e as Error).message}`);
          throw asSeedError(e, indexFile, path);
        }
      }
    }
    p.beat({ database: d.physical, file: 'indexes.json' });
  }

  for (const dir of [join(folder, 'scripts'), join(folder, 'overrides', r.env.stage, 'scripts')]) {
    for (const name of await jsonFiles(dir)) {
      const file = join(dir, name);
      await runScript(db, file, renderer(r, vars, file), p, { database: d.physical, file: name });
      result.scripts += 1;
      p.beat({ database: d.physical, file: name });
    }
  }
}

export function createMongoActivities(deps: ActivityDeps) {
  return {
    /**
     * Creates the environment's user (in `admin`, one per server it has databases on) and each of its
     * databases, empty. Idempotent: an existing user gets its password (and roles) set again.
     */
    async createMongo({ ref }: MongoInput): Promise<CreateMongoResult> {
      deps.faults?.check('createMongo');
      const r = resolveEnv(deps.catalogue, ref);
      const user = r.names.mongoUser;
      const dbs = mongoDatabases(r);
      if (dbs.length === 0) {
        deps.log.info({ environment: r.env.name }, 'no MongoDB databases in the project: nothing to create');
        return { user, databases: [], ferretdb: false };
      }
      const password = await databasePassword(deps, r, 'mongo');
      let ferretdb = false;
      const servers = byServer(dbs);
      // Ledger first, on every server: if the activity dies half-way, destroy still finds what may
      // exist; a database another environment holds stops the create before any server is touched.
      await deps.store.recordResources([...servers].flatMap(([server, list]) => [
        { environment: r.env.name, kind: USER_KIND, name: user, location: location(server), details: { database: 'admin' } },
        ...list.map((d) => ({ environment: r.env.name, kind: DATABASE_KIND, name: d.physical, location: location(server), details: { database: d.logical } })),
      ]));
      for (const [server, list] of servers) {
        await withServer(deps, await adminUrlForCreate(deps, 'mongo', server), async (client) => {
          const ferret = await isFerretDb(client);
          ferretdb ||= ferret;
          if (ferret) {
            deps.log.warn(
              { environment: r.env.name, server, user, databases: list.map((d) => d.physical) },
              `FerretDB has no roles: user ${user} is created without any, so it is NOT limited to its own databases (it can read and write every database on server "${server}"). Use MongoDB where that matters.`,
            );
          }
          // FerretDB refuses a non-empty roles list; on MongoDB the user may only read and write its databases.
          const roles = ferret ? [] : list.map((d) => ({ role: 'readWrite', db: d.physical }));
          const admin = client.db('admin');
          try {
            await admin.command({ createUser: user, pwd: password, roles });
          } catch (err) {
            if (codeOf(err) !== USER_EXISTS && !/already exists/i.test((err as Error).message)) throw err;
            // A retry, or the databases changed: make the password (and roles) what they should be now.
            await admin.command(ferret ? { updateUser: user, pwd: password } : { updateUser: user, pwd: password, roles });
          }
          for (const d of list) {
            // A database exists once something is written to it: a marker document makes it, and says whose it is.
            const marker = client.db(d.physical).collection<{ _id: string; environment?: string }>(MARKER);
            // One this store's ledger does not know of (made by another envbot, on a shared server) is not taken over either.
            const holder = (await marker.findOne({ _id: 'envbot' }))?.environment;
            if (holder !== undefined && holder !== r.env.name) {
              // Not ours: the ledger must not lead this environment's rollback or destroy to drop it.
              await deps.store.markResourceDeleted({ environment: r.env.name, kind: DATABASE_KIND, name: d.physical, location: location(server) });
              throw new ConflictError(`MongoDB database ${d.physical} on server "${server}" belongs to environment ${holder} (its ${MARKER} marker says so), so ${r.env.name} cannot use it: rename a database or project in envbot.yaml, or destroy ${holder} first.`);
            }
            await marker.updateOne({ _id: 'envbot' }, { $set: { environment: r.env.name, database: d.logical } }, { upsert: true });
          }
        });
        deps.log.info({ environment: r.env.name, server, user, databases: list.map((d) => d.physical) }, 'MongoDB user and databases created');
      }
      return { user, databases: dbs.map((d) => d.physical), ferretdb };
    },

    /**
     * Seeds each database (seedDatabase), as the environment's own user, so a seed can do only what
     * the environment could (on MongoDB: readWrite on its own databases; FerretDB has no roles).
     * Files stream a document at a time; heartbeats throughout; stops when cancelled.
     */
    async seedMongo({ ref }: MongoInput): Promise<SeedMongoResult> {
      deps.faults?.check('seedMongo');
      const r = resolveEnv(deps.catalogue, ref);
      const p = pulse();
      const result: SeedMongoResult = { collections: 0, documents: 0, scripts: 0 };
      const seeded = mongoDatabases(r).filter((d) => d.seed);
      if (!seeded.length) return result;
      const password = await databasePassword(deps, r, 'mongo');
      for (const [server, list] of byServer(seeded)) {
        const url = databaseUrl(await adminUrlForCreate(deps, 'mongo', server), `servers.mongo.${server}.url`, r.names.mongoUser, password, list[0]!.physical, 'mongo');
        p.check();
        await withEnvironmentUser(url, async (client) => {
          // Cancelled: the call in flight ends, the connection closes (settleThenClose), and the
          // activity stops at its next step.
          for (const d of list) {
            await withSourceNames(deps, () => seedDatabase(deps, r, client, d, p, result));
            deps.log.info({ environment: r.env.name, server, database: d.physical }, 'MongoDB database seeded');
          }
        });
      }
      deps.log.info({ environment: r.env.name, ...result }, 'MongoDB seeded');
      return result;
    },

    /** Drops the environment's databases and user on every server the ledger names; needs no catalogue. */
    async deleteMongo({ ref }: MongoInput): Promise<DeleteMongoResult> {
      deps.faults?.check('deleteMongo');
      const name = ref.environment;
      const live = (await deps.store.liveResources(name)).filter((e) => e.kind === USER_KIND || e.kind === DATABASE_KIND);
      const servers = new Map<string, typeof live>();
      for (const e of live) {
        const server = serverOfLocation('mongo', e.location)!;
        servers.set(server, [...(servers.get(server) ?? []), e]);
      }
      const dropped: string[] = [];
      for (const [server, entries] of servers) {
        const dbs = entries.filter((e) => e.kind === DATABASE_KIND).map((e) => e.name);
        const users = entries.filter((e) => e.kind === USER_KIND).map((e) => e.name);
        await withServer(deps, await adminUrlForDelete(deps, 'mongo', server), async (client) => {
          for (const db of dbs) {
            await client.db(db).dropDatabase(); // dropping a missing database is a no-op
            dropped.push(db);
          }
          for (const user of users) {
            try {
              await client.db('admin').command({ dropUser: user });
            } catch (err) {
              if (codeOf(err) !== USER_NOT_FOUND) throw err;
            }
          }
        });
        for (const e of entries) await deps.store.markResourceDeleted(e);
        deps.log.info({ environment: name, server, users, databases: dbs }, 'MongoDB user and databases deleted');
      }
      return { dropped };
    },
  };
}

export type MongoActivities = ReturnType<typeof createMongoActivities>;
