// The audit log: who asked for what, from where, and how it went. Append only.
import type pg from 'pg';

export interface AuditEntry {
  actor: string;
  platform: 'slack' | 'teams' | 'cli' | 'system' | 'webhook';
  channel?: string;
  action: string;
  environment?: string;
  outcome?: string;
  details?: Record<string, unknown>;
  /** The workflow run whose operation this is: a second entry of the run with the same action and outcome is not added. */
  runId?: string;
}

export class AuditLog {
  constructor(private readonly pool: pg.Pool) {}

  /** Appends `e`; false when its run already has that entry (nothing is added). */
  async append(e: AuditEntry): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO audit_log (actor, platform, channel, action, environment, outcome, details, run_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (run_id, action, outcome) WHERE run_id IS NOT NULL DO NOTHING`,
      [e.actor, e.platform, e.channel ?? null, e.action, e.environment ?? null, e.outcome ?? 'requested', e.details ?? {}, e.runId ?? null],
    );
    return rowCount === 1;
  }
}
