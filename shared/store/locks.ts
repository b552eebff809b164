// Named locks across every worker: PostgreSQL advisory locks held by one session for the time of a
// short piece of work (reading the ledger and changing what several environments share).
import type pg from 'pg';

export class Locks {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Runs `work` while holding the lock `key`; others asking for it wait. `work` may use the session
   * that holds the lock (its queries then need no second connection from the pool).
   */
  async with<T>(key: string, work: (session: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [key]);
      try {
        return await work(client);
      } finally {
        // A session that cannot unlock is closed instead of going back to the pool: closing frees the lock.
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch((err: Error) => (broken = err));
      }
    } finally {
      client.release(broken);
    }
  }
}
