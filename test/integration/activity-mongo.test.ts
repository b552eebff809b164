// MongoDB activities on the local FerretDB: the environment's user logs in with SCRAM and reads the
// seeded data; seeding twice changes nothing; delete leaves no database, no user and no live ledger entry.
//
// FerretDB has no roles and no authorisation between users, so these tests cannot prove that one
// environment's user is kept out of another's databases: on MongoDB createMongo grants readWrite on
// the environment's databases only, but that can only be checked against a real MongoDB.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { MongoClient, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityDeps } from '../../activities/deps.js';
import { createMongoActivities } from '../../activities/mongo.js';
import { createSecretsActivities } from '../../activities/secrets.js';
import { CatalogueError } from '../../shared/errors.js';
import type { EnvRef } from '../../shared/model.js';
import { environmentName, namesFor } from '../../shared/names.js';
import { testDeps, uniqueEnv, type TestDeps } from '../support/deps.js';
import { required, testSettings } from '../support/settings.js';

const adminUrl = required(testSettings().servers.mongo, 'MONGO_URL');

/** Runs an activity in a mock activity context; heartbeats go to `beats` when given. */
function run<P, R>(fn: (input: P) => Promise<R>, input: P, beats?: unknown[]): Promise<R> {
  // Failures the tests expect would otherwise be logged as warnings by the SDK.
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  if (beats) env.on('heartbeat', (d: unknown) => beats.push(d));
  return env.run(fn, input);
}

function names(ref: EnvRef) {
  return namesFor(environmentName(ref.project, ref.stage, ref.suffix), 'example.com');
}

/** A client logged in as the environment's own user (SCRAM, user defined in `admin`). */
function userClient(ref: EnvRef, password: string): MongoClient {
  const url = new URL(adminUrl);
  url.username = names(ref).mongoUser;
  url.password = password;
  url.searchParams.set('authSource', 'admin');
  return new MongoClient(url.toString(), { serverSelectionTimeoutMS: 5_000 });
}

