// Redis round trip on a numbered database, and the server's real database count.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { required, testSettings } from '../support/settings.js';

describe('Redis', () => {
  const url = required(testSettings().servers.redis, 'REDIS_URL');
  const client = new Redis(url, { lazyConnect: true });
  const key = `roundtrip:${randomBytes(4).toString('hex')}`;

  afterAll(async () => {
    await client.select(1);
    await client.del(key);
    client.disconnect();
  });

  it('reports how many databases it has', async () => {
    await client.connect();
    const [, databases] = (await client.config('GET', 'databases')) as [string, string];
    expect(Number(databases)).toBeGreaterThanOrEqual(2);
  });

  it('keeps a key in one database and not in another', async () => {
    await client.select(1);
    await client.set(key, 'value-1');
    expect(await client.get(key)).toBe('value-1');
    await client.select(0);
    expect(await client.get(key)).toBeNull();
  });
});
