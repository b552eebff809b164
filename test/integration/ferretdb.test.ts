// MongoDB wire protocol (FerretDB) round trip: a created user logs in with SCRAM and reads a document.
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { required, testSettings } from '../support/settings.js';

describe('FerretDB (MongoDB wire protocol)', () => {
  const adminUrl = required(testSettings().servers.mongo, 'MONGO_URL');
  const db = `roundtrip_${randomBytes(3).toString('hex')}`;
  const user = `${db}_user`;
  const password = randomBytes(12).toString('hex');
  const admin = new MongoClient(adminUrl);

  afterAll(async () => {
    await admin.db(db).command({ dropUser: user }).catch(() => undefined);
    await admin.db(db).dropDatabase();
    await admin.close();
  });

  it('says it is FerretDB in buildInfo (so envbot can tell it from MongoDB)', async () => {
    const info = await admin.db('admin').command({ buildInfo: 1 });
    expect(info.ferretdbVersion).toMatch(/^v1\.24\./);
  });

  it('creates a user who logs in with SCRAM and reads the document written as admin', async () => {
    await admin.db(db).collection('items').insertOne({ _id: 1 as never, name: 'one' });
    await admin.db(db).command({ createUser: user, pwd: password, roles: [] });

    const url = new URL(adminUrl);
    url.username = user;
    url.password = password;
    url.searchParams.set('authSource', db);
    const asUser = new MongoClient(url.toString());
    try {
      const doc = await asUser.db(db).collection('items').findOne({ _id: 1 as never });
      expect(doc).toEqual({ _id: 1, name: 'one' });
    } finally {
      await asUser.close();
    }
  });

  it('refuses a wrong password', async () => {
    const url = new URL(adminUrl);
    url.password = 'wrong';
    const client = new MongoClient(url.toString(), { serverSelectionTimeoutMS: 3000 });
    await expect(client.connect()).rejects.toThrow(/Authentication failed|auth/i);
    await client.close();
  });
});