describe('MongoDB activities (FerretDB)', () => {
  let t: TestDeps;
  let mongo: ReturnType<typeof createMongoActivities>;
  let admin: MongoClient;
  const qa = uniqueEnv('projb', 'qa');
  const dev = uniqueEnv('projb', 'dev');
  const broken = uniqueEnv('projb', 'uat');
  const envs = [qa, dev, broken];
  let tmp: string | undefined;

  beforeAll(async () => {
    t = await testDeps('mongo');
    mongo = createMongoActivities(t.deps);
    admin = new MongoClient(adminUrl);
    const secrets = createSecretsActivities(t.deps);
    for (const ref of envs) await run(secrets.createSecrets, { ref });
  });

  afterAll(async () => {
    for (const ref of envs) await run(mongo.deleteMongo, { ref }).catch(() => undefined);
    await admin?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
    await t?.close();
  });

  const password = async (ref: EnvRef) => (await t.deps.store.getSecret(ref.environment, 'mongo-password'))!;
  const databaseNames = async () =>
    ((await admin.db('admin').command({ listDatabases: 1, nameOnly: true })).databases as { name: string }[]).map((d) => d.name);
  const liveMongo = async (ref: EnvRef) => (await t.deps.store.liveResources(ref.environment)).filter((e) => e.kind.startsWith('mongo-'));

  it('creates one user and the (empty) database, says FerretDB has no roles, and records both in the ledger', async () => {
    const db = names(qa).mongoDatabase('catalog');
    const result = await run(mongo.createMongo, { ref: qa });
    expect(result).toEqual({ user: names(qa).mongoUser, databases: [db], ferretdb: true });
    expect(await databaseNames()).toContain(db);

    const warnings = t.logs.filter((l) => l.includes('FerretDB has no roles') && l.includes(qa.environment));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('NOT limited to its own databases');
    const pw = await password(qa);
    expect(t.logs.join('\n')).not.toContain(pw);

    expect((await liveMongo(qa)).map((e) => [e.kind, e.name, e.location]).sort()).toEqual([
      ['mongo-database', db, 'mongo/main'],
      ['mongo-user', names(qa).mongoUser, 'mongo/main'],
    ]);

    const users = await admin.db('admin').command({ usersInfo: names(qa).mongoUser });
    expect(users.users).toHaveLength(1);
  });

  it('creates again without error (idempotent) and the password still works', async () => {
    const again = await run(mongo.createMongo, { ref: qa });
    expect(again.databases).toEqual([names(qa).mongoDatabase('catalog')]);
    expect(await liveMongo(qa)).toHaveLength(2);
    const client = userClient(qa, await password(qa));
    try {
      await client.connect();
      expect((await client.db('admin').command({ ping: 1 })).ok).toBe(1);
    } finally {
      await client.close();
    }
  });

  it('seeds a qa environment: the user reads every document, indexes exist, URLs and the qa override are applied', async () => {
    const beats: unknown[] = [];
    const result = await run(mongo.seedMongo, { ref: qa }, beats);
    // products.json (4) and categories.json (3); scripts/010 and overrides/qa/scripts/020.
    expect(result).toEqual({ collections: 2, documents: 7, scripts: 2 });
    // A heartbeat after each file.
    expect(beats.map((b) => (b as { file: string }).file)).toEqual(['categories.json', 'products.json', 'indexes.json', '010-rewrite-urls.json', '020-qa-flags.json']);

    const client = userClient(qa, await password(qa));
    try {
      const db = client.db(names(qa).mongoDatabase('catalog'));
      expect(await db.collection('products').countDocuments()).toBe(4);
      expect(await db.collection('categories').countDocuments()).toBe(3);

      const products = await db.collection('products').find().sort({ productId: 1 }).toArray();
      const host1 = `service1.${qa.environment}.example.com`;
      expect(products.map((p) => p.url)).toEqual([1, 2, 3, 4].map((i) => `https://${host1}/products/${i}`));
      expect(products[0]!.image).toBe(`https://${host1}/media/products/mug-001.jpg`);
      expect(products[0]!.createdAt).toBeInstanceOf(Date); // Extended JSON {"$date": ...}
      const categories = await db.collection<{ _id: string; url: string }>('categories').find().toArray();
      for (const c of categories) expect(c.url).toBe(`https://${host1}/categories/${c._id}`);

      // overrides/qa/scripts/020-qa-flags.json
      const pot = products.find((p) => p.sku === 'POT-200')!;
      expect(pot.stock).toBe(999);
      expect(pot.qaNote).toBe(`restocked for testing in ${qa.environment}`);
      for (const p of products) expect(p.flags).toEqual({ showDebugBanner: true, checkoutUrl: `https://service2.${qa.environment}.example.com/cart` });

      const indexNames = async (coll: string) => (await db.collection(coll).listIndexes().toArray()).map((i: Document) => i.name as string).sort();
      expect(await indexNames('products')).toEqual(['_id_', 'category_price', 'productId_unique', 'sku_unique']);
      expect(await indexNames('categories')).toEqual(['_id_', 'position']);
    } finally {
      await client.close();
    }
  });

  it("seeds as the environment's own user, not the admin: with that user's password changed, seeding cannot log in", async () => {
    await admin.db('admin').command({ updateUser: names(qa).mongoUser, pwd: 'not-the-stored-password' });
    await expect(run(mongo.seedMongo, { ref: qa })).rejects.toThrow(/Authentication failed/i);
    // createMongo sets the stored password again; seeding works as that user again.
    await run(mongo.createMongo, { ref: qa });
    expect(await run(mongo.seedMongo, { ref: qa })).toEqual({ collections: 2, documents: 7, scripts: 2 });
  });

  it('seeds again without duplicating anything, heartbeating as it empties the database', async () => {
    const before = await admin.db(names(qa).mongoDatabase('catalog')).collection('products').find().sort({ productId: 1 }).toArray();
    // A collection a service made: the reset drops it too, with a heartbeat for each collection dropped.
    await admin.db(names(qa).mongoDatabase('catalog')).collection('sessions').insertOne({ user: 'x' });
    const beats: unknown[] = [];
    expect(await run(mongo.seedMongo, { ref: qa }, beats)).toEqual({ collections: 2, documents: 7, scripts: 2 });
    const dropped = beats.flatMap((b) => ((b as { dropped?: string }).dropped ? [(b as { dropped: string }).dropped] : []));
    expect(dropped.sort()).toEqual(['categories', 'products', 'sessions']);
    const db = admin.db(names(qa).mongoDatabase('catalog'));
    expect((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name)).not.toContain('sessions');
    expect(await db.collection('products').countDocuments()).toBe(4);
    expect(await db.collection('categories').countDocuments()).toBe(3);
    expect(await db.collection('products').find().sort({ productId: 1 }).toArray()).toEqual(before);
  });

  it('does not run the qa override for a dev environment', async () => {
    await run(mongo.createMongo, { ref: dev });
    expect(await run(mongo.seedMongo, { ref: dev })).toEqual({ collections: 2, documents: 7, scripts: 1 });
    const client = userClient(dev, await password(dev));
    try {
      const products = await client.db(names(dev).mongoDatabase('catalog')).collection('products').find().toArray();
      expect(products).toHaveLength(4);
      expect(products.find((p) => p.sku === 'POT-200')!.stock).toBe(0);
      for (const p of products) {
        expect(p.flags).toBeUndefined();
        expect(p.url).toMatch(new RegExp(`^https://service1\\.${dev.environment}\\.example\\.com/products/\\d$`));
      }
    } finally {
      await client.close();
    }
  });

  it('refuses a broken seed file with a CatalogueError naming the file', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'envbot-mongo-seed-'));
    const cat = t.deps.catalogue;
    const projb = cat.catalogue.projects.projb!;
    const deps: ActivityDeps = {
      ...t.deps,
      catalogue: {
        ...cat,
        catalogue: {
          ...cat.catalogue,
          projects: {
            ...cat.catalogue.projects,
            projb: { ...projb, databases: { catalog: { ...projb.databases.catalog!, seed: { kind: 'disk', path: tmp, raw: tmp } } } },
          },
        },
      },
    };
    const broke = createMongoActivities(deps);
    await run(broke.createMongo, { ref: broken });

    await writeFile(join(tmp, 'items.json'), '[{"_id": 1,}]');
    const bad = await run(broke.seedMongo, { ref: broken }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(CatalogueError);
    expect((bad as CatalogueError).message).toContain(join(tmp, 'items.json'));

    // Files are read a document at a time: a bad document, or one the server refuses, is named by
    // its place and line, after the ones before it went in.
    const array = (...elements: string[]) => `[\n${elements.join(',\n')}\n]\n`;
    const docs = Array.from({ length: 2500 }, (_, i) => `  {"_id": ${i}, "n": ${i}}`);
    await writeFile(join(tmp, 'items.json'), array(...docs, '  {"_id": "x", "n": tru}', '  {"_id": "y"}'));
    const midway = await run(broke.seedMongo, { ref: broken }).catch((e: unknown) => e);
    expect(midway).toBeInstanceOf(CatalogueError);
    expect((midway as CatalogueError).problems[0]).toMatchObject({ path: '[2500]', line: 2502 });
    await writeFile(join(tmp, 'items.json'), array(...docs.slice(0, 1500), '  {"_id": 7, "n": "again"}'));
    const twice = await run(broke.seedMongo, { ref: broken }).catch((e: unknown) => e);
    expect(twice).toBeInstanceOf(CatalogueError);
    expect((twice as CatalogueError).problems[0]).toMatchObject({ path: '[1500]', line: 1502 });
    expect((twice as Error).message).toMatch(/the server refused it: .*(duplicate|UNIQUE)/i);

    await writeFile(join(tmp, 'items.json'), '[{"_id": 1, "n": 1}]');
    await mkdir(join(tmp, 'scripts'));
    await writeFile(join(tmp, 'scripts', '010-pipeline.json'), '[{"collection": "items", "filter": {}, "update": [{"$set": {"n": 2}}]}]');
    const pipeline = await run(broke.seedMongo, { ref: broken }).catch((e: unknown) => e);
    expect(pipeline).toBeInstanceOf(CatalogueError);
    expect((pipeline as CatalogueError).message).toMatch(/010-pipeline\.json:1: \[0\]\.update: aggregation-pipeline updates are not supported/);

    await writeFile(join(tmp, 'scripts', '010-pipeline.json'), '[{"collection": "items", "filter": {}, "update": {"$where": "1"}}]');
    const unsupported = await run(broke.seedMongo, { ref: broken }).catch((e: unknown) => e);
    expect(unsupported).toBeInstanceOf(CatalogueError);
    expect((unsupported as CatalogueError).message).toContain('unsupported update operation');

    await rm(join(tmp, 'scripts'), { recursive: true });
    await writeFile(join(tmp, 'items.json'), '[{"_id": 1, "sku": "A"}, {"_id": 2, "sku": "A"}]');
    await writeFile(join(tmp, 'indexes.json'), '{"items": [{"key": {"sku": 1}, "name": "sku_unique", "unique": true}]}');
    const duplicate = await run(broke.seedMongo, { ref: broken }).catch((e: unknown) => e);
    expect(duplicate).toBeInstanceOf(CatalogueError);
    expect((duplicate as CatalogueError).message).toContain(`${join(tmp, 'indexes.json')}: items.sku_unique: the server refused it`);

    await writeFile(join(tmp, 'indexes.json'), '{"items": [{"key": {"sku": 1}, "name": "sku", "uniqe": true}]}');
    const typo = await run(broke.seedMongo, { ref: broken }).catch((e: unknown) => e);
    expect(typo).toBeInstanceOf(CatalogueError);
    expect((typo as CatalogueError).message).toContain('items[0].uniqe: not an index option');

    await run(broke.deleteMongo, { ref: broken });
  });

  it('deletes: the database is gone, the user cannot log in, the ledger has no live entries', async () => {
    const db = names(qa).mongoDatabase('catalog');
    const pw = await password(qa);
    expect(await run(mongo.deleteMongo, { ref: qa })).toEqual({ dropped: [db] });
    expect(await databaseNames()).not.toContain(db);
    expect(await liveMongo(qa)).toEqual([]);
    const client = userClient(qa, pw);
    try {
      await expect(client.connect()).rejects.toThrow(/Authentication failed/i);
    } finally {
      await client.close();
    }
    // The dev environment's data is untouched.
    expect(await admin.db(names(dev).mongoDatabase('catalog')).collection('products').countDocuments()).toBe(4);
  });

  it('deletes again without error, and without touching anything (idempotent: the ledger holds nothing now)', async () => {
    expect(await run(mongo.deleteMongo, { ref: qa })).toEqual({ dropped: [] });
    expect(await liveMongo(qa)).toEqual([]);
  });
});
