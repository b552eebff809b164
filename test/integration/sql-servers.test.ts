// PostgreSQL and MariaDB round trips: a user created on each server logs in and reads a row back,
// and the bulk paths envbot's seeding uses (COPY FROM STDIN, LOAD DATA LOCAL INFILE) work.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { afterAll, describe, expect, it } from 'vitest';
import { required, testSettings } from '../support/settings.js';

const suffix = randomBytes(3).toString('hex');

describe('PostgreSQL', () => {
  const admin = required(testSettings().servers.postgres, 'POSTGRES_URL');
  const db = `roundtrip_${suffix}`;
  const user = `roundtrip_user_${suffix}`;
  const password = randomBytes(12).toString('hex');

  afterAll(async () => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await c.query(`DROP ROLE IF EXISTS ${user}`);
    await c.end();
  });

  it('creates a database and user; the user logs in, writes, bulk-loads and reads rows', async () => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    await c.query(`CREATE ROLE ${user} LOGIN PASSWORD '${password}'`);
    await c.query(`CREATE DATABASE ${db} OWNER ${user}`);
    await c.end();

    const url = new URL(admin);
    url.username = user;
    url.password = password;
    url.pathname = `/${db}`;
    const u = new pg.Client({ connectionString: url.toString() });
    await u.connect();
    await u.query('CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)');
    await u.query("INSERT INTO items VALUES (1, 'one')");
    await pipeline(Readable.from(['2,two\n', '3,"th,ree"\n']), u.query(copyFrom('COPY items FROM STDIN WITH (FORMAT csv)')));
    const { rows } = await u.query('SELECT id, name FROM items ORDER BY id');
    await u.end();
    expect(rows).toEqual([{ id: 1, name: 'one' }, { id: 2, name: 'two' }, { id: 3, name: 'th,ree' }]);
  });

  it('refuses a wrong password', async () => {
    const url = new URL(admin);
    url.password = 'wrong';
    const c = new pg.Client({ connectionString: url.toString() });
    await expect(c.connect()).rejects.toThrow(/password authentication failed/);
  });
});

describe('MariaDB', () => {
  const adminUrl = required(testSettings().servers.mysql, 'MYSQL_URL');
  const db = `roundtrip_${suffix}`;
  const user = `rt_${suffix}`;
  const password = randomBytes(12).toString('hex');

  const adminConnection = () => mysql.createConnection({ uri: adminUrl });

  afterAll(async () => {
    const c = await adminConnection();
    await c.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await c.query(`DROP USER IF EXISTS ?@'%'`, [user]);
    await c.end();
  });

  it('creates a database and user; the user logs in, writes, bulk-loads (LOAD DATA LOCAL INFILE) and reads rows', async () => {
    const c = await adminConnection();
    await c.query(`CREATE DATABASE \`${db}\``);
    await c.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [user, password]);
    await c.query(`GRANT ALL PRIVILEGES ON \`${db}\`.* TO ?@'%'`, [user]);
    await c.end();

    const url = new URL(adminUrl);
    const u = await mysql.createConnection({
      host: url.hostname, port: Number(url.port), user, password, database: db,
      flags: ['+LOCAL_FILES'],
      infileStreamFactory: () => Readable.from([Buffer.from('2,two\n3,"th,ree"\n')]),
    });
    await u.query('CREATE TABLE items (id int PRIMARY KEY, name varchar(20) NOT NULL)');
    await u.query("INSERT INTO items VALUES (1, 'one')");
    await u.query(`LOAD DATA LOCAL INFILE 'items.csv' INTO TABLE items FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' LINES TERMINATED BY '\\n'`);
    const [rows] = await u.query('SELECT id, name FROM items ORDER BY id');
    await u.end();
    expect(rows).toEqual([{ id: 1, name: 'one' }, { id: 2, name: 'two' }, { id: 3, name: 'th,ree' }]);
  });
});
