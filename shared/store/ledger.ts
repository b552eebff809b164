// The ledger: every resource envbot created, so destroy and the orphan check can find it.
import type pg from 'pg';

export interface LedgerEntry {
  environment: string;
  kind: string;
  name: string;
  location: string;
  details?: Record<string, unknown>;
}

export class Ledger {
  constructor(private readonly pool: pg.Pool) {}

  /** Records a resource as created; recording it again is a no-op. */
  async record(e: LedgerEntry): Promise<void> {
    await this.pool.query(
      `INSERT INTO resources (environment, kind, name, location, details) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (environment, kind, location, name) WHERE deleted_at IS NULL DO NOTHING`,
      [e.environment, e.kind, e.name, e.location, e.details ?? {}],
    );
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
