// Numbered slots handed out from named pools, one per owner per pool: Redis database indexes
// (pool `redis/<server>`), load-balancer rule priorities (pool `lb/<listener arn>`). The table's
// primary key (pool, slot) makes double allocation impossible; unique (pool, owner) one slot per owner.
import type pg from 'pg';
import { ResourceExhaustedError } from '../errors.js';

export interface SlotRange {
  /** The lowest slot to hand out (0 when omitted). */
  from?: number;
  /** How many slots there are, from `from` on. */
  count: number;
  /** The ResourceExhaustedError's message when every slot is taken; say what to do about it. */
  exhausted?: string;
  /** The (retryable) error's message when other claims kept taking the free slot first. */
  contended?: string;
  /** Slots in the range that are in use outside this store (a hand-made rule's priority): never handed out. */
  skip?: readonly number[];
}

export interface Allocation {
  pool: string;
  slot: number;
}

export class Allocations {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Claims the lowest free slot in [from, from + count) of `pool` for `owner`, or returns the one it
   * already holds. Races are settled by the primary key: a claim that loses one tries the next slot.
   */
  async claim(pool: string, owner: string, range: SlotRange): Promise<number> {
    const { from = 0, count } = range;
    const skip = [...new Set(range.skip ?? [])].filter((n) => Number.isInteger(n) && n >= from && n < from + count);
    for (let attempt = 0; attempt < count + 1; attempt++) {
      const held = await this.slotOf(pool, owner);
      if (held !== undefined) return held;
      const { rows } = await this.pool.query<{ slot: number }>(
        `INSERT INTO allocations (pool, slot, owner)
         SELECT $1, i, $2 FROM generate_series($3::int, $3::int + $4::int - 1) AS i
         WHERE NOT EXISTS (SELECT 1 FROM allocations a WHERE a.pool = $1 AND a.slot = i) AND NOT (i = ANY($5::int[]))
         ORDER BY i LIMIT 1
         ON CONFLICT DO NOTHING
         RETURNING slot`,
        [pool, owner, from, count, skip],
      );
      if (rows[0]) return rows[0].slot;
      const { rows: taken } = await this.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM allocations WHERE pool = $1 AND slot >= $2 AND slot < $2 + $3 AND NOT (slot = ANY($4::int[]))',
        [pool, from, count, skip],
      );
      if ((taken[0]?.n ?? 0) + skip.length >= count) {
        throw new ResourceExhaustedError(range.exhausted ?? `all ${count} slots of ${pool} (${from} to ${from + count - 1}) are taken; release one first.`);
      }
      // Lost a race for the slot another claim took at the same moment (or this owner's own
      // concurrent claim won): look again.
    }
    // Contention, not exhaustion: other claims kept taking the free slot first. Retryable.
    throw new Error(range.contended ?? `lost the race for a free slot of ${pool} ${count + 1} times; try again`);
  }

  /** The slot `owner` holds in `pool`, if any. */
  async slotOf(pool: string, owner: string): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ slot: number }>('SELECT slot FROM allocations WHERE pool = $1 AND owner = $2', [pool, owner]);
    return rows[0]?.slot;
  }

  /** Frees the slot `owner` holds in `pool`; returns it, or undefined when there was none. */
  async release(pool: string, owner: string): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ slot: number }>('DELETE FROM allocations WHERE pool = $1 AND owner = $2 RETURNING slot', [pool, owner]);
    return rows[0]?.slot;
  }

  /** Frees every slot `owner` holds in a pool whose name starts with `poolPrefix`; returns them. */
  async releaseAll(owner: string, poolPrefix: string): Promise<Allocation[]> {
    const { rows } = await this.pool.query<Allocation>(
      'DELETE FROM allocations WHERE owner = $1 AND starts_with(pool, $2) RETURNING pool, slot',
      [owner, poolPrefix],
    );
    return rows.sort((a, b) => a.pool.localeCompare(b.pool) || a.slot - b.slot);
  }
}
