// The ledger: every resource envbot created, so destroy and the orphan check can find it.
import type pg from 'pg';
import { ConflictError } from '../errors.js';

export interface LedgerEntry {
  environment: string;
  kind: string;
  name: string;
  location: string;
  details?: Record<string, unknown>;
}

/**
 * The kinds of entry an environment's status reads back to show what it has (its URLs, databases and
 * Redis index); the activities that make those resources record them under these kinds.
 */
export const LEDGER_KINDS = {
  dnsRecord: 'dns-record',
  redisDatabase: 'redis-database',
  database: { mongo: 'mongo-database', mysql: 'mysql-database', postgres: 'postgres-database' },
} as const;

const keyOf = (e: Pick<LedgerEntry, 'kind' | 'location' | 'name'>) => JSON.stringify([e.kind, e.location, e.name]);

function heldBy(e: LedgerEntry, holder: string): ConflictError {
  return new ConflictError(
    `${e.name} (${e.kind} on ${e.location}) belongs to environment ${holder}, so ${e.environment} cannot use it: envbot stopped before touching it. ` +
      `The two environments make the same name; rename what makes it in envbot.yaml (a database, a host or a project), or destroy ${holder} first.`,
  );
}

function releasedMeanwhile(e: LedgerEntry): Error {
  return new Error(`${e.name} (${e.kind} on ${e.location}) was recorded and released by another environment while ${e.environment} tried to record it; retrying`);
}

export class Ledger {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Records a resource before it is made. A physical resource (kind, location, name) has one live
   * entry, whichever environment holds it: recording it again for the same environment is a no-op,
   * and recording one another environment holds is a ConflictError naming that environment, so the
   * caller stops before touching the server. True when this call made the entry (no live one was
   * there), so the resource cannot exist yet unless something outside envbot made it.
   */
  async record(e: LedgerEntry): Promise<boolean> {
    // Two tries: the holder may release it between the insert and the look-up.
    for (let attempt = 0; attempt < 2; attempt++) {
      const { rowCount } = await this.pool.query(
        `INSERT INTO resources (environment, kind, name, location, details) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (kind, location, name) WHERE deleted_at IS NULL DO NOTHING`,
        [e.environment, e.kind, e.name, e.location, e.details ?? {}],
      );
      if (rowCount) return true;
      const holder = await this.holder(e);
      if (holder === e.environment) return false;
      if (holder !== undefined) throw heldBy(e, holder);
    }
    throw releasedMeanwhile(e);
  }

  /**
   * Records several resources as `record` does each, in one statement (and one look-up of the ones
   * already held) instead of two round trips apiece: a step that makes several things records them
   * all at once. Rows are inserted in the given order; the first entry another environment holds is
   * a ConflictError (the others may be recorded by then, as with `record` one at a time).
   */
  async recordAll(entries: LedgerEntry[]): Promise<void> {
    const seen = new Set<string>();
    let pending = entries.filter((e) => {
      const k = keyOf(e);
      return seen.has(k) ? false : (seen.add(k), true);
    });
    for (let attempt = 0; attempt < 2 && pending.length; attempt++) {
      const { rows } = await this.pool.query<{ kind: string; location: string; name: string }>(
        `INSERT INTO resources (environment, kind, name, location, details)
         SELECT environment, kind, name, location, details
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[]) WITH ORDINALITY AS e(environment, kind, name, location, details, n)
          ORDER BY n
         ON CONFLICT (kind, location, name) WHERE deleted_at IS NULL DO NOTHING
         RETURNING kind, location, name`,
        [
          pending.map((e) => e.environment),
          pending.map((e) => e.kind),
          pending.map((e) => e.name),
          pending.map((e) => e.location),
          pending.map((e) => JSON.stringify(e.details ?? {})),
        ],
      );
      const inserted = new Set(rows.map(keyOf));
      const rest = pending.filter((e) => !inserted.has(keyOf(e)));
      if (!rest.length) return;
      const { rows: held } = await this.pool.query<{ environment: string; kind: string; location: string; name: string }>(
        `SELECT r.environment, r.kind, r.location, r.name FROM resources r
           JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(kind, location, name) USING (kind, location, name)
          WHERE r.deleted_at IS NULL`,
        [rest.map((e) => e.kind), rest.map((e) => e.location), rest.map((e) => e.name)],
      );
      const holders = new Map(held.map((h) => [keyOf(h), h.environment]));
      pending = [];
      for (const e of rest) {
        const holder = holders.get(keyOf(e));
        if (holder === e.environment) continue;
        if (holder !== undefined) throw heldBy(e, holder);
        pending.push(e);
      }
    }
    if (pending.length) throw releasedMeanwhile(pending[0]!);
  }

  /** The environment whose live entry holds the resource, if any. */
  async holder(key: Pick<LedgerEntry, 'kind' | 'location' | 'name'>): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ environment: string }>(
      'SELECT environment FROM resources WHERE kind = $1 AND location = $2 AND name = $3 AND deleted_at IS NULL',
      [key.kind, key.location, key.name],
    );
    return rows[0]?.environment;
  }

  /** The live entries of `kind` at `location` whose name starts with `prefix`, whichever environment holds them. */
  async liveWithPrefix(kind: string, location: string, prefix: string): Promise<LedgerEntry[]> {
    const { rows } = await this.pool.query<LedgerEntry>(
      `SELECT environment, kind, name, location, details FROM resources
       WHERE kind = $1 AND location = $2 AND starts_with(name, $3) AND deleted_at IS NULL ORDER BY id`,
      [kind, location, prefix],
    );
    return rows;
  }

  async markDeleted(e: Omit<LedgerEntry, 'details'>): Promise<void> {
    await this.pool.query(
      `UPDATE resources SET deleted_at = now()
       WHERE environment = $1 AND kind = $2 AND location = $3 AND name = $4 AND deleted_at IS NULL`,
      [e.environment, e.kind, e.location, e.name],
    );
  }

  /** The resources of an environment that are not deleted, oldest first. */
  async live(environment: string): Promise<LedgerEntry[]> {
    const { rows } = await this.pool.query<LedgerEntry>(
      `SELECT environment, kind, name, location, details FROM resources
       WHERE environment = $1 AND deleted_at IS NULL ORDER BY id`,
      [environment],
    );
    return rows;
  }
}
